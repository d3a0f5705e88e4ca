#!/usr/bin/env bash
# A simulated device with a TPM 2.0 (swtpm + tpm2-abrmd, started here and stopped on exit): the
# anti-rollback counter in a TPM NV counter, measured boot into PCR 16, and remote attestation
# refused for each reason. Usage: tpm_test.sh IRONSEAL PLC_RUNTIME
set -uo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
IRONSEAL=$1
work=$(mktemp -d)
# shellcheck source=tests/support/tpm_env.sh
source "$here/../support/tpm_env.sh"
trap 'tpm_env_stop "$work/tpm"; rm -rf -- "$work"' EXIT
trap 'exit 130' INT TERM
cd "$work" || exit 3
# shellcheck source=tests/cli/lib.sh
source "$here/lib.sh"
tpm_env_start "$work/tpm" || { echo "FAIL: could not start swtpm + tpm2-abrmd"; exit 1; }

cp "$2" runtime.bin
"$IRONSEAL" key generate --out root.pem --public-out root.pub >/dev/null
printf 'ironseal stage-2 (host simulation)\n' >s2.bin
sign() { "$IRONSEAL" image sign --key root.pem --header-size 0x200 --vid plc.example --cid x1 "$@" >/dev/null; }
sign --version 0.1.0 --security-counter 0 s2.bin s2.img
sign --version 1.0.0 --security-counter 1 runtime.bin v1.img
sign --version 2.0.0 --security-counter 2 runtime.bin v2.img
fuses() { od -An -tx1 -j $((0xb0)) -N 8 "$1/otp.bin" | tr -d ' \n'; }

# ---- anti-rollback counter in the TPM ----------------------------------------------------------
expect 2 "a bad counter kind is a usage error" -- "$IRONSEAL" device init bad --root-key root.pub \
  --stage2 s2.img --firmware v1.img --rollback-counter flash
expect 1 "init refuses firmware for other hardware" -- "$IRONSEAL" device init other \
  --root-key root.pub --stage2 s2.img --firmware v1.img --vid other.example --cid y \
  --slot-size 0x1000000 --rollback-counter tpm
contains err.txt "wrong_hardware" "refusal reason"
nv_defined() { tpm2_getcap handles-nv-index 2>/dev/null | grep -qi "0x${1#0x}"; }
! nv_defined 0x1500010 && ! nv_defined 0x1500011
ok $? "a refused init leaves no counter behind in the TPM"
[ ! -e other/device.json ]
ok $? "nor a device directory"
expect 0 "init with the counter in the TPM" -- "$IRONSEAL" device init dev --root-key root.pub \
  --stage2 s2.img --firmware v1.img --vid plc.example --cid x1 --slot-size 0x1000000 \
  --rollback-counter tpm
contains out.txt "anti-rollback counter in a TPM NV counter" "init says where the counter is"
[ -s dev/ak.pub.pem ] && grep -q "BEGIN PUBLIC KEY" dev/ak.pub.pem
ok $? "init recorded the attestation public key"
expect 0 "status" -- "$IRONSEAL" device status dev --json
contains out.txt '"rollback_counter": "tpm"' "status names the TPM counter"
contains out.txt '"otp_counter": 1' "the factory image's counter is in the TPM"
[ "$(fuses dev)" = 0000000000000000 ]
ok $? "no OTP counter fuse was burnt"
nv_defined 0x1500010 && nv_defined 0x1500011
ok $? "init defined the counter and its base in the TPM"
tpm2_nvreadpublic 0x01500010 >nv.txt 2>&1
contains nv.txt "nt=0x1" "the counter index is a TPM counter (TPM_NT_COUNTER)"

expect 0 "install v2" -- "$IRONSEAL" device install dev v2.img
expect 0 "trial boot of v2" -- "$IRONSEAL" device boot dev --no-exec --json
contains out.txt '"outcome": "trial"' "v2 on trial"
expect 0 "confirm v2" -- "$IRONSEAL" device confirm dev
expect 0 "status after confirm" -- "$IRONSEAL" device status dev
contains out.txt "TPM NV anti-rollback counter 2" "confirmation raised the TPM counter"
[ "$(fuses dev)" = 0000000000000000 ]
ok $? "still no OTP counter fuse burnt"
expect 1 "downgrade to v1 refused against the TPM counter" -- "$IRONSEAL" device install dev v1.img
contains err.txt "rolled_back" "downgrade reason"

