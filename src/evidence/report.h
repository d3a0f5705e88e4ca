// The auditor's report: the catalogue joined with this build's test results, the threat model,
// the SBOM and the commit (docs/evidence.md). Each requirement gets a status computed from
// evidence, never copied from the catalogue:
//   not claimed  the catalogue makes no claim (and says whose job it is)
//   not met      claimed, but a test failed, a referenced test or code path is missing, or no
//                test passed
//   partial      claimed with extent "partial", and every test ran and passed
//   met          claimed in full, and every test ran and passed
// The report fails (ok == false; `ironseal evidence build` exits 1) when a claimed requirement is
// not met, any test failed, a test declares a requirement the catalogue lacks, or a threat names a
// test or requirement that does not exist.
#pragma once

#include <filesystem>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "evidence/catalogue.h"
#include "evidence/results.h"
#include "evidence/sbom.h"
#include "evidence/threat_model.h"

namespace ironseal::evidence {

enum class Status { kMet, kPartial, kNotMet, kNotClaimed };
std::string_view status_name(Status s);

struct TestEvidence {
  std::string name;
  Outcome outcome = Outcome::kSkipped;
  double seconds = 0;
  bool listed = false;  // named (or matched) by the catalogue entry
  bool tagged = false;  // the test declares the requirement itself
};

struct RequirementReport {
  const Requirement* requirement = nullptr;
  Status status = Status::kNotClaimed;
  std::vector<TestEvidence> tests;
  std::vector<std::string> problems;  // why it is not met, one line each
};

struct ThreatReport {
  const Threat* threat = nullptr;
  std::vector<TestEvidence> tests;
  std::vector<std::string> problems;
};

struct ReportInputs {
  Catalogue catalogue;
  TestResults results;
  ThreatModel threats;
  Sbom sbom;
  std::string commit;
  std::filesystem::path source_root;  // where code and design paths are checked
  std::string catalogue_file;
};

struct Report {
  const ReportInputs* inputs = nullptr;
  std::string generated_at;
  std::vector<RequirementReport> requirements;
  std::vector<ThreatReport> threats;
  std::vector<std::string> failures;  // every reason the report fails, one line each
  std::size_t counts[4] = {0, 0, 0, 0};  // by Status
  bool ok() const { return failures.empty(); }
};

// `inputs` must outlive the report.
Report build_report(const ReportInputs& inputs);

nlohmann::json report_json(const Report& report);
std::string report_html(const Report& report);
// CycloneDX 1.6: the standards and their requirements (definitions), ironseal's claims with their
// evidence and an attestation mapping each requirement to claims (declarations).
Result<nlohmann::json> report_cyclonedx(const Report& report);

}  // namespace ironseal::evidence
