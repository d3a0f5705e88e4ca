#include "evidence/advisory.h"

#include <regex>

#include "evidence/sbom.h"
#include "evidence/security_txt.h"

namespace ironseal::evidence {
namespace {

using Json = nlohmann::json;

std::unexpected<Error> refuse(std::string_view what) {
  return fail_because(ErrorCode::kInvalidArgument, "bad_advisory", what);
}

std::string severity(double score) {
  if (score == 0) return "NONE";
  if (score < 4) return "LOW";
  if (score < 7) return "MEDIUM";
  if (score < 9) return "HIGH";
  return "CRITICAL";
}

Result<void> check(const AdvisoryInputs& in) {
  for (auto [name, value] : {std::pair{"--id", &in.id}, {"--title", &in.title},
                             {"--summary", &in.summary}, {"--vendor", &in.vendor},
                             {"--product", &in.product}, {"--fixed-version", &in.fixed_version}}) {
    if (value->empty()) return refuse(std::string(name) + " is required");
  }
  if (!in.publisher_namespace.starts_with("https://")) {
    return refuse("--namespace must be an https:// URL of the publisher");
  }
  static const std::regex cve(R"(CVE-[0-9]{4}-[0-9]{4,})");
  for (const auto& c : in.cves) {
    if (!std::regex_match(c, cve)) return refuse("'" + c + "' is not a CVE ID (CVE-YYYY-NNNN)");
  }
  if (in.security_counter == 0) {
    return refuse("--security-counter must be the fixed image's counter (> 0): it is what makes "
                  "the vulnerable images unbootable");
  }
  if (!in.cvss_vector.empty() &&
      (!in.cvss_score || *in.cvss_score < 0 || *in.cvss_score > 10 ||
       !in.cvss_vector.starts_with("CVSS:3."))) {
    return refuse("--cvss takes a CVSS:3.x vector and --cvss-score a base score from 0 to 10");
  }
  if (!in.date.empty()) {
    if (auto ok = parse_rfc3339(in.date); !ok) return std::unexpected(ok.error());
  }
  return {};
}

Json product_tree(const AdvisoryInputs& in, std::vector<std::string>& affected_ids) {
  Json versions = Json::array();
  versions.push_back({{"category", "product_version"}, {"name", in.fixed_version},
                      {"product", {{"product_id", "FIXED-" + in.fixed_version},
                                   {"name", in.product + " " + in.fixed_version}}}});
  if (in.affected_versions.empty()) {
    const std::string id = "AFFECTED-BELOW-" + in.fixed_version;
    versions.push_back({{"category", "product_version_range"},
                        {"name", "vers:generic/<" + in.fixed_version},
                        {"product", {{"product_id", id},
                                     {"name", in.product + " < " + in.fixed_version}}}});
    affected_ids.push_back(id);
  }
  for (const auto& v : in.affected_versions) {
    const std::string id = "AFFECTED-" + v;
    versions.push_back({{"category", "product_version"}, {"name", v},
                        {"product", {{"product_id", id}, {"name", in.product + " " + v}}}});
    affected_ids.push_back(id);
  }
  return {{"branches",
           Json::array({{{"category", "vendor"}, {"name", in.vendor},
                         {"branches", Json::array({{{"category", "product_name"},
                                                    {"name", in.product},
                                                    {"branches", versions}}})}}})}};
}

}  // namespace

Result<Json> build_csaf_advisory(const AdvisoryInputs& in) {
  if (auto ok = check(in); !ok) return std::unexpected(ok.error());
  const std::string date = in.date.empty() ? timestamp_now() : in.date;
  std::vector<std::string> affected;
  Json tree = product_tree(in, affected);
  const std::string fixed_id = "FIXED-" + in.fixed_version;
  const std::string remedy =
      "Install " + in.product + " " + in.fixed_version + " (security counter " +
      std::to_string(in.security_counter) + ") through the signed update channel. Once a device "
      "confirms it, the device's anti-rollback counter rises to " +
      std::to_string(in.security_counter) +
      " and the bootloader refuses every image with a lower counter, so the vulnerable firmware "
      "can no longer be booted, installed or rolled back to.";
  Json vuln = {{"title", in.title},
               {"notes", Json::array({{{"category", "description"}, {"text", in.summary},
                                       {"title", "Vulnerability description"}}})},
               {"product_status", {{"fixed", Json::array({fixed_id})},
                                   {"known_affected", affected}}},
               {"remediations", Json::array({{{"category", "vendor_fix"}, {"details", remedy},
                                              {"product_ids", affected}}})}};
  if (!in.cvss_vector.empty()) {
    vuln["scores"] = Json::array(
        {{{"products", affected},
          {"cvss_v3", {{"version", in.cvss_vector.substr(5, 3)}, {"vectorString", in.cvss_vector},
                       {"baseScore", *in.cvss_score}, {"baseSeverity", severity(*in.cvss_score)}}}}});
  }
  Json vulns = Json::array();
  if (in.cves.empty()) {
    vuln["ids"] = Json::array({{{"system_name", in.vendor}, {"text", in.id}}});
    vulns.push_back(vuln);
  }
  for (const auto& c : in.cves) {
    Json v = vuln;
    v["cve"] = c;
    vulns.push_back(v);
  }
  Json document = {
      {"category", "csaf_security_advisory"},
      {"csaf_version", "2.0"},
      {"lang", "en"},
      {"title", in.title},
      {"publisher", {{"category", "vendor"}, {"name", in.vendor},
                     {"namespace", in.publisher_namespace}}},
      {"notes", Json::array({{{"category", "summary"}, {"title", "Summary"}, {"text", in.summary}},
                             {{"category", "details"}, {"title", "Anti-rollback"},
                              {"text", remedy}}})},
      {"tracking", {{"id", in.id}, {"status", "final"}, {"version", "1"},
                    {"initial_release_date", date}, {"current_release_date", date},
                    {"revision_history", Json::array({{{"number", "1"}, {"date", date},
                                                       {"summary", "Initial release."}}})},
                    {"generator", {{"engine", {{"name", "ironseal"}, {"version", "0.1.0"}}}}}}}};
  return Json{{"document", document}, {"product_tree", tree}, {"vulnerabilities", vulns}};
}

}  // namespace ironseal::evidence
