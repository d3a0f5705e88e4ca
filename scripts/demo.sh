#!/usr/bin/env bash
# The main job, for now: a release engineer's day in five steps. Sign a firmware image, check
# it, then show that one changed byte, or the wrong key, makes it untrusted.
# Usage: scripts/demo.sh IRONSEAL   (work files go to build/demo/)
set -euo pipefail
IRONSEAL=$(realpath "$1")
demo=build/demo
rm -rf "$demo" && mkdir -p "$demo" && cd "$demo"

if [ -t 1 ]; then bold=$'\033[1m' plain=$'\033[0m'; else bold="" plain=""; fi
step() { printf '\n%s== %s%s\n' "$bold" "$*" "$plain"; }
run() { printf '$ %s\n' "$*" | sed "s|$IRONSEAL|ironseal|"; "$@"; }

step "1. A signing key (Ed25519; the private half is written 0600 and never overwritten)"
run "$IRONSEAL" key generate --type ed25519 --out release-key.pem --public-out release-key.pub.pem

step "2. A firmware build to release (here: 64 KiB standing in for a PLC runtime)"
{ printf 'ironseal demo PLC runtime 1.2.3\n'; head -c 65504 /dev/zero | tr '\0' '\252'; } >plc-runtime.bin
ls -l plc-runtime.bin

step "3. Sign it: version 1.2.3+4, security counter 3 (devices refuse anything below their fused counter)"
run "$IRONSEAL" image sign --key release-key.pem --version 1.2.3+4 --security-counter 3 \
  plc-runtime.bin plc-runtime.img
run "$IRONSEAL" image inspect plc-runtime.img

step "4. Verify it as a device would: trusted"
run "$IRONSEAL" image verify --key release-key.pub.pem plc-runtime.img

step "5. An attacker changes one byte of the firmware: refused, with the reason"
cp plc-runtime.img tampered.img
printf '\x55' | dd of=tampered.img bs=1 seek=4096 conv=notrunc status=none
set +e
run "$IRONSEAL" image verify --key release-key.pub.pem tampered.img
rc=$?
echo "exit code $rc (1 = not trusted)"
[ "$rc" -eq 1 ] || { echo "demo: the tampered image was not refused" >&2; exit 1; }

step "6. An image signed with someone else's key: refused"
"$IRONSEAL" key generate --out attacker.pem >/dev/null
"$IRONSEAL" image sign --key attacker.pem --version 9.9.9 --security-counter 99 plc-runtime.bin evil.img >/dev/null
run "$IRONSEAL" image verify --key release-key.pub.pem evil.img
rc=$?
echo "exit code $rc (1 = not trusted)"
[ "$rc" -eq 1 ] || { echo "demo: the foreign image was not refused" >&2; exit 1; }
set -e

apps=$(dirname "$IRONSEAL")
step "7. A device: OTP fuses with the release key's hash, flash with stage-2 and the PLC runtime v1"
cp "$apps/plc-runtime" runtime.bin && cp "$apps/plc-runtime-failing" runtime-failing.bin
printf 'ironseal stage-2 (host simulation)\n' >stage2.bin
sign() { "$IRONSEAL" image sign --key release-key.pem --vid plc.example --cid controller-x1 "$@" >/dev/null; }
sign --version 0.1.0 --security-counter 0 stage2.bin stage2.img
sign --version 1.0.0 --security-counter 1 runtime.bin runtime-v1.img
sign --version 2.0.0 --security-counter 2 runtime.bin runtime-v2.img
sign --version 3.0.0 --security-counter 3 runtime-failing.bin runtime-v3-broken.img
run "$IRONSEAL" device init device --root-key release-key.pub.pem --stage2 stage2.img \
  --firmware runtime-v1.img --vid plc.example --cid controller-x1 --attempts 2
run "$IRONSEAL" device boot device

step "8. Update to v2: written to the inactive slot, booted on trial, confirmed by its health check"
run "$IRONSEAL" device install device runtime-v2.img
run "$IRONSEAL" device run device --boots 2

step "9. Update to a broken v3: it fails its health check, and the bootloader rolls back by itself"
run "$IRONSEAL" device install device runtime-v3-broken.img
run "$IRONSEAL" device run device --boots 3

step "10. A downgrade to v1 (validly signed, security counter 1 < fused 2): refused"
set +e
run "$IRONSEAL" device install device runtime-v1.img
rc=$?
set -e
[ "$rc" -eq 1 ] || { echo "demo: the downgrade was not refused" >&2; exit 1; }
run "$IRONSEAL" device status device

printf '\ndemo: done. Files are in %s\n' "$demo"
