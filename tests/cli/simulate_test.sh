#!/usr/bin/env bash
# `ironseal fleet simulate` against a real ironseal-server: a handful of simulated devices (own
# keys, certificates, device directories) are created and registered, a release rolls out to
# all of them and every one confirms it through the real agent and boot core; then a release
# whose firmware fails its health check reverts on the canary and the rollout pauses itself,
# while the devices keep the good version. Plus the refusals of the command itself.
# Usage: simulate_test.sh IRONSEAL IRONSEAL_SERVER
set -uo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
IRONSEAL=$1
SERVER=$2
work=$(mktemp -d)
cd "$work" || exit 3
# shellcheck source=tests/cli/lib.sh
source "$here/lib.sh"
trap '[ -n "${server_pid:-}" ] && kill "$server_pid" 2>/dev/null; rm -rf -- "$work"' EXIT

bash "$here/../fleet/make_test_pki.sh" pki plc-x1 >/dev/null || exit 3
"$IRONSEAL" key generate --out fw.pem --public-out fw.pub >/dev/null || exit 3
sign() { "$IRONSEAL" image sign --key fw.pem "$@" >/dev/null || exit 3; }
printf 'stage-2\n' >s2.bin
head -c 6000 /dev/urandom >fw.bin
sign --version 0.1.0 --security-counter 0 s2.bin s2.img
sign --version 1.0.0 --security-counter 1 fw.bin v1.img
sign --version 2.0.0 --security-counter 2 fw.bin v2.img
sign --version 3.0.0 --security-counter 3 fw.bin v3.img
"$IRONSEAL" repo init repo/image >/dev/null
for v in v2 v3; do "$IRONSEAL" repo add-target repo/image $v.img --hardware-id plc-x1 --chunk-size 4096 >/dev/null; done
"$IRONSEAL" repo publish repo/image >/dev/null
"$IRONSEAL" director init repo/director >/dev/null
cat >config.json <<EOT
{"device_port": 0, "operator_port": 0,
 "tls": {"certificate_chain": "pki/server.pem", "private_key": "pki/server.key"},
 "device_ca": "pki/test-device-ca.pem", "crl": "pki/device-ca.crl", "repository": "repo",
 "poll_interval_s": 1,
 "security_txt": {"contact": "mailto:psirt@example.com", "expires": "$(date -u -d "+180 days" +%Y-%m-%dT%H:%M:%SZ)"}}
EOT
echo "operator-password-1" | "$SERVER" account add --config config.json --name ops --role operator >/dev/null
coproc SRV { exec "$SERVER" run --config config.json 2>server.log; }
server_pid=$SRV_PID
read -r line <&"${SRV[0]}"
dport=$(sed -n 's/.*device_port=\([0-9]*\).*/\1/p' <<<"$line")
oport=$(sed -n 's/.*operator_port=\([0-9]*\).*/\1/p' <<<"$line")
export IRONSEAL_FLEET_URL="https://127.0.0.1:$oport" IRONSEAL_FLEET_CACERT="$work/pki/trust-root.pem"
IRONSEAL_FLEET_TOKEN=$(echo operator-password-1 | "$IRONSEAL" fleet login --name ops); export IRONSEAL_FLEET_TOKEN

N=4
inputs=(--hardware-id plc-x1 --root-key fw.pub --stage2 s2.img
       --firmware v1.img --image-root repo/image/metadata/1.root.json
       --director-root repo/director/metadata/1.root.json --device-ca pki/test-device-ca.pem
       --device-ca-key pki/test-device-ca.key --anchors pki/trust-root.pem)
setup=(--devices $N --dir sim "${inputs[@]}")
run=(--devices $N --dir sim --server "https://127.0.0.1:$dport" --interval 0.3 --parallel 4 --timeout 60)

expect 2 "no stop condition is a usage error" -- "$IRONSEAL" fleet simulate "${run[@]}"
contains err.txt "--until-target" "and says how to stop"
expect 2 "missing set-up inputs are named" -- "$IRONSEAL" fleet simulate --devices 2 --dir sim --setup-only
contains err.txt "--stage2 is required" "the first missing input is named"
[ ! -e sim/SIM-00001 ]; ok $? "nothing is created when the set-up inputs are missing"
# The TEST CA issues through the CA's device profile (pki::DeviceIssuer): a leaf is no CA.
expect 1 "a device CA that is no CA is refused" -- "$IRONSEAL" fleet simulate --devices 1 --dir sim-bad \
  "${inputs[@]:0:12}" --device-ca pki/dev-SN-REVOKED.pem --device-ca-key pki/dev-SN-REVOKED.key \
  --anchors pki/trust-root.pem --setup-only
contains err.txt "issuer_not_ca" "and says why"
[ ! -e sim-bad/SIM-00001 ]; ok $? "no device is made with it"

expect 0 "set-up: $N devices created and registered" -- "$IRONSEAL" fleet simulate "${setup[@]}" \
  --group sim --register --setup-only --json
contains out.txt "\"created\": $N" "all devices created"
contains out.txt "\"registered\": $N" "all devices registered"
for i in 1 2 3 4; do
  d=sim/SIM-0000$i
  [ -f $d/device.json ] && [ -f $d/flash.img ] && [ -f $d/tuf/director/root.json ]; ok $? "$d is a device set up for updates"
  [ "$(stat -c %a $d/identity/device.key.pem)" = 600 ]; ok $? "$d's private key is 0600"
  openssl x509 -in $d/identity/device.cert.pem -noout -ext subjectAltName 2>/dev/null \
    | grep -q "urn:ironseal:device:plc-x1:SIM-0000$i"; ok $? "$d's certificate names its own serial"
