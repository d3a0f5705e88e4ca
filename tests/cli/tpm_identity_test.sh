#!/usr/bin/env bash
# A device whose identity key lives in a TPM 2.0 (swtpm + tpm2-abrmd, started here, stopped on
# exit), through its whole life: `provision key --tpm` (the key generated inside the TPM, only a
# TPM-wrapped blob on disk), factory enrolment and check, the agent's mutual TLS with the fleet
# server (libcurl presenting the TPM key) including an update, EST re-enrolment keeping the key,
# and decommissioning. Refusals: no TPM reachable, the blob taken to another TPM, the key's
# public half tampered in the blob, export of the key.
# Usage: tpm_identity_test.sh APPS_DIR
set -uo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
apps=$(realpath "$1")
work=$(mktemp -d)
# shellcheck source=tests/support/tpm_env.sh
source "$here/../support/tpm_env.sh"
trap '[ -n "${server_pid:-}" ] && kill "$server_pid" 2>/dev/null; tpm_env_stop "$work/tpm2";
      tpm_env_stop "$work/tpm"; rm -rf -- "$work"' EXIT
trap 'exit 130' INT TERM
cd "$work" || exit 3
# shellcheck source=tests/cli/lib.sh
source "$here/lib.sh"
# shellcheck source=scripts/fleet_lib.sh
source "$here/../../scripts/fleet_lib.sh"
hw=plc-x1
IRONSEAL=$apps/ironseal
mode() { stat -c %a "$1"; }

# ---- no TPM: a clear refusal, nothing left behind ------------------------------------------------
fleet_pki || exit 3
fleet_sign --version 1.0.0 --security-counter 1 "$apps/plc-runtime" v1.img
fleet_sign --version 2.0.0 --security-counter 2 "$apps/plc-runtime" v2.img
fleet_publish v1.img v2.img
"$IRONSEAL" device init dev/SN-0 --root-key release.pub --stage2 stage2.img --firmware v1.img \
  --serial SN-0 --hardware-id $hw --slot-size 0x1000000 >/dev/null
TPM2OPENSSL_TCTI="swtpm:host=127.0.0.1,port=9" expect 2 "--tpm with no TPM reachable is refused" -- \
  "$IRONSEAL" provision key dev/SN-0 --tpm
contains err.txt "tpm_unavailable" "refusal reason"
[ ! -e dev/SN-0/identity/device.key.pem ] && [ ! -e dev/SN-0/identity/device.key.tss2.pem ] &&
  [ ! -e dev/SN-0/identity/device.csr.pem ]
ok $? "no file key instead, no blob, no CSR"

tpm_env_start "$work/tpm" || { echo "FAIL: could not start swtpm + tpm2-abrmd"; exit 1; }

# ---- factory: key in the TPM, CSR signed by it, enrolment, check --------------------------------
expect 0 "provision key --tpm" -- "$IRONSEAL" provision key dev/SN-0 --tpm --json
contains out.txt '"key_backend": "tpm"' "the key is the TPM's"
id=dev/SN-0/identity
[ -s $id/device.key.tss2.pem ] && [ ! -e $id/device.key.pem ] && [ "$(mode $id/device.key.tss2.pem)" = 600 ]
ok $? "only the TPM-wrapped blob is on disk, 0600"
head -1 $id/device.key.tss2.pem >blob-head.txt
contains blob-head.txt "BEGIN TSS2 PRIVATE KEY" "the blob is a TSS2 key, not a key in the clear"
openssl req -in $id/device.csr.pem -noout -verify >csr.txt 2>&1
contains csr.txt "verify OK" "openssl: the CSR's proof of possession (signed in the TPM) verifies"
openssl req -in $id/device.csr.pem -noout -pubkey >csr-pub.pem
openssl pkey -provider tpm2 -provider default -in $id/device.key.tss2.pem -pubout -out tpm-pub.pem 2>/dev/null
cmp -s csr-pub.pem tpm-pub.pem
ok $? "the CSR carries the TPM key's public half"
openssl pkey -provider tpm2 -provider default -in $id/device.key.tss2.pem -out export.pem 2>/dev/null
! grep -qE "BEGIN (EC |)PRIVATE KEY" export.pem
ok $? "openssl cannot write the TPM key out in the clear"
expect 0 "factory enroll" -- "$IRONSEAL" factory enroll dev/SN-0 --ca ca --record factory.sqlite
expect 0 "factory check" -- "$IRONSEAL" factory check dev/SN-0 --ca ca --record factory.sqlite --json
contains out.txt '"ok": true' "the TPM device is ready to ship"

