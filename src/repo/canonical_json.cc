#include "repo/canonical_json.h"

namespace ironseal::repo {
namespace {

void append_string(std::string& out, const std::string& s) {
  out.push_back('"');
  for (char c : s) {
    if (c == '"' || c == '\\') out.push_back('\\');
    out.push_back(c);
  }
  out.push_back('"');
}

// Recursion depth is bounded by nlohmann's parser input; metadata is shallow (< 10 levels).
TufResult<void> append(std::string& out, const nlohmann::json& v) {
  using Type = nlohmann::json::value_t;
  switch (v.type()) {
    case Type::null: out += "null"; return {};
    case Type::boolean: out += v.get<bool>() ? "true" : "false"; return {};
    case Type::number_integer: out += std::to_string(v.get<std::int64_t>()); return {};
    case Type::number_unsigned: out += std::to_string(v.get<std::uint64_t>()); return {};
    case Type::string: append_string(out, v.get_ref<const std::string&>()); return {};
    case Type::array: {
      out.push_back('[');
      bool first = true;
      for (const auto& item : v) {
        if (!first) out.push_back(',');
        first = false;
        if (auto r = append(out, item); !r) return r;
      }
      out.push_back(']');
      return {};
    }
    case Type::object: {
      // nlohmann::json keeps objects in a std::map<std::string, ...>: iteration is already in
      // byte order, which for UTF-8 is code point order, as Python's sorted() orders keys.
      out.push_back('{');
      bool first = true;
      for (const auto& [key, item] : v.items()) {
        if (!first) out.push_back(',');
        first = false;
        append_string(out, key);
        out.push_back(':');
        if (auto r = append(out, item); !r) return r;
      }
      out.push_back('}');
      return {};
    }
    case Type::number_float: return refuse(Reason::kMalformed, "canonical JSON has no floats");
    case Type::binary:
    case Type::discarded: break;
  }
  return refuse(Reason::kMalformed, "value has no canonical JSON form");
}

}  // namespace

TufResult<std::string> canonical_json(const nlohmann::json& value) {
  std::string out;
  if (auto r = append(out, value); !r) return std::unexpected(r.error());
  return out;
}

}  // namespace ironseal::repo
