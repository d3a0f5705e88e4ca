// Vulnerability handling: dpkg version order, OSV matching into VEX states with the triage's
// justification, CSAF advisories naming the fixed release and its security counter, and RFC 9116
// security.txt refusing a past Expires (issue 14; IEC 62443-4-1 DM-1..DM-5, SUM-2, SUM-3).
#include <gtest/gtest.h>

#include "evidence/advisory.h"
#include "evidence/security_txt.h"
#include "evidence/vex.h"
#include "support/requirements.h"

namespace ironseal::evidence {
namespace {

TEST(DebianVersion, OrdersLikeDpkg) {
  IRONSEAL_REQUIREMENTS("DM-3");
  EXPECT_LT(compare_debian_versions("3.0.11-1~deb12u2", "3.0.11-1"), 0);  // ~ sorts first
  EXPECT_LT(compare_debian_versions("3.0.9-1", "3.0.11-1"), 0);           // numeric, not text
  EXPECT_GT(compare_debian_versions("1:1.0-1", "9.9-1"), 0);              // epoch wins
  EXPECT_EQ(compare_debian_versions("1.2.3-4", "1.2.3-4"), 0);
  EXPECT_LT(compare_debian_versions("1.2.3-4", "1.2.3-4+deb12u1"), 0);
  EXPECT_LT(compare_debian_versions("1.0", "1.0a"), 0);
  EXPECT_GT(compare_debian_versions("1.0", "1.0~rc1"), 0);
}

Sbom sbom_with(std::string version) {
  auto s = parse_sbom(R"({"bomFormat": "CycloneDX", "specVersion": "1.6",
    "serialNumber": "urn:uuid:3e671687-395b-41f5-a30f-a58921a69b79", "version": 1,
    "components": [{"type": "library", "bom-ref": "pkg:deb/debian/libssl3@)" + version +
                          R"(?arch=amd64", "name": "libssl3", "version": ")" + version +
                          R"(", "purl": "pkg:deb/debian/libssl3@)" + version + R"(?arch=amd64",
      "properties": [{"name": "debian:source", "value": "openssl"}]},
      {"type": "library", "name": "libfoo", "version": "1.0", "bom-ref": "libfoo"}]})",
                      "sbom.json");
  EXPECT_TRUE(s) << s.error().message;
  return *s;
}

const char* kFeed = R"({"vulns": [
  {"id": "DSA-9999-1", "modified": "2026-11-01T00:00:00Z", "summary": "openssl: bad thing",
   "aliases": ["CVE-2026-1111"],
   "affected": [{"package": {"ecosystem": "Debian:12", "name": "openssl"},
                 "ranges": [{"type": "ECOSYSTEM", "events": [{"introduced": "0"}, {"fixed": "3.0.15-1~deb12u1"}]}]}]},
  {"id": "CVE-2026-2222", "modified": "2026-11-02T00:00:00Z",
   "affected": [{"package": {"ecosystem": "Debian:12", "name": "openssl"},
                 "ranges": [{"type": "ECOSYSTEM", "events": [{"introduced": "3.0.0"}, {"fixed": "3.0.20-1"}]}]}]},
  {"id": "CVE-2026-3333", "modified": "2026-11-03T00:00:00Z",
   "affected": [{"package": {"ecosystem": "Debian:12", "name": "curl"},
                 "ranges": [{"type": "ECOSYSTEM", "events": [{"introduced": "0"}]}]}]}]})";

