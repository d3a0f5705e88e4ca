#!/usr/bin/env bash
# The main job: a fleet of simulated PLCs kept up to date by ironseal, on loopback, with nothing
# to configure. A device maker's PKI and release keys are created, the fleet server started,
# three devices provisioned through the factory flow, then:
#   v1  what the factory put on the devices;
#   v2  a good release: rolled out (one canary, then everyone) and confirmed everywhere;
#   v3  a release whose firmware fails its health check: the canary's bootloader reverts it by
#       itself and the rollout pauses itself before it reaches anyone else.
# Ends with the fleet table and where the audit trail and the logs are; exits 0 only if every
# device ended where it should.
#
# Usage: scripts/demo.sh BUILD_APPS_DIR   (work files go to build/demo/)
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
apps=$(realpath "$1")
IRONSEAL=$apps/ironseal
SERVER=$apps/ironseal-server
AGENT=$apps/ironseal-agent
demo=$(realpath -m build/demo)
rm -rf "$demo" && mkdir -p "$demo" && cd "$demo"
devices=(PLC-0001 PLC-0002 PLC-0003)
hw=plc-x1
agents=()   # the agents' PIDs
server_pid=""
stop_agents() { for p in "${agents[@]}"; do kill "$p" 2>/dev/null || true; done; agents=(); }
cleanup() {
  stop_agents
  [ -n "$server_pid" ] && kill "$server_pid" 2>/dev/null
  wait 2>/dev/null || true
}
trap cleanup EXIT

if [ -t 1 ]; then bold=$'\033[1m' plain=$'\033[0m'; else bold="" plain=""; fi
step() { printf '\n%s== %s%s\n' "$bold" "$*" "$plain"; }
run() { printf '$ %s\n' "$*" | sed "s|$apps/||g; s|$demo/||g"; "$@"; }
quiet() { "$@" >/dev/null; }
t0=$(date +%s)

source "$here/fleet_lib.sh"

step "1. The device maker's keys: a PKI (offline root, device CA, server CA) and a release key"
fleet_pki
run "$IRONSEAL" ca list ca

step "2. Firmware releases, signed: v1 (factory), v2 (good), v3 (fails its health check)"
fleet_sign --version 1.0.0 --security-counter 1 "$apps/plc-runtime" v1.img
fleet_sign --version 2.0.0 --security-counter 2 "$apps/plc-runtime" v2.img
fleet_sign --version 3.0.0 --security-counter 3 "$apps/plc-runtime-failing" v3.img
fleet_publish v1.img v2.img v3.img
run "$IRONSEAL" repo inspect repo/image

step "3. Factory: each device gets fuses, firmware v1, its own key (it never leaves the device) and certificate"
for sn in "${devices[@]}"; do
  fleet_device "$sn" v1.img
  echo "$sn: provisioned, enrolled, checked: ready to ship"
done
run "$IRONSEAL" factory check "dev/${devices[0]}" --ca ca --record factory.sqlite

step "4. The fleet server: devices over mutual TLS (device CA), operators over TLS with accounts"
fleet_server
echo "listening: devices on $dport (mutual TLS), operators on $oport"
for sn in "${devices[@]}"; do
  quiet "$IRONSEAL" fleet devices register --serial "$sn" --hardware-id $hw --group line-1
done
run "$IRONSEAL" fleet releases create --name r1 --target v1.img
run "$IRONSEAL" fleet releases create --name r2 --target v2.img
run "$IRONSEAL" fleet releases create --name r3 --target v3.img

step "5. Each device runs its agent: check in, follow the director, install, trial, report"
for sn in "${devices[@]}"; do
  "$AGENT" "dev/$sn" --server "https://localhost:$dport" -v >"dev/$sn.agent.log" 2>&1 &
  agents+=("$!")
done

# Waits until rollout $1 reaches one of the states in $2 (a regex), printing its progress.
wait_rollout() {
  local id=$1 want=$2 last="" state="" deadline=$((SECONDS + 90))
  while ((SECONDS < deadline)); do
    state=$("$IRONSEAL" fleet rollout status "$id" --json | python3 -c '
import json, sys
r = json.load(sys.stdin); d = r["devices_by_state"]
print(r["state"], "phase", r["phase"], " ".join(f"{k}={v}" for k, v in d.items() if v))')
    [ "$state" != "$last" ] && echo "   rollout $id: $state" && last=$state
    [[ $state =~ ^($want) ]] && return 0
    sleep 0.5
  done
  echo "demo: rollout $id did not reach '$want' in 90 s (now: $state); see $demo/server.log" >&2
  return 1
}
rollout_id() { python3 -c 'import json,sys; print(json.load(sys.stdin)["id"])'; }

step "6. Release v2 to line-1: one canary first, then everyone (pauses by itself above 20% failures)"
id2=$("$IRONSEAL" fleet rollout create --release r2 --group line-1 --phases 1,100% \
  --max-failure-rate 0.2 --json | rollout_id)
wait_rollout "$id2" "completed"

step "7. Release v3 (its health check fails): the canary reverts by itself; the rollout pauses itself"
id3=$("$IRONSEAL" fleet rollout create --release r3 --group line-1 --phases 1,100% \
  --max-failure-rate 0.2 --json | rollout_id)
wait_rollout "$id3" "paused"
run "$IRONSEAL" fleet rollout status "$id3"

# Give the agents a moment to check in their final state, then stop them.
sleep 2
stop_agents

step "8. The fleet"
run "$IRONSEAL" fleet devices 2>/dev/null || true
"$IRONSEAL" fleet devices --json >fleet-devices.json
python3 - "$id3" <<'EOF'
import json, sys
devices = json.load(open("fleet-devices.json"))["devices"]
versions = sorted(d.get("version", "") for d in devices)
# Every device runs v2 (the canary reverted v3 back to v2; the others never got v3).
bad = [d["serial"] for d in devices if not d.get("version", "").startswith("2.0.0")]
if bad:
    sys.exit(f"demo: devices not on v2 at the end: {bad}")
EOF
for sn in "${devices[@]}"; do
  printf '%s: ' "$sn"; "$IRONSEAL" device status "dev/$sn" --json | python3 -c '
import json, sys
s = json.load(sys.stdin)
print("confirmed slot {}, last event {}, reverts {}, fused anti-rollback counter {}".format(
    s["confirmed_slot"], s["last_event"], s["revert_count"], s["otp_counter"]))'
done

step "Where things are"
cat <<EOF
  audit trail      $demo/fleet.db (table events: every refusal, install outcome and operator action)
  server log       $demo/server.log
  agent logs       $demo/dev/PLC-000N.agent.log
  manufacturing    $demo/factory.sqlite (serial <-> certificate fingerprint)
  device dirs      $demo/dev/PLC-000N (flash.img, otp.bin, identity/)
EOF
printf '\ndemo: done in %d s\n' $(($(date +%s) - t0))
