#!/usr/bin/env bash
# Benchmark: `ironseal image verify` of a large image against `openssl dgst -sha256` of the same
# bytes, side by side in one run, page cache warm. The hash is the physical limit of verification
# (the signature check is constant time), so the goal is throughput ratio >= 0.9 of openssl's.
# Also reports peak RSS at two image sizes: it must not grow with the image.
#
# Usage: bench/image_verify.sh IRONSEAL [SIZE_MIB=256] [RUNS=7]
set -euo pipefail
# shellcheck source=bench/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
IRONSEAL=$1
SIZE_MIB=${2:-256}
RUNS=${3:-7}
SMALL_MIB=16
work=$(mktemp -d)
trap 'rm -rf -- "$work"' EXIT

"$IRONSEAL" key generate --out "$work/k.pem" --public-out "$work/k.pub" >/dev/null
make_image() {  # MIB NAME
  head -c "$(($1 * 1024 * 1024))" /dev/urandom >"$work/$2.bin"
  "$IRONSEAL" image sign --key "$work/k.pem" --version 1.0.0 --security-counter 1 \
    "$work/$2.bin" "$work/$2.img" >/dev/null
  rm "$work/$2.bin"
}
make_image "$SIZE_MIB" big
make_image "$SMALL_MIB" small
bytes=$(stat -c %s "$work/big.img")


# Interleave so both see the same machine state.
t_openssl=$(best_time openssl dgst -sha256 "$work/big.img")
t_ironseal=$(best_time "$IRONSEAL" image verify --key "$work/k.pub" "$work/big.img")
t_openssl2=$(best_time openssl dgst -sha256 "$work/big.img")
t_openssl=$(awk -v a="$t_openssl" -v b="$t_openssl2" 'BEGIN{print (a<b)?a:b}')

rss_big=$(peak_rss_kib "$IRONSEAL" image verify --key "$work/k.pub" "$work/big.img")
rss_small=$(peak_rss_kib "$IRONSEAL" image verify --key "$work/k.pub" "$work/small.img")
rss_openssl=$(peak_rss_kib openssl dgst -sha256 "$work/big.img")

awk -v n="$bytes" -v to="$t_openssl" -v ti="$t_ironseal" -v rb="$rss_big" -v rs="$rss_small" \
    -v ro="$rss_openssl" -v mib="$SIZE_MIB" -v smib="$SMALL_MIB" -v runs="$RUNS" 'BEGIN {
  mo = n / to / 1048576; mi = n / ti / 1048576;
  printf "image: %d MiB (%d bytes), best of %d runs, page cache warm\n", mib, n, runs;
  printf "openssl dgst -sha256   %7.3f s  %8.1f MiB/s\n", to, mo;
  printf "ironseal image verify  %7.3f s  %8.1f MiB/s\n", ti, mi;
  printf "throughput ratio (ironseal / openssl): %.3f  (goal >= 0.9)\n", mi / mo;
  printf "peak RSS ironseal verify: %d KiB at %d MiB, %d KiB at %d MiB (openssl dgst: %d KiB)\n",
         rb, mib, rs, smib, ro;
  printf "RSS growth from %d to %d MiB: %d KiB\n", smib, mib, rb - rs;
}'
