#!/usr/bin/env bash
# A simulated device through the CLI, as an operator or auditor would drive it.
# Usage: device_test.sh IRONSEAL PLC_RUNTIME PLC_RUNTIME_FAILING
set -uo pipefail
IRONSEAL=$1
work=$(mktemp -d)
trap 'rm -rf -- "$work"' EXIT
cd "$work" || exit 3
passed=0
failed=0
check() {  # check WANT_EXIT DESCRIPTION -- COMMAND...
  local want=$1 what=$2
  shift 3
  "$@" >out.txt 2>err.txt
  local got=$?
  if [ "$got" -eq "$want" ]; then passed=$((passed + 1)); else
    failed=$((failed + 1)); echo "FAIL: $what: exit $got, want $want"
    sed 's/^/  out: /' out.txt | tail -20; sed 's/^/  err: /' err.txt | tail -5; fi
}
has() {  # has FILE TEXT DESCRIPTION
  if grep -qF -- "$2" "$1"; then passed=$((passed + 1)); else
    failed=$((failed + 1)); echo "FAIL: $3: '$2' not in $1"; sed 's/^/  /' "$1" | tail -20; fi
}

cp "$2" runtime.bin && cp "$3" runtime-failing.bin
"$IRONSEAL" key generate --out root.pem --public-out root.pub >/dev/null
printf 'ironseal stage-2 (host simulation)\n' >s2.bin
sign() { "$IRONSEAL" image sign --key root.pem --header-size 0x200 --vid plc.example --cid x1 "$@" >/dev/null; }
sign --version 0.1.0 --security-counter 0 s2.bin s2.img
sign --version 1.0.0 --security-counter 1 runtime.bin v1.img
sign --version 2.0.0 --security-counter 2 runtime.bin v2.img
sign --version 3.0.0 --security-counter 3 runtime-failing.bin v3-fails.img
"$IRONSEAL" image sign --key root.pem --version 2.5.0 --security-counter 5 runtime.bin no-hwid.img >/dev/null

check 0 "init" -- "$IRONSEAL" device init dev --root-key root.pub --stage2 s2.img --firmware v1.img \
  --vid plc.example --cid x1 --attempts 2 --slot-size 0x1000000
check 2 "init refuses an existing device" -- "$IRONSEAL" device init dev --root-key root.pub --stage2 s2.img --firmware v1.img
check 0 "first boot runs the firmware" -- "$IRONSEAL" device boot dev
has out.txt "[plc-runtime 1.0.0+0] running from slot A" "the verified firmware ran"
has out.txt "sealed memfd" "ran the in-memory copy"

check 0 "install v2" -- "$IRONSEAL" device install dev v2.img
has out.txt "pending a trial boot with 2 attempt(s)" "install reports the trial"
check 0 "trial then confirmed boot" -- "$IRONSEAL" device run dev --boots 2
has out.txt "TRIAL boot of slot B: version 2.0.0+0" "trial boot"
has out.txt "[plc-runtime] confirmed slot B" "firmware confirmed itself"
has out.txt "confirmed slot B, last event confirmed, OTP counter 2" "counter moved on confirmation"

check 0 "install a failing v3" -- "$IRONSEAL" device install dev v3-fails.img
check 0 "failing trial reverts by itself" -- "$IRONSEAL" device run dev --boots 3
has out.txt "REVERT: the trial image was not confirmed within its attempts" "revert reason shown"
has out.txt "confirmed slot B, last event reverted_unconfirmed, OTP counter 2" "back on v2, counter unchanged"
check 0 "status json" -- "$IRONSEAL" device status dev --json
has out.txt '"revert_count": 1' "revert counted"
has out.txt '"otp_counter": 2' "status counter"

check 1 "downgrade refused at install" -- "$IRONSEAL" device install dev v1.img
has err.txt "rolled_back" "downgrade reason"
check 1 "wrong hardware refused" -- "$IRONSEAL" device install dev no-hwid.img
has err.txt "wrong_hardware" "hardware reason"

# Power cut in the middle of an install, then recovery: the old image boots, the install resumes.
sign --version 4.0.0 --security-counter 4 runtime.bin v4.img
check 3 "install cut by power" -- "$IRONSEAL" device install dev v4.img --power-cut-after 7 --torn
has err.txt "POWER CUT (simulated)" "cut reported"
check 0 "boot after the cut runs the confirmed image" -- "$IRONSEAL" device boot dev --no-exec --json
has out.txt '"version": "2.0.0+0"' "old image after the cut"
check 0 "install resumes" -- "$IRONSEAL" device install dev v4.img --json
has out.txt '"result": "installed"' "resumed install completes"
check 0 "boot v4 on trial and confirm it" -- "$IRONSEAL" device run dev --boots 1
has out.txt "confirmed slot A" "v4 confirmed"

# A stage-2 modified on flash: recovery, nothing runs.
cp dev/flash.img flash.bak
printf '\x00' | dd of=dev/flash.img bs=1 seek=$((4096 + 0x200 + 2)) conv=notrunc status=none
check 1 "modified stage-2 means recovery" -- "$IRONSEAL" device boot dev
has out.txt "stage-2 NOT trusted: hash_mismatch" "stage-2 refusal named"
cp flash.bak dev/flash.img

for cmd in device "device init" "device boot" "device install" "device confirm" "device status" "device run"; do
  # shellcheck disable=SC2086
  check 0 "help: $cmd" -- "$IRONSEAL" $cmd --help
done
check 3 "not a device directory" -- "$IRONSEAL" device status nowhere

echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
