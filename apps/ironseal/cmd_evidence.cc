// `ironseal evidence`: what an IEC 62443 assessor asks for (docs/evidence.md).
//   build         catalogue + test results + SBOM + threat model -> report.html, report.json and
//                 a CycloneDX attestation; exit 1 when a claimed requirement is not met
//   sbom          the build's CycloneDX 1.6 SBOM (binaries, Debian packages, bootloader)
//   security-txt  an RFC 9116 security.txt
//   vex, advisory (cmd_evidence_vuln.cc)
#include <chrono>
#include <iostream>
#include <unistd.h>

#include "cli.h"
#include "core/file.h"
#include "evidence/catalogue.h"
#include "evidence/report.h"
#include "evidence/sbom.h"
#include "evidence/security_txt.h"

namespace ironseal::cli {

Result<void> write_text(const std::string& path, const std::string& text);

namespace {

using evidence::Status;

struct BuildArgs {
  std::string catalogue = "docs/compliance/requirements.json";
  std::vector<std::string> results;
  std::string sbom;
  std::string threat_model = "docs/threat-model.md";
  std::string out;
  std::string commit;
  std::string source_root = ".";
  bool json = false;
};

Result<void> do_build(const BuildArgs& a) {
  const auto start = std::chrono::steady_clock::now();
  evidence::ReportInputs in;
  auto catalogue = evidence::load_catalogue(a.catalogue);
  if (!catalogue) return std::unexpected(catalogue.error());
  in.catalogue = std::move(*catalogue);
  in.catalogue_file = a.catalogue;
  std::vector<std::filesystem::path> dirs(a.results.begin(), a.results.end());
  auto results = evidence::load_results(dirs);
  if (!results) return std::unexpected(results.error());
  in.results = std::move(*results);
  auto threats = evidence::load_threat_model(a.threat_model);
  if (!threats) return std::unexpected(threats.error());
  in.threats = std::move(*threats);
  auto sbom = evidence::load_sbom(a.sbom);
  if (!sbom) return std::unexpected(sbom.error());
  in.sbom = std::move(*sbom);
  in.commit = !a.commit.empty() ? a.commit : !in.sbom.commit.empty() ? in.sbom.commit : "unknown";
  in.source_root = a.source_root;
  const evidence::Report report = evidence::build_report(in);
  auto cdx = evidence::report_cyclonedx(report);
  if (!cdx) return std::unexpected(cdx.error());
  std::error_code ec;
  std::filesystem::create_directories(a.out, ec);
  if (ec) return fail(ErrorCode::kIo, "--out ", a.out, ": ", ec.message());
  const auto dir = std::filesystem::path(a.out);
  auto json = evidence::report_json(report);
  for (auto [name, text] : {std::pair{"report.html", evidence::report_html(report)},
                            {"report.json", json.dump(2) + "\n"},
                            {"attestation.cdx.json", cdx->dump(2) + "\n"}}) {
    if (auto ok = write_text((dir / name).string(), text); !ok) return ok;
  }
  const double ms = std::chrono::duration<double, std::milli>(
                        std::chrono::steady_clock::now() - start).count();
  json["elapsed_ms"] = ms;
  json["outputs"] = {(dir / "report.html").string(), (dir / "report.json").string(),
                     (dir / "attestation.cdx.json").string()};
  if (a.json) {
    json.erase("requirements");
    json.erase("threats");
    print_json(json);
  }
  std::cerr << "evidence: " << report.counts[0] << " met, " << report.counts[1] << " partial, "
            << report.counts[2] << " not met, " << report.counts[3] << " not claimed; "
            << in.results.tests.size() << " tests (" << in.results.count(evidence::Outcome::kPassed)
            << " passed, " << in.results.count(evidence::Outcome::kFailed) << " failed, "
            << in.results.count(evidence::Outcome::kSkipped) << " skipped); "
            << in.threats.threats.size() << " threats; " << static_cast<long>(ms) << " ms\n"
            << "evidence: report in " << (dir / "report.html").string() << "\n";
  if (!report.ok()) {
    for (const auto& f : report.failures) std::cerr << "evidence: FAIL " << f << "\n";
    return fail_because(ErrorCode::kNotTrusted, "requirements_not_met",
                        std::to_string(report.failures.size()),
                        " problem(s): the evidence does not support every claim (listed above "
                        "and in the report)");
  }
  return {};
}

struct SbomArgs {
  std::vector<std::string> binaries;
  std::vector<std::string> headers = {"/usr/include/nlohmann/json.hpp", "/usr/include/CLI/CLI.hpp",
                                      "/usr/include/boost/beast.hpp"};
  std::string firmware;
  std::vector<std::string> firmware_libs;
  std::string commit = "unknown";
  std::string out = "-";
  bool json = false;
};

Result<void> do_sbom(const SbomArgs& a) {
  evidence::SbomInputs in;
  in.version = IRONSEAL_VERSION;
  in.commit = a.commit;
  for (const auto& b : a.binaries) in.binaries.emplace_back(b);
  if (in.binaries.empty()) {
    // This executable and its sibling binaries of the same build.
    auto self = std::filesystem::read_symlink("/proc/self/exe");
    in.binaries.push_back(self);
    for (const char* sibling : {"ironseal-agent", "ironseal-server"}) {
      if (std::filesystem::exists(self.parent_path() / sibling))
        in.binaries.push_back(self.parent_path() / sibling);
    }
  }
  for (const auto& h : a.headers) in.headers.emplace_back(h);
  if (!a.firmware.empty()) in.firmware = a.firmware;
  for (const auto& l : a.firmware_libs) in.firmware_libs.emplace_back(l);
  if (in.firmware && in.firmware_libs.empty()) {
    return fail(ErrorCode::kInvalidArgument,
                "--firmware needs --firmware-lib for each runtime library it links (libc_nano.a, "
                "libgcc.a): an SBOM that omits them is incomplete");
  }
  auto sbom = evidence::build_sbom(in);
  if (!sbom) return std::unexpected(sbom.error());
  if (auto ok = write_text(a.out, sbom->dump(2) + "\n"); !ok) return ok;
  if (a.json && a.out != "-") {
    print_json({{"sbom", a.out}, {"serial_number", (*sbom)["serialNumber"]},
                {"components", (*sbom)["components"].size()}});
  }
  return {};
}

struct TxtArgs {
  evidence::SecurityTxt txt;
  std::string out = "-";
  bool json = false;
};

Result<void> do_security_txt(const TxtArgs& a) {
  auto text = evidence::render_security_txt(a.txt, std::time(nullptr));
  if (!text) return std::unexpected(text.error());
  if (auto ok = write_text(a.out, *text); !ok) return ok;
  if (a.json && a.out != "-") print_json({{"security_txt", a.out}, {"expires", a.txt.expires}});
  return {};
}

}  // namespace

// `path` "-" is stdout; anything else is written atomically (0644).
Result<void> write_text(const std::string& path, const std::string& text) {
  if (path == "-") {
    std::cout << text;
    return {};
  }
  return write_file_atomic(path, as_bytes(text));
}

void register_evidence_vuln_commands(CLI::App& evidence);

void register_evidence_commands(CLI::App& app) {
  auto* ev = app.add_subcommand(
      "evidence",
      "Certification evidence for IEC 62443-4-2/4-1 assessors: the traceability report, SBOM, "
      "VEX, CSAF advisories and security.txt (docs/evidence.md)");
  ev->require_subcommand(1);

  auto b = std::make_shared<BuildArgs>();
  auto* build = ev->add_subcommand(
      "build",
      "Join the requirements catalogue, this build's test results, the SBOM and the threat model "
      "into report.html, report.json and attestation.cdx.json (CycloneDX 1.6). Exit 1 when a "
      "claimed requirement has no passing test, a referenced test is missing from the results, a "
      "referenced code path does not exist, a threat names an unknown test, or any test failed; "
      "the report is written either way");
  build->add_option("--catalogue", b->catalogue, "requirements catalogue (JSON)")->capture_default_str();
  build->add_option("--results", b->results,
                    "folder of JUnit XML (ctest, gtest) and ctest --show-only=json-v1 files; "
                    "repeatable")->required();
  build->add_option("--sbom", b->sbom, "the build's CycloneDX SBOM (ironseal evidence sbom)")->required();
  build->add_option("--threat-model", b->threat_model, "STRIDE threat model (markdown)")->capture_default_str();
  build->add_option("--out", b->out, "output folder")->required();
  build->add_option("--commit", b->commit, "source commit (default: the SBOM's)");
  build->add_option("--source-root", b->source_root, "where code and design paths are checked")
      ->capture_default_str();
  build->add_flag("--json", b->json, "print the summary as JSON");
  set_action(build, [b] { return do_build(*b); });

  auto s = std::make_shared<SbomArgs>();
  auto* sbom = ev->add_subcommand(
      "sbom",
      "Write the build's CycloneDX 1.6 SBOM: ironseal (version, commit) and its binaries with "
      "SHA-256, every shared library they load and every header-only library compiled in, each "
      "with its Debian package and version (dpkg), and the Cortex-M33 bootloader as a firmware "
      "component with the runtime libraries it links. Refuses a file no package owns");
  sbom->add_option("--binary", s->binaries,
                   "ELF executable of the build; repeatable (default: this ironseal and its "
                   "sibling ironseal-agent and ironseal-server)");
  sbom->add_option("--header", s->headers,
                   "a header of each header-only library compiled in; repeatable")->capture_default_str();
  sbom->add_option("--firmware", s->firmware, "the bootloader ELF (build/firmware/boot.elf)");
  sbom->add_option("--firmware-lib", s->firmware_libs,
                   "a static runtime library the firmware links; repeatable");
  sbom->add_option("--commit", s->commit, "source commit (git rev-parse HEAD)");
  sbom->add_option("--out", s->out, "output file, - for stdout")->capture_default_str();
  sbom->add_flag("--json", s->json, "print a summary as JSON (with --out FILE)");
  set_action(sbom, [s] { return do_sbom(*s); });

  auto t = std::make_shared<TxtArgs>();
  auto* txt = ev->add_subcommand(
      "security-txt",
      "Write an RFC 9116 security.txt (serve it at /.well-known/security.txt). Refuses a missing, "
      "malformed or past --expires and a contact that is not mailto:, tel: or https://");
  txt->add_option("--contact", t->txt.contact, "where to report: mailto:, tel: or https:// URI; repeatable")
      ->required();
  txt->add_option("--expires", t->txt.expires,
                  "RFC 3339 time after which the file is stale (RFC 9116: less than a year "
                  "ahead), e.g. 2027-06-30T00:00:00Z")->required();
  txt->add_option("--encryption", t->txt.encryption, "URI of the key to encrypt reports with");
  txt->add_option("--policy", t->txt.policy, "URI of the disclosure policy (SECURITY.md)");
  txt->add_option("--acknowledgments", t->txt.acknowledgments, "URI of the thanks page");
  txt->add_option("--canonical", t->txt.canonical, "URI where this file is published");
  txt->add_option("--hiring", t->txt.hiring, "URI of security job openings");
  txt->add_option("--preferred-languages", t->txt.preferred_languages, "e.g. \"en, de\"");
  txt->add_option("--out", t->out, "output file, - for stdout")->capture_default_str();
  txt->add_flag("--json", t->json, "print a summary as JSON (with --out FILE)");
  set_action(txt, [t] { return do_security_txt(*t); });

  register_evidence_vuln_commands(*ev);
}

}  // namespace ironseal::cli
