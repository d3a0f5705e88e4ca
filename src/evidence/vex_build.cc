// build_vex(): components against the feed, then the triage (vex.h).
#include <algorithm>
#include <set>

#include "evidence/vex.h"

namespace ironseal::evidence {
namespace {

using Json = nlohmann::json;

enum class Match { kNone, kAffected, kFixed };

bool in_range(const OsvRange& range, const std::string& v, bool* fixed_seen) {
  auto events = range.events;
  // OSV: evaluate events in version order ("0" sorts first).
  std::stable_sort(events.begin(), events.end(), [](const auto& a, const auto& b) {
    if (a.second == "0") return b.second != "0";
    if (b.second == "0") return false;
    return compare_debian_versions(a.second, b.second) < 0;
  });
  bool affected = false;
  for (const auto& [kind, at] : events) {
    if (kind == "introduced" && (at == "0" || compare_debian_versions(v, at) >= 0)) {
      affected = true;
    } else if (kind == "fixed" && compare_debian_versions(v, at) >= 0) {
      affected = false;
      *fixed_seen = true;
    } else if ((kind == "last_affected" && compare_debian_versions(v, at) > 0) ||
               (kind == "limit" && compare_debian_versions(v, at) >= 0)) {
      affected = false;
    }
  }
  return affected;
}

std::string purl_base(std::string_view purl) {
  auto at = purl.find('@');
  auto q = purl.find_first_of("?#");
  return std::string(purl.substr(0, std::min(at, q)));
}

Match match(const OsvAffected& a, const SbomComponent& c) {
  bool named = false;
  if (!a.purl.empty() && !c.purl.empty()) {
    named = purl_base(a.purl) == purl_base(c.purl);
  } else if (a.ecosystem.starts_with("Debian")) {
    named = c.purl.starts_with("pkg:deb/") &&
            a.name == (c.source_package.empty() ? c.name : c.source_package);
  } else {
    named = a.name == c.name;
  }
  if (!named || c.version.empty()) return Match::kNone;
  if (std::find(a.versions.begin(), a.versions.end(), c.version) != a.versions.end())
    return Match::kAffected;
  bool fixed_seen = false;
  for (const auto& r : a.ranges) {
    if (in_range(r, c.version, &fixed_seen)) return Match::kAffected;
  }
  return fixed_seen ? Match::kFixed : Match::kNone;
}

std::string percent_encode(std::string_view s) {
  static const char* kHex = "0123456789ABCDEF";
  std::string out;
  for (unsigned char ch : s) {
    if (std::isalnum(ch) || ch == '-' || ch == '.' || ch == '_' || ch == '~' || ch == ':' ||
        ch == '/' || ch == '@') {
      out.push_back(static_cast<char>(ch));
    } else {
      out.push_back('%');
      out.push_back(kHex[ch >> 4]);
      out.push_back(kHex[ch & 15]);
    }
  }
  return out;
}

const TriageEntry* triage_for(const std::vector<TriageEntry>& triage, const OsvEntry& e,
                              const SbomComponent& c, std::set<std::size_t>& used) {
  for (std::size_t i = 0; i < triage.size(); ++i) {
    const auto& t = triage[i];
    bool vuln = t.vulnerability == e.id ||
                std::find(e.aliases.begin(), e.aliases.end(), t.vulnerability) != e.aliases.end();
    bool comp = t.component.empty() || t.component == c.name || t.component == c.ref;
    if (vuln && comp) {
      used.insert(i);
      return &t;
    }
  }
  return nullptr;
}

Json vulnerability(const OsvEntry& e, const SbomComponent& c, const Sbom& sbom, Match m,
                   const TriageEntry* t) {
  std::string link = "urn:cdx:" + sbom.serial.substr(9) + "/" + std::to_string(sbom.version) +
                     "#" + percent_encode(c.ref);
  Json v = {{"bom-ref", "vex:" + e.id + ":" + c.ref},
            {"id", e.id},
            {"source", {{"name", e.id.starts_with("CVE-") ? "NVD" : "OSV"}}},
            {"updated", e.modified},
            {"affects", Json::array({{{"ref", link},
                                      {"versions", Json::array({{{"version", c.version},
                                                                 {"status", m == Match::kAffected
                                                                                ? "affected"
                                                                                : "unaffected"}}})}}})}};
  if (!e.summary.empty()) v["description"] = e.summary;
  if (!e.details.empty()) v["detail"] = e.details;
  if (!e.published.empty()) v["published"] = e.published;
  Json refs = Json::array();
  for (const auto& a : e.aliases) {
    refs.push_back({{"id", a}, {"source", {{"name", a.starts_with("CVE-") ? "NVD" : "OSV"}}}});
  }
  if (!refs.empty()) v["references"] = refs;
  Json ratings = Json::array();
  for (const auto& vec : e.cvss_vectors) {
    ratings.push_back({{"method", vec.starts_with("CVSS:3.1") ? "CVSSv31"
                                  : vec.starts_with("CVSS:4") ? "CVSSv4"
                                  : vec.starts_with("CVSS:3.0") ? "CVSSv3"
                                                                : "other"},
                       {"vector", vec}});
  }
  if (!ratings.empty()) v["ratings"] = ratings;
  Json analysis;
  if (m == Match::kFixed) {
    analysis = {{"state", "resolved"},
                {"detail", "the installed version " + c.version + " carries the fix"}};
  } else if (t == nullptr || t->state == "under_investigation") {
    analysis = {{"state", "in_triage"}};
    if (t != nullptr && !t->detail.empty()) analysis["detail"] = t->detail;
  } else if (t->state == "affected") {
    analysis = {{"state", "exploitable"}};
    if (!t->detail.empty()) analysis["detail"] = t->detail;
  } else {
    analysis = {{"state", "not_affected"}, {"justification", t->justification},
                {"detail", t->detail}};
  }
  v["analysis"] = analysis;
  return v;
}

}  // namespace

Result<VexResult> build_vex(const Sbom& sbom, const std::vector<OsvEntry>& feed,
                            const std::vector<TriageEntry>& triage) {
  VexResult out;
  Json vulns = Json::array();
  std::set<std::size_t> used;
  for (const auto& e : feed) {
    for (const auto& c : sbom.components) {
      Match m = Match::kNone;
      for (const auto& a : e.affected) {
        Match mm = match(a, c);
        if (mm == Match::kAffected || (mm == Match::kFixed && m == Match::kNone)) m = mm;
      }
      if (m == Match::kNone) continue;
      const TriageEntry* t = m == Match::kAffected ? triage_for(triage, e, c, used) : nullptr;
      Json v = vulnerability(e, c, sbom, m, t);
      const std::string state = v["analysis"]["state"];
      if (state == "resolved") ++out.fixed;
      else if (state == "in_triage") ++out.under_investigation;
      else if (state == "exploitable") ++out.affected;
      else ++out.not_affected;
      vulns.push_back(std::move(v));
    }
  }
  for (std::size_t i = 0; i < triage.size(); ++i) {
    if (!used.count(i)) {
      out.unused_triage.push_back(triage[i].vulnerability +
                                  (triage[i].component.empty() ? "" : " / " + triage[i].component));
    }
  }
  auto serial = new_serial_number();
  if (!serial) return std::unexpected(serial.error());
  Json meta = {{"timestamp", timestamp_now()}};
  if (sbom.document.contains("metadata") && sbom.document["metadata"].is_object() &&
      sbom.document["metadata"].contains("component")) {
    meta["component"] = sbom.document["metadata"]["component"];
  }
  out.document = {{"bomFormat", "CycloneDX"}, {"specVersion", "1.6"}, {"serialNumber", *serial},
                  {"version", 1}, {"metadata", meta}, {"vulnerabilities", vulns}};
  return out;
}

}  // namespace ironseal::evidence
