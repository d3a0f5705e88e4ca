#!/usr/bin/env bash
# Benchmark: a full chunked install of a large image into a file-backed slot of a simulated device
# (every chunk proven before it is written, the slot verified in place before it counts, flash
# fsynced), side by side with the machine's limits on the same bytes: `openssl dgst -sha256`
# (hashing) and `dd ... conv=fsync` (writing). Also peak RSS at two image sizes.
#
# Usage: bench/install.sh IRONSEAL [SIZE_MIB=256] [RUNS=3]
set -euo pipefail
# shellcheck source=bench/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
IRONSEAL=$(realpath "$1")
SIZE_MIB=${2:-256}
RUNS=${3:-3}
SMALL_MIB=32
work=$(mktemp -d "${TMPDIR:-/tmp}/ironseal-bench.XXXXXX")
trap 'rm -rf -- "$work"' EXIT
cd "$work"

"$IRONSEAL" key generate --out k.pem --public-out k.pub >/dev/null
printf 'stage-2\n' >s2.bin
"$IRONSEAL" image sign --key k.pem --version 0.1.0 --security-counter 0 s2.bin s2.img >/dev/null
make_image() {  # MIB NAME
  head -c "$(($1 * 1024 * 1024))" /dev/urandom >"$2.bin"
  "$IRONSEAL" image sign --key k.pem --version 2.0.0 --security-counter 1 "$2.bin" "$2.img" >/dev/null
  "$IRONSEAL" image chunk "$2.img" --out "$2.chunks" --json |
    sed -n 's/.*"index_sha256": "\([0-9a-f]*\)".*/\1/p' >"$2.chunks.sha256"
  rm "$2.bin"
}
make_image 1 first
make_image "$SIZE_MIB" big
make_image "$SMALL_MIB" small
slot=$(( (SIZE_MIB + 2) * 1024 * 1024 ))
"$IRONSEAL" device init dev --root-key k.pub --stage2 s2.img --firmware first.img \
  --slot-size "$slot" --block-size 65536 --page-size 4096 >/dev/null
bytes=$(stat -c %s big.img)

t_hash=$(best_time openssl dgst -sha256 big.img)
t_dd=$(best_time dd if=big.img of=dd.out bs=1M conv=fsync status=none)
rm -f dd.out
t_inst=$(best_time "$IRONSEAL" device install dev big.img --chunk-index big.chunks --index-sha256 "$(cat big.chunks.sha256)")
rss_big=$(peak_rss_kib "$IRONSEAL" device install dev big.img --chunk-index big.chunks --index-sha256 "$(cat big.chunks.sha256)")
rss_small=$(peak_rss_kib "$IRONSEAL" device install dev small.img --chunk-index small.chunks --index-sha256 "$(cat small.chunks.sha256)")

awk -v n="$bytes" -v th="$t_hash" -v td="$t_dd" -v ti="$t_inst" -v rb="$rss_big" -v rs="$rss_small" \
    -v mib="$SIZE_MIB" -v smib="$SMALL_MIB" -v runs="$RUNS" 'BEGIN {
  m = 1048576;
  printf "image: %d MiB (%d bytes), best of %d runs\n", mib, n, runs;
  printf "openssl dgst -sha256            %7.3f s  %8.1f MiB/s\n", th, n / th / m;
  printf "dd bs=1M conv=fsync             %7.3f s  %8.1f MiB/s\n", td, n / td / m;
  printf "ironseal device install --chunk %7.3f s  %8.1f MiB/s\n", ti, n / ti / m;
  printf "install / SHA-256 limit: %.3f  (goal >= 0.8)\n", th / ti;
  printf "peak RSS install: %d KiB at %d MiB, %d KiB at %d MiB\n", rb, mib, rs, smib;
}'
