#!/usr/bin/env bash
# Fleet server against nginx over mutual TLS, side by side in one run (docs/benchmarks.md,
# issue 6): (a) device check-ins per second with keep-alive, against nginx serving a static JSON
# file of the same size as the check-in answer with `ssl_verify_client on`; (b) new mutual-TLS
# handshakes per server CPU-second (each a full handshake and one small GET). Both servers run
# one event-loop thread/worker, and both are driven by the same generator (bench/mtls_load.cc)
# presenting the same device certificate. Prints the figures and the ratios against nginx.
# Usage: fleet_mtls.sh BUILD_DIR [SECONDS] [KEEPALIVE_CONNECTIONS] [HANDSHAKE_CONNECTIONS]
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
build=$(cd "$1" && pwd)
secs=${2:-10}
kconn=${3:-50}
hconn=${4:-16}
IRONSEAL=$build/apps/ironseal
SERVER=$build/apps/ironseal-server
LOAD=$build/bench/mtls_load
work=$(mktemp -d)
cd "$work"
server_pid=""
nginx_master=""
cleanup() {
  [ -n "$server_pid" ] && kill "$server_pid" 2>/dev/null
  [ -n "$nginx_master" ] && kill "$nginx_master" 2>/dev/null
  wait 2>/dev/null
  rm -rf -- "$work"
}
trap cleanup EXIT

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
load_line() { echo "load: $(uptime | sed 's/.*load average: //')"; }

# --- the fleet server, with one registered device ---------------------------------------------
# The generator presents one device certificate on every connection, standing in for a fleet, so
# that device's check-in budget (docs/fleet-server.md, "Limits") is lifted.
bash "$here/../tests/fleet/make_test_pki.sh" pki plc-x1 SN-1 >/dev/null
"$IRONSEAL" key generate --out fw.pem --public-out fw.pub >/dev/null
head -c 5000 /dev/urandom >fw.bin
"$IRONSEAL" image sign --key fw.pem --version 2.0.0 --security-counter 2 fw.bin v2.img >/dev/null
apps=$build/apps
# shellcheck source=scripts/fleet_lib.sh
source "$here/../scripts/fleet_lib.sh"
fleet_test_repository plc-x1 v2.img
fleet_test_server ops operator ', "repository": "repo", "threads": 1,
 "limits": {"max_connections": 10000, "request_timeout_ms": 600000,
            "device_checkins_per_minute": 1000000000, "device_checkin_burst": 1000000000}'
"$IRONSEAL" fleet devices register --serial SN-1 --hardware-id plc-x1 >/dev/null

# A check-in body as the agent sends it (device status), and the server's answer to it.
cat >checkin.json <<'EOT'
{"version":"1.0.0+0","status":{"lifecycle":"secured","otp_counter":1,"confirmed_slot":"A","pending_slot":"-","attempts_left":0,"last_event":"confirmed","slots":[{"slot":"A","version":"1.0.0+0","security_counter":1,"verifies":true},{"slot":"B","version":"-","verifies":false}]},"agent":{"phase":"idle","target":""}}
EOT
curl_dev=(curl -sS --fail --cacert pki/trust-root.pem --cert pki/dev-SN-1.chain.pem --key pki/dev-SN-1.key)
"${curl_dev[@]}" -H 'Content-Type: application/json' --data-binary @checkin.json \
  "https://127.0.0.1:$dport/api/v1/device/checkin" >answer.json
"${curl_dev[@]}" "https://127.0.0.1:$dport/image/metadata/timestamp.json" >timestamp.json

# --- nginx, one worker, serving those bytes as static files -------------------------------------
mkdir -p www/api/v1/device www/image/metadata logs
cp answer.json www/api/v1/device/checkin
cp timestamp.json www/image/metadata/timestamp.json
cat pki/test-device-ca.pem pki/test-root.pem >nginx-client-ca.pem
nport=$(free_port)
user_line=""
[ "$(id -u)" = 0 ] && user_line="user root;"
cat >nginx.conf <<EOT
$user_line
worker_processes 1;
error_log $work/logs/error.log;
pid $work/nginx.pid;
events { worker_connections 10000; }
http {
  access_log off;
  keepalive_requests 100000000;
  keepalive_timeout 600s;
  server {
    listen 127.0.0.1:$nport ssl;
    ssl_protocols TLSv1.3;
    ssl_certificate $work/pki/server.pem;
    ssl_certificate_key $work/pki/server.key;
    ssl_client_certificate $work/nginx-client-ca.pem;
    ssl_verify_client on;
    ssl_verify_depth 2;
    ssl_session_tickets off;
    root $work/www;
    default_type application/json;
    # The check-in is a POST: answer it with the static file (nginx refuses POST to static files).
    location / { error_page 405 =200 \$uri; }
  }
}
EOT
/usr/sbin/nginx -p "$work" -c "$work/nginx.conf" -g 'daemon off;' &
nginx_master=$!
for _ in $(seq 50); do [ -s nginx.pid ] && pgrep -P "$nginx_master" >/dev/null && break; sleep 0.1; done
nginx_worker=$(pgrep -P "$nginx_master")
"${curl_dev[@]}" -H 'Content-Type: application/json' --data-binary @checkin.json \
  "https://127.0.0.1:$nport/api/v1/device/checkin" >nginx-answer.json
