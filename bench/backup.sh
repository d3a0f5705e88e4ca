#!/usr/bin/env bash
# Backup size and time: a typical device (enrolled, trusted roots, a few configuration files) and
# a fleet server holding N devices (default 10,000) with their reports and events; the server's
# restore time (RTO: restore, then start to listening), all on this machine.
# The server's store is filled directly (python3's sqlite3) with rows of the shape the server
# writes: N devices, 5 install reports and 2 audit events each. The backup runs while the server
# serves. Reference figures side by side: the raw size of what is backed up (the ratio is the
# archive's overhead), and `tar czf` of the same directory (what an operator would do by hand,
# without encryption, signature or consistent database snapshots).
# Usage: backup.sh BUILD_DIR [DEVICES]
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
build=$(cd "$1" && pwd)
n=${2:-10000}
apps=$build/apps
IRONSEAL=$apps/ironseal
SERVER=$apps/ironseal-server
work=$(mktemp -d)
server_pid=""
cleanup() {
  [ -n "$server_pid" ] && kill "$server_pid" 2>/dev/null
  wait 2>/dev/null
  rm -rf -- "$work"
}
trap cleanup EXIT
cd "$work"
now() { date +%s.%N; }
secs() { echo "$2 - $1" | bc | awk '{printf "%.3f", $1}'; }
# shellcheck source=scripts/fleet_lib.sh
source "$here/../scripts/fleet_lib.sh"
hw=plc-x1

"$IRONSEAL" backup keygen --out op.key --public-out op.pub >/dev/null

echo "== device backup (enrolled device, TUF roots, 3 configuration files)"
fleet_pki
fleet_device SN-1 stage2.img
mkdir -p dev/SN-1/config
printf '{"poll_s": 60, "server": "https://fleet.example:8443"}\n' >dev/SN-1/config/agent.json
head -c 2048 /dev/urandom | base64 >dev/SN-1/config/plc-program.conf
printf 'modbus.port=502\nmodbus.unit=1\n' >dev/SN-1/config/io.conf
raw=$(cat dev/SN-1/identity/{device.cert.pem,chain.pem,anchors.pem} dev/SN-1/tuf/*/*.json dev/SN-1/config/* | wc -c)
t0=$(now); "$IRONSEAL" backup create dev/SN-1 --to op.pub --out dev.isb >/dev/null; t1=$(now)
"$IRONSEAL" backup restore dev/SN-1 dev.isb --key op.key --ca ca >/dev/null; t2=$(now)
size=$(stat -c %s dev.isb)
echo "device: $raw bytes of configuration -> archive $size bytes (x$(echo "scale=2; $size / $raw" | bc)); create $(secs "$t0" "$t1") s, restore $(secs "$t1" "$t2") s (each a whole CLI run)"

echo "== server backup with $n devices"
fleet_server
kill "$server_pid"; wait "$server_pid" 2>/dev/null || true; server_pid=""
python3 - "$n" <<'PY'
import json, sqlite3, sys, time
n = int(sys.argv[1]); now = int(time.time())
db = sqlite3.connect("fleet.db")
db.execute("BEGIN")
for i in range(n):
    s = f"SN-{i:06d}"
    state = json.dumps({"confirmed_slot": "A", "otp_counter": 2, "slots": [{"slot": "A", "version": "2.0.0+0", "check": "ok"}, {"slot": "B", "version": "1.0.0+0", "check": "ok"}]})
    db.execute("INSERT INTO devices VALUES (?,?,?,?,?,?,?,?,?)", (s, "plc-x1", f"line-{i % 20}", now, "2.0.0+0", state, now, "installed", "v2.img"))
    for step in ("downloading", "installed", "trial", "confirmed", "checkin"):
        db.execute("INSERT INTO reports(serial, time, step, target, rollout_id, detail) VALUES (?,?,?,?,?,?)", (s, now, step, "v2.img", 1, json.dumps({"bytes": 24576, "resumed": 0})))
    for action in ("device.register", "device.report"):
        db.execute("INSERT INTO events(time, actor, action, outcome, detail) VALUES (?,?,?,?,?)", (now, "operator:ops", action, "ok", json.dumps({"serial": s})))
db.commit()
PY
db_bytes=$(stat -c %s fleet.db)
fleet_server_start() {
  coproc FLEET_SERVER { exec "$SERVER" run --config "$1" 2>>server.log; }
  server_pid=$FLEET_SERVER_PID
  read -r line <&"${FLEET_SERVER[0]}"
}
ts=$(now); fleet_server_start fleet.json; te=$(now)
echo "original server: first start to listening $(secs "$ts" "$te") s (reconciles the director with the store)"
kill "$server_pid"; wait "$server_pid" 2>/dev/null || true
ts=$(now); fleet_server_start fleet.json; te=$(now)
echo "original server: next start to listening $(secs "$ts" "$te") s"
t0=$(now); "$SERVER" backup --config fleet.json --to op.pub --out fleet.isb >backup.txt; t1=$(now)
kill "$server_pid"; wait "$server_pid" 2>/dev/null || true; server_pid=""
tree=$(du -sb --exclude=dev --exclude='*.isb' --exclude='ca/offline' . | cut -f1)
t2=$(now); tar czf plain.tgz --exclude=dev --exclude='*.isb' --exclude=plain.tgz --exclude=ca/offline . 2>/dev/null || true; t3=$(now)
size=$(stat -c %s fleet.isb)
echo "server: store $db_bytes bytes, directory $tree bytes -> archive $size bytes; backup $(secs "$t0" "$t1") s while serving"
echo "reference: tar czf of the same directory $(stat -c %s plain.tgz) bytes in $(secs "$t2" "$t3") s (ratio archive/tar.gz size x$(echo "scale=2; $size / $(stat -c %s plain.tgz)" | bc), time x$(echo "scale=2; ($t1 - $t0) / ($t3 - $t2)" | bc))"
t4=$(now)
"$SERVER" restore fleet.isb --key op.key --ca ca --into restored >/dev/null
t5=$(now)
fleet_server_start restored/fleet.json
t6=$(now)
echo "RTO: restore $(secs "$t4" "$t5") s + start to listening $(secs "$t5" "$t6") s = $(secs "$t4" "$t6") s"
count=$(python3 -c "import sqlite3; print(sqlite3.connect('restored/fleet.db').execute('select count(*) from devices').fetchone()[0])")
echo "restored store holds $count devices"
