#!/usr/bin/env bash
# An update over HTTP, end to end: release engineer signs; image repository and director publish;
# the device checks, installs (interrupted by a power cut, then resumed), boots the trial and the
# firmware confirms. Then the attacks the director/image split exists for.
# Usage: update_test.sh IRONSEAL PLC_RUNTIME HTTPD
set -uo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
IRONSEAL=$1
HTTPD=$3
work=$(mktemp -d)
cd "$work" || exit 3
# shellcheck source=tests/cli/lib.sh
source "$here/lib.sh"

cp "$2" runtime.bin
"$IRONSEAL" key generate --out fw.pem --public-out fw.pub >/dev/null
printf 'stage-2\n' >s2.bin
sign() { "$IRONSEAL" image sign --key fw.pem "$@" >/dev/null; }
sign --version 0.1.0 --security-counter 0 s2.bin s2.img
sign --version 1.0.0 --security-counter 1 runtime.bin v1.img
sign --version 2.0.0 --security-counter 2 runtime.bin v2.img
head -c 300000 /dev/urandom >>runtime-big.bin; cat runtime.bin >>runtime-big.bin
sign --version 3.0.0 --security-counter 3 runtime-big.bin v3.img

# Publish: image repository R, director D, served under one base URL.
expect 0 "repo init" -- "$IRONSEAL" repo init R
expect 0 "repo add-target v2" -- "$IRONSEAL" repo add-target R v2.img --hardware-id plc-x1 --chunk-size 4096
expect 0 "repo add-target v3" -- "$IRONSEAL" repo add-target R v3.img --hardware-id plc-x1 --chunk-size 4096
expect 0 "repo publish" -- "$IRONSEAL" repo publish R
expect 0 "director init" -- "$IRONSEAL" director init D
expect 0 "director assign v2 to SN-1" -- "$IRONSEAL" director assign D --serial SN-1 --image-repo R --target v2.img
mkdir www && ln -s ../R www/image && ln -s ../D www/director
coproc SERVER { exec "$HTTPD" www; }
read -r port <&"${SERVER[0]}"
trap 'kill "$SERVER_PID" 2>/dev/null; rm -rf -- "$work"' EXIT
URL="http://127.0.0.1:$port"

expect 0 "device init for updates" -- "$IRONSEAL" device init dev --root-key fw.pub --stage2 s2.img \
  --firmware v1.img --serial SN-1 --hardware-id plc-x1 --image-root R/metadata/1.root.json \
  --director-root D/metadata/1.root.json --attempts 2 --slot-size 0x2000000
expect 0 "update check" -- "$IRONSEAL" update check dev --repo "$URL" --json
contains out.txt '"target": "v2.img"' "the director's assignment is seen"
contains out.txt '"up_to_date": false' "v2 is new"

expect 3 "update install cut by power" -- "$IRONSEAL" update install dev --repo "$URL" --power-cut-after 300
contains err.txt "power cut" "the cut is reported"
[ -f dev/install.journal ]; ok $? "the resume journal survives the cut"
expect 0 "update install" -- "$IRONSEAL" update install dev --repo "$URL" --json
contains out.txt '"result": "installed"' "installed"
grep -qE '"resumed": [1-9]' out.txt; ok $? "chunks written before the cut are not downloaded again"
expect 0 "installing again before the trial changes nothing" -- "$IRONSEAL" update install dev --repo "$URL" --json
contains out.txt '"result": "already_pending"' "a pending install is not redone"
expect 0 "trial boot and confirm" -- "$IRONSEAL" device run dev --boots 2
contains out.txt "confirmed slot B, last event confirmed" "the update is confirmed"
expect 0 "update check after" -- "$IRONSEAL" update check dev --repo "$URL" --json
contains out.txt '"up_to_date": true' "nothing more to do"

# Delta: v3 shares most chunks with the installed v2 runtime.
expect 0 "assign v3" -- "$IRONSEAL" director assign D --serial SN-1 --image-repo R --target v3.img
expect 0 "install v3" -- "$IRONSEAL" update install dev --repo "$URL" --json
contains out.txt '"result": "installed"' "v3 installed"

