#include "evidence/fields.h"

#include <algorithm>

namespace ironseal::evidence {

std::string Fields::pointer_to(std::string_view key) const {
  std::string p = pointer_;
  if (!key.empty()) p.append("/").append(key);
  return p.empty() ? "/" : p;
}

std::unexpected<Error> Fields::refuse(std::string_view key, std::string_view what) const {
  return fail_because(ErrorCode::kInvalidArgument, reason_, file_, ": ", pointer_to(key), ": ",
                      what);
}

Result<void> Fields::require_object() const {
  if (!object_.is_object()) return refuse("", "must be an object");
  return {};
}

Result<void> Fields::only(std::initializer_list<std::string_view> allowed) const {
  if (auto ok = require_object(); !ok) return ok;
  for (const auto& [key, value] : object_.items()) {
    if (std::find(allowed.begin(), allowed.end(), key) == allowed.end()) {
      return refuse(key, "unknown field (a typo would silently drop evidence)");
    }
  }
  return {};
}

bool Fields::has(std::string_view key) const {
  return object_.is_object() && object_.contains(key);
}

Result<std::string> Fields::text(std::string_view key) const {
  auto it = object_.find(key);
  if (it == object_.end()) return refuse(key, "is required");
  if (!it->is_string()) return refuse(key, "must be a string");
  auto s = it->get<std::string>();
  if (s.empty()) return refuse(key, "must not be empty");
  return s;
}

Result<std::string> Fields::optional_text(std::string_view key) const {
  if (!has(key)) return std::string();
  return text(key);
}

Result<bool> Fields::boolean(std::string_view key) const {
  auto it = object_.find(key);
  if (it == object_.end()) return refuse(key, "is required");
  if (!it->is_boolean()) return refuse(key, "must be true or false");
  return it->get<bool>();
}

Result<std::int64_t> Fields::integer(std::string_view key, std::int64_t min,
                                     std::int64_t max) const {
  auto it = object_.find(key);
  if (it == object_.end()) return refuse(key, "is required");
  if (!it->is_number_integer()) return refuse(key, "must be an integer");
  auto v = it->get<std::int64_t>();
  if (v < min || v > max) {
    return refuse(key, "must be from " + std::to_string(min) + " to " + std::to_string(max));
  }
  return v;
}

Result<std::vector<std::string>> Fields::texts(std::string_view key, bool required) const {
  std::vector<std::string> out;
  auto it = object_.find(key);
  if (it == object_.end()) {
    if (required) return refuse(key, "is required");
    return out;
  }
  if (!it->is_array()) return refuse(key, "must be a list of strings");
  for (std::size_t i = 0; i < it->size(); ++i) {
    const auto& v = (*it)[i];
    if (!v.is_string() || v.get<std::string>().empty()) {
      return refuse(std::string(key) + "/" + std::to_string(i), "must be a non-empty string");
    }
    out.push_back(v.get<std::string>());
  }
  if (required && out.empty()) return refuse(key, "must list at least one entry");
  return out;
}

Result<const Json*> Fields::array(std::string_view key, bool required) const {
  static const Json kEmpty = Json::array();
  auto it = object_.find(key);
  if (it == object_.end()) {
    if (required) return refuse(key, "is required");
    return &kEmpty;
  }
  if (!it->is_array()) return refuse(key, "must be a list");
  return &*it;
}

Result<Json> parse_json(std::string_view text, const std::string& file, std::string_view reason) {
  Json j = Json::parse(text, nullptr, /*allow_exceptions=*/false);
  if (j.is_discarded()) {
    return fail_because(ErrorCode::kInvalidArgument, reason, file, ": not valid JSON");
  }
  return j;
}

}  // namespace ironseal::evidence
