#!/usr/bin/env bash
# The device identity lifecycle through the CLI: CA, on-device key and CSR, factory enrolment and
# check, refusals (proof of possession, key policy, duplicate serial, foreign or revoked
# certificates), decommissioning and the revocation it leads to. OpenSSL's own `openssl verify`
# judges the certificates ironseal issues.
# Usage: factory_test.sh IRONSEAL
set -uo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
IRONSEAL=$1
work=$(mktemp -d)
trap 'rm -rf -- "$work"' EXIT
cd "$work" || exit 3
# shellcheck source=tests/cli/lib.sh
source "$here/lib.sh"

mode() { stat -c %a "$1"; }

# A simulated device with a serial and a hardware id (the factory's first step).
"$IRONSEAL" key generate --out boot.pem --public-out boot.pub >/dev/null
printf 'stage-2\n' >s2.bin && printf 'firmware\n' >fw.bin
"$IRONSEAL" image sign --key boot.pem --header-size 0x200 --version 0.1.0 --security-counter 0 s2.bin s2.img >/dev/null
"$IRONSEAL" image sign --key boot.pem --header-size 0x200 --version 1.0.0 --security-counter 1 fw.bin fw.img >/dev/null
make_device() {  # DIR SERIAL
  "$IRONSEAL" device init "$1" --root-key boot.pub --stage2 s2.img --firmware fw.img \
    --serial "$2" --hardware-id plc-x1 --slot-size 0x10000 >/dev/null
}

# --- CA -------------------------------------------------------------------------------------------
expect 0 "ca init" -- "$IRONSEAL" ca init ca --org "Example Plant" --server-domain fleet.example
for k in ca/offline/root-ca.key.pem ca/device-ca/key.pem ca/server-ca/key.pem ca/index.sqlite; do
  [ "$(mode "$k")" = 600 ]
  ok $? "$k is owner-only"
done
expect 2 "a second init is refused" -- "$IRONSEAL" ca init ca
contains err.txt "already holds a CA" "init refusal names the reason"
openssl verify -CAfile ca/root-ca.cert.pem ca/device-ca/cert.pem >/dev/null 2>&1
ok $? "openssl: the device CA chains to the root"
openssl x509 -in ca/device-ca/cert.pem -noout -text >ca.txt
contains ca.txt "pathlen:0" "issuing CA may not sign CAs"
contains ca.txt "Permitted:" "issuing CA carries name constraints"

# --- On the device: key and CSR -------------------------------------------------------------------
make_device dev SN-1001
expect 0 "provision key" -- "$IRONSEAL" provision key dev --json
contains out.txt '"serial": "SN-1001"' "CSR carries the serial"
[ "$(mode dev/identity/device.key.pem)" = 600 ] && [ "$(mode dev/identity)" = 700 ]
ok $? "device key 0600 in a 0700 directory"
openssl req -in dev/identity/device.csr.pem -noout -verify -text >csr.txt 2>&1
contains csr.txt "URI:urn:ironseal:device:plc-x1:SN-1001" "CSR requests the device URN"
contains csr.txt "serialNumber = SN-1001" "CSR subject carries the serial"
! grep -q "PRIVATE" dev/identity/device.csr.pem
ok $? "the CSR holds no private key"
expect 2 "a second key is refused" -- "$IRONSEAL" provision key dev
make_device tpmdev SN-1002
TPM2OPENSSL_TCTI="swtpm:host=127.0.0.1,port=9" expect 2 "--tpm with no TPM reachable fails clearly" -- \
  "$IRONSEAL" provision key tpmdev --tpm
contains err.txt "tpm_unavailable" "TPM refusal reason"
[ ! -e tpmdev/identity/device.key.pem ] && [ ! -e tpmdev/identity/device.key.tss2.pem ] && [ ! -e tpmdev/identity/device.csr.pem ]
ok $? "--tpm did not fall back to a file key"

