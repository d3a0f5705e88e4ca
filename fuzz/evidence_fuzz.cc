// The evidence inputs an auditor's pipeline reads from outside (src/evidence): the requirements
// catalogue, JUnit XML (libxml2, DTDs refused), ctest's test list, the threat model's markdown,
// CycloneDX SBOMs, OSV advisory feeds, triage files and RFC 3339 times. The first byte picks the
// parser; the rest is its input. Each must refuse or accept without crashing, reading out of
// bounds or recursing without limit, and whatever it accepts must be usable by the report.
#include <cstddef>
#include <cstdint>
#include <string>

#include "evidence/catalogue.h"
#include "evidence/report.h"
#include "evidence/results.h"
#include "evidence/sbom.h"
#include "evidence/security_txt.h"
#include "evidence/threat_model.h"
#include "evidence/vex.h"

using namespace ironseal::evidence;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size < 1) return 0;
  const std::string text(reinterpret_cast<const char*>(data + 1), size - 1);
  switch (data[0] % 8) {
    case 0: {
      auto c = parse_catalogue(text, "fuzz");
      if (c) {
        for (const auto& r : c->requirements) (void)matches_pattern(r.id, r.title);
      }
      break;
    }
    case 1: {
      TestResults r;
      (void)add_junit(r, text, "fuzz.xml");
      break;
    }
    case 2: {
      TestResults r;
      (void)add_ctest_labels(r, text, "fuzz.json");
      break;
    }
    case 3: {
      auto m = parse_threat_model(text, "fuzz.md");
      if (m) {
        // An accepted model must be reportable against an empty build.
        ReportInputs in;
        in.threats = std::move(*m);
        auto report = build_report(in);
        (void)report_html(report);
      }
      break;
    }
    case 4: {
      auto s = parse_sbom(text, "fuzz.json");
      if (s) {
        auto feed = parse_osv_feed(R"({"id": "X", "modified": "m", "affected": [{"package":
            {"ecosystem": "Debian:12", "name": "openssl"}, "versions": ["1"]}]})",
                                   "feed");
        if (feed) (void)build_vex(*s, *feed, {});
      }
      break;
    }
    case 5: (void)parse_osv_feed(text, "fuzz.json"); break;
    case 6: (void)parse_triage(text, "fuzz.json"); break;
    case 7: {
      (void)parse_rfc3339(text);
      auto dash = text.find('|');
      if (dash != std::string::npos) {
        (void)compare_debian_versions(std::string_view(text).substr(0, dash),
                                      std::string_view(text).substr(dash + 1));
      }
      break;
    }
  }
  return 0;
}
