#!/usr/bin/env bash
# `ironseal evidence` as a release pipeline and an auditor use it: the build's SBOM (validated
# against the CycloneDX 1.6 JSON schema from the npm package), the report from a catalogue, JUnit
# results and a threat model (exit 1 on a failed or missing test, exit 2 on malformed input), VEX
# from an offline OSV feed and a triage file, a CSAF advisory, security.txt.
# Usage: evidence_test.sh IRONSEAL SOURCE_DIR
set -uo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
IRONSEAL=$1
SRC=$2
fx="$SRC/tests/fixtures/evidence"
validate="$SRC/tests/schema/validate.mjs"
work=$(mktemp -d)
cd "$work" || exit 3
# shellcheck source=tests/cli/lib.sh
source "$here/lib.sh"
trap 'rm -rf -- "$work"' EXIT
if [ ! -d "$SRC/tests/schema/node_modules/@cyclonedx/cyclonedx-library" ] ||
   [ ! -d "$SRC/tests/schema/node_modules/@secvisogram/csaf-validator-lib" ]; then
  echo "the schema packages are missing: run scripts/setup.sh (npm ci in tests/schema)"
  exit 3
fi

# --- SBOM of this build ---------------------------------------------------------------------
expect 0 "sbom of this ironseal" -- "$IRONSEAL" evidence sbom --commit 0123abc --out sbom.json --json
contains out.txt '"components"' "sbom --json summary"
expect 0 "the SBOM is valid CycloneDX 1.6" -- node "$validate" sbom.json
python3 - sbom.json <<'PY'
import json, sys
d = json.load(open(sys.argv[1]))
names = {c["name"]: c for c in d["components"]}
assert d["metadata"]["component"]["name"] == "ironseal"
assert {"name": "ironseal:commit", "value": "0123abc"} in d["metadata"]["component"]["properties"]
assert "ironseal" in names and names["ironseal"]["hashes"][0]["alg"] == "SHA-256"
for lib in ("libssl3", "libcurl4", "libsqlite3-0", "libxml2", "nlohmann-json3-dev", "libcli11-dev"):
    assert lib in names, lib
    assert names[lib]["purl"].startswith("pkg:deb/debian/" + lib + "@"), names[lib]["purl"]
ssl = names["libssl3"]
assert {"name": "debian:source", "value": "openssl"} in ssl["properties"], ssl
PY
ok $? "the SBOM names ironseal, its commit and its Debian packages with versions"
# A build whose binary is not an ELF executable of this machine: refused, nothing written.
echo "not an elf" >fake-binary
expect 2 "sbom of a non-executable" -- "$IRONSEAL" evidence sbom --binary fake-binary --out bad.json
[ ! -e bad.json ]; ok $? "no SBOM written for a refused input"

# --- the report ---------------------------------------------------------------------------------
mkdir -p results
cp "$fx/results-ctest.xml" "$fx/results-gtest.xml" results/
build_report() {
  expect "$1" "$2" -- "$IRONSEAL" evidence build --catalogue "${CAT:-$fx/catalogue.json}" \
    --results results --sbom sbom.json --threat-model "${TM:-$fx/threat-model.md}" \
    --source-root "$SRC" --out report --json
}
build_report 0 "evidence build on passing results"
for f in report.html report.json attestation.cdx.json; do
  [ -s "report/$f" ]; ok $? "evidence build wrote $f"
done
contains out.txt '"met": 1' "one requirement met"
contains out.txt '"partial": 1' "one partial"
contains out.txt '"not_claimed": 2' "two not claimed"
expect 0 "the attestation is valid CycloneDX 1.6" -- node "$validate" report/attestation.cdx.json
contains report/report.html "Software and information integrity" "the report names CR 3.4"
grep -q '<script\|src="http\|href="http' report/report.html; ok $((! $?)) "report.html has no script or external asset"