# --- Factory: enrol and check ---------------------------------------------------------------------
expect 0 "factory enroll" -- "$IRONSEAL" factory enroll dev --ca ca --record mfg.sqlite --json
contains out.txt '"serial": "SN-1001"' "enrolment names the serial"
cert_serial=$(sed -n 's/.*"certificate_serial": "\([0-9a-f]*\)".*/\1/p' out.txt)
openssl verify -purpose sslclient -CAfile dev/identity/anchors.pem -untrusted dev/identity/chain.pem \
  dev/identity/device.cert.pem >/dev/null 2>&1
ok $? "openssl: installed device certificate verifies as a TLS client"
openssl verify -purpose sslserver -CAfile dev/identity/anchors.pem -untrusted dev/identity/chain.pem \
  dev/identity/device.cert.pem >/dev/null 2>&1
[ $? -ne 0 ]
ok $? "openssl: a device certificate is not a server certificate"
expect 0 "factory check passes" -- "$IRONSEAL" factory check dev --ca ca --record mfg.sqlite
contains out.txt "ready to ship" "check verdict"
sqlite3 mfg.sqlite "SELECT certificate_serial FROM devices WHERE serial='SN-1001'" >rec.txt
contains rec.txt "$cert_serial" "manufacturing record binds the serial to the certificate"

# A unit whose key was swapped after enrolment, one missing from the record, one with a foreign
# trust anchor: each fails the check for its own reason.
cp -a dev swapped && rm swapped/identity/device.key.pem
openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out swapped/identity/device.key.pem 2>/dev/null
chmod 600 swapped/identity/device.key.pem
expect 1 "check refuses a key the certificate does not certify" -- "$IRONSEAL" factory check swapped --ca ca --record mfg.sqlite
contains err.txt "key_matches_certificate" "swapped key reason"
expect 3 "check needs an existing record" -- "$IRONSEAL" factory check dev --ca ca --record none.sqlite
"$IRONSEAL" ca init foreign --org "Example Plant" --server-domain fleet.example >/dev/null
cp -a dev alien && cp foreign/root-ca.cert.pem alien/identity/anchors.pem
expect 1 "check refuses foreign trust anchors" -- "$IRONSEAL" factory check alien --ca ca --record mfg.sqlite
contains err.txt "anchors_match_factory_root" "foreign anchor reason"
expect 1 "check against a foreign CA refuses the chain" -- "$IRONSEAL" factory check dev --ca foreign --record mfg.sqlite --json
contains out.txt "untrusted_chain" "foreign root reason"
chmod 644 dev/identity/device.key.pem
expect 1 "check refuses a key readable by others" -- "$IRONSEAL" factory check dev --ca ca --record mfg.sqlite
contains err.txt "device_key" "key mode reason"
chmod 600 dev/identity/device.key.pem

# Duplicate serial: a second unit claiming SN-1001 with its own key.
make_device clone SN-1001
"$IRONSEAL" provision key clone >/dev/null
expect 1 "record refuses a serial enrolled with another key" -- "$IRONSEAL" factory enroll clone --ca ca --record mfg.sqlite
contains err.txt "serial_already_enrolled" "duplicate serial reason (record)"
expect 1 "CA refuses a serial bound to another key" -- "$IRONSEAL" factory enroll clone --ca ca --record other-line.sqlite
contains err.txt "serial_bound_to_other_key" "duplicate serial reason (CA)"
[ ! -e clone/identity/device.cert.pem ]
ok $? "nothing installed on the clone"
expect 1 "check refuses a device missing from the record" -- "$IRONSEAL" factory check dev --ca ca --record other-line.sqlite
contains err.txt "manufacturing_record" "record reason"

# Re-enrolment with a new key (what EST simplereenroll does after authenticating the device).
[ "$(mode mfg.sqlite)" = 600 ]
ok $? "the manufacturing record is owner-only"
make_device rekey SN-1005
"$IRONSEAL" provision key rekey >/dev/null
"$IRONSEAL" factory enroll rekey --ca ca --record mfg.sqlite --json >rekey1.json
old_serial=$(sed -n 's/.*"certificate_serial": "\([0-9a-f]*\)".*/\1/p' rekey1.json)
openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout /dev/null \
  -subj "/CN=SN-1005/serialNumber=SN-1005" -addext "subjectAltName=URI:urn:ironseal:device:plc-x1:SN-1005" \
  -out rekey.csr 2>/dev/null