done
k1=$(openssl pkey -in sim/SIM-00001/identity/device.key.pem -pubout 2>/dev/null)
k2=$(openssl pkey -in sim/SIM-00002/identity/device.key.pem -pubout 2>/dev/null)
[ -n "$k1" ] && [ "$k1" != "$k2" ]; ok $? "each device has its own key"
expect 0 "set-up again: nothing to create, nothing new registered" -- "$IRONSEAL" fleet simulate \
  "${setup[@]}" --group sim --register --setup-only --json
contains out.txt '"created": 0' "existing devices are kept"
contains out.txt '"registered": 0' "registering again is idempotent"
mkdir sim/SIM-00005 && echo "not a device" >sim/SIM-00005/notes.txt
expect 2 "a directory that holds no device is not overwritten" -- "$IRONSEAL" fleet simulate \
  --devices 5 --dir sim "${inputs[@]}" --setup-only
contains err.txt "refusing to touch it" "and says so"
[ -f sim/SIM-00005/notes.txt ] && [ ! -e sim/SIM-00005/device.json ]; ok $? "its contents are left alone"
rm -rf sim/SIM-00005
expect 0 "devices listed by the server" -- "$IRONSEAL" fleet devices --group sim
contains out.txt "SIM-00004" "the server knows the simulated devices"

"$IRONSEAL" fleet releases create --name r2 --target v2.img >/dev/null
expect 0 "rollout of v2" -- "$IRONSEAL" fleet rollout create --release r2 --group sim --phases 1,100% --json
r2=$(python3 -c 'import json; print(json.load(open("out.txt"))["id"])')
expect 0 "all devices confirm v2" -- "$IRONSEAL" fleet simulate "${run[@]}" --until-target v2.img
contains out.txt "$N/$N device(s) reached v2.img (confirmed)" "every device confirmed v2"
expect 0 "rollout status" -- "$IRONSEAL" fleet rollout status "$r2" --json
contains out.txt '"state": "completed"' "the rollout completed"
"$IRONSEAL" fleet devices --group sim --json >devs.json
python3 -c '
import json,sys
d = json.load(open("devs.json"))["devices"]
sys.exit(0 if len(d) == 4 and all(x["assigned_target"] == "v2.img" and x["last_event"] == "confirmed" for x in d) else 1)'
ok $? "the server got a confirmed report from every device (its stored version follows at the next check-in)"
for i in 1 2 3 4; do
  "$IRONSEAL" device status sim/SIM-0000$i --json >st.json 2>/dev/null
  python3 -c 'import json; s=json.load(open("st.json")); exit(0 if s["confirmed_slot"]=="B" and s["last_event"]=="confirmed" else 1)'
  ok $? "SIM-0000$i boots v2 from slot B, confirmed by the in-process firmware"
done

# v3 fails its health check: the canary's bootloader reverts, the rollout pauses itself.
"$IRONSEAL" fleet releases create --name r3 --target v3.img >/dev/null
expect 0 "rollout of v3" -- "$IRONSEAL" fleet rollout create --release r3 --group sim --phases 1,100% --max-failure-rate 0.2 --json
r3=$(python3 -c 'import json; print(json.load(open("out.txt"))["id"])')
expect 0 "three cycles each with v3 unhealthy" -- "$IRONSEAL" fleet simulate "${run[@]}" --cycles 3 --unhealthy-version 3.0.0
contains out.txt "last outcome up_to_date v2.img: $N" "all stay on v2: the others were not reached, the canary went back"
expect 0 "rollout status" -- "$IRONSEAL" fleet rollout status "$r3" --json
contains out.txt '"state": "paused"' "the rollout paused itself"
contains out.txt "paused by itself" "and says it did"
contains out.txt "reverted" "the canary's outcome is the revert"
canary=$(python3 -c 'import json; r=json.load(open("out.txt")); print([d["serial"] for d in r["devices"] if d["state"]=="failed"][0])')
"$IRONSEAL" device status "sim/$canary" --json >st.json
python3 -c 'import json; s=json.load(open("st.json")); exit(0 if s["confirmed_slot"]=="B" and s["last_event"].startswith("reverted") else 1)'
ok $? "the canary ($canary) is back on v2 after the bootloader's revert"

expect 3 "an unreachable goal times out with exit 3" -- "$IRONSEAL" fleet simulate --devices $N --dir sim --server "https://127.0.0.1:$dport" --interval 0.3 --until-target v9.img --timeout 2
contains err.txt "did not reach the goal" "the timeout says what was not reached"

# A device the server does not know: its certificate is good, its serial is not registered.
expect 0 "an unregistered device" -- "$IRONSEAL" fleet simulate --devices 1 --dir sim "${inputs[@]}" \
  --serial-prefix ROGUE- --setup-only
expect 3 "an unregistered device is refused" -- "$IRONSEAL" fleet simulate --devices 1 --dir sim \
  --serial-prefix ROGUE- --server "https://127.0.0.1:$dport" --cycles 1 --timeout 3
contains out.txt "not_registered" "refused as not registered"
finish
