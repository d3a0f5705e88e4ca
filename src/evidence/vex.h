// Vulnerability exploitability (VEX) from an offline advisory feed (docs/evidence.md).
//
// The feed is OSV JSON as OSV.dev and Debian publish it (one entry, a list, or {"vulns": [...]}).
// A component matches an entry by package URL, or, for Debian ecosystems, by its source package
// (Debian's advisories name source packages) and the installed version against the entry's
// ranges, compared the way dpkg compares versions. The project-kept triage file records the
// analysis a person made; the result is a CycloneDX 1.6 VEX document:
//   affected (exploitable)            in range, triaged as affected
//   not_affected + justification      in range, triaged as not affected, with why
//   under_investigation (in_triage)   in range, not yet triaged
//   fixed (resolved)                  the package is named, our version carries the fix
#pragma once

#include <nlohmann/json.hpp>
#include <string>
#include <string_view>
#include <vector>

#include "core/result.h"
#include "evidence/sbom.h"

namespace ironseal::evidence {

// dpkg's ordering of Debian versions ([epoch:]upstream[-revision], '~' before anything).
int compare_debian_versions(std::string_view a, std::string_view b);

struct OsvRange {
  std::vector<std::pair<std::string, std::string>> events;  // ("introduced"|"fixed"|"last_affected", version)
};
struct OsvAffected {
  std::string ecosystem, name, purl;
  std::vector<OsvRange> ranges;
  std::vector<std::string> versions;
};
struct OsvEntry {
  std::string id, summary, details, modified, published;
  std::vector<std::string> aliases;
  std::vector<std::string> cvss_vectors;  // severity[].score of CVSS types
  std::vector<OsvAffected> affected;
};

// Reason "bad_feed", with the file and JSON pointer.
Result<std::vector<OsvEntry>> parse_osv_feed(std::string_view text, const std::string& file);

struct TriageEntry {
  std::string vulnerability;  // an OSV ID or an alias (CVE)
  std::string component;      // a component name or bom-ref; empty: every matching component
  std::string state;          // "affected", "not_affected", "under_investigation"
  std::string justification;  // CycloneDX justification, required for not_affected
  std::string detail;
};
// Reason "bad_triage".
Result<std::vector<TriageEntry>> parse_triage(std::string_view text, const std::string& file);

struct VexResult {
  nlohmann::json document;  // CycloneDX 1.6
  std::size_t affected = 0, not_affected = 0, under_investigation = 0, fixed = 0;
  std::vector<std::string> unused_triage;  // triage entries that matched nothing (stale)
};

Result<VexResult> build_vex(const Sbom& sbom, const std::vector<OsvEntry>& feed,
                            const std::vector<TriageEntry>& triage);

}  // namespace ironseal::evidence
