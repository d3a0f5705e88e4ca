#!/usr/bin/env bash
# A simulated device through the CLI, as an operator or auditor would drive it.
# Usage: device_test.sh IRONSEAL PLC_RUNTIME PLC_RUNTIME_FAILING
set -uo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
IRONSEAL=$1
work=$(mktemp -d)
trap 'rm -rf -- "$work"' EXIT
cd "$work" || exit 3
# shellcheck source=tests/cli/lib.sh
source "$here/lib.sh"

cp "$2" runtime.bin && cp "$3" runtime-failing.bin
"$IRONSEAL" key generate --out root.pem --public-out root.pub >/dev/null
printf 'ironseal stage-2 (host simulation)\n' >s2.bin
sign() { "$IRONSEAL" image sign --key root.pem --header-size 0x200 --vid plc.example --cid x1 "$@" >/dev/null; }
sign --version 0.1.0 --security-counter 0 s2.bin s2.img
sign --version 1.0.0 --security-counter 1 runtime.bin v1.img
sign --version 2.0.0 --security-counter 2 runtime.bin v2.img
sign --version 3.0.0 --security-counter 3 runtime-failing.bin v3-fails.img
"$IRONSEAL" image sign --key root.pem --version 2.5.0 --security-counter 5 runtime.bin no-hwid.img >/dev/null

mkdir other && touch other/keep
expect 1 "init refuses firmware for other hardware" -- "$IRONSEAL" device init other --root-key root.pub \
  --stage2 s2.img --firmware v1.img --vid other.example --cid y --slot-size 0x1000000
contains err.txt "wrong_hardware" "init names the reason"
[ -f other/keep ] && [ ! -e other/device.json ] && [ ! -e other/flash.img ]
ok $? "a refused init leaves no half-made device and keeps unrelated files"
expect 0 "init" -- "$IRONSEAL" device init dev --root-key root.pub --stage2 s2.img --firmware v1.img \
  --vid plc.example --cid x1 --attempts 2 --slot-size 0x1000000
expect 2 "init refuses an existing device" -- "$IRONSEAL" device init dev --root-key root.pub --stage2 s2.img --firmware v1.img
expect 0 "first boot runs the firmware" -- "$IRONSEAL" device boot dev
contains out.txt "[plc-runtime 1.0.0+0] running from slot A" "the verified firmware ran"
contains out.txt "sealed memfd" "ran the in-memory copy"

expect 0 "install v2" -- "$IRONSEAL" device install dev v2.img
contains out.txt "pending a trial boot with 2 attempt(s)" "install reports the trial"
expect 0 "trial then confirmed boot" -- "$IRONSEAL" device run dev --boots 2
contains out.txt "TRIAL boot of slot B: version 2.0.0+0" "trial boot"
contains out.txt "[plc-runtime] confirmed slot B" "firmware confirmed itself"
contains out.txt "confirmed slot B, last event confirmed, OTP counter 2" "counter moved on confirmation"

expect 0 "install a failing v3" -- "$IRONSEAL" device install dev v3-fails.img
# EDR 3.14: confirming an image that never booted would fuse its counter before it proved itself.
expect 1 "confirm refuses an image that has not started its trial" -- "$IRONSEAL" device confirm dev
contains err.txt "not_in_trial" "the refusal names not_in_trial"
expect 0 "status after the refused confirm" -- "$IRONSEAL" device status dev --json
contains out.txt '"otp_counter": 2' "the refused confirm fused nothing"
expect 0 "failing trial reverts by itself" -- "$IRONSEAL" device run dev --boots 3
contains out.txt "REVERT: the trial image was not confirmed within its attempts" "revert reason shown"
contains out.txt "confirmed slot B, last event reverted_unconfirmed, OTP counter 2" "back on v2, counter unchanged"
expect 0 "status json" -- "$IRONSEAL" device status dev --json
contains out.txt '"revert_count": 1' "revert counted"
contains out.txt '"otp_counter": 2' "status counter"
# CR 2.8 / 3.9: the device's own audit trail holds the decisions, chained and verifiable.
expect 0 "the device's audit trail verifies" -- "$IRONSEAL" audit verify dev/audit --json
contains out.txt '"ok": true' "intact"
expect 0 "boot decisions are in the device's audit trail" -- "$IRONSEAL" audit show dev/audit --event boot.
contains out.txt "boot.trial_started  ok" "the trial start is recorded"
contains out.txt "boot.confirm  ok" "the firmware's confirmation is recorded"
contains out.txt '"anti_rollback_counter":2' "with the counter it raised"
contains out.txt "boot.reverted_unconfirmed  refused" "the revert is recorded as a refusal"

