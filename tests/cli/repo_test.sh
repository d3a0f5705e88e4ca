#!/usr/bin/env bash
# `ironseal repo` and `ironseal director` as an operator drives them, checked by the TUF client
# executable over file:// URLs: init, add-target, publish, rotate, expiry, director assignment,
# tampering, exit codes. Usage: repo_test.sh IRONSEAL IRONSEAL_TUF_CLIENT
set -uo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
IRONSEAL=$1
CLIENT=$2
work=$(mktemp -d)
trap 'rm -rf -- "$work"' EXIT
cd "$work" || exit 3
# shellcheck source=tests/cli/lib.sh
source "$here/lib.sh"

head -c 70000 /dev/zero | tr '\0' '\125' >fw.bin
"$IRONSEAL" key generate --out rel.pem >/dev/null || exit 3
"$IRONSEAL" image sign --key rel.pem --version 1.0.0+1 --security-counter 1 fw.bin v1.img >/dev/null || exit 3
"$IRONSEAL" image sign --key rel.pem --version 2.0.0+1 --security-counter 2 fw.bin v2.img >/dev/null || exit 3

# client DIR METADATA_DIR ARGS...: the TUF client against a metadata directory over file://
client() {
  local state=$1 meta=$2
  shift 2
  "$CLIENT" --metadata-dir "$state" --metadata-url "file://$work/$meta" "$@"
}

expect 0 "repo init" -- "$IRONSEAL" repo init R --threshold root=2 --expires timestamp=3
[ "$(stat -c %a R/keys/"$(ls R/keys | head -1)")" = 600 ]; ok $? "repository keys are 0600"
expect 2 "init refuses an existing repository" -- "$IRONSEAL" repo init R
expect 2 "bad --threshold" -- "$IRONSEAL" repo init R2 --threshold root
expect 0 "add-target" -- "$IRONSEAL" repo add-target R v1.img --hardware-id plc-x1 --custom '{"channel":"stable"}'
contains out.txt "staged v1.img" "add-target says what it staged"
expect 1 "add-target refuses a raw binary" -- "$IRONSEAL" repo add-target R fw.bin --hardware-id plc-x1
expect 2 "add-target refuses non-object custom" -- "$IRONSEAL" repo add-target R v1.img --hardware-id h --custom '[1]'
expect 0 "publish" -- "$IRONSEAL" repo publish R --json
contains out.txt '"targets_version": 2' "publish signs targets v2"

mkdir dl
expect 0 "client init" -- "$CLIENT" --metadata-dir c1 init R/metadata/1.root.json
expect 0 "client downloads the image and its chunk index" -- client c1 R/metadata \
  --target-name v1.img --target-name v1.img.chunks --target-dir dl --target-base-url "file://$work/R/targets" download
cmp -s dl/v1.img v1.img; ok $? "downloaded image is the published one"

expect 0 "add second target" -- "$IRONSEAL" repo add-target R v2.img --hardware-id plc-x1
expect 0 "inspect shows staged changes" -- "$IRONSEAL" repo inspect R
contains out.txt "staged, not yet published: v2.img" "inspect lists staged targets"
expect 0 "publish again" -- "$IRONSEAL" repo publish R
expect 0 "rotate root" -- "$IRONSEAL" repo rotate R --role root --keys 2 --threshold 1
expect 0 "rotate snapshot" -- "$IRONSEAL" repo rotate R --role snapshot
expect 2 "rotate unknown role" -- "$IRONSEAL" repo rotate R --role mirror
expect 0 "client follows rotations and sees the new target" -- client c1 R/metadata \
  --target-name v2.img --target-dir dl --target-base-url "file://$work/R/targets" download
expect 0 "inspect --json" -- "$IRONSEAL" repo inspect R --json
contains out.txt '"version": "2.0.0+1"' "inspect shows the image version"
contains out.txt '"hardware_id": "plc-x1"' "inspect shows the hardware id"

expect 0 "director init" -- "$IRONSEAL" director init D
expect 0 "director assign" -- "$IRONSEAL" director assign D --serial SN-7 --image-repo R --target v2.img
expect 1 "director refuses an unpublished target" -- "$IRONSEAL" director assign D --serial SN-7 --image-repo R --target v9.img
expect 0 "director inspect" -- "$IRONSEAL" director inspect D --serial SN-7
contains out.txt "v2.img" "director inspect lists the assignment"
expect 0 "device client init" -- "$CLIENT" --metadata-dir dev init D/metadata/root.json
mkdir devdl
expect 0 "device downloads the assigned image from the image repository" -- client dev D/devices/SN-7/metadata \
  --target-name v2.img --target-dir devdl --target-base-url "file://$work/R/targets" download
expect 1 "device does not see an unassigned image" -- client dev D/devices/SN-7/metadata \
  --target-name v1.img --target-dir devdl --target-base-url "file://$work/R/targets" download

# Tampering with a served target: the client refuses it.
sha=$(sha256sum v1.img | cut -d' ' -f1)
printf '\000' | dd of="R/targets/$sha.v1.img" bs=1 seek=1000 conv=notrunc 2>/dev/null
mkdir dl2
expect 1 "tampered target refused" -- client c1 R/metadata \
  --target-name v1.img --target-dir dl2 --target-base-url "file://$work/R/targets" download
contains err.txt "hash_mismatch" "refusal names the hash mismatch"

# An expired timestamp: the client refuses to update.
expect 0 "repo with a timestamp expiring at once" -- "$IRONSEAL" repo init X --expires timestamp=0
expect 0 "client init X" -- "$CLIENT" --metadata-dir cx init X/metadata/1.root.json
expect 1 "expired timestamp refused" -- client cx X/metadata refresh
contains err.txt "expired" "refusal names the expiry"

finish
