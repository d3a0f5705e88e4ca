#!/usr/bin/env bash
# docs/exit-codes.md is the contract for exit codes x refusal reasons: this test reads its reason
# table, runs one case per row, and checks the documented exit code and that stderr names the
# reason. A row without a case, or a case without a row, fails. Also the hostile-input refusals of
# issue 12 (FIFOs never block, oversized inputs are refused before they are read).
# Usage: exit_codes_test.sh IRONSEAL PLC_RUNTIME DOC
set -uo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
IRONSEAL=$1
RUNTIME=$2
DOC=$3
work=$(mktemp -d)
trap 'rm -rf -- "$work"' EXIT
cd "$work" || exit 3
# shellcheck source=tests/cli/lib.sh
source "$here/lib.sh"

# ---- fixtures ------------------------------------------------------------------------------------
"$IRONSEAL" key generate --out k.pem --public-out k.pub >/dev/null
"$IRONSEAL" key generate --out other.pem --public-out other.pub >/dev/null
head -c 5000 /dev/zero | tr '\0' '\125' >fw.bin
"$IRONSEAL" image sign --key k.pem --version 1.0.0 --security-counter 1 fw.bin fw.img >/dev/null
size=$(stat -c %s fw.img)
cp fw.img badsig.img && flip_byte badsig.img $((size - 10))
cp fw.img flipped.img && printf '\x00' | dd of=flipped.img bs=1 seek=600 conv=notrunc status=none
head -c $((size / 2)) fw.img >half.img
for i in $(seq 100); do echo "this text file is not a boot image"; done >text.txt
: >empty.pem
mkfifo fifo

cp "$RUNTIME" runtime.bin
printf 'stage-2\n' >s2.bin
sign() { "$IRONSEAL" image sign --key k.pem --header-size 0x200 --vid plc.example --cid x1 "$@" >/dev/null; }
sign --version 0.1.0 --security-counter 0 s2.bin s2.img
sign --version 1.0.0 --security-counter 1 runtime.bin v1.img
sign --version 2.0.0 --security-counter 2 runtime.bin v2.img
sign --version 3.0.0 --security-counter 3 runtime.bin v3.img
"$IRONSEAL" image sign --key k.pem --version 4.0.0 --security-counter 4 runtime.bin other-hw.img >/dev/null
# 16 MiB slots: the ASan build's firmware is about 7 MiB.
new_device() {  # DIR
  "$IRONSEAL" device init "$1" --root-key k.pub --stage2 s2.img --firmware v1.img \
    --vid plc.example --cid x1 --slot-size 0x1000000 >/dev/null
}
new_device dev
"$IRONSEAL" device install dev v2.img >/dev/null && "$IRONSEAL" device run dev --boots 2 >/dev/null
index_sha=$("$IRONSEAL" image chunk v3.img --out v3.chunks --chunk-size 4096 --json |
  sed -n 's/.*"index_sha256": "\([0-9a-f]*\)".*/\1/p')
# Tamper in the last chunk (the TLVs): the other chunks equal v2's and are copied from the active
# slot (delta), never read from the source.
cp v3.img v3-tampered.img && flip_byte v3-tampered.img $(($(stat -c %s v3.img) - 5))

# ---- one case per reason: each runs the command (stdout out.txt, stderr err.txt) and sets
# `token` when the text to find is not the reason itself; run() keeps the exit code in rc ------------------------------------------
run() { "$@" >out.txt 2>err.txt; rc=$?; }
case_bad_signature() { run "$IRONSEAL" image verify --key k.pub badsig.img; }
case_hash_mismatch() { run "$IRONSEAL" image verify --key k.pub flipped.img; }
case_unknown_key() { run "$IRONSEAL" image verify --key other.pub fw.img; }
case_truncated() { run "$IRONSEAL" image verify --key k.pub half.img; }
case_bad_magic() { run "$IRONSEAL" image chunk text.txt --out text.chunks; }
case_rolled_back() { run "$IRONSEAL" device install dev v1.img; }
case_wrong_hardware() { run "$IRONSEAL" device install dev other-hw.img; }
case_not_in_trial() {
  rm -rf trial && new_device trial && "$IRONSEAL" device install trial v2.img >/dev/null
  run "$IRONSEAL" device confirm trial
}
case_index_mismatch() {
  run "$IRONSEAL" device install dev v3.img --chunk-index v3.chunks --index-sha256 "$(printf 'b%.0s' {1..64})"
}
case_chunk_mismatch() {
  run "$IRONSEAL" device install dev v3-tampered.img --chunk-index v3.chunks --index-sha256 "$index_sha"
}
case_bad_key_file() { run "$IRONSEAL" image verify --key empty.pem fw.img; }
case_too_large() {
  truncate -s 4G huge.bin
  run "$IRONSEAL" image sign --key k.pem --version 1.0.0 --security-counter 1 huge.bin huge.img
  rm -f huge.bin
}
case_index_required() { run "$IRONSEAL" device install dev v3.img --chunk-index v3.chunks; }
case_usage() { run "$IRONSEAL" image verify fw.img --key; token="Run with --help"; }
case_not_a_regular_file() { run timeout 10 "$IRONSEAL" image verify --key k.pub fifo; }
case_damaged_device() {
  rm -rf broken && cp -r dev broken && head -c 40 dev/device.json >broken/device.json
  run "$IRONSEAL" device status broken
}
case_not_found() { run "$IRONSEAL" image verify --key k.pub missing.img; token="No such file"; }

