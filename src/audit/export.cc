#include "audit/export.h"

namespace ironseal::audit {
namespace {

// RFC 5424 PARAM-VALUE: '"', '\' and ']' are escaped.
std::string sd_value(std::string_view v) {
  std::string out;
  for (char c : v) {
    if (c == '"' || c == '\\' || c == ']') out.push_back('\\');
    out.push_back(c);
  }
  return out;
}

// RFC 5424 header fields: printable US-ASCII without spaces, at most `max` characters, "-" if empty.
std::string header_field(std::string_view v, std::size_t max) {
  std::string out;
  for (char c : v) {
    if (out.size() == max) break;
    out.push_back(c > 32 && c < 127 ? c : '_');
  }
  return out.empty() ? "-" : out;
}

}  // namespace

std::string to_syslog(const Record& r, const std::string& hostname) {
  const int facility = 13;
  const int severity = (r.outcome == "refused" || r.outcome == "failed") ? 4 : 5;
  std::string out = "<" + std::to_string(facility * 8 + severity) + ">1 " + r.time + " " +
                    header_field(hostname, 255) + " ironseal - " + header_field(r.event, 32) + " ";
  out += "[ironseal@32473 seq=\"" + std::to_string(r.seq) + "\" actor=\"" + sd_value(r.actor) +
         "\" outcome=\"" + sd_value(r.outcome) + "\" hash=\"" + r.hash + "\" prev=\"" + r.prev +
         "\"] ";
  out += r.details.dump();
  return out;
}

}  // namespace ironseal::audit
