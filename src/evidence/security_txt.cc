#include "evidence/security_txt.h"

#include <algorithm>
#include <cstdio>

namespace ironseal::evidence {
namespace {

bool has_line_break(std::string_view v) { return v.find_first_of("\r\n") != std::string_view::npos; }

Result<void> add(std::string& out, std::string_view field, const std::vector<std::string>& values) {
  for (const auto& v : values) {
    if (v.empty() || has_line_break(v)) {
      return fail_because(ErrorCode::kInvalidArgument, "bad_value", field,
                          ": empty, or has a line break");
    }
    if (v.find(':') == std::string::npos) {
      return fail_because(ErrorCode::kInvalidArgument, "bad_value", field, ": '", v,
                          "' is not a URI");
    }
    out.append(field).append(": ").append(v).append("\n");
  }
  return {};
}

}  // namespace

Result<std::time_t> parse_rfc3339(std::string_view text) {
  int y, mo, d, h, mi, s, n = 0;
  std::string t(text);
  if (std::sscanf(t.c_str(), "%4d-%2d-%2dT%2d:%2d:%2d%n", &y, &mo, &d, &h, &mi, &s, &n) != 6 ||
      n != 19 || t[4] != '-' || t[7] != '-') {
    return fail_because(ErrorCode::kInvalidArgument, "bad_expires", "'", text,
                        "' is not an RFC 3339 time such as 2027-06-30T00:00:00Z");
  }
  std::string_view rest = text.substr(19);
  if (!rest.empty() && rest[0] == '.') {  // fractional seconds
    std::size_t i = 1;
    while (i < rest.size() && rest[i] >= '0' && rest[i] <= '9') ++i;
    rest = rest.substr(i);
  }
  long offset = 0;
  if (rest == "Z" || rest == "z") {
  } else if (rest.size() == 6 && (rest[0] == '+' || rest[0] == '-') && rest[3] == ':') {
    int oh = 0, om = 0;
    if (std::sscanf(std::string(rest.substr(1)).c_str(), "%2d:%2d", &oh, &om) != 2 || oh > 23 ||
        om > 59) {
      return fail_because(ErrorCode::kInvalidArgument, "bad_expires", "bad offset in '", text, "'");
    }
    offset = (rest[0] == '+' ? 1 : -1) * (oh * 3600L + om * 60L);
  } else {
    return fail_because(ErrorCode::kInvalidArgument, "bad_expires", "'", text,
                        "' needs a time zone (Z or +hh:mm)");
  }
  if (mo < 1 || mo > 12 || d < 1 || d > 31 || h > 23 || mi > 59 || s > 60 || y < 1970) {
    return fail_because(ErrorCode::kInvalidArgument, "bad_expires", "'", text,
                        "' is out of range");
  }
  std::tm tm{};
  tm.tm_year = y - 1900;
  tm.tm_mon = mo - 1;
  tm.tm_mday = d;
  tm.tm_hour = h;
  tm.tm_min = mi;
  tm.tm_sec = s;
  std::time_t t0 = timegm(&tm);
  if (tm.tm_mday != d) {  // timegm normalised 2027-02-30 into March
    return fail_because(ErrorCode::kInvalidArgument, "bad_expires", "'", text,
                        "' is not a calendar date");
  }
  return t0 - offset;
}

Result<std::string> render_security_txt(const SecurityTxt& txt, std::time_t now) {
  if (txt.contact.empty()) {
    return fail_because(ErrorCode::kInvalidArgument, "missing_contact",
                        "security.txt needs at least one Contact (RFC 9116 2.5.3)");
  }
  for (const auto& c : txt.contact) {
    if (!(c.starts_with("mailto:") || c.starts_with("tel:") || c.starts_with("https://")) ||
        has_line_break(c) || c.size() < 8) {
      return fail_because(ErrorCode::kInvalidArgument, "bad_contact", "Contact '", c,
                          "' must be a mailto:, tel: or https:// URI (RFC 9116 2.5.3)");
    }
  }
  if (txt.expires.empty()) {
    return fail_because(ErrorCode::kInvalidArgument, "missing_expires",
                        "security.txt needs Expires (RFC 9116 2.5.5)");
  }
  auto expires = parse_rfc3339(txt.expires);
  if (!expires) return std::unexpected(expires.error());
  if (*expires <= now) {
    return fail_because(ErrorCode::kInvalidArgument, "expired", "Expires ", txt.expires,
                        " is already past: a stale security.txt tells researchers the contact "
                        "is no longer valid");
  }
  std::string out;
  for (auto [field, values] :
       {std::pair{"Contact", &txt.contact}, {"Encryption", &txt.encryption},
        {"Acknowledgments", &txt.acknowledgments}}) {
    if (auto ok = add(out, field, *values); !ok) return std::unexpected(ok.error());
  }
  if (!txt.preferred_languages.empty()) {
    if (has_line_break(txt.preferred_languages)) {
      return fail_because(ErrorCode::kInvalidArgument, "bad_value", "Preferred-Languages");
    }
    out += "Preferred-Languages: " + txt.preferred_languages + "\n";
  }
  for (auto [field, values] : {std::pair{"Canonical", &txt.canonical}, {"Policy", &txt.policy},
                               {"Hiring", &txt.hiring}}) {
    if (auto ok = add(out, field, *values); !ok) return std::unexpected(ok.error());
  }
  out += "Expires: " + txt.expires + "\n";
  return out;
}

Result<SecurityTxt> security_txt_from_json(const nlohmann::json& config) {
  if (!config.is_object()) {
    return fail(ErrorCode::kInvalidArgument, "security_txt: must be an object");
  }
  SecurityTxt t;
  auto list = [&](const char* key, std::vector<std::string>& out) -> Result<void> {
    auto it = config.find(key);
    if (it == config.end()) return {};
    if (it->is_string()) {
      out.push_back(it->get<std::string>());
      return {};
    }
    if (!it->is_array()) return fail(ErrorCode::kInvalidArgument, "security_txt: ", key, " must be text");
    for (const auto& v : *it) {
      if (!v.is_string()) return fail(ErrorCode::kInvalidArgument, "security_txt: ", key, " must be text");
      out.push_back(v.get<std::string>());
    }
    return {};
  };
  for (auto [key, out] : {std::pair{"contact", &t.contact}, {"encryption", &t.encryption},
                          {"acknowledgments", &t.acknowledgments}, {"canonical", &t.canonical},
                          {"policy", &t.policy}, {"hiring", &t.hiring}}) {
    if (auto ok = list(key, *out); !ok) return std::unexpected(ok.error());
  }
  for (auto [key, out] : {std::pair{"expires", &t.expires},
                          {"preferred_languages", &t.preferred_languages}}) {
    auto it = config.find(key);
    if (it == config.end()) continue;
    if (!it->is_string()) return fail(ErrorCode::kInvalidArgument, "security_txt: ", key, " must be text");
    *out = it->get<std::string>();
  }
  for (const auto& [key, v] : config.items()) {
    static const char* kKnown[] = {"contact", "expires", "encryption", "acknowledgments",
                                   "canonical", "policy", "hiring", "preferred_languages"};
    if (std::find(std::begin(kKnown), std::end(kKnown), key) == std::end(kKnown)) {
      return fail(ErrorCode::kInvalidArgument, "security_txt: unknown field '", key, "'");
    }
  }
  return t;
}

}  // namespace ironseal::evidence