# ---- the table -----------------------------------------------------------------------------------
rows=$(sed -n 's/^| \([0-3]\) | `\([a-z_]*\)` |.*/\1 \2/p' "$DOC")
[ -n "$rows" ]; ok $? "docs/exit-codes.md has a reason table"
declare -A documented
while read -r want reason; do
  documented[$reason]=1
  if ! declare -F "case_$reason" >/dev/null; then
    failed=$((failed + 1)); echo "FAIL: documented reason $reason has no case here"; continue
  fi
  token=$reason
  rc=255
  "case_$reason"
  got=$rc
  if [ "$got" -eq "$want" ]; then passed=$((passed + 1)); else
    failed=$((failed + 1)); echo "FAIL: $reason: exit $got, documented $want"; sed 's/^/  stderr: /' err.txt
  fi
  contains err.txt "$token" "$reason: stderr names it"
done <<<"$rows"
for f in $(declare -F | sed -n 's/^declare -f case_//p'); do
  [ -n "${documented[$f]:-}" ]; ok $? "case $f is documented in docs/exit-codes.md"
done

# ---- --json carries code, reason and exit code (the one error model, issue 13) --------------------
# A command's own verdict (image verify) and the generic error object of main() for the rest.
json_case() {  # WANT_EXIT REASON CODE -- COMMAND...
  local want=$1 reason=$2 code=$3; shift 4
  expect "$want" "--json: $reason" -- "$@" --json
  contains out.txt "\"reason\": \"$reason\"" "--json: $reason is the reason field"
  if [ "$code" != - ]; then
    contains out.txt "\"code\": \"$code\"" "--json: $reason has code $code"
    contains out.txt "\"exit_code\": $want" "--json: $reason has exit_code $want"
  fi
}
json_case 1 bad_signature - -- "$IRONSEAL" image verify --key k.pub badsig.img
json_case 1 rolled_back - -- "$IRONSEAL" device install dev v1.img
json_case 1 bad_magic malformed -- "$IRONSEAL" image chunk text.txt --out text.chunks
json_case 1 index_mismatch not_trusted -- "$IRONSEAL" device install dev v3.img --chunk-index v3.chunks \
  --index-sha256 "$(printf 'b%.0s' {1..64})"
json_case 2 index_required invalid_argument -- "$IRONSEAL" device install dev v3.img --chunk-index v3.chunks
rm -rf broken && cp -r dev broken && head -c 40 dev/device.json >broken/device.json
json_case 3 damaged_device io -- "$IRONSEAL" device status broken
rm -rf broken

# ---- more of issue 12's hostile inputs -----------------------------------------------------------
# A FIFO never blocks, wherever a file is read: image, key, firmware to sign, device image.
for cmd in "image inspect fifo" "image verify --key fifo fw.img" "image sign --key fifo --version 1.0.0 --security-counter 1 fw.bin x.img" \
           "image sign --key k.pem --version 1.0.0 --security-counter 1 fifo x.img" "device install dev fifo" "image chunk fifo --out f.chunks"; do
  # shellcheck disable=SC2086
  expect 3 "FIFO refused without blocking: $cmd" -- timeout 10 "$IRONSEAL" $cmd
  contains err.txt "is a FIFO, not a regular file" "FIFO named: $cmd"
done
expect 3 "a directory as the image is an environment error" -- "$IRONSEAL" image verify --key k.pub .
contains err.txt "is a directory" "directory named"
grep -q "NOT TRUSTED" err.txt; [ $? -ne 0 ]; ok $? "a directory is not called NOT TRUSTED"
mkdir keydir
expect 3 "a directory as the signing key" -- "$IRONSEAL" image sign --key keydir --version 1.0.0 --security-counter 1 fw.bin x.img
grep -q "chmod" err.txt; [ $? -ne 0 ]; ok $? "no chmod advice for a directory"
expect 2 "a private key given as the trusted key" -- "$IRONSEAL" image verify --key k.pem fw.img
contains err.txt "holds a private key" "the private key is named as such"
echo garbage >garbage.pem && chmod 600 garbage.pem
expect 2 "a garbage signing key" -- "$IRONSEAL" image sign --key garbage.pem --version 1.0.0 --security-counter 1 fw.bin x.img
contains err.txt "bad_key_file" "garbage key named"

