#!/usr/bin/env bash
# The SBOM of a release travels with it: `repo add-target --sbom` publishes it beside the image and
# signs its SHA-256 into the image's custom metadata; a TUF client fetches it and verifies it
# against the signed metadata, and a tampered copy on the server is refused.
# Usage: release_sbom_test.sh IRONSEAL TUF_CLIENT HTTPD
set -uo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
IRONSEAL=$1
TUF=$2
HTTPD=$3
work=$(mktemp -d)
cd "$work" || exit 3
# shellcheck source=tests/cli/lib.sh
source "$here/lib.sh"
trap '[ -n "${httpd_pid:-}" ] && kill "$httpd_pid" 2>/dev/null; rm -rf -- "$work"' EXIT

"$IRONSEAL" key generate --out fw.pem --public-out fw.pub >/dev/null || exit 3
head -c 5000 /dev/urandom >fw.bin
"$IRONSEAL" image sign --key fw.pem --version 2.0.0 --security-counter 2 fw.bin v2.img >/dev/null || exit 3
"$IRONSEAL" evidence sbom --commit test --out sbom.json || exit 3
"$IRONSEAL" repo init repo >/dev/null || exit 3

echo '{"bomFormat": "SPDX"}' >not-cyclonedx.json
expect 2 "an SBOM that is not CycloneDX 1.6 is refused" -- "$IRONSEAL" repo add-target repo v2.img \
  --hardware-id plc-x1 --sbom not-cyclonedx.json
contains err.txt "not-cyclonedx.json: /bomFormat" "the SBOM field is named"
expect 0 "add-target --sbom" -- "$IRONSEAL" repo add-target repo v2.img --hardware-id plc-x1 \
  --sbom sbom.json --json
contains out.txt '"target": "v2.img.cdx.json"' "the image's entry names its SBOM"
expect 0 "publish" -- "$IRONSEAL" repo publish repo
sha=$(sha256sum sbom.json | cut -d' ' -f1)
python3 - repo/metadata "$sha" <<'PY'
import glob, json, os, sys
meta, sha = sys.argv[1], sys.argv[2]
latest = max(glob.glob(os.path.join(meta, "*.targets.json")), key=lambda p: int(os.path.basename(p).split(".")[0]))
targets = json.load(open(latest))["signed"]["targets"]
img = targets["v2.img"]["custom"]["ironseal"]["sbom"]
assert img["target"] == "v2.img.cdx.json" and img["sha256"] == sha, img
assert targets["v2.img.cdx.json"]["hashes"]["sha256"] == sha
assert targets["v2.img.cdx.json"]["length"] == os.path.getsize("sbom.json")
PY
ok $? "the signed targets metadata carries the SBOM's SHA-256 in the image's custom and as a target"

coproc HTTPD_PROC { exec "$HTTPD" repo; }
httpd_pid=$HTTPD_PROC_PID
read -r port <&"${HTTPD_PROC[0]}"
url="http://127.0.0.1:$port"
client() { "$TUF" --metadata-dir trusted --metadata-url "$url/metadata" --target-base-url "$url/targets" --target-dir got "$@"; }
mkdir -p trusted got
cp repo/metadata/1.root.json trusted/root.json 2>/dev/null || cp "$(ls repo/metadata/*root.json | head -1)" trusted/root.json
expect 0 "client init" -- client init trusted/root.json
expect 0 "the client fetches the release's SBOM and verifies it" -- client --target-name v2.img.cdx.json download
cmp -s sbom.json got/v2.img.cdx.json; ok $? "the fetched SBOM is byte for byte the published one"
stored=$(ls repo/targets/*.v2.img.cdx.json)
flip_byte "$stored" 100
rm -rf got && mkdir got
expect 1 "a tampered SBOM on the server is refused" -- client --target-name v2.img.cdx.json download
[ ! -e got/v2.img.cdx.json ]; ok $? "nothing of the tampered SBOM is kept"
finish
