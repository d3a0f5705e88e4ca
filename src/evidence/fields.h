// Strict reading of one JSON object from an untrusted evidence input (catalogue, SBOM, advisory
// feed, triage file): every refusal names the file and the field as a JSON pointer, and a key
// the format does not know is refused, so a typo ("test" for "tests") can never silently drop
// evidence. Internal to src/evidence.
#pragma once

#include <cstdint>
#include <initializer_list>
#include <nlohmann/json.hpp>
#include <string>
#include <string_view>
#include <vector>

#include "core/result.h"

namespace ironseal::evidence {

using Json = nlohmann::json;

class Fields {
 public:
  // `reason` is the machine-readable refusal ("bad_catalogue", "bad_sbom", ...).
  Fields(const Json& object, std::string file, std::string pointer, std::string reason)
      : object_(object), file_(std::move(file)), pointer_(std::move(pointer)),
        reason_(std::move(reason)) {}

  // Refuses a value that is not an object at all.
  Result<void> require_object() const;
  // Refuses any key outside `allowed`.
  Result<void> only(std::initializer_list<std::string_view> allowed) const;

  bool has(std::string_view key) const;
  Result<std::string> text(std::string_view key) const;  // required, non-empty
  Result<std::string> optional_text(std::string_view key) const;  // "" when absent
  Result<bool> boolean(std::string_view key) const;
  Result<std::int64_t> integer(std::string_view key, std::int64_t min, std::int64_t max) const;
  // A list of non-empty strings; `required` also refuses an empty list.
  Result<std::vector<std::string>> texts(std::string_view key, bool required) const;
  // The array at `key` (required) or an empty array when absent and not required.
  Result<const Json*> array(std::string_view key, bool required) const;

  // A refusal about `key` (or the object itself when key is empty).
  std::unexpected<Error> refuse(std::string_view key, std::string_view what) const;
  std::string pointer_to(std::string_view key) const;
  const std::string& file() const { return file_; }
  const std::string& reason() const { return reason_; }

 private:
  const Json& object_;
  std::string file_;
  std::string pointer_;
  std::string reason_;
};

// Parses `text` as JSON, refusing (with the file, the reason and the parser's position) what does
// not parse; the depth and size are bounded by the caller's read limit.
Result<Json> parse_json(std::string_view text, const std::string& file, std::string_view reason);

// True when `j` is an object whose member `key` is the string `want`; false for any other shape.
// For optional, informative members of untrusted documents (nlohmann's value() throws on a
// member of another type).
inline bool has_string(const Json& j, const char* key, std::string_view want) {
  if (!j.is_object()) return false;
  const auto it = j.find(key);
  return it != j.end() && it->is_string() && it->get_ref<const std::string&>() == want;
}

}  // namespace ironseal::evidence