# ---- in the field: mutual TLS with the TPM key (libcurl), an update ------------------------------
fleet_device SN-1 v1.img --tpm || { echo "FAIL: factory flow with --tpm"; exit 1; }
fleet_server || exit 3
"$IRONSEAL" fleet devices register --serial SN-1 --hardware-id $hw --group g1 >/dev/null
agent() { "$apps/ironseal-agent" "dev/$1" --server "https://localhost:$dport" --once --json "${@:2}"; }
expect 0 "agent check-in over mTLS with the TPM key" -- agent SN-1
contains out.txt '"outcome":"idle"' "checked in, nothing assigned"
"$IRONSEAL" fleet devices --json >devices.json
contains devices.json '"version": "1.0.0+0"' "the server heard from the TPM device"
"$IRONSEAL" fleet releases create --name r2 --target v2.img >/dev/null
"$IRONSEAL" fleet rollout create --release r2 --group g1 --phases 100% >/dev/null
expect 0 "update over mTLS with the TPM key" -- agent SN-1
contains out.txt '"outcome":"confirmed"' "v2 installed, booted and confirmed"

# The device's audit trail and its backup, both signed in the TPM.
openssl x509 -in dev/SN-1/identity/device.cert.pem -pubkey -noout >sn1-pub.pem
expect 0 "a checkpoint of the device trail signed by the TPM key" -- "$IRONSEAL" audit checkpoint --device dev/SN-1 --json
contains out.txt '"event": "audit.checkpoint"' "checkpoint record"
expect 0 "the trail verifies with the TPM key's public half" -- "$IRONSEAL" audit verify dev/SN-1/audit --key sn1-pub.pem --json
contains out.txt '"signatures_checked": true' "checkpoint signatures checked"
contains out.txt '"ok": true' "trail intact"
"$IRONSEAL" backup keygen --out op.key --public-out op.pub >/dev/null
expect 0 "a backup signed by the TPM key" -- "$IRONSEAL" backup create dev/SN-1 --to op.pub --out tpm.isb
expect 0 "the TPM-signed backup verifies" -- "$IRONSEAL" backup verify tpm.isb --ca ca --key op.key

# EST re-enrolment: a new certificate for the same TPM key, the blob untouched.
blob_before=$(sha256sum dev/SN-1/identity/device.key.tss2.pem)
cert_before=$(sha256sum dev/SN-1/identity/device.cert.pem)
expect 0 "re-enrol (EST simplereenroll) with the TPM key" -- agent SN-1 --renew
[ "$(sha256sum dev/SN-1/identity/device.key.tss2.pem)" = "$blob_before" ] &&
  [ "$(sha256sum dev/SN-1/identity/device.cert.pem)" != "$cert_before" ]
ok $? "new certificate, same TPM key"
openssl x509 -in dev/SN-1/identity/device.cert.pem -noout -pubkey >cert-pub.pem
openssl pkey -provider tpm2 -provider default -in dev/SN-1/identity/device.key.tss2.pem -pubout \
  -out tpm1-pub.pem 2>/dev/null
cmp -s cert-pub.pem tpm1-pub.pem
ok $? "the renewed certificate certifies the TPM key"
expect 0 "check-in with the renewed certificate" -- agent SN-1

# ---- the blob alone is worth nothing -----------------------------------------------------------
# Copied with the whole device directory to a machine with another TPM: that TPM refuses to load.
cp -a dev/SN-1 dev/SN-1-copy
saved_env=$(env | grep -E '^(TPM2OPENSSL_TCTI|TPM2TOOLS_TCTI|DBUS_SESSION_BUS_ADDRESS)=')
tpm_env_start "$work/tpm2" || { echo "FAIL: could not start the second TPM"; exit 1; }
expect 1 "another TPM refuses the blob" -- agent SN-1-copy
contains err.txt "TPM refused to load the key" "refusal reason"
while IFS= read -r line; do export "${line?}"; done <<<"$saved_env"
# The blob's public part tampered with: the TPM's integrity check refuses it.
cp -a dev/SN-1 dev/SN-1-tampered
python3 - dev/SN-1-tampered/identity/device.key.tss2.pem <<'PY'
import base64, sys
path = sys.argv[1]
lines = open(path).read().splitlines()
body = bytearray(base64.b64decode("".join(lines[1:-1])))
body[len(body) // 2] ^= 0x01
b64 = base64.b64encode(bytes(body)).decode()
open(path, "w").write("\n".join([lines[0]] + [b64[i:i + 64] for i in range(0, len(b64), 64)] + [lines[-1]]) + "\n")
PY
expect 1 "a tampered blob is refused" -- agent SN-1-tampered
contains err.txt "TPM refused to load the key" "tamper reason"

# ---- end of life ------------------------------------------------------------------------------
expect 0 "decommission the TPM device" -- "$IRONSEAL" device decommission dev/SN-1 --record-out sn1.json
[ ! -e dev/SN-1/identity ]
ok $? "the blob is gone with the identity"
expect 0 "the CA takes the record (signed by the TPM key)" -- "$IRONSEAL" ca ingest-decommission ca sn1.json --json
contains out.txt '"device_serial": "SN-1"' "record names the device"
"$IRONSEAL" ca crl ca >/dev/null
sleep 0.5  # the server reloads the CRL within trust_poll_ms
expect 1 "the copied identity is refused once revoked" -- agent SN-1-copy
finish
