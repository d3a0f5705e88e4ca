// The requirements catalogue (docs/compliance/requirements.json): every IEC 62443-4-2 component
// requirement and IEC 62443-4-1 practice, by ID and title only, with ironseal's claim or the reason
// it makes none. Format: docs/compliance/README.md. Parsing is strict (unknown fields, wrong
// types, a claimed item without tests or code, an unclaimed one without a reason: refused with
// the file and the JSON pointer), so an incomplete catalogue can never produce a report that
// says "met".
#pragma once

#include <filesystem>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/result.h"

namespace ironseal::evidence {

struct Requirement {
  std::string id;        // "CR 3.4", "EDR 3.14", "SUM-4"
  std::string standard;  // "IEC 62443-4-2" or "IEC 62443-4-1"
  std::string title;
  bool claimed = false;
  // Claimed only.
  int target = 0;        // target SL (4-2) or ML (4-1), 1..4
  bool partial = false;  // extent "partial": met in part, residual_risk says what is missing
  std::string summary;
  std::vector<std::string> design;  // documents (paths from the source root)
  std::vector<std::string> code;    // files or folders (paths from the source root)
  std::string residual_risk;
  std::vector<std::string> tests;  // test names, '*' matches any run of characters
  // Unclaimed only.
  std::string owner;  // "integrator", "asset_owner" or "out_of_scope"
  std::string reason;
};

struct Catalogue {
  std::string about;
  std::string product;
  std::vector<Requirement> requirements;

  const Requirement* find(std::string_view id) const;
};

// True for an ID of the shape the two standards use: "CR 1.2", "EDR 3.14", "SUM-4".
bool is_requirement_id(std::string_view id);

// `file` names the input in refusals.
Result<Catalogue> parse_catalogue(std::string_view text, const std::string& file);
Result<Catalogue> load_catalogue(const std::filesystem::path& path);

// Glob match of a test name against a catalogue pattern ('*' only).
bool matches_pattern(std::string_view pattern, std::string_view name);

}  // namespace ironseal::evidence
