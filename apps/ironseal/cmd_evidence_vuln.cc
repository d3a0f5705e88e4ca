// `ironseal evidence vex` and `ironseal evidence advisory`: tracking vulnerabilities in the
// components a build uses (IEC 62443-4-1 DM-2..DM-5, SUM-3) and telling operators about a fix.
#include <iostream>

#include "cli.h"
#include "core/file.h"
#include "evidence/advisory.h"
#include "evidence/vex.h"

namespace ironseal::cli {

Result<void> write_text(const std::string& path, const std::string& text);

namespace {

struct VexArgs {
  std::string sbom, advisories, triage, out = "-";
  bool json = false;
};

Result<std::string> read_text(const std::string& path, const char* what) {
  auto bytes = read_file(path, 256 << 20);
  if (!bytes) return fail_in(bytes.error(), what, " ", path, ": ");
  return std::string(bytes->begin(), bytes->end());
}

Result<void> do_vex(const VexArgs& a) {
  auto sbom = evidence::load_sbom(a.sbom);
  if (!sbom) return std::unexpected(sbom.error());
  auto feed_text = read_text(a.advisories, "advisory feed");
  if (!feed_text) return std::unexpected(feed_text.error());
  auto feed = evidence::parse_osv_feed(*feed_text, a.advisories);
  if (!feed) return std::unexpected(feed.error());
  std::vector<evidence::TriageEntry> triage;
  if (!a.triage.empty()) {
    auto text = read_text(a.triage, "triage file");
    if (!text) return std::unexpected(text.error());
    auto t = evidence::parse_triage(*text, a.triage);
    if (!t) return std::unexpected(t.error());
    triage = std::move(*t);
  }
  auto vex = evidence::build_vex(*sbom, *feed, triage);
  if (!vex) return std::unexpected(vex.error());
  if (auto ok = write_text(a.out, vex->document.dump(2) + "\n"); !ok) return ok;
  for (const auto& u : vex->unused_triage) {
    std::cerr << "vex: warning: triage entry " << u
              << " matches no vulnerable component (stale? the component or feed changed)\n";
  }
  std::cerr << "vex: " << feed->size() << " advisories, " << sbom->components.size()
            << " components: " << vex->affected << " affected, " << vex->not_affected
            << " not affected, " << vex->under_investigation << " under investigation, "
            << vex->fixed << " fixed\n";
  if (a.json && a.out != "-") {
    print_json({{"vex", a.out}, {"advisories", feed->size()},
                {"affected", vex->affected}, {"not_affected", vex->not_affected},
                {"under_investigation", vex->under_investigation}, {"fixed", vex->fixed},
                {"unused_triage", vex->unused_triage}});
  }
  return {};
}

struct AdvisoryArgs {
  evidence::AdvisoryInputs in;
  double score = -1;
  std::string out = "-";
  bool json = false;
};

Result<void> do_advisory(AdvisoryArgs a) {
  if (a.score >= 0) a.in.cvss_score = a.score;
  auto doc = evidence::build_csaf_advisory(a.in);
  if (!doc) return std::unexpected(doc.error());
  if (auto ok = write_text(a.out, doc->dump(2) + "\n"); !ok) return ok;
  if (a.json && a.out != "-") {
    print_json({{"advisory", a.out}, {"id", a.in.id}, {"fixed_version", a.in.fixed_version},
                {"security_counter", a.in.security_counter}});
  }
  return {};
}

}  // namespace

void register_evidence_vuln_commands(CLI::App& ev) {
  auto v = std::make_shared<VexArgs>();
  auto* vex = ev.add_subcommand(
      "vex",
      "Match the SBOM's components against an offline OSV advisory feed (OSV.dev or Debian "
      "exports; Debian entries match by source package and dpkg version order) and write "
      "CycloneDX 1.6 VEX: affected, not_affected (with the triage file's justification), "
      "under_investigation (in range, not triaged yet) or fixed");
  vex->add_option("--sbom", v->sbom, "CycloneDX SBOM (ironseal evidence sbom)")->required();
  vex->add_option("--advisories", v->advisories,
                  "OSV JSON: one entry, a list, or {\"vulns\": [...]}")->required();
  vex->add_option("--triage", v->triage,
                  "the project's triage decisions: {\"triage\": [{\"vulnerability\", "
                  "\"component\", \"state\", \"justification\", \"detail\"}]}");
  vex->add_option("--out", v->out, "output file, - for stdout")->capture_default_str();
  vex->add_flag("--json", v->json, "print the counts as JSON (with --out FILE)");
  set_action(vex, [v] { return do_vex(*v); });

  auto a = std::make_shared<AdvisoryArgs>();
  auto* adv = ev.add_subcommand(
      "advisory",
      "Write a CSAF 2.0 security advisory for a fixed vulnerability: the affected versions, the "
      "fixed release and its security counter (the counter that makes the vulnerable firmware "
      "unbootable once the fix is confirmed on a device)");
  adv->add_option("--id", a->in.id, "tracking ID, e.g. ACME-SA-2026-001")->required();
  adv->add_option("--title", a->in.title, "advisory title")->required();
  adv->add_option("--summary", a->in.summary, "what is vulnerable, and the impact")->required();
  adv->add_option("--cve", a->in.cves, "CVE ID; repeatable");
  adv->add_option("--vendor", a->in.vendor, "publisher and product vendor")->required();
  adv->add_option("--namespace", a->in.publisher_namespace, "publisher's https:// URL")->required();
  adv->add_option("--product", a->in.product, "product name, e.g. \"PLC-200 firmware\"")->required();
  adv->add_option("--fixed-version", a->in.fixed_version, "the release with the fix")->required();
  adv->add_option("--affected-version", a->in.affected_versions,
                  "an affected release; repeatable (default: every version below the fixed one)");
  adv->add_option("--security-counter", a->in.security_counter,
                  "the fixed image's security counter (image sign --security-counter)")->required();
  adv->add_option("--cvss", a->in.cvss_vector, "CVSS:3.1 vector");
  adv->add_option("--cvss-score", a->score, "CVSS base score (0-10), with --cvss");
  adv->add_option("--date", a->in.date, "release date, RFC 3339 (default: now)");
  adv->add_option("--out", a->out, "output file, - for stdout")->capture_default_str();
  adv->add_flag("--json", a->json, "print a summary as JSON (with --out FILE)");
  set_action(adv, [a] { return do_advisory(*a); });
}

}  // namespace ironseal::cli