cmp -s answer.json nginx-answer.json || { echo "nginx does not serve the same bytes" >&2; exit 3; }
echo "check-in body $(wc -c <checkin.json) bytes, answer $(wc -c <answer.json) bytes (both servers)"

load=("$LOAD" --cert pki/dev-SN-1.chain.pem --key pki/dev-SN-1.key --ca pki/trust-root.pem
      --duration "$secs" --warmup 1)
field() { python3 -c "import json,sys; print(json.loads(sys.argv[1])[sys.argv[2]])" "$1" "$2"; }
ratio() { python3 -c "import sys; a,b=float(sys.argv[1]),float(sys.argv[2]); print(f'{a/b:.2f}' if b else 'n/a')" "$1" "$2"; }

echo "== (a) check-ins over mTLS with keep-alive, $kconn connections, ${secs} s"
load_line
# PERF_OUT=FILE [PERF_STAGE=a|a2|b]: also record a CPU profile of the fleet server during that
# stage (perf record --call-graph dwarf).
profile() {
  if [ -n "${PERF_OUT:-}" ] && [ "${PERF_STAGE:-a}" = "$1" ]; then
    perf record -q --call-graph dwarf -F 499 -p "$server_pid" -o "$PERF_OUT" -- sleep "$secs" 2>/dev/null &
  fi
}
profile a
a_srv=$("${load[@]}" --label ironseal-server --connect "127.0.0.1:$dport" --connections "$kconn" \
  --method POST --path /api/v1/device/checkin --body-file checkin.json --server-pid "$server_pid")
echo "$a_srv"
load_line
a_ngx=$("${load[@]}" --label nginx --connect "127.0.0.1:$nport" --connections "$kconn" \
  --method POST --path /api/v1/device/checkin --body-file checkin.json --server-pid "$nginx_worker")
echo "$a_ngx"

echo "== (a2) for comparison: GET of a repository file (timestamp.json) with keep-alive: the"
echo "   transport, authentication and registered-device check without the check-in's store work"
load_line
profile a2
a2_srv=$("${load[@]}" --label ironseal-server --connect "127.0.0.1:$dport" --connections "$kconn" \
  --path /image/metadata/timestamp.json --server-pid "$server_pid")
echo "$a2_srv"
a2_ngx=$("${load[@]}" --label nginx --connect "127.0.0.1:$nport" --connections "$kconn" \
  --path /image/metadata/timestamp.json --server-pid "$nginx_worker")
echo "$a2_ngx"

echo "== (b) new mutual-TLS handshakes (+ one GET of timestamp.json each), $hconn at once, ${secs} s"
load_line
profile b
b_srv=$("${load[@]}" --label ironseal-server --connect "127.0.0.1:$dport" --connections "$hconn" \
  --mode handshake --path /image/metadata/timestamp.json --server-pid "$server_pid")
echo "$b_srv"
load_line
b_ngx=$("${load[@]}" --label nginx --connect "127.0.0.1:$nport" --connections "$hconn" \
  --mode handshake --path /image/metadata/timestamp.json --server-pid "$nginx_worker")
echo "$b_ngx"
load_line

echo "== ratios (ironseal-server / nginx)"
echo "check-ins/s:                 $(ratio "$(field "$a_srv" per_second)" "$(field "$a_ngx" per_second)")  (goal >= 0.5)"
echo "check-ins per server CPU-s:  $(ratio "$(field "$a_srv" per_server_cpu_second)" "$(field "$a_ngx" per_server_cpu_second)")"
echo "file GETs per server CPU-s:  $(ratio "$(field "$a2_srv" per_server_cpu_second)" "$(field "$a2_ngx" per_server_cpu_second)")"
echo "handshakes/s:                $(ratio "$(field "$b_srv" per_second)" "$(field "$b_ngx" per_second)")"
echo "handshakes per server CPU-s: $(ratio "$(field "$b_srv" per_server_cpu_second)" "$(field "$b_ngx" per_server_cpu_second)")  (goal >= 0.8)"
