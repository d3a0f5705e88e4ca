// The report's statuses come from evidence: a failed, missing or absent test, or a missing code
// path, makes a claim "not met" and the report fail (issue 14; IEC 62443-4-1 SVV-1, SM-12).
#include <gtest/gtest.h>

#include <fstream>

#include "evidence/report.h"
#include "support/requirements.h"
#include "support/test_env.h"

namespace ironseal::evidence {
namespace {

class Report : public ::testing::Test {
 protected:
  void SetUp() override {
    root_ = tmp_.path();
    std::filesystem::create_directories(root_ / "src" / "image");
    std::filesystem::create_directories(root_ / "docs");
    std::ofstream(root_ / "src" / "image" / "verify.cc") << "//";
    std::ofstream(root_ / "docs" / "boot.md") << "#";
    in_.source_root = root_;
    in_.commit = "abc123";
    in_.catalogue = *parse_catalogue(R"({"product": "ironseal", "requirements": [
      {"id": "CR 3.4", "standard": "IEC 62443-4-2", "title": "Software and information integrity",
       "claimed": true, "target": 2, "extent": "full", "summary": "signed images",
       "design": ["docs/boot.md"], "code": ["src/image/verify.cc"], "residual_risk": "none",
       "tests": ["ImageVerify.*"]},
      {"id": "CR 7.4", "standard": "IEC 62443-4-2", "title": "Recovery", "claimed": true,
       "target": 2, "extent": "partial", "summary": "s", "design": ["docs/boot.md"],
       "code": ["src/image"], "residual_risk": "r", "tests": ["Boot.Revert"]},
      {"id": "CR 1.6", "standard": "IEC 62443-4-2", "title": "Wireless", "claimed": false,
       "owner": "integrator", "reason": "no radio"}]})",
                                         "cat.json");
    in_.threats = *parse_threat_model(
        "### T-01: Tampered image\n- STRIDE: Tampering\n- Mitigation: m\n"
        "- Requirements: CR 3.4\n- Tests: `ImageVerify.*`\n",
        "tm.md");
    pass("ImageVerify.Good");
    pass("ImageVerify.TamperedIsRefused");
    pass("Boot.Revert");
  }

  void add(const std::string& name, Outcome o, std::vector<std::string> tags = {}) {
    TestResult t;
    t.name = name;
    t.outcome = o;
    t.requirements = std::move(tags);
    in_.results.tests[name] = t;
  }
  void pass(const std::string& name) { add(name, Outcome::kPassed); }

  const RequirementReport& find(const evidence::Report& r, const std::string& id) {
    for (const auto& rr : r.requirements) {
      if (rr.requirement->id == id) return rr;
    }
    throw std::runtime_error("no " + id);
  }

  testing::TempDir tmp_;
  std::filesystem::path root_;
  ReportInputs in_;
};

TEST_F(Report, PassingTestsMeetFullAndPartialClaims) {
  IRONSEAL_REQUIREMENTS("SVV-1");
  auto r = build_report(in_);
  EXPECT_TRUE(r.ok()) << (r.failures.empty() ? "" : r.failures[0]);
  EXPECT_EQ(find(r, "CR 3.4").status, Status::kMet);
  EXPECT_EQ(find(r, "CR 3.4").tests.size(), 2u);
  EXPECT_EQ(find(r, "CR 7.4").status, Status::kPartial);
  EXPECT_EQ(find(r, "CR 1.6").status, Status::kNotClaimed);
  EXPECT_EQ(r.counts[0], 1u);
  EXPECT_EQ(r.counts[1], 1u);
  EXPECT_EQ(r.counts[3], 1u);
  auto j = report_json(r);
  EXPECT_EQ(j["counts"]["met"], 1);
  EXPECT_EQ(j["requirements"][0]["status"], "met");
  auto html = report_html(r);
  EXPECT_NE(html.find("Software and information integrity"), std::string::npos);
  EXPECT_EQ(html.find("<script"), std::string::npos);
  EXPECT_EQ(html.find("http"), std::string::npos) << "no external asset";
}

TEST_F(Report, AFailedTestMakesTheClaimNotMetAndTheReportFail) {
  IRONSEAL_REQUIREMENTS("SVV-1");
  add("ImageVerify.TamperedIsRefused", Outcome::kFailed);
  auto r = build_report(in_);
  EXPECT_FALSE(r.ok());
  EXPECT_EQ(find(r, "CR 3.4").status, Status::kNotMet);
  EXPECT_EQ(r.counts[2], 1u);
}

