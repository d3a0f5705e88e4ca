// RFC 9116 security.txt: where researchers report vulnerabilities (IEC 62443-4-1 DM-1, DM-5).
// Served by the fleet server at /.well-known/security.txt and written by
// `ironseal evidence security-txt`. Refuses what RFC 9116 forbids: no Contact, a Contact that is
// not a mailto:, tel: or https:// URI, no Expires, an Expires that is not an RFC 3339 time or is
// already past, and line breaks inside a value (they would forge extra fields).
#pragma once

#include <ctime>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "core/result.h"

namespace ironseal::evidence {

struct SecurityTxt {
  std::vector<std::string> contact;  // mailto:, tel: or https:// (at least one)
  std::string expires;               // RFC 3339, e.g. 2027-06-30T00:00:00Z
  std::vector<std::string> encryption, acknowledgments, canonical, policy, hiring;
  std::string preferred_languages;  // "en, de"
};

// The file's text, fields in RFC 9116's order. `now` decides whether Expires is past.
// Reasons: "missing_contact", "bad_contact", "missing_expires", "bad_expires", "expired",
// "bad_value".
Result<std::string> render_security_txt(const SecurityTxt& txt, std::time_t now);

// The fleet server's config object {"contact", "expires", "encryption", ...} (docs/fleet-server.md);
// each list field takes a string or a list of strings.
Result<SecurityTxt> security_txt_from_json(const nlohmann::json& config);

// Seconds since the epoch of an RFC 3339 time ("2027-06-30T00:00:00Z", "...+02:00"), or
// kInvalidArgument.
Result<std::time_t> parse_rfc3339(std::string_view text);

}  // namespace ironseal::evidence
