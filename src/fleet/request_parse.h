// The fleet server's parsing of request fields that arrive from the network before any
// authorisation: the request target (path segments, query parameters) and the Range header.
// Pure functions of their input, no I/O, so that they can be fuzzed on their own
// (fuzz/fleet_request_fuzz.cc) and tested without a socket.
#pragma once

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

}  // namespace ironseal::fleet
