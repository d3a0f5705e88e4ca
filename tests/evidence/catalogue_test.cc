// The evidence inputs are refused when malformed, with the file and the field, so an incomplete
// input never yields a report that says "met" (issue 14; IEC 62443-4-1 SVV-1, SR-5).
#include <gtest/gtest.h>

#include "evidence/catalogue.h"
#include "evidence/results.h"
#include "evidence/threat_model.h"
#include "support/requirements.h"

namespace ironseal::evidence {
namespace {

const char* kClaimed = R"({"id": "CR 3.4", "standard": "IEC 62443-4-2", "title": "Software and information integrity",
  "claimed": true, "target": 2, "extent": "full", "summary": "s", "design": ["docs/a.md"],
  "code": ["src/a.cc"], "residual_risk": "r", "tests": ["A.*"]})";
const char* kUnclaimed = R"({"id": "CR 1.6", "standard": "IEC 62443-4-2", "title": "t",
  "claimed": false, "owner": "integrator", "reason": "why"})";

std::string catalogue(const std::string& entries) {
  return R"({"product": "ironseal", "requirements": [)" + entries + "]}";
}

TEST(Catalogue, ReadsClaimedAndUnclaimedEntries) {
  IRONSEAL_REQUIREMENTS("SVV-1");
  auto c = parse_catalogue(catalogue(std::string(kClaimed) + "," + kUnclaimed), "cat.json");
  ASSERT_TRUE(c) << c.error().message;
  ASSERT_EQ(c->requirements.size(), 2u);
  EXPECT_TRUE(c->requirements[0].claimed);
  EXPECT_EQ(c->requirements[0].target, 2);
  EXPECT_FALSE(c->requirements[0].partial);
  EXPECT_EQ(c->requirements[1].owner, "integrator");
  EXPECT_NE(c->find("CR 1.6"), nullptr);
  EXPECT_EQ(c->find("CR 9.9"), nullptr);
}

void expect_refused(const std::string& text, const std::string& field) {
  auto c = parse_catalogue(text, "cat.json");
  ASSERT_FALSE(c) << "accepted: " << text;
  EXPECT_EQ(c.error().code, ErrorCode::kInvalidArgument);
  EXPECT_EQ(c.error().reason, "bad_catalogue");
  EXPECT_NE(c.error().message.find("cat.json"), std::string::npos) << c.error().message;
  EXPECT_NE(c.error().message.find(field), std::string::npos) << c.error().message;
}

std::string with(std::string entry, const std::string& from, const std::string& to) {
  entry.replace(entry.find(from), from.size(), to);
  return catalogue(entry);
}

TEST(Catalogue, RefusesMalformedEntriesNamingTheField) {
  IRONSEAL_REQUIREMENTS("SVV-1");
  expect_refused("{not json", "not valid JSON");
  expect_refused(R"({"product": "x", "requirements": []})", "/requirements");
  expect_refused(with(kClaimed, R"("tests": ["A.*"])", R"("test": ["A.*"])"), "/requirements/0/test");
  expect_refused(with(kClaimed, R"("tests": ["A.*"])", R"("tests": [])"), "/requirements/0/tests");
  expect_refused(with(kClaimed, R"("target": 2)", R"("target": 5)"), "/requirements/0/target");
  expect_refused(with(kClaimed, R"("extent": "full")", R"("extent": "most")"), "/requirements/0/extent");
  expect_refused(with(kClaimed, R"("code": ["src/a.cc"])", R"("code": ["../etc/passwd"])"),
                 "/requirements/0/code");
  expect_refused(with(kClaimed, R"("CR 3.4")", R"("CR3.4")"), "/requirements/0/id");
  expect_refused(with(kClaimed, R"("claimed": true)", R"("claimed": "yes")"), "/requirements/0/claimed");
  expect_refused(with(kUnclaimed, R"("owner": "integrator")", R"("owner": "nobody")"),
                 "/requirements/0/owner");
  expect_refused(with(kUnclaimed, R"("reason": "why")", R"("reason": "")"), "/requirements/0/reason");
  // An unclaimed entry with claim fields is a half-edited entry: refused, not ignored.
  expect_refused(with(kUnclaimed, R"("reason": "why")", R"("reason": "why", "tests": ["A.*"])"),
                 "/requirements/0/tests");
  expect_refused(catalogue(std::string(kUnclaimed) + "," + kUnclaimed), "duplicate ID CR 1.6");
}

