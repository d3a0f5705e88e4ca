#!/usr/bin/env bash
# Device backup and restore through the CLI (docs/backup.md): operators' keys, an enrolled device
# backed up, checked and restored; every refusal with its exit code and reason; a restore cut by
# power at every write; a replacement device and the CA's superseded revocation; the device's
# audit trail records backups and restores.
# Usage: backup_test.sh IRONSEAL
set -uo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
IRONSEAL=$1
work=$(mktemp -d)
trap 'rm -rf -- "$work"' EXIT
cd "$work" || exit 3
# shellcheck source=tests/cli/lib.sh
source "$here/lib.sh"

printf 'firmware 1\n' >fw1.bin && printf 'firmware 2\n' >fw2.bin  # small: slots of 64 KiB
"$IRONSEAL" key generate --out boot.pem --public-out boot.pub >/dev/null
printf 'stage-2\n' >s2.bin
sign() { "$IRONSEAL" image sign --key boot.pem --header-size 0x200 "$@" >/dev/null; }
sign --version 0.1.0 --security-counter 0 s2.bin s2.img
sign --version 1.0.0 --security-counter 1 fw1.bin v1.img
sign --version 2.0.0 --security-counter 2 fw2.bin v2.img
"$IRONSEAL" repo init R >/dev/null
"$IRONSEAL" ca init ca --org "Example Plant" --server-domain fleet.example >/dev/null
device() {  # DIR SERIAL HARDWARE
  "$IRONSEAL" device init "$1" --root-key boot.pub --stage2 s2.img --firmware v1.img \
    --serial "$2" --hardware-id "$3" --slot-size 0x10000 --image-root R/metadata/1.root.json \
    --director-root R/metadata/1.root.json >/dev/null &&
    "$IRONSEAL" provision key "$1" >/dev/null &&
    "$IRONSEAL" factory enroll "$1" --ca ca --record mfg.sqlite >/dev/null &&
    mkdir -p "$1/config" && printf '{"poll_s": 30}\n' >"$1/config/agent.json" &&
    printf 'cycle_ms=10\n' >"$1/config/plc.conf"
}
device dev SN-1 plc-x1
conf() { cat dev/config/*; ls dev/config; }

# --- keys, create, verify ---------------------------------------------------------------------------
expect 0 "backup keygen" -- "$IRONSEAL" backup keygen --out op.key --public-out op.pub
[ "$(stat -c %a op.key)" = 600 ]; ok $? "the operator's private backup key is 0600"
expect 0 "backup keygen p256" -- "$IRONSEAL" backup keygen --type p256 --out op2.key --public-out op2.pub --json
contains out.txt '"type": "p256"' "P-256 backup key"
expect 2 "keygen never overwrites a key" -- "$IRONSEAL" backup keygen --out op.key --public-out x.pub
expect 0 "backup create to two operators" -- "$IRONSEAL" backup create dev --to op.pub --to op2.pub --out b1.isb --json
contains out.txt '"config/agent.json"' "configuration files are in it"
contains out.txt '"tuf/image/root.json"' "the trusted roots are in it"
contains out.txt '"rollback_counter": 1' "the trust state is recorded"
[ "$(stat -c %a b1.isb)" = 600 ]; ok $? "the archive is 0600"
! grep -qa "PRIVATE KEY" b1.isb; ok $? "no private key in the archive"
! grep -qa "cycle_ms" b1.isb; ok $? "configuration is encrypted"
expect 0 "backup verify with the CA" -- "$IRONSEAL" backup verify b1.isb --ca ca
contains out.txt "signed by serialNumber=SN-1" "verify names the signer"
expect 0 "backup verify, contents with the second operator's key" -- "$IRONSEAL" backup verify b1.isb --ca ca --key op2.key --json
contains out.txt '"path": "identity/device.cert.pem"' "verify lists the entries"

# --- restore ------------------------------------------------------------------------------------------
before=$(conf)
printf '{"poll_s": 1}\n' >dev/config/agent.json; printf 'debug=1\n' >dev/config/rogue.conf
expect 0 "backup restore" -- "$IRONSEAL" backup restore dev b1.isb --key op.key --ca ca --json
contains out.txt '"removed": [' "files the backup does not hold are removed"
[ "$(conf)" = "$before" ]; ok $? "configuration restored exactly"

# --- refusals, each with its exit code and reason; nothing written -----------------------------------
refused() {  # EXIT REASON DESCRIPTION -- COMMAND...
  local want=$1 reason=$2 what=$3
  shift 4
  printf '{"poll_s": 7}\n' >dev/config/agent.json
  local state; state=$(conf)
  expect "$want" "$what" -- "$@"
  contains err.txt "$reason" "$what: reason $reason"
  [ "$(conf)" = "$state" ]; ok $? "$what: nothing written"
}
cp b1.isb tampered.isb && flip_byte tampered.isb $(( $(stat -c %s b1.isb) / 2 ))
refused 1 bad_signature "a tampered archive" -- "$IRONSEAL" backup restore dev tampered.isb --key op.key --ca ca
head -c 4000 b1.isb >cut.isb
refused 1 malformed_archive "a truncated archive" -- "$IRONSEAL" backup restore dev cut.isb --key op.key --ca ca
cp b1.isb v9.isb && printf '\x09' | dd of=v9.isb bs=1 seek=16 conv=notrunc 2>/dev/null
refused 1 unknown_format "an unknown format version" -- "$IRONSEAL" backup verify v9.isb --ca ca
"$IRONSEAL" ca init other-ca >/dev/null
refused 1 untrusted_chain "a signer from another CA" -- "$IRONSEAL" backup restore dev b1.isb --key op.key --ca other-ca
refused 2 crl_unavailable "no CRL" -- "$IRONSEAL" backup restore dev b1.isb --key op.key --ca ca/root-ca.cert.pem
"$IRONSEAL" backup keygen --out stranger.key --public-out stranger.pub >/dev/null
refused 2 not_a_recipient "an operator it was not encrypted to" -- "$IRONSEAL" backup restore dev b1.isb --key stranger.key --ca ca
device other SN-9 plc-y9
refused 1 other_hardware "another hardware id" -- "$IRONSEAL" backup restore other b1.isb --key op.key --ca ca --replacement --record-out r9.json
device dev2 SN-2 plc-x1
refused 2 replacement_not_confirmed "another device's backup without --replacement" -- "$IRONSEAL" backup restore dev2 b1.isb --key op.key --ca ca
# Trust moved on: v2 (security counter 2) installed and confirmed since the backup was made.
expect 0 "install v2" -- "$IRONSEAL" device install dev v2.img
expect 0 "v2 starts its trial" -- "$IRONSEAL" device boot dev --no-exec
expect 0 "v2 is confirmed" -- "$IRONSEAL" device confirm dev
"$IRONSEAL" device status dev --json >st.json; contains st.json '"otp_counter": 2' "counter raised to 2"
expect 1 "an older image is refused" -- "$IRONSEAL" device install dev v1.img
expect 0 "the device's trail: installs, refusals, enrolment" -- "$IRONSEAL" audit show dev/audit --json
contains out.txt '"event": "identity.enrolled"' "enrolment recorded"
records() {  # EVENT OUTCOME [REASON]: how many such records out.txt (audit show --json) holds
  python3 -c 'import json, sys; r = json.load(open("out.txt"))["records"]
print(sum(1 for x in r if x["event"] == sys.argv[1] and x["outcome"] == sys.argv[2]
          and (len(sys.argv) < 4 or x["details"].get("reason") == sys.argv[3])))' "$@"
}
[ "$(records install ok)" -ge 1 ]; ok $? "the install is recorded"
[ "$(records install refused rolled_back)" = 1 ]; ok $? "the refused install is recorded with its reason"
openssl x509 -in dev/identity/device.cert.pem -pubkey -noout >dev.pub
expect 0 "the trail's checkpoints verify with the device's identity key" -- "$IRONSEAL" audit checkpoint dev/audit --key dev/identity/device.key.pem
expect 0 "audit verify with the device key" -- "$IRONSEAL" audit verify dev/audit --key dev.pub --json
contains out.txt '"signatures_checked": true' "checkpoint signatures checked"
refused 1 older_trust_state "a backup older than the device's trust" -- "$IRONSEAL" backup restore dev b1.isb --key op.key --ca ca
expect 0 "a new backup at counter 2" -- "$IRONSEAL" backup create dev --to op.pub --out b2.isb

# --- power cut at every write of a restore ------------------------------------------------------------
printf '{"poll_s": 2}\n' >dev/config/agent.json; printf 'stale\n' >dev/config/stale.conf
cp -a dev pristine
old=$(conf)
"$IRONSEAL" backup restore dev b2.isb --key op.key --ca ca >/dev/null
new=$(conf)
mixed=0; cuts=0
for n in $(seq 0 20); do
  rm -rf dev && cp -a pristine dev
  "$IRONSEAL" backup restore dev b2.isb --key op.key --ca ca --power-cut-after "$n" >/dev/null 2>cut.txt
  rc=$?
  [ $rc -eq 0 ] && break
  cuts=$((cuts + 1))
  grep -q power_cut cut.txt || { echo "FAIL: cut $n: $(cat cut.txt)"; failed=$((failed + 1)); }
  "$IRONSEAL" device status dev >/dev/null  # power on: completes or discards the restore
  now=$(conf)
  [ "$now" = "$old" ] || [ "$now" = "$new" ] || { mixed=$((mixed + 1)); echo "cut after $n: a mix"; }
done
[ $cuts -ge 10 ] && [ $mixed -eq 0 ]; ok $? "a cut at any of $cuts writes leaves the old or the new configuration"

# --- replacement ------------------------------------------------------------------------------------------
expect 0 "restore onto a replacement" -- "$IRONSEAL" backup restore dev2 b2.isb --key op.key --ca ca --replacement --record-out repl.json --json
contains out.txt '"replacement": true' "restored as a replacement"
contains out.txt '"identity/device.cert.pem"' "the old identity is kept out"
openssl x509 -in dev2/identity/device.cert.pem -noout -subject | grep -q SN-2; ok $? "the replacement keeps its own certificate"
expect 0 "the CA ingests the replacement" -- "$IRONSEAL" ca ingest-replacement ca repl.json --json
contains out.txt '"revocation_reason": "superseded"' "old certificate revoked as superseded"
expect 1 "the replaced device's backups no longer verify" -- "$IRONSEAL" backup verify b2.isb --ca ca
contains err.txt "revoked" "refusal names the revocation"
sed 's/SN-1/SN-7/' repl.json >forged.json
expect 1 "a forged replacement record" -- "$IRONSEAL" ca ingest-replacement ca forged.json
contains err.txt "replacement_signature_invalid" "forged record reason"

# --- the device's audit trail -------------------------------------------------------------------------
expect 0 "audit show backup events" -- "$IRONSEAL" audit show dev2/audit --event backup. --json
contains out.txt '"event": "backup.restore"' "restore recorded on the device"
expect 0 "audit show on the first device" -- "$IRONSEAL" audit show dev/audit --event backup. --json
contains out.txt '"event": "backup.create"' "backup recorded on the device"
contains out.txt '"outcome": "refused"' "refused restores recorded"
finish
