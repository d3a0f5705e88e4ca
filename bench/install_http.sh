#!/usr/bin/env bash
# Benchmark: `ironseal update install` of a large image over HTTP on loopback (TUF refresh of
# image repository and director, chunk index, one Range request per chunk, every chunk proven
# before writing, slot verified as the bootloader would, flash fsynced) against `curl -o` of the
# same file followed by `sync`, side by side in one run.
#
# Usage: bench/install_http.sh BUILD_DIR [SIZE_MIB=256] [RUNS=3]
set -euo pipefail
# shellcheck source=bench/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
BUILD=$(realpath "$1")
IRONSEAL=$BUILD/apps/ironseal
HTTPD=$BUILD/tests/ironseal-test-httpd
SIZE_MIB=${2:-256}
RUNS=${3:-3}
work=$(mktemp -d "${TMPDIR:-/tmp}/ironseal-bench-http.XXXXXX")
cd "$work"
"$IRONSEAL" key generate --out k.pem --public-out k.pub >/dev/null
printf 'stage-2\n' >s2.bin
sign() { "$IRONSEAL" image sign --key k.pem "$@" >/dev/null; }
sign --version 0.1.0 --security-counter 0 s2.bin s2.img
head -c 1000 /dev/urandom >v1.bin && sign --version 1.0.0 --security-counter 1 v1.bin v1.img
head -c "$((SIZE_MIB * 1024 * 1024))" /dev/urandom >big.bin
sign --version 2.0.0 --security-counter 2 big.bin big.img && rm big.bin
"$IRONSEAL" repo init R >/dev/null
"$IRONSEAL" repo add-target R big.img --hardware-id bench-hw >/dev/null
"$IRONSEAL" repo publish R >/dev/null
"$IRONSEAL" director init D >/dev/null
"$IRONSEAL" director assign D --serial SN-B --image-repo R --target big.img >/dev/null
mkdir www && ln -s ../R www/image && ln -s ../D www/director
"$IRONSEAL" device init dev --root-key k.pub --stage2 s2.img --firmware v1.img --serial SN-B \
  --hardware-id bench-hw --image-root R/metadata/1.root.json --director-root D/metadata/1.root.json \
  --slot-size $(((SIZE_MIB + 2) * 1024 * 1024)) --block-size 65536 --page-size 4096 >/dev/null
coproc SERVER { exec "$HTTPD" www; }
read -r port <&"${SERVER[0]}"
trap 'kill "$SERVER_PID" 2>/dev/null; rm -rf -- "$work"' EXIT
url="http://127.0.0.1:$port"
file_url="$url/image/targets/$(ls R/targets | grep '\.big\.img$')"
bytes=$(stat -c %s big.img)

curl_sync() { curl -s -o curl.out "$file_url" && sync; }
t_curl=$(best_time curl_sync)
# Each timed install starts from the same freshly initialised device (restored, untimed, from a
# pristine copy): an install that finds its image already pending returns at once.
cp -a dev dev.pristine
fresh_device() { rm -rf dev && cp -a dev.pristine dev && sync; }
t_inst=""
for _ in $(seq "$RUNS"); do
  fresh_device
  t0=$(date +%s.%N)
  "$IRONSEAL" update install dev --repo "$url" --json >install.json
  t1=$(date +%s.%N)
  grep -q '"result": "installed"' install.json || { echo "install did not install:" >&2; cat install.json >&2; exit 1; }
  t_inst=$(awk -v a="$t_inst" -v b="$t0" -v c="$t1" 'BEGIN{d=c-b; if (a=="" || d<a) print d; else print a}')
done
fresh_device
rss=$(peak_rss_kib "$IRONSEAL" update install dev --repo "$url")
awk -v n="$bytes" -v tc="$t_curl" -v ti="$t_inst" -v rss="$rss" -v mib="$SIZE_MIB" -v runs="$RUNS" 'BEGIN {
  m = 1048576;
  printf "image: %d MiB (%d bytes) over HTTP on loopback, best of %d runs\n", mib, n, runs;
  printf "curl -o + sync                  %7.3f s  %8.1f MiB/s\n", tc, n / tc / m;
  printf "ironseal update install         %7.3f s  %8.1f MiB/s\n", ti, n / ti / m;
  printf "update install / curl+sync: %.3f  (goal >= 0.8)\n", tc / ti;
  printf "peak RSS update install: %d KiB\n", rss;
}'
