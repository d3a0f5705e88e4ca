// The machine-readable part of docs/threat-model.md: each threat is a "### T-NN: title" heading
// followed by "- STRIDE:", "- Where:", "- Threat:", "- Mitigation:", "- Requirements:" and
// "- Tests:" lines. Tests are backticked names or globs, or "none (residual: why)". The evidence
// report lists every threat with its tests' results and fails when a threat names a test that is
// not in the results or a requirement that is not in the catalogue.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "core/result.h"

namespace ironseal::evidence {

struct Threat {
  std::string id;  // "T-07"
  std::string title;
  std::string stride;  // one or more of the six categories
  std::string where;
  std::string threat;
  std::string mitigation;
  std::vector<std::string> requirements;
  std::vector<std::string> tests;  // empty when residual
  std::string residual;            // the "none (...)" text when no test covers it
  int line = 0;
};

struct ThreatModel {
  std::string file;
  std::vector<Threat> threats;
};

// Refuses (reason "bad_threat_model", with the file and line) a threat without STRIDE category,
// mitigation, requirements or tests, an unknown STRIDE word, a duplicate ID, or no threat at all.
Result<ThreatModel> parse_threat_model(std::string_view markdown, const std::string& file);
Result<ThreatModel> load_threat_model(const std::string& path);

}  // namespace ironseal::evidence