# A failed test: the claim is not met, exit 1, the report still written and says why.
sed 's|<testcase name="Boot.RevertAfterFailedTrial" classname="Boot.RevertAfterFailedTrial" time="0.02" status="run"/>|<testcase name="Boot.RevertAfterFailedTrial" classname="Boot.RevertAfterFailedTrial" status="run"><failure message="revert did not happen"/></testcase>|' \
  "$fx/results-ctest.xml" >results/results-ctest.xml
build_report 1 "a failed test fails the evidence"
contains out.txt '"not_met": 1' "the failed test's requirement is not met"
contains err.txt "test 'Boot.RevertAfterFailedTrial' failed: revert did not happen" "the failure is named"
contains report/report.html "FAIL" "the report says FAIL"
# A referenced test missing from the results.
grep -v RevertAfterFailedTrial "$fx/results-ctest.xml" >results/results-ctest.xml
build_report 1 "a referenced test missing from the results fails the evidence"
contains err.txt "CR 7.4: test 'Boot.Revert*' is not in the results" "the missing test is named"
cp "$fx/results-ctest.xml" results/
# A threat naming a test that does not exist.
sed 's/`ImageVerify.\*`/`ImageVerify.Gone`/' "$fx/threat-model.md" >tm.md
TM=tm.md build_report 1 "a threat naming an unknown test fails the evidence"
contains err.txt "T-01: test 'ImageVerify.Gone' is not in the results" "the threat's missing test is named"
# A claimed code path that does not exist.
sed 's|src/image/verify.cc|src/image/gone.cc|' "$fx/catalogue.json" >cat.json
CAT=cat.json build_report 1 "a missing code path fails the evidence"
contains err.txt "code path 'src/image/gone.cc' does not exist" "the missing path is named"

# Malformed input: exit 2, with the file and the field; never a report.
rm -rf report
sed 's/"tests": \["ImageVerify.\*"\]/"tests": "ImageVerify.*"/' "$fx/catalogue.json" >cat.json
CAT=cat.json build_report 2 "a malformed catalogue is a usage error"
contains err.txt "cat.json: /requirements/0/tests: must be a list of strings" "file and field named"
[ ! -e report ]; ok $? "no report from a malformed catalogue"
echo '<testsuite><testcase name="x">' >results/broken.xml
build_report 2 "malformed JUnit is a usage error"
contains err.txt "broken.xml: line" "the JUnit file and line are named"
rm results/broken.xml
echo '{"bomFormat": "CycloneDX", "specVersion": "1.4"}' >old-sbom.json
expect 2 "an SBOM of another version is refused" -- "$IRONSEAL" evidence build --catalogue "$fx/catalogue.json" \
  --results results --sbom old-sbom.json --threat-model "$fx/threat-model.md" --out report
contains err.txt "old-sbom.json: /specVersion" "the SBOM field is named"
expect 3 "a missing results folder" -- "$IRONSEAL" evidence build --catalogue "$fx/catalogue.json" \
  --results no-such-dir --sbom sbom.json --threat-model "$fx/threat-model.md" --out report

# --- VEX -------------------------------------------------------------------------------------------
expect 0 "vex from the test feed" -- "$IRONSEAL" evidence vex --sbom sbom.json \
  --advisories "$fx/osv-feed.json" --triage "$fx/triage.json" --out vex.json --json
contains out.txt '"not_affected": 1' "openssl in range, triaged not affected"
contains out.txt '"fixed": 1' "sqlite fixed"
contains out.txt '"affected": 1' "curl in range, triaged affected"
expect 0 "the VEX is valid CycloneDX 1.6" -- node "$validate" vex.json
expect 0 "vex without triage" -- "$IRONSEAL" evidence vex --sbom sbom.json \
  --advisories "$fx/osv-feed.json" --out vex2.json --json
contains out.txt '"under_investigation": 2' "untriaged in-range findings are under investigation"
echo '{"triage": [{"vulnerability": "CVE-2099-0001", "state": "not_affected", "detail": "d"}]}' >bad-triage.json
expect 2 "not_affected without a justification" -- "$IRONSEAL" evidence vex --sbom sbom.json \
  --advisories "$fx/osv-feed.json" --triage bad-triage.json --out vex3.json