# Oversized input: refused before it is read; large input: signed in one streaming pass. Memory is
# judged by peak RSS (/usr/bin/time), not an address-space limit, which ASan's shadow memory would
# trip over, and as growth over the binary's own baseline (`--version`): the ASan build starts at
# ~230 MiB of RSS (instrumented globals and their shadow), the release build at ~14 MiB.
peak_rss_kib() {
  /usr/bin/time -f %M -o rss.txt "$@" >out.txt 2>err.txt; rc=$?
  rss=$(($(tail -1 rss.txt) - baseline_rss))
}
/usr/bin/time -f %M -o rss.txt "$IRONSEAL" --version >/dev/null 2>&1
baseline_rss=$(tail -1 rss.txt)
truncate -s 4G huge.bin
peak_rss_kib "$IRONSEAL" image sign --key k.pem --version 1.0.0 --security-counter 1 huge.bin huge.img
[ "$rc" -eq 2 ]; ok $? "a 4 GiB firmware is refused as a usage error (exit $rc)"
contains err.txt "at most" "the limit is named"
[ "$rss" -lt 204800 ]; ok $? "refused before it is read (peak RSS ${rss} KiB over the baseline < 200 MiB)"
rm -f huge.bin
[ ! -e huge.img ]; ok $? "no output for a refused input"

truncate -s 300M big.bin
peak_rss_kib "$IRONSEAL" image sign --key k.pem --version 1.0.0 --security-counter 1 big.bin big.img
[ "$rc" -eq 0 ]; ok $? "a 300 MiB firmware signs (exit $rc)"
[ "$rss" -lt 204800 ]; ok $? "in bounded memory (peak RSS ${rss} KiB over the baseline < 200 MiB, the image is 300 MiB)"
expect 0 "and verifies" -- "$IRONSEAL" image verify --key k.pub big.img
rm -f big.bin big.img

# A security counter the OTP fuses cannot hold is signed, with a warning that says what it means.
expect 0 "a security counter above 64 signs" -- "$IRONSEAL" image sign --key k.pem --version 1.0.0 --security-counter 70 fw.bin c70.img --json
contains err.txt "warning: security counter 70 is above 64" "the fuse capacity is named"
contains out.txt '"warnings"' "the warning is in the JSON too"

# One value per option: `--key K IMG --json` keeps IMG and --json.
expect 0 "--key takes one value" -- "$IRONSEAL" image verify --key k.pub fw.img --json
contains out.txt '"trusted": true' "the options after IMG were read"
expect 0 "--key repeated" -- "$IRONSEAL" image verify --key other.pub --key k.pub fw.img
contains out.txt "TRUSTED" "both keys were read"

# image chunk refuses what is not a well-formed image; inspect decodes the security counter.
expect 1 "image chunk of a truncated image" -- "$IRONSEAL" image chunk half.img --out half.chunks
contains err.txt "truncated" "truncated named"
[ ! -e half.chunks ]; ok $? "no index written for a malformed image"
expect 0 "inspect --json" -- "$IRONSEAL" image inspect fw.img --json
contains out.txt '"security_counter": 1' "security counter decoded"
contains out.txt '"decoded": 1' "TLV value decoded"

# Damaged device directories: exit 3 with the file and why, never a JSON library message.
rm -rf broken && cp -r dev broken && printf '{"format": "ironseal-sim-device-1",\n  "block_size": 4096,\n  oops\n}\n' >broken/device.json
expect 3 "device.json that is not JSON" -- "$IRONSEAL" device status broken
contains err.txt "device.json: not valid JSON at line 3" "the line is named"
grep -q "json.exception" err.txt; [ $? -ne 0 ]; ok $? "no library exception text"
rm -rf broken && cp -r dev broken && head -c 1000 dev/flash.img >broken/flash.img
expect 3 "flash.img of the wrong size" -- "$IRONSEAL" device boot broken --no-exec
contains err.txt "flash.img" "flash.img named"
rm -rf broken && cp -r dev broken && head -c 3 dev/otp.bin >broken/otp.bin
expect 3 "otp.bin of the wrong size" -- "$IRONSEAL" device boot broken --no-exec
contains err.txt "otp.bin" "otp.bin named"

finish