TEST(Catalogue, PatternsMatchWholeNamesWithStars) {
  EXPECT_TRUE(matches_pattern("Boot.*", "Boot.Trial"));
  EXPECT_TRUE(matches_pattern("*/PerMode.*", "Modes/PerMode.Verify/0"));
  EXPECT_TRUE(matches_pattern("cli.behaviour", "cli.behaviour"));
  EXPECT_FALSE(matches_pattern("Boot.*", "BootState.X"));
  EXPECT_FALSE(matches_pattern("cli.behaviour", "cli.behaviour2"));
  EXPECT_FALSE(matches_pattern("a*b*c", "aXbY"));
}

const char* kGtestXml = R"(<?xml version="1.0" encoding="UTF-8"?>
<testsuites tests="3">
  <testsuite name="Boot" tests="3">
    <testcase name="Trial" status="run" result="completed" time="0.5" classname="Boot">
      <properties><property name="requirements" value="EDR 3.14; CR 3.4"/></properties>
    </testcase>
    <testcase name="Broken" status="run" result="completed" time="0" classname="Boot">
      <failure message="Expected equality" type=""/>
    </testcase>
    <testcase name="Later" status="notrun" result="suppressed" time="0" classname="Boot"/>
  </testsuite>
</testsuites>)";

TEST(JUnit, ReadsGtestCasesWithOutcomesAndRequirementProperties) {
  IRONSEAL_REQUIREMENTS("SVV-1");
  TestResults r;
  ASSERT_TRUE(add_junit(r, kGtestXml, "gtest.xml"));
  ASSERT_EQ(r.tests.size(), 3u);
  EXPECT_EQ(r.tests["Boot.Trial"].outcome, Outcome::kPassed);
  EXPECT_EQ(r.tests["Boot.Trial"].requirements, (std::vector<std::string>{"EDR 3.14", "CR 3.4"}));
  EXPECT_EQ(r.tests["Boot.Broken"].outcome, Outcome::kFailed);
  EXPECT_EQ(r.tests["Boot.Broken"].message, "Expected equality");
  EXPECT_EQ(r.tests["Boot.Later"].outcome, Outcome::kSkipped);
}

TEST(JUnit, ATestThatFailedInAnyRunIsFailed) {
  IRONSEAL_REQUIREMENTS("SVV-1");
  TestResults r;
  ASSERT_TRUE(add_junit(r, kGtestXml, "gtest.xml"));
  // ctest's form: classname == name; the same test passed here.
  ASSERT_TRUE(add_junit(r, R"(<testsuite><testcase name="Boot.Broken" classname="Boot.Broken" status="run"/>
    <testcase name="cli.x" classname="cli.x" status="notrun"><skipped message="SKIP_RETURN_CODE=77"/></testcase></testsuite>)",
                        "ctest.xml"));
  EXPECT_EQ(r.tests["Boot.Broken"].outcome, Outcome::kFailed);
  EXPECT_EQ(r.tests["Boot.Broken"].sources.size(), 2u);
  EXPECT_EQ(r.tests["cli.x"].outcome, Outcome::kSkipped);
  ASSERT_TRUE(add_ctest_labels(r, R"({"tests": [{"name": "cli.x", "properties": [{"name": "LABELS",
      "value": ["cli", "CR 1.2"]}]}, {"name": "not.run", "properties": [{"name": "LABELS", "value": ["CR 7.1"]}]}]})",
                               "list.json"));
  EXPECT_EQ(r.tests["cli.x"].requirements, std::vector<std::string>{"CR 1.2"});
  EXPECT_EQ(r.tests.count("not.run"), 0u);  // a label of a test that did not run is not evidence
}

