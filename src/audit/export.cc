#include "audit/export.h"

#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

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

namespace {

// KEY=value, or for a value with a newline: KEY, newline, 64-bit little-endian length, value.
void field(std::string& out, std::string_view key, std::string_view value) {
  out.append(key);
  if (value.find('\n') == std::string_view::npos) {
    out.push_back('=');
    out.append(value);
  } else {
    out.push_back('\n');
    std::uint64_t n = value.size();
    for (int i = 0; i < 8; ++i) out.push_back(static_cast<char>((n >> (8 * i)) & 0xff));
    out.append(value);
  }
  out.push_back('\n');
}

}  // namespace

std::string to_journal(const Record& r) {
  const bool bad = r.outcome == "refused" || r.outcome == "failed";
  std::string out;
  field(out, "MESSAGE", r.event + " " + r.outcome + " (" + r.actor + ") " + r.details.dump());
  field(out, "PRIORITY", bad ? "4" : "5");
  field(out, "SYSLOG_IDENTIFIER", "ironseal");
  field(out, "SYSLOG_FACILITY", "13");
  field(out, "IRONSEAL_SEQ", std::to_string(r.seq));
  field(out, "IRONSEAL_EVENT", r.event);
  field(out, "IRONSEAL_ACTOR", r.actor);
  field(out, "IRONSEAL_OUTCOME", r.outcome);
  field(out, "IRONSEAL_TIME", r.time);
  field(out, "IRONSEAL_HASH", r.hash);
  field(out, "IRONSEAL_PREV", r.prev);
  field(out, "IRONSEAL_RECORD", encode(r));
  return out;
}

Result<JournalSink> JournalSink::open(const std::string& socket_path) {
  sockaddr_un addr{};
  if (socket_path.size() >= sizeof addr.sun_path) {
    return fail(ErrorCode::kInvalidArgument, "journal socket path too long: ", socket_path);
  }
  const int fd = ::socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return fail(ErrorCode::kIo, "cannot create a socket: ", std::strerror(errno));
  addr.sun_family = AF_UNIX;
  std::memcpy(addr.sun_path, socket_path.data(), socket_path.size());
  if (::connect(fd, reinterpret_cast<const sockaddr*>(&addr), sizeof addr) != 0) {
    const int e = errno;
    ::close(fd);
    return fail(ErrorCode::kIo, "the journal's socket ", socket_path, " is not there (",
                std::strerror(e), "): no systemd journal on this machine?");
  }
  return JournalSink(fd, socket_path);
}

JournalSink::~JournalSink() {
  if (fd_ >= 0) ::close(fd_);
}

Result<void> JournalSink::send(const std::string& entry) {
  if (::send(fd_, entry.data(), entry.size(), MSG_NOSIGNAL) != static_cast<ssize_t>(entry.size())) {
    return fail(ErrorCode::kIo, "the journal (", path_, ") refused an entry: ", std::strerror(errno));
  }
  return {};
}

}  // namespace ironseal::audit
