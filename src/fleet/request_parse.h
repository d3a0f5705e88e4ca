// The fleet server's parsing of request fields that arrive from the network before any
// authorisation: the request target (path segments, query parameters) and the Range header.
// Pure functions of their input, no I/O, so that they can be fuzzed on their own
// (fuzz/fleet_request_fuzz.cc) and tested without a socket.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace ironseal::fleet {

// Path segments of the request target (query removed). Refuses (nullopt) percent-encoding, empty,
// "." and ".." segments, characters outside [A-Za-z0-9._+-] and paths over 1024 bytes: no route
// needs them, and refusing them closes path tricks. A trailing slash is allowed.
std::optional<std::vector<std::string>> split_path(std::string_view target);

// The value of query parameter `name` (the first NAME=VALUE), undecoded; empty when absent.
std::string query_param(std::string_view target, std::string_view name);

// What a Range header asks of a file of `size` bytes. One range (bytes=A-B, A-, -N) is served
// partially; a parsed range that lies outside the file is unsatisfiable (416); anything else
// (several ranges, other units, garbage) is ignored and the whole file sent, as RFC 9110 allows.
struct ByteRange {
  enum class Kind { kWhole, kPartial, kUnsatisfiable };
  Kind kind = Kind::kWhole;
  std::uint64_t first = 0;  // kPartial: first <= last < size
  std::uint64_t last = 0;
};
ByteRange parse_range(std::string_view header, std::uint64_t size);

// Whether a Content-Type names JSON: "application/json", any case, optionally with parameters
// ("; charset=utf-8"). Anything else, including none, is not (the JSON endpoints answer 415).
bool is_json_media_type(std::string_view content_type);

// The largest body the endpoint that `method` and `target` name accepts (docs/fleet-api.md):
// the transport refuses a longer one with 413 before reading it, and counts a chunked body
// against it as it arrives, so no endpoint buffers more than it can use. Endpoints that take no
// body get a small allowance (an empty JSON object and the like).
std::size_t endpoint_body_limit(bool device_listener, std::string_view method,
                                std::string_view target);
inline constexpr std::size_t kCheckinBodyLimit = 16 * 1024;  // the state a device reports
inline constexpr std::size_t kReportBodyLimit = 20 * 1024;   // detail 16 KiB, reason 1 KiB, ...
inline constexpr std::size_t kEnrolBodyLimit = 16 * 1024;    // a base64 CSR
inline constexpr std::size_t kOperatorBodyLimit = 4 * 1024;  // login, accounts, devices, ...
inline constexpr std::size_t kNoBodyLimit = 1024;            // GET, pause/resume/abort, unknown

}  // namespace ironseal::fleet