TEST(JUnit, RefusesMalformedXmlDtdsAndEntities) {
  IRONSEAL_REQUIREMENTS("CR 3.5; SVV-3");
  TestResults r;
  auto bad = add_junit(r, "<testsuite><testcase name=\"a\"></testsuite>", "broken.xml");
  ASSERT_FALSE(bad);
  EXPECT_EQ(bad.error().reason, "bad_junit");
  EXPECT_NE(bad.error().message.find("broken.xml: line 1"), std::string::npos) << bad.error().message;
  auto laughs = add_junit(r, R"(<?xml version="1.0"?><!DOCTYPE t [<!ENTITY a "aaaaaaaa">
    <!ENTITY b "&a;&a;&a;&a;&a;&a;&a;&a;">]><testsuite><testcase name="&b;"/></testsuite>)",
                          "laughs.xml");
  ASSERT_FALSE(laughs);
  EXPECT_NE(laughs.error().message.find("DOCTYPE"), std::string::npos);
  auto nameless = add_junit(r, "<testsuite><testcase classname=\"x\"/></testsuite>", "n.xml");
  ASSERT_FALSE(nameless);
  EXPECT_NE(nameless.error().message.find("testcase without a name"), std::string::npos);
  auto other = add_junit(r, "<html><testcase name=\"a\"/></html>", "o.xml");
  ASSERT_FALSE(other);
  auto empty = add_junit(r, "<testsuites/>", "e.xml");
  ASSERT_FALSE(empty);
  EXPECT_NE(empty.error().message.find("no <testcase>"), std::string::npos);
  EXPECT_TRUE(r.tests.empty());
}

const char* kThreats = R"(# Threat model
intro
### T-01: Tampered image
- STRIDE: Tampering
- Where: Z2
- Threat: someone edits the image
- Mitigation: signatures
- Requirements: CR 3.4, EDR 3.14
- Tests: `ImageVerify.*`, `cli.exit_codes`

### T-02: Glitching the bootloader
- STRIDE: Tampering / Elevation of privilege
- Mitigation: none in software
- Requirements: EDR 3.11
- Tests: none (residual: needs hardware countermeasures)
## Residual risk
)";

TEST(ThreatModel, ReadsThreatsWithTestsOrAResidualReason) {
  IRONSEAL_REQUIREMENTS("SR-2");
  auto m = parse_threat_model(kThreats, "tm.md");
  ASSERT_TRUE(m) << m.error().message;
  ASSERT_EQ(m->threats.size(), 2u);
  EXPECT_EQ(m->threats[0].id, "T-01");
  EXPECT_EQ(m->threats[0].requirements, (std::vector<std::string>{"CR 3.4", "EDR 3.14"}));
  EXPECT_EQ(m->threats[0].tests, (std::vector<std::string>{"ImageVerify.*", "cli.exit_codes"}));
  EXPECT_TRUE(m->threats[1].tests.empty());
  EXPECT_NE(m->threats[1].residual.find("hardware"), std::string::npos);
}

TEST(ThreatModel, RefusesThreatsMissingWhatMakesThemTraceable) {
  IRONSEAL_REQUIREMENTS("SR-2");
  auto refuse = [](std::string text, const std::string& from, const std::string& to,
                   const std::string& why) {
    text.replace(text.find(from), from.size(), to);
    auto m = parse_threat_model(text, "tm.md");
    ASSERT_FALSE(m) << "accepted after replacing " << from;
    EXPECT_EQ(m.error().reason, "bad_threat_model");
    EXPECT_NE(m.error().message.find(why), std::string::npos) << m.error().message;
  };
  refuse(kThreats, "- STRIDE: Tampering\n", "", "no '- STRIDE:' line");
  refuse(kThreats, "- STRIDE: Tampering\n", "- STRIDE: Sabotage\n", "unknown STRIDE category");
  refuse(kThreats, "- Mitigation: signatures\n", "", "no '- Mitigation:' line");
  refuse(kThreats, "- Requirements: CR 3.4, EDR 3.14\n", "", "no '- Requirements:' line");
  refuse(kThreats, "- Tests: `ImageVerify.*`, `cli.exit_codes`\n", "", "no '- Tests:' line");
  refuse(kThreats, "none (residual: needs hardware countermeasures)", "none", "must say why");
  refuse(kThreats, "### T-02:", "### T-01:", "duplicate threat T-01");
  auto none = parse_threat_model("# nothing here\n", "tm.md");
  ASSERT_FALSE(none);
}

}  // namespace
}  // namespace ironseal::evidence
