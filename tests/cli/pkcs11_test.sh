#!/usr/bin/env bash
# Signing with an HSM-held key through the CLI, against SoftHSM2 in a private token store:
# generate in the token, export the public key, sign a firmware image with `--key pkcs11:...`,
# verify it with the exported public key alone. Usage: pkcs11_test.sh IRONSEAL
# SoftHSM2 is required (scripts/setup.sh installs it): without it this test fails.
set -uo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
IRONSEAL=$1
work=$(mktemp -d)
trap 'rm -rf -- "$work"' EXIT
cd "$work" || exit 3
# shellcheck source=tests/cli/lib.sh
source "$here/lib.sh"

if ! command -v softhsm2-util >/dev/null || [ ! -r /usr/lib/softhsm/libsofthsm2.so ]; then
  echo "FAIL: SoftHSM2 is not installed (run scripts/setup.sh)"
  exit 1
fi
mkdir tokens
printf 'directories.tokendir = %s/tokens\nobjectstore.backend = file\nlog.level = ERROR\n' \
  "$work" >softhsm2.conf
export SOFTHSM2_CONF=$work/softhsm2.conf
softhsm2-util --init-token --free --label release --so-pin 12345678 --pin "test-PIN#q7" >/dev/null ||
  { echo "FAIL: softhsm2-util --init-token"; exit 1; }
unset IRONSEAL_PKCS11_PIN IRONSEAL_PKCS11_MODULE
(umask 077 && echo "test-PIN#q7" >pin)
KEY="pkcs11:token=release;object=fw-ed25519?pin-source=file:$work/pin"
head -c 5000 /dev/zero | tr '\0' '\125' >fw.bin

expect 0 "generate ed25519 in the token" -- "$IRONSEAL" key generate --type ed25519 --out "$KEY"
contains out.txt "not extractable" "generate says the key stays in the token"
expect 2 "generate refuses an existing label" -- "$IRONSEAL" key generate --out "$KEY"
expect 0 "public key of the token key" -- \
  "$IRONSEAL" key public "pkcs11:token=release;object=fw-ed25519"
cp out.txt fw.pub.pem
contains fw.pub.pem "BEGIN PUBLIC KEY" "public key is PEM"
expect 0 "sign with the token key" -- "$IRONSEAL" image sign --key "$KEY" --version 1.2.3+4 \
  --security-counter 3 fw.bin fw.img
expect 0 "verify with the exported public key" -- "$IRONSEAL" image verify --key fw.pub.pem fw.img

KEY_EC="pkcs11:token=release;object=fw-p256?pin-source=file:$work/pin"
expect 0 "generate ecdsa-p256 in the token" -- "$IRONSEAL" key generate --type ecdsa-p256 \
  --out "$KEY_EC" --public-out ec.pub.pem
expect 0 "sign with the token P-256 key" -- "$IRONSEAL" image sign --key "$KEY_EC" \
  --version 1.0.0 --security-counter 1 fw.bin ec.img
expect 0 "verify the P-256 image" -- "$IRONSEAL" image verify --key ec.pub.pem ec.img
expect 1 "the other key does not verify it" -- "$IRONSEAL" image verify --key fw.pub.pem ec.img

SIGN=("$IRONSEAL" image sign --version 1.0.0 --security-counter 1)
IRONSEAL_PKCS11_PIN=0000 expect 3 "wrong PIN refused" -- "${SIGN[@]}" \
  --key "pkcs11:token=release;object=fw-ed25519" fw.bin bad.img
contains err.txt "wrong PIN" "wrong PIN says so"
expect 2 "PIN on the command line refused" -- "${SIGN[@]}" \
  --key "pkcs11:token=release;object=fw-ed25519?pin-value=test-PIN%23q7" fw.bin bad.img
chmod 644 pin
expect 3 "PIN file readable by others refused" -- "${SIGN[@]}" --key "$KEY" fw.bin bad.img
expect 3 "unknown object" -- "$IRONSEAL" key public "pkcs11:token=release;object=absent"

# A repository role moved into the token: root v2 names the token's key, publishing signs with it.
chmod 600 pin
expect 0 "repo init" -- "$IRONSEAL" repo init R
expect 0 "rotate targets into the token" -- "$IRONSEAL" repo rotate R --role targets \
  --key "$KEY_EC"
expect 2 "rotate refuses a key file as --key" -- "$IRONSEAL" repo rotate R --role snapshot \
  --key fw.pem
expect 0 "add target" -- "$IRONSEAL" repo add-target R fw.img --hardware-id plc-x1
expect 0 "publish signs targets in the token" -- "$IRONSEAL" repo publish R
python3 - R/metadata <<'PY'
import json, sys
d = sys.argv[1]
root = json.load(open(f"{d}/root.json"))["signed"]
targets = json.load(open(f"{d}/targets.json"))
want = root["roles"]["targets"]["keyids"]
assert len(want) == 1 and root["keys"][want[0]]["keytype"] == "ecdsa", root["roles"]["targets"]
assert [s["keyid"] for s in targets["signatures"]] == want, targets["signatures"]
assert "fw.img" in targets["signed"]["targets"]
PY
ok $? "targets.json is signed by the token key that root names"
grep -q 'pkcs11:token=release;object=fw-p256' R/repo.json; ok $? "repo.json references the URI"
! grep -rqF "test-PIN#q7" R; ok $? "the PIN is nowhere in the repository (a PIN that cannot occur in hex, base64 or dates)"

finish
