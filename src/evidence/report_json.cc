// report.json and the CycloneDX attestation of a Report.
#include <map>

#include "evidence/report.h"

namespace ironseal::evidence {
namespace {

using Json = nlohmann::json;

Json tests_json(const std::vector<TestEvidence>& tests) {
  Json out = Json::array();
  for (const auto& t : tests) {
    out.push_back({{"name", t.name}, {"result", outcome_name(t.outcome)}, {"seconds", t.seconds},
                   {"listed_in_catalogue", t.listed}, {"declares_requirement", t.tagged}});
  }
  return out;
}

std::size_t passed(const std::vector<TestEvidence>& tests) {
  std::size_t n = 0;
  for (const auto& t : tests) n += t.outcome == Outcome::kPassed;
  return n;
}

std::string ref_of(std::string_view prefix, std::string_view id) {
  std::string out(prefix);
  for (char c : id) out.push_back(c == ' ' ? '-' : c);
  return out;
}

Json requirement_json(const RequirementReport& rr) {
  const Requirement& r = *rr.requirement;
  Json j = {{"id", r.id}, {"standard", r.standard}, {"title", r.title},
            {"status", status_name(rr.status)}, {"claimed", r.claimed}};
  if (r.claimed) {
    j["target"] = r.target;
    j["extent"] = r.partial ? "partial" : "full";
    j["summary"] = r.summary;
    j["residual_risk"] = r.residual_risk;
    j["design"] = r.design;
    j["code"] = r.code;
    j["tests"] = tests_json(rr.tests);
    j["tests_passed"] = passed(rr.tests);
    j["problems"] = rr.problems;
  } else {
    j["owner"] = r.owner;
    j["reason"] = r.reason;
  }
  return j;
}

}  // namespace

Json report_json(const Report& report) {
  const ReportInputs& in = *report.inputs;
  Json reqs = Json::array();
  for (const auto& rr : report.requirements) reqs.push_back(requirement_json(rr));
  Json threats = Json::array();
  for (const auto& tr : report.threats) {
    const Threat& t = *tr.threat;
    threats.push_back({{"id", t.id}, {"title", t.title}, {"stride", t.stride},
                       {"where", t.where}, {"mitigation", t.mitigation},
                       {"requirements", t.requirements}, {"tests", tests_json(tr.tests)},
                       {"residual", t.residual}, {"problems", tr.problems}});
  }
  const auto& res = in.results;
  return {{"ok", report.ok()},
          {"product", in.catalogue.product},
          {"commit", in.commit},
          {"generated_at", report.generated_at},
          {"catalogue", in.catalogue_file},
          {"sbom", {{"file", in.sbom.file}, {"serial_number", in.sbom.serial},
                    {"components", in.sbom.components.size()}}},
          {"threat_model", in.threats.file},
          {"results", {{"files", res.files}, {"tests", res.tests.size()},
                       {"passed", res.count(Outcome::kPassed)},
                       {"failed", res.count(Outcome::kFailed)},
                       {"skipped", res.count(Outcome::kSkipped)}}},
          {"counts", {{"met", report.counts[0]}, {"partial", report.counts[1]},
                      {"not_met", report.counts[2]}, {"not_claimed", report.counts[3]}}},
          {"failures", report.failures},
          {"requirements", reqs},
          {"threats", threats}};
}

Result<Json> report_cyclonedx(const Report& report) {
  const ReportInputs& in = *report.inputs;
  std::map<std::string, Json> standards;
  Json map = Json::array(), claims = Json::array(), evidence = Json::array();
  for (const auto& rr : report.requirements) {
    const Requirement& r = *rr.requirement;
    const std::string req_ref = ref_of("requirement:", r.id);
    auto& std_json = standards[r.standard];
    std_json["requirements"].push_back(
        {{"bom-ref", req_ref}, {"identifier", r.id}, {"title", r.title}});
    Json entry = {{"requirement", req_ref}};
    if (!r.claimed) {
      entry["conformance"] = {{"score", 0}, {"rationale",
                                             "not claimed (" + r.owner + "): " + r.reason}};
      map.push_back(entry);
      continue;
    }
    const std::string claim_ref = ref_of("claim:", r.id);
    const std::string tests_ref = ref_of("evidence:tests:", r.id);
    const std::string code_ref = ref_of("evidence:code:", r.id);
    claims.push_back({{"bom-ref", claim_ref}, {"target", "ironseal"}, {"predicate", r.summary},
                      {"reasoning", "Residual risk: " + r.residual_risk},
                      {"evidence", Json::array({tests_ref, code_ref})}});
    Json results = tests_json(rr.tests);
    evidence.push_back(
        {{"bom-ref", tests_ref}, {"propertyName", "internal:ironseal:test-results"},
         {"description", "Tests of " + r.id + " and their results in build " + in.commit},
         {"data", Json::array({{{"name", "tests"}, {"contents",
                                  {{"attachment", {{"contentType", "application/json"},
                                                   {"content", results.dump()}}}}}}})},
         {"created", report.generated_at}});
    Json code_list = {{"code", r.code}, {"design", r.design}};
    evidence.push_back(
        {{"bom-ref", code_ref}, {"propertyName", "internal:ironseal:code-references"},
         {"description", "Code and design documents of " + r.id + " at commit " + in.commit},
         {"data", Json::array({{{"name", "references"}, {"contents",
                                  {{"attachment", {{"contentType", "application/json"},
                                                   {"content", code_list.dump()}}}}}}})},
         {"created", report.generated_at}});
    const double score = rr.status == Status::kMet ? 1.0 : rr.status == Status::kPartial ? 0.5 : 0.0;
    const std::size_t n = rr.tests.size(), ok = passed(rr.tests);
    entry["claims"] = Json::array({claim_ref});
    entry["conformance"] = {{"score", score}, {"rationale", std::string(status_name(rr.status))}};
    entry["confidence"] = {{"score", n == 0 ? 0.0 : static_cast<double>(ok) / static_cast<double>(n)},
                           {"rationale", std::to_string(ok) + " of " + std::to_string(n) +
                                             " tests passed in this build"}};
    map.push_back(entry);
  }
  Json std_list = Json::array();
  for (auto& [name, s] : standards) {
    std_list.push_back({{"bom-ref", ref_of("standard:", name)}, {"name", name}, {"owner", "IEC"},
                        {"description", "Requirement IDs and titles only; the standard's text is "
                                        "not reproduced."},
                        {"requirements", s["requirements"]}});
  }
  auto serial = new_serial_number();
  if (!serial) return std::unexpected(serial.error());
  return Json{
      {"bomFormat", "CycloneDX"}, {"specVersion", "1.6"}, {"serialNumber", *serial},
      {"version", 1},
      {"metadata", {{"timestamp", report.generated_at},
                    {"component", {{"type", "application"}, {"bom-ref", "ironseal"},
                                   {"name", in.catalogue.product},
                                   {"version", in.sbom.product_version.empty()
                                                   ? "unknown" : in.sbom.product_version},
                                   {"properties", Json::array({{{"name", "ironseal:commit"},
                                                                {"value", in.commit}}})}}}}},
      {"definitions", {{"standards", std_list}}},
      {"declarations",
       {{"assessors", Json::array({{{"bom-ref", "assessor:self"}, {"thirdParty", false},
                                    {"organization", {{"name", "ironseal project"}}}}})},
        {"attestations", Json::array({{{"summary", "ironseal's self-assessment against IEC "
                                                   "62443-4-2 and 62443-4-1, from build evidence"},
                                       {"assessor", "assessor:self"}, {"map", map}}})},
        {"claims", claims},
        {"evidence", evidence}}}};
}

}  // namespace ironseal::evidence