expect 1 "a new key without naming the current certificate is refused" -- "$IRONSEAL" ca issue ca --csr rekey.csr --profile device
contains err.txt "serial_bound_to_other_key" "rekey reason"
expect 0 "a new key replacing the current certificate" -- "$IRONSEAL" ca issue ca --csr rekey.csr --profile device \
  --replaces "$old_serial" --out rekey.pem
"$IRONSEAL" ca list ca | grep "^$old_serial " >old.txt
contains old.txt "revoked(superseded)" "the replaced certificate is revoked as superseded"
# The same CSR again mints nothing: the key already holds the serial's current certificate.
rekey_serial=$(openssl x509 -in rekey.pem -noout -serial | cut -d= -f2 | tr 'A-F' 'a-f' | sed 's/^\(00\)*//')
expect 0 "the same CSR again" -- "$IRONSEAL" ca issue ca --csr rekey.csr --profile device --json
contains out.txt '"existing": true' "the current certificate is returned"
contains out.txt "\"serial\": \"$rekey_serial\"" "and it is the one issued before"
# Revoking the superseded certificate reaches the current one only with --all-of-device.
expect 2 "the superseded certificate alone: nothing left to revoke" -- "$IRONSEAL" ca revoke ca --serial "$old_serial" --reason cessationOfOperation
contains err.txt "already_revoked" "already revoked"
expect 0 "revoke all of the device" -- "$IRONSEAL" ca revoke ca --serial "$old_serial" --reason cessationOfOperation --all-of-device
contains out.txt "also revoked $rekey_serial" "the device's current certificate is reached"
"$IRONSEAL" ca list ca | grep "^$rekey_serial " >cur.txt
contains cur.txt "revoked(cessationOfOperation)" "and revoked in the index"

# --- Issuance refusals with CSRs made by openssl --------------------------------------------------
openssl req -in clone/identity/device.csr.pem -outform DER -out csr.der
size=$(stat -c %s csr.der)
flip_byte csr.der $((size - 1))
openssl req -inform DER -in csr.der -out broken.csr.pem 2>/dev/null
expect 1 "CSR whose self-signature fails (no proof of possession)" -- "$IRONSEAL" ca issue ca --csr broken.csr.pem --profile device
contains err.txt "csr_signature_invalid" "PoP reason"
openssl req -new -newkey rsa:1024 -nodes -keyout /dev/null -subj "/CN=SN-2001/serialNumber=SN-2001" \
  -addext "subjectAltName=URI:urn:ironseal:device:plc-x1:SN-2001" -out rsa.csr 2>/dev/null
expect 1 "RSA-1024 key refused" -- "$IRONSEAL" ca issue ca --csr rsa.csr --profile device
contains err.txt "weak_key" "weak key reason"
openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:P-384 -nodes -keyout /dev/null \
  -subj "/CN=SN-2002/serialNumber=SN-2002" -addext "subjectAltName=URI:urn:ironseal:device:plc-x1:SN-2002" \
  -out p384.csr 2>/dev/null
expect 1 "P-384 key refused" -- "$IRONSEAL" ca issue ca --csr p384.csr --profile device
contains err.txt "key_type_disallowed" "key type reason"

# --- Verification as the fleet server does it (ironseal cert verify) ---------------------------------
idc="dev/identity"
expect 0 "device certificate verifies as a client" -- "$IRONSEAL" cert verify $idc/device.cert.pem \
  --anchors $idc/anchors.pem --chain $idc/chain.pem --crl ca/device-ca/crl.pem --json
contains out.txt '"device_serial": "SN-1001"' "verification yields the device serial"
expect 2 "revocation is not skipped silently" -- "$IRONSEAL" cert verify $idc/device.cert.pem \
  --anchors $idc/anchors.pem --chain $idc/chain.pem
