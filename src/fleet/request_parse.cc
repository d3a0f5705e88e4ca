// Request target and Range parsing for the fleet server (request_parse.h).
#include "fleet/request_parse.h"

#include <algorithm>
#include <charconv>

namespace ironseal::fleet {

std::optional<std::vector<std::string>> split_path(std::string_view target) {
  const auto q = target.find('?');
  std::string_view path = target.substr(0, q);
  if (path.empty() || path.front() != '/' || path.size() > 1024) return std::nullopt;
  std::vector<std::string> out;
  std::size_t pos = 1;
  while (pos <= path.size()) {
    auto next = path.find('/', pos);
    if (next == std::string_view::npos) next = path.size();
    std::string_view seg = path.substr(pos, next - pos);
    if (seg.empty()) {
      if (next == path.size()) break;  // trailing slash
      return std::nullopt;
    }
    if (seg == "." || seg == "..") return std::nullopt;
    for (char c : seg) {
      const bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                      c == '.' || c == '_' || c == '-' || c == '+';
      if (!ok) return std::nullopt;
    }
    out.emplace_back(seg);
    pos = next + 1;
  }
  return out;
}

std::string query_param(std::string_view target, std::string_view name) {
  const auto q = target.find('?');
  if (q == std::string_view::npos) return {};
  std::string_view query = target.substr(q + 1);
  while (!query.empty()) {
    auto amp = query.find('&');
    std::string_view kv = query.substr(0, amp);
    if (kv.starts_with(name) && kv.size() > name.size() && kv[name.size()] == '=') {
      return std::string(kv.substr(name.size() + 1));
    }
    if (amp == std::string_view::npos) break;
    query = query.substr(amp + 1);
  }
  return {};
}

ByteRange parse_range(std::string_view header, std::uint64_t size) {
  ByteRange whole;
  whole.last = size == 0 ? 0 : size - 1;
  if (!header.starts_with("bytes=") || header.find(',') != std::string_view::npos) return whole;
  std::string_view spec = header.substr(6);
  const auto dash = spec.find('-');
  if (dash == std::string_view::npos) return whole;
  auto num = [](std::string_view s, std::uint64_t* v) {
    if (s.empty()) return false;
    auto [ptr, ec] = std::from_chars(s.data(), s.data() + s.size(), *v);
    return ec == std::errc() && ptr == s.data() + s.size();
  };
  const auto left = spec.substr(0, dash);
  const auto right = spec.substr(dash + 1);
  std::uint64_t a = 0;
  std::uint64_t b = 0;
  ByteRange out;
  out.kind = ByteRange::Kind::kPartial;
  if (left.empty() && num(right, &b)) {  // suffix: the last b bytes
    if (b == 0 || size == 0) return {ByteRange::Kind::kUnsatisfiable, 0, 0};
    out.first = size - std::min(b, size);
    out.last = size - 1;
    return out;
  }
  if (num(left, &a) && (right.empty() || (num(right, &b) && b >= a))) {
    if (a >= size) return {ByteRange::Kind::kUnsatisfiable, 0, 0};
    out.first = a;
    out.last = right.empty() ? size - 1 : std::min(b, size - 1);
    return out;
  }
  return whole;
}

bool is_json_media_type(std::string_view content_type) {
  std::string_view type = content_type.substr(0, content_type.find(';'));
  auto space = [](char c) { return c == ' ' || c == '\t'; };
  while (!type.empty() && space(type.front())) type.remove_prefix(1);
  while (!type.empty() && space(type.back())) type.remove_suffix(1);
  constexpr std::string_view kJson = "application/json";
  return type.size() == kJson.size() &&
         std::equal(type.begin(), type.end(), kJson.begin(), [](char a, char b) {
           return (a >= 'A' && a <= 'Z' ? static_cast<char>(a - 'A' + 'a') : a) == b;
         });
}

std::size_t endpoint_body_limit(bool device_listener, std::string_view method,
                                std::string_view target) {
  if (method != "POST") return kNoBodyLimit;
  const auto path = split_path(target);
  if (!path) return kNoBodyLimit;
  const auto& p = *path;
  if (p.size() == 3 && p[0] == ".well-known" && p[1] == "est" &&
      (p[2] == "simpleenroll" || p[2] == "simplereenroll")) {
    return kEnrolBodyLimit;
  }
  if (p.size() < 3 || p[0] != "api" || p[1] != "v1") return kNoBodyLimit;
  if (device_listener) {
    if (p.size() == 4 && p[2] == "device" && p[3] == "checkin") return kCheckinBodyLimit;
    if (p.size() == 4 && p[2] == "device" && p[3] == "reports") return kReportBodyLimit;
    return kNoBodyLimit;
  }
  if (p.size() == 3 && (p[2] == "login" || p[2] == "accounts" || p[2] == "devices" ||
                        p[2] == "releases" || p[2] == "rollouts")) {
    return kOperatorBodyLimit;
  }
  return kNoBodyLimit;
}

}  // namespace ironseal::fleet