expect 1 "downgrade refused at install" -- "$IRONSEAL" device install dev v1.img
contains err.txt "rolled_back" "downgrade reason"
expect 1 "wrong hardware refused" -- "$IRONSEAL" device install dev no-hwid.img
contains err.txt "wrong_hardware" "hardware reason"

# Power cut in the middle of an install, then recovery: the old image boots, the install resumes.
sign --version 4.0.0 --security-counter 4 runtime.bin v4.img
expect 3 "install cut by power" -- "$IRONSEAL" device install dev v4.img --power-cut-after 7 --torn
contains err.txt "POWER CUT (simulated)" "cut reported"
expect 0 "boot after the cut runs the confirmed image" -- "$IRONSEAL" device boot dev --no-exec --json
contains out.txt '"version": "2.0.0+0"' "old image after the cut"
expect 0 "install resumes" -- "$IRONSEAL" device install dev v4.img --json
contains out.txt '"result": "installed"' "resumed install completes"
expect 0 "boot v4 on trial and confirm it" -- "$IRONSEAL" device run dev --boots 1
contains out.txt "confirmed slot A" "v4 confirmed"

# Chunked, streaming install: cut by power, resumed from the journal, proven chunk by chunk.
sign --version 5.0.0 --security-counter 5 runtime.bin v5.img
expect 0 "chunk index" -- "$IRONSEAL" image chunk v5.img --out v5.chunks --chunk-size 4096 --json
index_sha=$(sed -n 's/.*"index_sha256": "\([0-9a-f]*\)".*/\1/p' out.txt)
expect 1 "index with the wrong digest is refused" -- "$IRONSEAL" device install dev v5.img --chunk-index v5.chunks --index-sha256 "$(printf '0%.0s' {1..64})"
# CR 3.4: verify-before-write needs an authenticated index; one taken on its own word proves nothing.
sha256sum dev/flash.img >flash.sum
expect 2 "a chunk index without its SHA-256 is refused" -- "$IRONSEAL" device install dev v5.img --chunk-index v5.chunks
contains err.txt "index_required" "the refusal names index_required"
sha256sum -c --quiet flash.sum; ok $? "nothing reached flash without an authenticated index"
expect 1 "an index that is not the one --index-sha256 names is refused" -- "$IRONSEAL" device install dev v5.img --chunk-index v5.chunks --index-sha256 "$(printf 'a%.0s' {1..64})"
contains err.txt "index_mismatch" "the refusal names index_mismatch"
sha256sum -c --quiet flash.sum; ok $? "nothing reached flash with a mismatched index"
expect 3 "chunked install cut by power" -- "$IRONSEAL" device install dev v5.img --chunk-index v5.chunks --index-sha256 "$index_sha" --power-cut-after 400
[ -f dev/install.journal ]; ok $? "the resume journal survives the cut"
expect 0 "chunked install resumes" -- "$IRONSEAL" device install dev v5.img --chunk-index v5.chunks --index-sha256 "$index_sha" --json
grep -qE '"resumed": [1-9]' out.txt; ok $? "chunks before the cut were not fetched again"
expect 0 "boot the chunked install on trial" -- "$IRONSEAL" device run dev --boots 1
contains out.txt "version 5.0.0+0" "chunk-installed image boots"
sign --version 6.0.0 --security-counter 6 runtime-failing.bin v6.img
v6_sha=$("$IRONSEAL" image chunk v6.img --out v6.chunks --chunk-size 4096 --json | sed -n 's/.*"index_sha256": "\([0-9a-f]*\)".*/\1/p')
cp v6.img v6-tampered.img && printf 'X' | dd of=v6-tampered.img bs=1 seek=5000 conv=notrunc status=none
expect 1 "a source that does not match the index is refused" -- "$IRONSEAL" device install dev v6-tampered.img --chunk-index v6.chunks --index-sha256 "$v6_sha"
contains err.txt "chunk_mismatch: chunk 1 " "chunk refusal names the chunk"
contains err.txt "authenticated by --index-sha256" "chunk refusal names which index was trusted and why"

# A stage-2 modified on flash: recovery, nothing runs.
cp dev/flash.img flash.bak
printf '\x00' | dd of=dev/flash.img bs=1 seek=$((4096 + 0x200 + 2)) conv=notrunc status=none
expect 1 "modified stage-2 means recovery" -- "$IRONSEAL" device boot dev
contains out.txt "stage-2 NOT trusted: hash_mismatch" "stage-2 refusal named"
cp flash.bak dev/flash.img

for cmd in device "device init" "device boot" "device install" "device confirm" "device status" "device run"; do
  # shellexpect disable=SC2086
  expect 0 "help: $cmd" -- "$IRONSEAL" $cmd --help
done
expect 3 "not a device directory" -- "$IRONSEAL" device status nowhere

finish