TEST(Vex, MatchesBySourcePackageAndVersionAndAppliesTheTriage) {
  IRONSEAL_REQUIREMENTS("DM-3; SUM-3");
  auto feed = parse_osv_feed(kFeed, "feed.json");
  ASSERT_TRUE(feed) << feed.error().message;
  auto triage = parse_triage(R"({"triage": [{"vulnerability": "CVE-2026-2222", "component": "libssl3",
      "state": "not_affected", "justification": "code_not_reachable",
      "detail": "ironseal never calls the affected API"}]})",
                             "triage.json");
  ASSERT_TRUE(triage) << triage.error().message;

  auto vex = build_vex(sbom_with("3.0.17-1~deb12u1"), *feed, *triage);
  ASSERT_TRUE(vex) << vex.error().message;
  EXPECT_EQ(vex->fixed, 1u);         // DSA-9999-1: fixed in 3.0.15, we have 3.0.17
  EXPECT_EQ(vex->not_affected, 1u);  // CVE-2026-2222 in range, triaged
  EXPECT_EQ(vex->under_investigation, 0u);
  EXPECT_EQ(vex->affected, 0u);      // curl is not in the SBOM
  const auto& v = vex->document["vulnerabilities"];
  ASSERT_EQ(v.size(), 2u);
  EXPECT_EQ(v[0]["analysis"]["state"], "resolved");
  EXPECT_EQ(v[1]["analysis"]["state"], "not_affected");
  EXPECT_EQ(v[1]["analysis"]["justification"], "code_not_reachable");
  EXPECT_EQ(v[1]["affects"][0]["ref"].get<std::string>().rfind(
                "urn:cdx:3e671687-395b-41f5-a30f-a58921a69b79/1#pkg:deb/debian/libssl3", 0),
            0u);

  // An older libssl3: the DSA applies and nobody triaged it yet.
  auto old = build_vex(sbom_with("3.0.11-1~deb12u2"), *feed, *triage);
  ASSERT_TRUE(old);
  EXPECT_EQ(old->under_investigation, 1u);
  EXPECT_EQ(old->not_affected, 1u);
  EXPECT_EQ(old->document["vulnerabilities"][0]["analysis"]["state"], "in_triage");

  // Triaged as affected: exploitable. A triage entry that matches nothing is reported as stale.
  auto affected = parse_triage(R"({"triage": [{"vulnerability": "CVE-2026-1111", "state": "affected"},
      {"vulnerability": "CVE-2020-0001", "state": "under_investigation"}]})",
                               "t.json");
  ASSERT_TRUE(affected);
  auto ex = build_vex(sbom_with("3.0.11-1~deb12u2"), *feed, *affected);
  ASSERT_TRUE(ex);
  EXPECT_EQ(ex->affected, 1u);
  EXPECT_EQ(ex->under_investigation, 1u);
  EXPECT_EQ(ex->unused_triage, std::vector<std::string>{"CVE-2020-0001"});
}

