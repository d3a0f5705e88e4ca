#!/usr/bin/env bash
# `ironseal fleet` against a real ironseal-server: login, register, releases, a rollout created,
# paused, resumed, aborted; exit codes for refusals (1 not trusted, 2 usage, 3 environment).
# Usage: fleet_test.sh IRONSEAL IRONSEAL_SERVER
set -uo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
IRONSEAL=$1
SERVER=$2
work=$(mktemp -d)
cd "$work" || exit 3
# shellcheck source=tests/cli/lib.sh
source "$here/lib.sh"
trap '[ -n "${server_pid:-}" ] && kill "$server_pid" 2>/dev/null; rm -rf -- "$work"' EXIT

bash "$here/../fleet/make_test_pki.sh" pki plc-x1 SN-1 SN-2 >/dev/null || exit 3
"$IRONSEAL" key generate --out fw.pem --public-out fw.pub >/dev/null
head -c 5000 /dev/urandom >fw.bin
"$IRONSEAL" image sign --key fw.pem --version 2.0.0 --security-counter 2 fw.bin v2.img >/dev/null
"$IRONSEAL" repo init repo/image >/dev/null
"$IRONSEAL" repo add-target repo/image v2.img --hardware-id plc-x1 >/dev/null
"$IRONSEAL" repo publish repo/image >/dev/null
"$IRONSEAL" director init repo/director >/dev/null
cat >config.json <<EOT
{"device_port": 0, "operator_port": 0,
 "tls": {"certificate_chain": "pki/server.pem", "private_key": "pki/server.key"},
 "device_ca": "pki/test-device-ca.pem", "crl": "pki/device-ca.crl", "repository": "repo",
 "security_txt": {"contact": "mailto:psirt@example.com", "expires": "$(date -u -d "+180 days" +%Y-%m-%dT%H:%M:%SZ)"}}
EOT
echo "operator-password-1" | "$SERVER" account add --config config.json --name ops --role operator >/dev/null
coproc SRV { exec "$SERVER" run --config config.json 2>server.log; }
server_pid=$SRV_PID
read -r line <&"${SRV[0]}"
port=$(sed -n 's/.*operator_port=\([0-9]*\).*/\1/p' <<<"$line")
export IRONSEAL_FLEET_URL="https://127.0.0.1:$port" IRONSEAL_FLEET_CACERT="$work/pki/trust-root.pem"

expect 0 "login" -- bash -c "echo operator-password-1 | '$IRONSEAL' fleet login --name ops"
IRONSEAL_FLEET_TOKEN=$(cat out.txt); export IRONSEAL_FLEET_TOKEN
[[ $IRONSEAL_FLEET_TOKEN == isk_* ]]; ok $? "login prints a bearer token"
expect 1 "wrong password is not trusted" -- bash -c "echo nope-nope-nope | '$IRONSEAL' fleet login --name ops"
contains err.txt "401" "the refusal says why"
expect 0 "register SN-1" -- "$IRONSEAL" fleet devices register --serial SN-1 --hardware-id plc-x1 --group line-1
expect 0 "register SN-2" -- "$IRONSEAL" fleet devices register --serial SN-2 --hardware-id plc-x1 --group line-1
expect 2 "registering twice is a usage error" -- "$IRONSEAL" fleet devices register --serial SN-1 --hardware-id plc-x1
contains err.txt "already registered" "and says so"
expect 0 "devices" -- "$IRONSEAL" fleet devices
contains out.txt "SN-2" "the table lists SN-2"
expect 0 "devices --json" -- "$IRONSEAL" fleet devices --json --group line-1
contains out.txt '"serial": "SN-1"' "JSON for scripts"
expect 0 "release" -- "$IRONSEAL" fleet releases create --name r2 --target v2.img
contains out.txt "version 2.0.0" "the release takes the image's version"
expect 0 "releases" -- "$IRONSEAL" fleet releases
contains out.txt "v2.img" "listed"
expect 2 "bad phases" -- "$IRONSEAL" fleet rollout create --release r2 --group line-1 --phases 1,50%
contains err.txt "100%" "phases must end at 100%"
expect 2 "a negative phase timeout is a usage error" -- "$IRONSEAL" fleet rollout create --release r2 \
  --group line-1 --phase-timeout -5
expect 0 "rollout create" -- "$IRONSEAL" fleet rollout create --release r2 --group line-1 --phases 1,100% \
  --phase-timeout 3600 --json
contains out.txt '"state": "active"' "active"
contains out.txt '"phase_timeout_s": 3600' "the phase timeout reached the server"
id=$(python3 -c 'import json,sys; print(json.load(open("out.txt"))["id"])')
[ -f repo/director/devices/SN-1/metadata/targets.json ]; ok $? "the canary's director metadata is signed"
expect 0 "pause" -- "$IRONSEAL" fleet rollout pause "$id"
contains out.txt "state paused: paused by operator:ops" "paused, by whom"
expect 2 "pause twice" -- "$IRONSEAL" fleet rollout pause "$id"
expect 0 "resume" -- "$IRONSEAL" fleet rollout resume "$id"
expect 0 "status" -- "$IRONSEAL" fleet rollout status "$id"
contains out.txt "SN-1" "status lists the devices"
contains out.txt "assigned" "with their state"
expect 0 "abort" -- "$IRONSEAL" fleet rollout abort "$id"
contains out.txt "state aborted" "aborted"
expect 1 "no token" -- env IRONSEAL_FLEET_TOKEN= "$IRONSEAL" fleet devices
expect 3 "no server" -- env IRONSEAL_FLEET_URL=https://127.0.0.1:1 "$IRONSEAL" fleet devices
expect 2 "no server configured" -- env -u IRONSEAL_FLEET_URL "$IRONSEAL" fleet devices
finish
