#!/usr/bin/env bash
# The ironseal CLI as a release pipeline drives it: commands, outputs, and exit codes
# (0 ok, 1 not trusted, 2 usage, 3 environment). Usage: cli_test.sh IRONSEAL FIXTURES_DIR
set -uo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
IRONSEAL=$1
FIX=$2
work=$(mktemp -d)
trap 'rm -rf -- "$work"' EXIT
cd "$work" || exit 3
# shellcheck source=tests/cli/lib.sh
source "$here/lib.sh"

# Deterministic firmware whose bytes are never 0x00, so writing 0x00 below always tampers.
head -c 5000 /dev/zero | tr '\0' '\125' >fw.bin

# keys
expect 0 "generate ed25519" -- "$IRONSEAL" key generate --type ed25519 --out ed.pem
[ "$(stat -c %a ed.pem)" = 600 ]; ok $? "key file mode is 0600"
expect 0 "generate ecdsa" -- "$IRONSEAL" key generate --type ecdsa-p256 --out ec.pem --public-out ec.pub.pem
expect 2 "generate refuses to overwrite" -- "$IRONSEAL" key generate --out ed.pem
contains err.txt "already exists" "overwrite refusal says why"
expect 2 "unknown key type is a usage error" -- "$IRONSEAL" key generate --type rsa --out r.pem
expect 0 "public key" -- "$IRONSEAL" key public ed.pem
cp out.txt ed.pub.pem
contains ed.pub.pem "BEGIN PUBLIC KEY" "public key is PEM"
expect 0 "public key json" -- "$IRONSEAL" key public --json ed.pem
contains out.txt '"key_hash_sha256"' "json has the key hash"
cp ed.pem loose.pem && chmod 644 loose.pem
expect 3 "world-readable key refused" -- "$IRONSEAL" key public loose.pem
contains err.txt "chmod 600" "refusal tells how to fix it"

# sign and verify
expect 0 "sign" -- "$IRONSEAL" image sign --key ed.pem --version 1.2.3+4 --security-counter 5 fw.bin fw.img
contains out.txt "version 1.2.3+4" "sign reports the version"
expect 0 "verify" -- "$IRONSEAL" image verify --key ed.pub.pem fw.img
contains out.txt "TRUSTED" "verify says trusted"
expect 0 "verify json" -- "$IRONSEAL" image verify --json --key ed.pub.pem fw.img
contains out.txt '"trusted": true' "json verdict"
contains out.txt '"security_counter": 5' "json security counter"
expect 0 "verify with a second, unrelated key listed" -- "$IRONSEAL" image verify --key ec.pub.pem --key ed.pub.pem fw.img
expect 1 "wrong key" -- "$IRONSEAL" image verify --key ec.pub.pem fw.img
contains err.txt "unknown_key" "wrong key is named"
cp fw.img bad.img && printf '\x00' | dd of=bad.img bs=1 seek=1000 conv=notrunc status=none
expect 1 "tampered body" -- "$IRONSEAL" image verify --key ed.pub.pem bad.img
contains err.txt "hash_mismatch" "tamper is named"
expect 1 "tampered body json" -- "$IRONSEAL" image verify --json --key ed.pub.pem bad.img
contains out.txt '"reason": "hash_mismatch"' "json reason"
head -c 100 fw.img >short.img
expect 1 "truncated" -- "$IRONSEAL" image verify --key ed.pub.pem short.img
contains err.txt "truncated" "truncation is named"
expect 1 "not an image" -- "$IRONSEAL" image verify --key ed.pub.pem fw.bin
contains err.txt "bad_magic" "bad magic is named"
expect 3 "missing image" -- "$IRONSEAL" image verify --key ed.pub.pem nothing.img
expect 2 "verify without key" -- "$IRONSEAL" image verify fw.img
expect 2 "bad version" -- "$IRONSEAL" image sign --key ed.pem --version 1.x --security-counter 1 fw.bin x.img
expect 2 "missing security counter" -- "$IRONSEAL" image sign --key ed.pem --version 1.0.0 fw.bin x.img
expect 2 "pure with ecdsa" -- "$IRONSEAL" image sign --key ec.pem --pure --version 1.0.0 --security-counter 1 fw.bin x.img
expect 0 "pure" -- "$IRONSEAL" image sign --key ed.pem --pure --version 1.0.0 --security-counter 1 --header-size 0x400 fw.bin pure.img
expect 0 "verify pure" -- "$IRONSEAL" image verify --key ed.pub.pem pure.img
contains out.txt "ed25519-pure" "pure mode reported"
expect 0 "ecdsa sign" -- "$IRONSEAL" image sign --key ec.pem --version 2.0.0 --security-counter 9 --slot-size 0x4000 --pad fw.bin ec.img
[ "$(stat -c %s ec.img)" = 16384 ]; ok $? "padded to the slot size"
expect 0 "ecdsa verify" -- "$IRONSEAL" image verify --key ec.pub.pem ec.img
expect 2 "does not fit the slot" -- "$IRONSEAL" image sign --key ec.pem --version 2.0.0 --security-counter 9 --slot-size 0x1000 fw.bin big.img
expect 0 "imgtool fixture verifies" -- "$IRONSEAL" image verify --key "$FIX/imgtool/test-key-ed25519.pub.pem" "$FIX/imgtool/imgtool-ed25519.img"

# inspect
expect 0 "inspect" -- "$IRONSEAL" image inspect fw.img
contains out.txt "SEC_CNT" "inspect lists TLVs"
expect 0 "inspect json" -- "$IRONSEAL" image inspect --json fw.img
contains out.txt '"name": "ED25519"' "inspect json names TLVs"
expect 1 "inspect of a non-image" -- "$IRONSEAL" image inspect fw.bin

# help at every level
for cmd in "" "key" "key generate" "key public" "image" "image sign" "image verify" "image inspect"; do
  # shellcheck disable=SC2086
  expect 0 "help: $cmd" -- "$IRONSEAL" $cmd --help
done
expect 2 "no command" -- "$IRONSEAL"

finish
