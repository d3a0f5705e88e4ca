#!/usr/bin/env bash
# A rollout to N simulated devices (default 1,000) with `ironseal fleet simulate`: time from the
# release's rollout to every device confirmed, and the fleet server's peak RSS (VmHWM) and CPU
# time. The devices run the real agent (mutual TLS, TUF/Uptane metadata, streaming install,
# trial boot through the boot core, reports) in one process beside the server, on this machine.
# All devices come from 127.0.0.1, so the per-address connection limit (256 by default) is raised.
# Usage: fleet_rollout.sh BUILD_DIR [DEVICES] [INTERVAL_S] [PARALLEL] [PHASES] [MAX_BACKOFF_S]
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
build=$(cd "$1" && pwd)
n=${2:-1000}
interval=${3:-2}
parallel=${4:-16}
phases=${5:-1,10%,100%}
# Devices not yet reached by the rollout have no director metadata (404): the agent counts that
# as a failed cycle and backs off; the back-off is capped at this many seconds here.
max_backoff=${6:-$((2 * interval))}
IRONSEAL=$build/apps/ironseal
SERVER=$build/apps/ironseal-server
work=$(mktemp -d)
cd "$work"
server_pid=""
cleanup() {
  [ -n "$server_pid" ] && kill "$server_pid" 2>/dev/null
  wait 2>/dev/null
  rm -rf -- "$work"
}
trap cleanup EXIT
load_line() { echo "load: $(uptime | sed 's/.*load average: //')"; }
now() { date +%s.%N; }
cpu_s() { awk -v t="$(getconf CLK_TCK)" '{print ($14+$15)/t}' "/proc/$1/stat"; }

bash "$here/../tests/fleet/make_test_pki.sh" pki plc-x1 >/dev/null
"$IRONSEAL" key generate --out fw.pem --public-out fw.pub >/dev/null
sign() { "$IRONSEAL" image sign --key fw.pem "$@" >/dev/null; }
printf 'stage-2\n' >s2.bin
head -c 24000 /dev/urandom >fw.bin
sign --version 0.1.0 --security-counter 0 s2.bin s2.img
sign --version 1.0.0 --security-counter 1 fw.bin v1.img
sign --version 2.0.0 --security-counter 2 fw.bin v2.img
apps=$build/apps
# shellcheck source=scripts/fleet_lib.sh
source "$here/../scripts/fleet_lib.sh"
fleet_test_repository plc-x1 v2.img --chunk-size 4096
fleet_test_server ops operator ', "repository": "repo", "threads": 1, "poll_interval_s": '"$interval"',
 "limits": {"max_connections_per_client": 10000}'

echo "== set-up: $n devices (64 KiB slots, own P-256 key and certificate each), registered"
load_line
"$IRONSEAL" fleet simulate --devices "$n" --dir sim --hardware-id plc-x1 --root-key fw.pub \
  --stage2 s2.img --firmware v1.img --image-root repo/image/metadata/1.root.json \
  --director-root repo/director/metadata/1.root.json --device-ca pki/test-device-ca.pem \
  --device-ca-key pki/test-device-ca.key --anchors pki/trust-root.pem --group sim --register \
  --setup-only --parallel 2
echo "device directories: $(du -sh sim | cut -f1) on disk"

echo "== rollout of v2 ($(wc -c <v2.img) bytes) to $n devices, phases $phases, poll interval ${interval} s, $parallel devices cycling at once"
load_line
"$IRONSEAL" fleet releases create --name r2 --target v2.img >/dev/null
cpu0=$(cpu_s "$server_pid")
# Peak RSS during the rollout (VmHWM also counts the operator login's Argon2id, 64 MiB).
( peak=0; while kill -0 "$server_pid" 2>/dev/null; do
    r=$(awk '/^VmRSS/{print $2}' "/proc/$server_pid/status" 2>/dev/null || echo 0)
    [ "${r:-0}" -gt "$peak" ] && { peak=$r; echo "$peak" >rss_peak; }
    sleep 0.1
  done ) &
sampler=$!
t0=$(now)
"$IRONSEAL" fleet rollout create --release r2 --group sim --phases "$phases" --json >rollout.json
t_created=$(now)
"$IRONSEAL" fleet simulate --devices "$n" --dir sim --server "https://127.0.0.1:$dport" \
  --interval "$interval" --max-backoff "$max_backoff" --parallel "$parallel" --until-target v2.img --timeout 1800 --json >sim.json
t1=$(now)
cpu1=$(cpu_s "$server_pid")
kill "$sampler" 2>/dev/null
load_line
id=$(python3 -c 'import json; print(json.load(open("rollout.json"))["id"])')
"$IRONSEAL" fleet rollout status "$id" --json >status.json
python3 - "$t0" "$t_created" "$t1" "$cpu0" "$cpu1" "$server_pid" <<'EOF'
import json, sys
t0, tc, t1, c0, c1 = map(float, sys.argv[1:6])
pid = sys.argv[6]
sim = json.load(open("sim.json"))
st = json.load(open("status.json"))
status = dict(l.split(":", 1) for l in open(f"/proc/{pid}/status") if ":" in l)
print(f"rollout create answered in {tc - t0:.2f} s (director metadata signed for the canary)")
print(f"release -> all {sim['reached']}/{sim['devices']} confirmed: {t1 - t0:.1f} s "
      f"({sim['cycles']} agent cycles, {sim['cycle_errors']} failed cycles)")
print(f"rollout state: {st['state']} ({st['reason']}), devices by state: {st.get('devices_by_state')}")
print(f"server CPU during the rollout: {c1 - c0:.1f} s; peak RSS during the rollout (sampled "
      f"every 0.1 s): {int(open('rss_peak').read())} kB; VmHWM since start: {status['VmHWM'].strip()}")
EOF