not_after=$(date -d "$(openssl x509 -in $idc/device.cert.pem -noout -enddate | cut -d= -f2)" +%s)
expect 1 "expired" -- "$IRONSEAL" cert verify $idc/device.cert.pem --anchors $idc/anchors.pem \
  --chain $idc/chain.pem --no-revocation --at $((not_after + 1))
contains err.txt "expired:" "expired reason"
expect 1 "not yet valid" -- "$IRONSEAL" cert verify $idc/device.cert.pem --anchors $idc/anchors.pem \
  --chain $idc/chain.pem --no-revocation --at $(( $(date +%s) - 86400 ))
contains err.txt "not_yet_valid:" "not yet valid reason"
expect 1 "stale CRL" -- "$IRONSEAL" cert verify $idc/device.cert.pem --anchors $idc/anchors.pem \
  --chain $idc/chain.pem --crl ca/device-ca/crl.pem --at $(( $(date +%s) + 8 * 86400 ))
contains err.txt "crl_expired:" "stale CRL reason"
expect 1 "a device certificate is not a server" -- "$IRONSEAL" cert verify $idc/device.cert.pem \
  --anchors $idc/anchors.pem --chain $idc/chain.pem --no-revocation --purpose server
contains err.txt "wrong_purpose:" "wrong purpose reason"
expect 1 "foreign root" -- "$IRONSEAL" cert verify $idc/device.cert.pem --anchors foreign/root-ca.cert.pem \
  --chain $idc/chain.pem --no-revocation --json
contains out.txt '"reason": "untrusted_chain"' "foreign root reason (json)"

# --- Server certificates ---------------------------------------------------------------------------
openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout srv.key \
  -subj "/CN=api.fleet.example" -addext "subjectAltName=DNS:api.fleet.example" -out srv.csr 2>/dev/null
expect 0 "server certificate" -- "$IRONSEAL" ca issue ca --csr srv.csr --profile server --out srv.pem
openssl verify -purpose sslserver -CAfile ca/root-ca.cert.pem -untrusted ca/server-ca/cert.pem srv.pem >/dev/null 2>&1
ok $? "openssl: server certificate verifies as a TLS server"
openssl verify -purpose sslclient -CAfile ca/root-ca.cert.pem -untrusted ca/server-ca/cert.pem srv.pem >/dev/null 2>&1
[ $? -ne 0 ]
ok $? "openssl: a server certificate is not a client certificate"
openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout /dev/null \
  -subj "/CN=www.evil.example" -addext "subjectAltName=DNS:www.evil.example" -out evil.csr 2>/dev/null
expect 0 "server certificate verifies for its host" -- "$IRONSEAL" cert verify srv.pem --anchors ca/root-ca.cert.pem \
  --crl ca/server-ca/crl.pem --purpose server --host api.fleet.example
expect 1 "server certificate for another host" -- "$IRONSEAL" cert verify srv.pem --anchors ca/root-ca.cert.pem \
  --crl ca/server-ca/crl.pem --purpose server --host evil.fleet.example
contains err.txt "hostname_mismatch:" "host reason"
expect 1 "server certificate used as a client" -- "$IRONSEAL" cert verify srv.pem --anchors ca/root-ca.cert.pem \
  --crl ca/server-ca/crl.pem --purpose device-client
contains err.txt "wrong_purpose:" "server-as-client reason"
expect 1 "server name outside the domain refused" -- "$IRONSEAL" ca issue ca --csr evil.csr --profile server
contains err.txt "name_not_permitted" "domain reason"