TEST_F(Report, AReferencedTestMissingFromTheResultsIsNotMet) {
  IRONSEAL_REQUIREMENTS("SVV-1");
  in_.results.tests.erase("Boot.Revert");
  auto r = build_report(in_);
  EXPECT_FALSE(r.ok());
  const auto& rr = find(r, "CR 7.4");
  EXPECT_EQ(rr.status, Status::kNotMet);
  EXPECT_NE(rr.problems[0].find("'Boot.Revert' is not in the results"), std::string::npos);
}

TEST_F(Report, OnlySkippedTestsAreNoEvidence) {
  IRONSEAL_REQUIREMENTS("SVV-1");
  add("Boot.Revert", Outcome::kSkipped);
  auto r = build_report(in_);
  EXPECT_EQ(find(r, "CR 7.4").status, Status::kNotMet);
  EXPECT_FALSE(r.ok());
}

TEST_F(Report, AMissingCodePathIsNotMet) {
  IRONSEAL_REQUIREMENTS("SVV-1");
  std::filesystem::remove(root_ / "src" / "image" / "verify.cc");
  auto r = build_report(in_);
  EXPECT_EQ(find(r, "CR 3.4").status, Status::kNotMet);
  EXPECT_FALSE(r.ok());
}

TEST_F(Report, ATagNamingAnUnknownRequirementFailsTheReport) {
  IRONSEAL_REQUIREMENTS("SVV-1");
  add("Boot.Other", Outcome::kPassed, {"CR 3.14"});
  auto r = build_report(in_);
  EXPECT_FALSE(r.ok());
  ASSERT_FALSE(r.failures.empty());
  EXPECT_NE(r.failures[0].find("'CR 3.14', which is not in the catalogue"), std::string::npos);
}

TEST_F(Report, TaggedTestsCountForTheRequirementTheyDeclare) {
  IRONSEAL_REQUIREMENTS("SVV-1");
  add("Fleet.Rollback", Outcome::kFailed, {"CR 7.4"});
  auto r = build_report(in_);
  const auto& rr = find(r, "CR 7.4");
  EXPECT_EQ(rr.status, Status::kNotMet);
  EXPECT_EQ(rr.tests.size(), 2u);
}

TEST_F(Report, AThreatNamingAnUnknownTestOrRequirementFailsTheReport) {
  IRONSEAL_REQUIREMENTS("SR-2; SVV-2");
  in_.threats = *parse_threat_model(
      "### T-01: x\n- STRIDE: Spoofing\n- Mitigation: m\n- Requirements: CR 9.9\n"
      "- Tests: `Gone.*`\n",
      "tm.md");
  auto r = build_report(in_);
  EXPECT_FALSE(r.ok());
  ASSERT_EQ(r.threats[0].problems.size(), 2u);
  EXPECT_NE(r.threats[0].problems[0].find("'CR 9.9' is not in the catalogue"), std::string::npos);
  EXPECT_NE(r.threats[0].problems[1].find("'Gone.*' is not in the results"), std::string::npos);
}

TEST_F(Report, TheAttestationMapsEachRequirementToClaimAndEvidence) {
  IRONSEAL_REQUIREMENTS("SVV-1");
  in_.sbom.serial = "urn:uuid:00000000-0000-4000-8000-000000000000";
  auto r = build_report(in_);
  auto cdx = report_cyclonedx(r);
  ASSERT_TRUE(cdx);
  const auto& d = (*cdx)["declarations"];
  EXPECT_EQ(d["claims"].size(), 2u);      // the two claimed requirements
  EXPECT_EQ(d["evidence"].size(), 4u);    // tests and code per claim
  const auto& map = d["attestations"][0]["map"];
  ASSERT_EQ(map.size(), 3u);
  EXPECT_EQ(map[0]["requirement"], "requirement:CR-3.4");
  EXPECT_EQ(map[0]["claims"][0], "claim:CR-3.4");
  EXPECT_EQ(map[0]["conformance"]["score"], 1.0);
  EXPECT_EQ(map[1]["conformance"]["score"], 0.5);
  EXPECT_EQ(map[2]["conformance"]["score"], 0);
}

}  // namespace
}  // namespace ironseal::evidence