TEST(Vex, RefusesMalformedFeedsAndTriageNamingTheField) {
  IRONSEAL_REQUIREMENTS("CR 3.5; DM-3");
  auto expect = [](const Result<void>& r, std::string_view reason, std::string_view field) {
    ASSERT_FALSE(r);
    EXPECT_EQ(r.error().code, ErrorCode::kInvalidArgument);
    EXPECT_EQ(r.error().reason, reason);
    EXPECT_NE(r.error().message.find(field), std::string::npos) << r.error().message;
  };
  auto feed = [](const char* t) -> Result<void> {
    auto r = parse_osv_feed(t, "feed.json");
    if (!r) return std::unexpected(r.error());
    return {};
  };
  auto triage = [](const char* t) -> Result<void> {
    auto r = parse_triage(t, "t.json");
    if (!r) return std::unexpected(r.error());
    return {};
  };
  expect(feed("[{\"modified\": \"x\", \"affected\": []}]"), "bad_feed", "feed.json: /0/id");
  expect(feed(R"([{"id": "X", "modified": "m", "affected": [{"package": {"name": "p"},
      "ranges": [{"events": [{"patched": "1"}]}]}]}])"),
         "bad_feed", "/0/affected/0/ranges/0/events/0");
  expect(feed(R"([{"id": "X", "modified": "m", "affected": [{"package": {"name": "p"}}]}])"),
         "bad_feed", "/0/affected/0/ranges");
  expect(feed("42"), "bad_feed", "feed.json");
  // A severity entry of an unknown shape (type not a string: found by the evidence fuzz target,
  // which aborted on nlohmann's type_error) is skipped; the entry is still read.
  auto odd = parse_osv_feed(R"([{"id": "X", "modified": "m", "severity": [{"type": [1]},
      {"type": "CVSS_V3", "score": 7}, 5, {"type": "CVSS_V3", "score": "CVSS:3.1/AV:N"}],
      "affected": [{"package": {"name": "p"}, "versions": ["1"]}]}])",
                            "feed.json");
  ASSERT_TRUE(odd) << odd.error().message;
  EXPECT_EQ((*odd)[0].cvss_vectors, std::vector<std::string>{"CVSS:3.1/AV:N"});
  expect(triage(R"({"triage": [{"vulnerability": "X", "state": "not_affected", "detail": "d"}]})"),
         "bad_triage", "/triage/0/justification");
  expect(triage(R"({"triage": [{"vulnerability": "X", "state": "not_affected",
      "justification": "code_not_reachable"}]})"),
         "bad_triage", "/triage/0/detail");
  expect(triage(R"({"triage": [{"vulnerability": "X", "state": "fine"}]})"), "bad_triage",
         "/triage/0/state");
  auto sbom = parse_sbom(R"({"bomFormat": "CycloneDX", "specVersion": "1.4", "components": []})",
                         "s.json");
  ASSERT_FALSE(sbom);
  EXPECT_EQ(sbom.error().reason, "bad_sbom");
  EXPECT_NE(sbom.error().message.find("s.json: /specVersion"), std::string::npos);
  auto meta = parse_sbom(R"({"bomFormat": "CycloneDX", "specVersion": "1.6",
    "serialNumber": "urn:uuid:3e671687-395b-41f5-a30f-a58921a69b79", "version": 1,
    "metadata": {"component": {"type": "application"}},
    "components": [{"type": "library", "name": "x"}]})",
                         "m.json");
  ASSERT_FALSE(meta);
  EXPECT_NE(meta.error().message.find("m.json: /metadata/component/name"), std::string::npos)
      << meta.error().message;
}

AdvisoryInputs advisory() {
  AdvisoryInputs in;
  in.id = "ACME-SA-2026-001";
  in.title = "Bootloader accepts truncated TLV area";
  in.summary = "A crafted image could ...";
  in.cves = {"CVE-2026-4444"};
  in.vendor = "ACME Controls";
  in.publisher_namespace = "https://acme.example";
  in.product = "PLC-200 firmware";
  in.fixed_version = "1.4.2";
  in.security_counter = 7;
  in.cvss_vector = "CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H";
  in.cvss_score = 9.8;
  in.date = "2026-12-01T00:00:00Z";
  return in;
}

TEST(Advisory, NamesTheFixedReleaseAndItsSecurityCounter) {
  IRONSEAL_REQUIREMENTS("DM-5; SUM-2");
  auto doc = build_csaf_advisory(advisory());
  ASSERT_TRUE(doc) << doc.error().message;
  const auto& d = *doc;
  EXPECT_EQ(d["document"]["category"], "csaf_security_advisory");
  EXPECT_EQ(d["document"]["csaf_version"], "2.0");
  EXPECT_EQ(d["document"]["tracking"]["id"], "ACME-SA-2026-001");
  const auto& v = d["vulnerabilities"][0];
  EXPECT_EQ(v["cve"], "CVE-2026-4444");
  EXPECT_EQ(v["product_status"]["fixed"][0], "FIXED-1.4.2");
  EXPECT_EQ(v["product_status"]["known_affected"][0], "AFFECTED-BELOW-1.4.2");
  EXPECT_EQ(v["remediations"][0]["category"], "vendor_fix");
  EXPECT_NE(v["remediations"][0]["details"].get<std::string>().find("security counter 7"),
            std::string::npos);
  EXPECT_EQ(v["scores"][0]["cvss_v3"]["baseSeverity"], "CRITICAL");
  EXPECT_EQ(d["product_tree"]["branches"][0]["branches"][0]["branches"][1]["name"],
            "vers:generic/<1.4.2");
}

