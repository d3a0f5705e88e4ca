#!/usr/bin/env bash
# Device check-in latency while the operator port is flooded with wrong-password logins
# (docs/benchmarks.md, issue 12). One fleet server (one event-loop thread, the default) on
# loopback with DEVICES registered devices. Three phases of SECONDS each:
#   (0) no flood;
#   (1) CONNECTIONS concurrent keep-alive connections from 127.0.0.2 send wrong passwords for
#       the account "admin" as fast as they are answered;
#   (2) the same from 127.0.0.3, each attempt naming another account (password spraying: every
#       attempt is a fresh account name, so a per-account lock never stops it).
# During each phase every device checks in over a new mutual-TLS connection, one check-in after
# the other (50 ms apart), and one operator logs in with the right password from 127.0.0.9.
# Prints the check-in latency (p50/p99/max), timeouts (10 s), the flood's answers by status and
# the operator's login. Everything targets 127.0.0.1-127.0.0.9 and ends after about 3 x SECONDS.
# Usage: login_flood.sh BUILD_DIR [SECONDS] [CONNECTIONS] [DEVICES] [SERVER_BINARY]
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
build=$(cd "$1" && pwd)
secs=${2:-15}
conns=${3:-128}
ndev=${4:-4}
IRONSEAL=$build/apps/ironseal
SERVER=${5:-$build/apps/ironseal-server}
py=(python3 "$here/login_flood.py")
work=$(mktemp -d)
cd "$work"
server_pid=""
flood_pid=""
cleanup() {
  [ -n "$flood_pid" ] && kill "$flood_pid" 2>/dev/null
  [ -n "$server_pid" ] && kill "$server_pid" 2>/dev/null
  wait 2>/dev/null
  rm -rf -- "$work"
}
trap cleanup EXIT

serials=$(seq -f 'SN-%g' 1 "$ndev" | paste -sd,)
# shellcheck disable=SC2086
bash "$here/../tests/fleet/make_test_pki.sh" pki plc-x1 ${serials//,/ } >/dev/null
apps=$build/apps
# shellcheck source=scripts/fleet_lib.sh
source "$here/../scripts/fleet_lib.sh"
# The devices check in every 50 ms, far above a device's check-in budget (docs/fleet-server.md,
# "Limits"): the budget is lifted, as in the fleet.server_login_flood test.
fleet_test_server admin admin ', "threads": 1,
 "limits": {"max_connections": 10000, "request_timeout_ms": 600000,
            "device_checkins_per_minute": 1000000000, "device_checkin_burst": 1000000000}'
for sn in ${serials//,/ }; do
  "$IRONSEAL" fleet devices register --serial "$sn" --hardware-id plc-x1 >/dev/null
done

echo "server: $SERVER"
echo "devices: $ndev ($serials), each checking in on a new mTLS connection, 50 ms apart"
phase() { # LABEL [flood args...]
  local label=$1
  shift
  echo "== $label"
  echo "load: $(uptime | sed 's/.*load average: //')"
  if [ $# -gt 0 ]; then
    "${py[@]}" flood --port "$oport" --pki pki --connections "$conns" --seconds "$((secs + 3))" \
      "$@" >flood.json &
    flood_pid=$!
    sleep 2
  fi
  (sleep "$((secs / 2))"; "${py[@]}" login --port "$oport" --pki pki --name admin \
    --password-file admin.password --source 127.0.0.9 >login.json) &
  local login_pid=$!
  echo "check-ins: $("${py[@]}" probe --port "$dport" --pki pki --serials "$serials" --seconds "$secs")"
  wait "$login_pid"
  echo "operator login (right password, other address, mid-phase): $(cat login.json)"
  if [ -n "$flood_pid" ]; then
    wait "$flood_pid" || true
    flood_pid=""
    echo "flood answers: $(cat flood.json)"
  fi
}
phase "(0) no flood, ${secs} s"
phase "(1) $conns connections: wrong passwords for admin from 127.0.0.2, ${secs} s" \
  --names admin --source 127.0.0.2
phase "(2) $conns connections: wrong passwords, a new account name each, from 127.0.0.3, ${secs} s" \
  --names spray --source 127.0.0.3