# A real kill (SIGKILL) in the middle of a download from a slow server: the next run resumes.
sign --version 4.0.0 --security-counter 4 runtime-big.bin v4.img
"$IRONSEAL" repo add-target R v4.img --hardware-id plc-x1 --chunk-size 4096 >/dev/null
"$IRONSEAL" repo publish R >/dev/null
"$IRONSEAL" director assign D --serial SN-1 --image-repo R --target v4.img >/dev/null
coproc SLOW { exec "$HTTPD" www 15; }
read -r slow_port <&"${SLOW[0]}"
"$IRONSEAL" update install dev --repo "http://127.0.0.1:$slow_port" >/dev/null 2>&1 &
victim=$!
for _ in $(seq 100); do [ -f dev/install.journal ] && break; sleep 0.05; done
sleep 0.3
kill -9 "$victim" 2>/dev/null; wait "$victim" 2>/dev/null
kill "$SLOW_PID" 2>/dev/null
[ -f dev/install.journal ]; ok $? "the journal survives a SIGKILL mid-download"
expect 0 "install resumes after the kill" -- "$IRONSEAL" update install dev --repo "$URL" --json
grep -qE '"resumed": [1-9]' out.txt; ok $? "chunks on flash before the kill are re-proven, not downloaded"
expect 0 "boot v4 on trial, confirmed" -- "$IRONSEAL" device run dev --boots 1
contains out.txt "confirmed slot" "v4 confirmed after the resumed install"

# Attacks. 1: director keys alone (a compromised director signs an assignment of an image from
# the attacker's own repository): the image repository does not list it, the device refuses.
expect 0 "attacker repo" -- "$IRONSEAL" repo init EVIL
"$IRONSEAL" image sign --key fw.pem --version 9.0.0 --security-counter 9 runtime.bin evil.img >/dev/null
"$IRONSEAL" repo add-target EVIL evil.img --hardware-id plc-x1 --chunk-size 4096 >/dev/null
"$IRONSEAL" repo publish EVIL >/dev/null
expect 0 "compromised director assigns evil.img" -- "$IRONSEAL" director assign D --serial SN-1 --image-repo EVIL --target evil.img
expect 1 "device refuses what the image repository did not sign" -- "$IRONSEAL" update check dev --repo "$URL"
contains err.txt "image repository" "refusal names the image repository"
# 2: same name, different bytes: the director's entry disagrees with the image repository's.
"$IRONSEAL" repo add-target EVIL v1.img --hardware-id plc-x1 --name v3.img --chunk-size 4096 >/dev/null
"$IRONSEAL" repo publish EVIL >/dev/null
expect 0 "compromised director assigns a forged v3.img" -- "$IRONSEAL" director assign D --serial SN-1 --image-repo EVIL --target v3.img
expect 1 "device refuses the mismatch" -- "$IRONSEAL" update install dev --repo "$URL"
contains err.txt "disagree" "refusal says the repositories disagree"
# 3: image repository keys alone cannot choose what this device installs.
"$IRONSEAL" repo add-target R evil.img --hardware-id plc-x1 --chunk-size 4096 >/dev/null
"$IRONSEAL" repo publish R >/dev/null
expect 0 "director back to v2" -- "$IRONSEAL" director assign D --serial SN-1 --image-repo R --target v2.img
expect 1 "a target the director did not assign is refused" -- "$IRONSEAL" update install dev --repo "$URL" --target evil.img
contains err.txt "does not assign" "refusal names the director"
# 3b: signed custom metadata of the wrong type (a security counter as a string) is refused as
# untrusted, never taken for 0 and never a crash (nlohmann's value() threw here: abort, exit 134).
retype() {
  python3 - "$1" <<'PY'
import json, sys
p = "R/staged-targets.json"
t = json.load(open(p))
t["targets"]["v2.img"]["custom"]["ironseal"]["security_counter"] = json.loads(sys.argv[1])
json.dump(t, open(p, "w"))
PY
}
"$IRONSEAL" repo add-target R v2.img --hardware-id plc-x1 --chunk-size 4096 >/dev/null  # stage
retype '"2"' && "$IRONSEAL" repo publish R >/dev/null
expect 1 "a security counter of the wrong type is refused" -- "$IRONSEAL" update install dev --repo "$URL"
contains err.txt "security_counter" "refusal names the field"
"$IRONSEAL" repo add-target R v2.img --hardware-id plc-x1 --chunk-size 4096 >/dev/null
retype 2 && "$IRONSEAL" repo publish R >/dev/null
# 4: an image for other hardware, assigned by the director and signed by the image repository.
"$IRONSEAL" repo add-target R v2.img --hardware-id plc-y9 --name other-hw.img --chunk-size 4096 >/dev/null
"$IRONSEAL" repo publish R >/dev/null
"$IRONSEAL" director assign D --serial SN-1 --image-repo R --target other-hw.img >/dev/null
expect 1 "an image for other hardware is refused" -- "$IRONSEAL" update check dev --repo "$URL"
contains err.txt "hardware" "refusal names the hardware id"
finish