TEST(Advisory, RefusesWhatWouldMisleadOperators) {
  IRONSEAL_REQUIREMENTS("DM-5");
  auto refused = [](AdvisoryInputs in, std::string_view why) {
    auto d = build_csaf_advisory(in);
    ASSERT_FALSE(d);
    EXPECT_EQ(d.error().reason, "bad_advisory");
    EXPECT_NE(d.error().message.find(why), std::string::npos) << d.error().message;
  };
  auto a = advisory();
  a.security_counter = 0;
  refused(a, "--security-counter");
  a = advisory();
  a.cves = {"CVE-26-1"};
  refused(a, "not a CVE ID");
  a = advisory();
  a.cvss_score.reset();
  refused(a, "--cvss");
  a = advisory();
  a.publisher_namespace = "http://acme.example";
  refused(a, "https://");
  a = advisory();
  a.fixed_version.clear();
  refused(a, "--fixed-version");
}

constexpr std::time_t kNow = 1796083200;  // 2026-12-01T00:00:00Z

TEST(SecurityTxt, WritesRfc9116FieldsWithExpiresLast) {
  IRONSEAL_REQUIREMENTS("DM-1");
  SecurityTxt t;
  t.contact = {"mailto:psirt@acme.example", "https://acme.example/report"};
  t.expires = "2027-06-30T00:00:00Z";
  t.policy = {"https://acme.example/SECURITY.md"};
  t.preferred_languages = "en, de";
  auto text = render_security_txt(t, kNow);
  ASSERT_TRUE(text) << text.error().message;
  EXPECT_EQ(*text,
            "Contact: mailto:psirt@acme.example\nContact: https://acme.example/report\n"
            "Preferred-Languages: en, de\nPolicy: https://acme.example/SECURITY.md\n"
            "Expires: 2027-06-30T00:00:00Z\n");
}

TEST(SecurityTxt, RefusesAMissingOrPastExpiresAndForgedLines) {
  IRONSEAL_REQUIREMENTS("DM-1; CR 3.5");
  auto refused = [](SecurityTxt t, std::string_view reason) {
    auto text = render_security_txt(t, kNow);
    ASSERT_FALSE(text) << "accepted";
    EXPECT_EQ(text.error().reason, reason) << text.error().message;
  };
  SecurityTxt ok;
  ok.contact = {"mailto:psirt@acme.example"};
  ok.expires = "2027-06-30T00:00:00Z";
  auto t = ok;
  t.expires.clear();
  refused(t, "missing_expires");
  t.expires = "2026-11-30T23:59:59Z";
  refused(t, "expired");
  t.expires = "2026-12-01T02:00:00+03:00";  // 23:00 UTC the day before
  refused(t, "expired");
  t.expires = "2027-02-30T00:00:00Z";
  refused(t, "bad_expires");
  t.expires = "next year";
  refused(t, "bad_expires");
  t.expires = "2027-06-30T00:00:00";  // no zone
  refused(t, "bad_expires");
  t = ok;
  t.contact.clear();
  refused(t, "missing_contact");
  t.contact = {"http://acme.example/report"};
  refused(t, "bad_contact");
  t.contact = {"mailto:a@b.example\nContact: mailto:evil@x.example"};
  refused(t, "bad_contact");
  t = ok;
  t.policy = {"https://acme.example/p\nHiring: https://evil.example"};
  refused(t, "bad_value");
  EXPECT_EQ(*parse_rfc3339("2026-12-01T02:00:00+02:00"), kNow);
}

}  // namespace
}  // namespace ironseal::evidence
