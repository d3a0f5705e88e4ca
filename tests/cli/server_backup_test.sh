#!/usr/bin/env bash
# The fleet server's backup and restore (docs/backup.md): backed up while it serves and while an
# operator keeps registering devices (online snapshots), restored onto a fresh directory after
# its signer verified, the restored server starts and knows what was registered before the backup
# (and not what came after: the RPO). Refusals with their reasons.
# Usage: server_backup_test.sh APPS_DIR
set -uo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
apps=$(cd "$1" && pwd)
work=$(mktemp -d)
server_pid=""
cleanup() {
  [ -n "$server_pid" ] && kill "$server_pid" 2>/dev/null
  wait 2>/dev/null
  rm -rf -- "$work"
}
trap cleanup EXIT
cd "$work" || exit 3
# shellcheck source=tests/cli/lib.sh
source "$here/lib.sh"
# shellcheck source=scripts/fleet_lib.sh
source "$here/../../scripts/fleet_lib.sh"
hw=plc-x1
IRONSEAL=$apps/ironseal
SERVER=$apps/ironseal-server

fleet_pki
fleet_server
for s in 1 2 3; do "$IRONSEAL" fleet devices register --serial "SN-$s" --hardware-id plc-x1 --group line-1 >/dev/null; done
"$IRONSEAL" backup keygen --out op.key --public-out op.pub >/dev/null
# A replaced unit: SN-3 was restored onto SN-4 (docs/backup.md); the fleet keeps the link.
"$IRONSEAL" fleet devices register --serial SN-4 --hardware-id plc-x1 --group line-1 >/dev/null
expect 0 "fleet devices replace" -- "$IRONSEAL" fleet devices replace SN-3 --by SN-4 --archive-sha256 "$(printf 'x' | sha256sum | cut -c1-64)"
contains out.txt "SN-3 replaced by SN-4" "the link is recorded"
expect 2 "a device is replaced once" -- "$IRONSEAL" fleet devices replace SN-3 --by SN-2
contains err.txt "replaced already" "the second replacement is refused"

# Online: the server keeps serving and an operator keeps writing while the backup runs.
( for s in $(seq 100 120); do "$IRONSEAL" fleet devices register --serial "SN-$s" --hardware-id plc-x1 --group line-2 >/dev/null 2>&1; done ) &
writer=$!
expect 0 "ironseal-server backup while serving" -- "$SERVER" backup --config fleet.json --to op.pub --out srv.isb
contains out.txt "2 SQLite databases, online snapshots" "the store and the CA index are snapshots"
wait "$writer"
expect 0 "the server still serves after the backup" -- "$IRONSEAL" fleet devices --json
contains out.txt '"SN-120"' "writes during the backup went through"
[ "$(stat -c %a srv.isb)" = 600 ]; ok $? "the archive is 0600"
expect 0 "the archive verifies as a server's" -- "$IRONSEAL" backup verify srv.isb --ca ca --key op.key --json
contains out.txt '"kind": "server"' "server kind"
contains out.txt '"path": "fleet.db"' "the store is in it"
contains out.txt '"path": "server.key"' "the server's keys are in it (encrypted)"
! grep -q '"path": "ca/offline/' out.txt; ok $? "the CA's offline root key is never in an online backup"
! grep -qa "BEGIN PRIVATE KEY" srv.isb; ok $? "no key in the clear"
"$IRONSEAL" fleet devices register --serial SN-AFTER --hardware-id plc-x1 --group line-1 >/dev/null
kill "$server_pid"; wait "$server_pid" 2>/dev/null; server_pid=""

# Refusals.
mkdir busy && touch busy/x
expect 2 "restore into a directory that holds something" -- "$SERVER" restore srv.isb --key op.key --ca ca --into busy
contains err.txt "not_empty" "not_empty reason"
cp srv.isb bad.isb && flip_byte bad.isb $(( $(stat -c %s srv.isb) / 2 ))
expect 1 "a tampered server archive" -- "$SERVER" restore bad.isb --key op.key --ca ca --into r1
contains err.txt "bad_signature" "tampered reason"
[ ! -e r1 ] || [ -z "$(ls -A r1)" ]; ok $? "nothing restored from a tampered archive"
"$IRONSEAL" backup keygen --out other.key --public-out other.pub >/dev/null
expect 2 "a key it was not encrypted to" -- "$SERVER" restore srv.isb --key other.key --ca ca --into r2
contains err.txt "not_a_recipient" "not a recipient"
"$IRONSEAL" ca init other-ca --server-domain localhost >/dev/null
expect 1 "a signer from another PKI" -- "$SERVER" restore srv.isb --key op.key --ca other-ca --into r3
contains err.txt "untrusted_chain" "foreign CA reason"

# Restore onto a fresh directory and start it: the fleet is back, as of the backup.
t0=$(date +%s.%N)
expect 0 "ironseal-server restore" -- "$SERVER" restore srv.isb --key op.key --ca ca --into fresh
[ "$(stat -c %a fresh/server.key)" = 600 ] && [ "$(stat -c %a fresh)" = 700 ]; ok $? "restored keys 0600 in a 0700 directory"
coproc RESTORED { exec "$SERVER" run --config fresh/fleet.json 2>restored.log; }
server_pid=$RESTORED_PID
read -r line <&"${RESTORED[0]}"
t1=$(date +%s.%N)
oport=$(sed -n 's/.*operator_port=\([0-9]*\).*/\1/p' <<<"$line")
[ -n "$oport" ]; ok $? "the restored server starts (restore to listening: $(echo "$t1 - $t0" | bc) s)"
export IRONSEAL_FLEET_URL="https://localhost:$oport"
expect 0 "the operator's token still works (the restored store holds the sessions)" -- "$IRONSEAL" fleet devices --json
contains out.txt '"SN-3"' "devices registered before the backup are back"
! grep -q '"SN-AFTER"' out.txt; ok $? "what came after the backup is not (RPO: the last backup)"
curl -s --cacert ca/root-ca.cert.pem -H "Authorization: Bearer $IRONSEAL_FLEET_TOKEN" \
  "$IRONSEAL_FLEET_URL/api/v1/devices/SN-3" >sn3.json
contains sn3.json '"replaced_by"' "the replacement link came back with the store"
finish
