// The fleet server's parsing of what a client sends before it is authorised
// (src/fleet/request_parse.cc): the request target's path segments and query parameters, and the
// Range header against a file size. Input: 8 bytes of file size (little-endian), then the text,
// used as request target and as Range header. Invariants beyond "no crash": accepted paths hold
// only allowed, non-empty, non-dot segments that rebuild the path; a query value lies inside
// the target; a partial range lies inside the file; only a well-formed single range is refused;
// an endpoint's body limit is one of the documented ones, the largest only for an endpoint that
// parses as such; a JSON media type starts with "application/json" once spaces are trimmed.
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>

#include "fleet/request_parse.h"

using namespace ironseal::fleet;

namespace {

bool allowed(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '.' ||
         c == '_' || c == '-' || c == '+';
}

void check_path(std::string_view target) {
  auto segments = split_path(target);
  if (!segments) return;
  const std::string_view path = target.substr(0, target.find('?'));
  std::string rebuilt;
  for (const auto& seg : *segments) {
    if (seg.empty() || seg == "." || seg == "..") std::abort();
    for (char c : seg) {
      if (!allowed(c)) std::abort();
    }
    rebuilt += "/" + seg;
  }
  // Only a single trailing slash (or the bare "/") may be dropped.
  if (rebuilt != path && rebuilt + "/" != path) std::abort();
}

void check_query(std::string_view target) {
  for (std::string_view name : {"group", "limit", ""}) {
    const std::string value = query_param(target, name);
    if (!value.empty() && target.find(value) == std::string_view::npos) std::abort();
  }
}

void check_range(std::string_view header, std::uint64_t size) {
  const ByteRange r = parse_range(header, size);
  switch (r.kind) {
    case ByteRange::Kind::kPartial:
      if (size == 0 || r.first > r.last || r.last >= size) std::abort();
      break;
    case ByteRange::Kind::kUnsatisfiable:
      if (!header.starts_with("bytes=") || header.find(',') != std::string_view::npos) std::abort();
      break;
    case ByteRange::Kind::kWhole:
      if (r.first != 0 || r.last != (size == 0 ? 0 : size - 1)) std::abort();
      break;
  }
}

void check_body_limit(std::string_view target) {
  for (bool device : {true, false}) {
    for (std::string_view method : {"POST", "GET"}) {
      const std::size_t limit = endpoint_body_limit(device, method, target);
      if (limit != kCheckinBodyLimit && limit != kReportBodyLimit && limit != kEnrolBodyLimit &&
          limit != kOperatorBodyLimit && limit != kNoBodyLimit) {
        std::abort();
      }
      if (limit != kNoBodyLimit && (method != "POST" || !split_path(target))) std::abort();
    }
  }
}

void check_media_type(std::string_view type) {
  if (!is_json_media_type(type)) return;
  const auto first = type.find_first_not_of(" \t");
  if (first == std::string_view::npos || type.size() - first < 16) std::abort();
  for (std::size_t i = 0; i < 16; ++i) {
    const char c = type[first + i];
    const char lower = c >= 'A' && c <= 'Z' ? static_cast<char>(c - 'A' + 'a') : c;
    if (lower != "application/json"[i]) std::abort();
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size < 8) return 0;
  std::uint64_t file_size = 0;
  for (int i = 7; i >= 0; --i) file_size = file_size << 8 | data[i];
  const std::string_view text(reinterpret_cast<const char*>(data + 8), size - 8);
  check_path(text);
  check_query(text);
  check_range(text, file_size);
  check_body_limit(text);
  check_media_type(text);
  return 0;
}