# ---- measured boot and attestation -------------------------------------------------------------
expect 0 "boot (measured into PCR 16)" -- "$IRONSEAL" device boot dev --no-exec --json
cp out.txt boot.json
measurement=$(sed -n 's/.*"measurement": "\([0-9a-f]*\)".*/\1/p' boot.json)
stage2=$(sed -n 's/.*"stage2_measurement": "\([0-9a-f]*\)".*/\1/p' boot.json)
[ ${#measurement} -eq 64 ] && [ ${#stage2} -eq 64 ]
ok $? "boot reports both measurements"
tpm2_pcrread sha256:16 >pcr.txt 2>&1
expected_pcr=$(python3 -c "
import hashlib,sys
p=bytes(32)
for d in sys.argv[1:]: p=hashlib.sha256(p+bytes.fromhex(d)).digest()
print(p.hex().upper())" "$stage2" "$measurement")
contains pcr.txt "0x$expected_pcr" "PCR 16 holds the two measurements extended from zero"

NONCE=0123456789abcdef0123456789abcdef
expect 0 "attest" -- "$IRONSEAL" device attest dev --nonce $NONCE --out quote.json
contains out.txt "TPM quote of PCR 16" "attest summary"
expect 0 "verify against the boot report" -- "$IRONSEAL" attest verify quote.json --nonce $NONCE \
  --ak dev/ak.pub.pem --boot-report boot.json
contains out.txt "quote trusted" "verified"
expect 0 "verify against explicit digests, JSON" -- "$IRONSEAL" attest verify quote.json \
  --nonce $NONCE --ak dev/ak.pub.pem --expected-digest "$stage2" --expected-digest "$measurement" --json
contains out.txt '"result": "trusted"' "JSON verdict"

expect 1 "wrong nonce refused" -- "$IRONSEAL" attest verify quote.json --nonce ${NONCE%??}00 \
  --ak dev/ak.pub.pem --boot-report boot.json --json
contains out.txt '"reason": "nonce_mismatch"' "nonce reason"
python3 - <<'PY'
import json
q = json.load(open("quote.json"))
a = bytearray.fromhex(q["attest"]); a[-1] ^= 1          # the last byte of the PCR digest
q["attest"] = a.hex(); json.dump(q, open("tampered.json", "w"))
PY
expect 1 "tampered quote refused" -- "$IRONSEAL" attest verify tampered.json --nonce $NONCE \
  --ak dev/ak.pub.pem --boot-report boot.json
contains err.txt "bad_signature" "tamper reason"
expect 1 "unexpected digest refused" -- "$IRONSEAL" attest verify quote.json --nonce $NONCE \
  --ak dev/ak.pub.pem --expected-digest "$stage2" --expected-digest "$(printf 'other' | sha256sum | cut -c1-64)"
contains err.txt "pcr_mismatch" "digest reason"
openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 2>/dev/null |
  openssl pkey -pubout -out foreign-ak.pem
expect 1 "foreign attestation key refused" -- "$IRONSEAL" attest verify quote.json --nonce $NONCE \
  --ak foreign-ak.pem --boot-report boot.json
contains err.txt "bad_signature" "foreign key reason"
# A genuine quote by the same AK, but over PCRs 15 and 16 (tpm2-tools, not ironseal): signature and
# nonce check out, the selection does not.
tpm2_quote -c 0x81000010 -l sha256:15,16 -q $NONCE -m wide.msg -s wide.sig -f plain -g sha256 \
  >/dev/null 2>&1
python3 -c "import json; json.dump({'format': 'ironseal-tpm-quote-1',
  'attest': open('wide.msg', 'rb').read().hex(), 'signature': open('wide.sig', 'rb').read().hex()},
  open('wide.json', 'w'))"
expect 1 "quote over other PCRs refused" -- "$IRONSEAL" attest verify wide.json --nonce $NONCE \
  --ak dev/ak.pub.pem --boot-report boot.json --json
contains out.txt '"reason": "pcr_selection"' "selection reason"
echo '{"format":"ironseal-tpm-quote-1","attest":"ff54","signature":"30"}' >short.json
expect 1 "truncated quote refused" -- "$IRONSEAL" attest verify short.json --nonce $NONCE \
  --ak dev/ak.pub.pem --boot-report boot.json
contains err.txt "malformed" "truncation reason"

# A different boot (another slot and image) gives a PCR the old reference no longer matches.
sign --version 3.0.0 --security-counter 3 runtime.bin v3.img
expect 0 "install v3" -- "$IRONSEAL" device install dev v3.img
expect 0 "trial boot of v3" -- "$IRONSEAL" device boot dev --no-exec --json
cp out.txt boot3.json
expect 0 "attest after the v3 boot" -- "$IRONSEAL" device attest dev --nonce $NONCE --json
cp out.txt quote3.json
expect 1 "old reference refused for the new boot" -- "$IRONSEAL" attest verify quote3.json \
  --nonce $NONCE --ak dev/ak.pub.pem --boot-report boot.json
contains err.txt "pcr_mismatch" "changed boot reason"
expect 0 "new reference verifies" -- "$IRONSEAL" attest verify quote3.json --nonce $NONCE \
  --ak dev/ak.pub.pem --boot-report boot3.json
# The verifier needs no reference boot: the images' digests, the slot and the trial flag suffice.
digest_of() { "$IRONSEAL" image verify "$1" --key root.pub --json | sed -n 's/.*"digest": "\([0-9a-f]*\)".*/\1/p'; }
slot3=$(sed -n 's/.*"slot": "\([AB]\)".*/\1/p' boot3.json)
expect 0 "verify from image digests" -- "$IRONSEAL" attest verify quote3.json --nonce $NONCE \
  --ak dev/ak.pub.pem --stage2-digest "$(digest_of s2.img)" --image-digest "$(digest_of v3.img)" \
  --slot "$slot3" --trial
contains out.txt "quote trusted" "recomputed from image digests"
expect 1 "not a confirmed boot of v3" -- "$IRONSEAL" attest verify quote3.json --nonce $NONCE \
  --ak dev/ak.pub.pem --stage2-digest "$(digest_of s2.img)" --image-digest "$(digest_of v3.img)" \
  --slot "$slot3"
contains err.txt "pcr_mismatch" "trial flag is measured"
expect 1 "not v2" -- "$IRONSEAL" attest verify quote3.json --nonce $NONCE --ak dev/ak.pub.pem \
  --stage2-digest "$(digest_of s2.img)" --image-digest "$(digest_of v2.img)" --slot "$slot3" --trial
contains err.txt "pcr_mismatch" "image digest is measured"

# A boot cut by power leaves PCR 16 empty (a TPM reset), not holding the previous boot's value.
expect 3 "boot cut by power" -- "$IRONSEAL" device boot dev --no-exec --power-cut-after 0
contains err.txt "POWER CUT (simulated)" "the cut happened"
tpm2_pcrread sha256:16 >pcr-cut.txt 2>&1
contains pcr-cut.txt "0x0000000000000000000000000000000000000000000000000000000000000000" "PCR 16 reset"
"$IRONSEAL" device attest dev --nonce $NONCE --out quote-cut.json >/dev/null
expect 1 "a quote after the cut does not match the earlier boot" -- "$IRONSEAL" attest verify \
  quote-cut.json --nonce $NONCE --ak dev/ak.pub.pem --boot-report boot3.json
contains err.txt "pcr_mismatch" "cut boot reason"

# A device without a TPM cannot attest; a device with one keeps its counter in OTP if asked.
expect 0 "init without a TPM" -- "$IRONSEAL" device init plain --root-key root.pub --stage2 s2.img \
  --firmware v1.img --vid plc.example --cid x1 --slot-size 0x1000000
expect 2 "attest needs a TPM" -- "$IRONSEAL" device attest plain --nonce $NONCE
contains err.txt "has no TPM" "no-TPM reason"
expect 2 "a nonce must be hex" -- "$IRONSEAL" device attest dev --nonce xyz
finish
