#include "evidence/report.h"

#include <algorithm>
#include <map>

namespace ironseal::evidence {
namespace {

// Tests that match `pattern` (a name, or a glob with '*'); empty when none does.
std::vector<const TestResult*> matching(const TestResults& results, const std::string& pattern) {
  std::vector<const TestResult*> out;
  if (pattern.find('*') == std::string::npos) {
    auto it = results.tests.find(pattern);
    if (it != results.tests.end()) out.push_back(&it->second);
    return out;
  }
  for (const auto& [name, t] : results.tests) {
    if (matches_pattern(pattern, name)) out.push_back(&t);
  }
  return out;
}

void add_test(std::vector<TestEvidence>& list, const TestResult& t, bool listed, bool tagged) {
  for (auto& e : list) {
    if (e.name == t.name) {
      e.listed = e.listed || listed;
      e.tagged = e.tagged || tagged;
      return;
    }
  }
  list.push_back({t.name, t.outcome, t.seconds, listed, tagged});
}

void judge_claim(const ReportInputs& in, RequirementReport& rr,
                 const std::map<std::string, std::vector<const TestResult*>>& tagged) {
  const Requirement& r = *rr.requirement;
  for (const auto& pattern : r.tests) {
    auto found = matching(in.results, pattern);
    if (found.empty()) rr.problems.push_back("test '" + pattern + "' is not in the results");
    for (const auto* t : found) add_test(rr.tests, *t, true, false);
  }
  if (auto it = tagged.find(r.id); it != tagged.end()) {
    for (const auto* t : it->second) add_test(rr.tests, *t, false, true);
  }
  for (const auto& path : r.code) {
    if (!std::filesystem::exists(in.source_root / path))
      rr.problems.push_back("code path '" + path + "' does not exist");
  }
  for (const auto& path : r.design) {
    if (!std::filesystem::exists(in.source_root / path))
      rr.problems.push_back("design document '" + path + "' does not exist");
  }
  std::size_t passed = 0;
  for (const auto& t : rr.tests) {
    if (t.outcome == Outcome::kFailed) rr.problems.push_back("test '" + t.name + "' failed");
    if (t.outcome == Outcome::kPassed) ++passed;
  }
  if (passed == 0) rr.problems.push_back("no test of it passed in this build");
  std::sort(rr.tests.begin(), rr.tests.end(),
            [](const TestEvidence& a, const TestEvidence& b) { return a.name < b.name; });
  if (!rr.problems.empty()) rr.status = Status::kNotMet;
  else rr.status = r.partial ? Status::kPartial : Status::kMet;
}

void judge_threats(const ReportInputs& in, Report& report) {
  for (const auto& t : in.threats.threats) {
    ThreatReport tr{&t, {}, {}};
    for (const auto& id : t.requirements) {
      if (in.catalogue.find(id) == nullptr)
        tr.problems.push_back("requirement '" + id + "' is not in the catalogue");
    }
    for (const auto& pattern : t.tests) {
      auto found = matching(in.results, pattern);
      if (found.empty()) tr.problems.push_back("test '" + pattern + "' is not in the results");
      for (const auto* r : found) add_test(tr.tests, *r, true, false);
    }
    for (const auto& p : tr.problems) {
      report.failures.push_back(in.threats.file + ": " + t.id + ": " + p);
    }
    report.threats.push_back(std::move(tr));
  }
}

}  // namespace

std::string_view status_name(Status s) {
  switch (s) {
    case Status::kMet: return "met";
    case Status::kPartial: return "partial";
    case Status::kNotMet: return "not met";
    case Status::kNotClaimed: return "not claimed";
  }
  return "not met";
}

Report build_report(const ReportInputs& in) {
  Report report;
  report.inputs = &in;
  report.generated_at = timestamp_now();
  std::map<std::string, std::vector<const TestResult*>> tagged;
  for (const auto& [name, t] : in.results.tests) {
    if (t.outcome == Outcome::kFailed) {
      report.failures.push_back("test '" + name + "' failed" +
                                (t.message.empty() ? "" : ": " + t.message));
    }
    for (const auto& id : t.requirements) {
      if (in.catalogue.find(id) == nullptr) {
        report.failures.push_back("test '" + name + "' declares requirement '" + id +
                                  "', which is not in the catalogue");
      }
      tagged[id].push_back(&t);
    }
  }
  for (const auto& r : in.catalogue.requirements) {
    RequirementReport rr{&r, Status::kNotClaimed, {}, {}};
    if (r.claimed) judge_claim(in, rr, tagged);
    for (const auto& p : rr.problems) report.failures.push_back(r.id + ": " + p);
    ++report.counts[static_cast<int>(rr.status)];
    report.requirements.push_back(std::move(rr));
  }
  judge_threats(in, report);
  return report;
}

}  // namespace ironseal::evidence