# --- Revocation ------------------------------------------------------------------------------------
make_device dev2 SN-1003
"$IRONSEAL" provision key dev2 >/dev/null
"$IRONSEAL" factory enroll dev2 --ca ca --record mfg.sqlite --json >enroll2.json
serial2=$(sed -n 's/.*"certificate_serial": "\([0-9a-f]*\)".*/\1/p' enroll2.json)
expect 0 "revoke" -- "$IRONSEAL" ca revoke ca --serial "$serial2" --reason keyCompromise
expect 2 "revoking twice is refused" -- "$IRONSEAL" ca revoke ca --serial "$serial2" --reason keyCompromise
contains err.txt "already_revoked" "double revoke reason"
expect 2 "unknown reason refused" -- "$IRONSEAL" ca revoke ca --serial "$serial2" --reason certificateHold
expect 0 "crl" -- "$IRONSEAL" ca crl ca --json
contains out.txt "$serial2" "CRL lists the revoked serial"
cat ca/root-ca.cert.pem ca/device-ca/cert.pem >bundle.pem
openssl verify -crl_check -CAfile bundle.pem -CRLfile ca/device-ca/crl.pem dev2/identity/device.cert.pem >ossl.txt 2>&1
contains ossl.txt "certificate revoked" "openssl: the CRL revokes it"
expect 1 "revoked certificate refused" -- "$IRONSEAL" cert verify dev2/identity/device.cert.pem \
  --anchors ca/root-ca.cert.pem --chain ca/device-ca/cert.pem --crl ca/device-ca/crl.pem
contains err.txt "revoked:" "revoked reason (verify)"
expect 1 "factory check refuses a revoked certificate" -- "$IRONSEAL" factory check dev2 --ca ca --record mfg.sqlite
contains err.txt "revoked" "revoked reason"

# --- End of life -----------------------------------------------------------------------------------
expect 2 "decommission needs --record-out" -- "$IRONSEAL" device decommission dev
mkdir -p dev/tuf/image && printf '{"signed": {}}' >dev/tuf/image/root.json && printf 'j' >dev/install.journal
expect 0 "decommission" -- "$IRONSEAL" device decommission dev --record-out decommission.json
[ ! -e dev/identity ] && [ ! -e dev/tuf ] && [ ! -e dev/install.journal ] && [ -s decommission.json ]
ok $? "identity and update configuration wiped, record written"
expect 0 "status after decommission" -- "$IRONSEAL" device status dev --json
contains out.txt '"lifecycle": "decommissioned"' "OTP lifecycle fused"
expect 1 "a decommissioned device does not boot" -- "$IRONSEAL" device boot dev --no-exec
contains out.txt "decommissioned" "boot names the lifecycle"
# A cut after the record was written and the key wiped, before the fuse: re-running finishes.
make_device dev3 SN-1004
"$IRONSEAL" provision key dev3 >/dev/null
"$IRONSEAL" factory enroll dev3 --ca ca --record mfg.sqlite >/dev/null
cp dev3/otp.bin otp-before.bin
expect 0 "decommission dev3" -- "$IRONSEAL" device decommission dev3 --record-out dev3.json
cp otp-before.bin dev3/otp.bin   # as if power was cut before the lifecycle fuse
expect 1 "resume refuses another device's record" -- "$IRONSEAL" device decommission dev3 --record-out decommission.json
expect 0 "resume finishes the decommissioning" -- "$IRONSEAL" device decommission dev3 --record-out dev3.json
"$IRONSEAL" device status dev3 --json >status3.json
contains status3.json '"lifecycle": "decommissioned"' "resumed decommission fused the lifecycle"
expect 1 "a decommissioned device gets no new identity" -- "$IRONSEAL" provision key dev
contains err.txt "decommissioned" "decommissioned reason"
# A forged record: the payload changed after signing.
sed 's/SN-1001/SN-1003/g' decommission.json >forged.json
expect 1 "forged decommission record refused" -- "$IRONSEAL" ca ingest-decommission ca forged.json
contains err.txt "decommission_signature_invalid" "forged record reason"
expect 0 "ingest the decommission record" -- "$IRONSEAL" ca ingest-decommission ca decommission.json --json
contains out.txt '"revocation_reason": "cessationOfOperation"' "revoked as cessation of operation"
contains out.txt "\"serial\": \"$cert_serial\"" "the device's certificate was revoked"
expect 2 "ingesting twice is refused" -- "$IRONSEAL" ca ingest-decommission ca decommission.json
contains err.txt "already_revoked" "double ingest reason"
openssl verify -crl_check -CAfile bundle.pem -CRLfile ca/device-ca/crl.pem dev/../swapped/identity/device.cert.pem >ossl.txt 2>&1
contains ossl.txt "certificate revoked" "openssl: the decommissioned certificate is on the CRL"

finish
