#!/usr/bin/env bash
# Benchmark: ironseal's install side by side with RAUC 1.8 and SWUpdate (Debian packages) through
# the shared peers harness (../shared/tools/peers/run), which times all of them in one loop on the
# same payload. Our rows are its "candidate": pack = image sign + image chunk, install = a chunked
# install into the inactive slot of a simulated device (each chunk proven before it is written,
# the slot verified as the bootloader would, flash fsynced), verify = image verify.
#
# Usage: bench/peers.sh IRONSEAL [SIZE_MIB=256] [RUNS=3]    (needs root: RAUC loop-mounts)
set -euo pipefail
IRONSEAL=$(realpath "$1")
SIZE_MIB=${2:-256}
RUNS=${3:-3}
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
peers=${PEERS_RUN:-$here/../../shared/tools/peers/run}
[ -x "$peers" ] || { echo "peers harness not found at $peers (set PEERS_RUN)" >&2; exit 3; }
export PEERS_WORK=${PEERS_WORK:-/tmp/peers}
work=$(mktemp -d "${TMPDIR:-/tmp}/ironseal-peers.XXXXXX")
trap 'rm -rf -- "$work"' EXIT

"$IRONSEAL" key generate --out "$work/k.pem" --public-out "$work/k.pub" >/dev/null
printf 'stage-2\n' >"$work/s2.bin"
"$IRONSEAL" image sign --key "$work/k.pem" --version 0.1.0 --security-counter 0 "$work/s2.bin" "$work/s2.img" >/dev/null
head -c 4096 /dev/urandom >"$work/first.bin"
"$IRONSEAL" image sign --key "$work/k.pem" --version 0.9.0 --security-counter 0 "$work/first.bin" "$work/first.img" >/dev/null
"$IRONSEAL" device init "$work/dev" --root-key "$work/k.pub" --stage2 "$work/s2.img" \
  --firmware "$work/first.img" --slot-size $(((SIZE_MIB + 4) * 1024 * 1024)) \
  --block-size 65536 --page-size 4096 >/dev/null

"$peers" setup >/dev/null
export PEERS_RUNS=$RUNS
export CANDIDATE_PACK="'$IRONSEAL' image sign --key '$work/k.pem' --version 1.0.0 --security-counter 1 {payload} {bundle} && '$IRONSEAL' image chunk {bundle} --out {bundle}.chunks --json | sed -n 's/.*\"index_sha256\": \"\\([0-9a-f]*\\)\".*/\\1/p' >{bundle}.chunks.sha256"
export CANDIDATE_INSTALL="'$IRONSEAL' device install '$work/dev' {bundle} --chunk-index {bundle}.chunks --index-sha256 \$(cat {bundle}.chunks.sha256)"
export CANDIDATE_VERIFY="'$IRONSEAL' image verify --key '$work/k.pub' {bundle}"
"$peers" bench "$SIZE_MIB"
