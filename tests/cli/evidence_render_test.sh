#!/usr/bin/env bash
# report.html looked at as a person would: Debian's chromium renders it headless to a PNG (the
# picture must have the page's size and not be blank) and to its DOM (the title and a known
# requirement must be there). Usage: evidence_render_test.sh IRONSEAL SOURCE_DIR
set -uo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
IRONSEAL=$1
SRC=$2
fx="$SRC/tests/fixtures/evidence"
work=$(mktemp -d)
cd "$work" || exit 3
# shellcheck source=tests/cli/lib.sh
source "$here/lib.sh"
trap 'rm -rf -- "$work"' EXIT
command -v chromium >/dev/null || { echo "chromium is missing: run scripts/setup.sh"; exit 3; }

mkdir results
cp "$fx/results-ctest.xml" "$fx/results-gtest.xml" results/
"$IRONSEAL" evidence sbom --out sbom.json || exit 3
expect 0 "evidence build" -- "$IRONSEAL" evidence build --catalogue "$fx/catalogue.json" \
  --results results --sbom sbom.json --threat-model "$fx/threat-model.md" --source-root "$SRC" \
  --out report
# The flags this machine's closed network needs (no background connections, no sandbox as root).
# The last two make the screenshot wait until the page has loaded and been drawn, also on a
# machine busy with other tests.
chrome=(chromium --headless --no-sandbox --disable-gpu --disable-quic --no-first-run
        --disable-background-networking --disable-component-update --disable-sync
        --user-data-dir="$work/profile" --run-all-compositor-stages-before-draw
        --virtual-time-budget=5000)
timeout 120 "${chrome[@]}" --window-size=1280,1600 --screenshot="$work/report.png" \
  "file://$work/report/report.html" >chromium.log 2>&1
ok $? "chromium rendered report.html to PNG"
timeout 120 "${chrome[@]}" --dump-dom "file://$work/report/report.html" >dom.html 2>>chromium.log
ok $? "chromium dumped the DOM"
contains dom.html "<title>ironseal certification evidence</title>" "the title is in the DOM"
contains dom.html 'id="CR 3.4"' "requirement CR 3.4 has its row"
contains dom.html "Software and information integrity" "CR 3.4's title is rendered"
contains dom.html 'tr id="T-01"' "the threat model is rendered"
contains dom.html 'Threats:</b> <a href="#T-01">T-01</a>' "CR 3.4 links to the threats that trace to it"
python3 - "$work/report.png" <<'PY'
import struct, sys, zlib
data = open(sys.argv[1], "rb").read()
assert data[:8] == b"\x89PNG\r\n\x1a\n", "not a PNG"
w, h = struct.unpack(">II", data[16:24])
assert (w, h) == (1280, 1600), (w, h)
# A blank page compresses to almost nothing; a rendered report with tables does not.
assert len(data) > 40_000, len(data)
PY
ok $? "the PNG is 1280x1600 and not blank"
if [ -n "${IRONSEAL_EVIDENCE_SCREENSHOT:-}" ]; then cp "$work/report.png" "$IRONSEAL_EVIDENCE_SCREENSHOT"; fi
finish