contains err.txt "bad-triage.json: /triage/0/justification" "the triage field is named"
echo '{"vulns": [{"id": "X"}]}' >bad-feed.json
expect 2 "an OSV entry without modified/affected" -- "$IRONSEAL" evidence vex --sbom sbom.json \
  --advisories bad-feed.json --out vex4.json
contains err.txt "bad-feed.json: /vulns/0/modified" "the feed field is named"

# --- CSAF advisory ---------------------------------------------------------------------------------
adv() {
  "$IRONSEAL" evidence advisory --id TEST-SA-2026-001 --title "Test advisory" \
    --summary "Test: a crafted image could crash the installer" --cve CVE-2099-0002 \
    --vendor "Test Vendor" --namespace https://vendor.example --product "Test PLC firmware" \
    --fixed-version 1.4.2 "$@"
}
expect 0 "advisory" -- adv --security-counter 7 --cvss "CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:N/I:N/A:H" \
  --cvss-score 7.5 --out advisory.json
python3 - advisory.json <<'PY'
import json, sys
d = json.load(open(sys.argv[1]))
assert d["document"]["csaf_version"] == "2.0"
v = d["vulnerabilities"][0]
assert v["cve"] == "CVE-2099-0002" and v["product_status"]["fixed"] == ["FIXED-1.4.2"]
assert "security counter 7" in v["remediations"][0]["details"]
assert v["scores"][0]["cvss_v3"]["baseSeverity"] == "HIGH"
PY
ok $? "the advisory names the fix, its counter and the severity"
expect 0 "an advisory without a CVE, naming the affected releases" -- "$IRONSEAL" evidence advisory \
  --id TEST-SA-2026-002 --title "Test advisory 2" --summary "Test" --vendor "Test Vendor" \
  --namespace https://vendor.example --product "Test PLC firmware" --fixed-version 2.0.1 \
  --affected-version 2.0.0 --affected-version 1.9.3 --security-counter 9 --out advisory2.json
# One node run for both (the validator takes seconds to load).
expect 0 "both advisories pass BSI's CSAF 2.0 validator (strict schema, mandatory tests)" -- \
  node "$SRC/tests/schema/validate-csaf.mjs" advisory.json advisory2.json
python3 -c "
import json; d = json.load(open('advisory.json'))
d['vulnerabilities'][0]['product_status']['fixed'] = ['NO-SUCH-PRODUCT']
json.dump(d, open('broken-advisory.json', 'w'))"
expect 1 "the CSAF validator catches a product id the tree does not define" -- \
  node "$SRC/tests/schema/validate-csaf.mjs" broken-advisory.json
contains err.txt "mandatoryTest_6_1_1" "refused by the product-id test"
expect 2 "an advisory without a security counter" -- adv --security-counter 0 --out a2.json
contains err.txt "bad_advisory" "refused for the right reason"

# --- security.txt ------------------------------------------------------------------------------------
future=$(date -u -d "+90 days" +%Y-%m-%dT%H:%M:%SZ)
expect 0 "security.txt" -- "$IRONSEAL" evidence security-txt --contact mailto:psirt@vendor.example \
  --expires "$future" --policy https://vendor.example/SECURITY.md --out security.txt
contains security.txt "Expires: $future" "Expires written"
contains security.txt "Contact: mailto:psirt@vendor.example" "Contact written"
expect 2 "a past Expires" -- "$IRONSEAL" evidence security-txt --contact mailto:psirt@vendor.example \
  --expires 2020-01-01T00:00:00Z --out old.txt --json
contains out.txt '"reason": "expired"' "refused as expired"
[ ! -e old.txt ]; ok $? "nothing written for a past Expires"
expect 2 "an http contact" -- "$IRONSEAL" evidence security-txt --contact http://vendor.example \
  --expires "$future"
contains err.txt "bad_contact" "refused as bad_contact"
expect 2 "no Expires" -- "$IRONSEAL" evidence security-txt --contact mailto:a@vendor.example

finish
