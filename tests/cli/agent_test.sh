#!/usr/bin/env bash
# ironseal-agent against a real ironseal-server over mutual TLS, end to end: nothing assigned,
# a rollout installed and confirmed with every step reported, a kill in the middle of the trial
# carried on by the next start, a failing release reverted by the bootloader and not retried,
# and a revoked device certificate refused by the server.
# Usage: agent_test.sh APPS_DIR
set -uo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
apps=$(realpath "$1")
work=$(mktemp -d)
cd "$work" || exit 3
# shellcheck source=tests/cli/lib.sh
source "$here/lib.sh"
# shellcheck source=scripts/fleet_lib.sh
source "$here/../../scripts/fleet_lib.sh"
hw=plc-x1
trap '[ -n "${server_pid:-}" ] && kill "$server_pid" 2>/dev/null; rm -rf -- "$work"' EXIT

fleet_pki || exit 3
fleet_sign --version 1.0.0 --security-counter 1 "$apps/plc-runtime" v1.img
fleet_sign --version 2.0.0 --security-counter 2 "$apps/plc-runtime" v2.img
fleet_sign --version 3.0.0 --security-counter 3 "$apps/plc-runtime-failing" v3.img
fleet_publish v1.img v2.img v3.img
fleet_device SN-1 v1.img || exit 3
fleet_device SN-2 v1.img || exit 3
fleet_server || exit 3
IRONSEAL=$apps/ironseal
for sn in SN-1 SN-2; do
  "$IRONSEAL" fleet devices register --serial "$sn" --hardware-id $hw --group "g-$sn" >/dev/null
done
"$IRONSEAL" fleet releases create --name r2 --target v2.img >/dev/null
"$IRONSEAL" fleet releases create --name r3 --target v3.img >/dev/null
agent() { "$apps/ironseal-agent" "dev/$1" --server "https://localhost:$dport" --once --json "${@:2}"; }
reports() {  # the steps the server stored for a device, oldest first
  curl -s --cacert ca/root-ca.cert.pem -H "Authorization: Bearer $IRONSEAL_FLEET_TOKEN" \
    "https://localhost:$oport/api/v1/devices/$1" |
    python3 -c 'import json,sys; print(" ".join(r["step"] for r in reversed(json.load(sys.stdin)["reports"])))'
}

expect 0 "nothing assigned yet" -- agent SN-1
contains out.txt '"outcome":"idle"' "the agent checks in and finds nothing to do"
expect 0 "the check-in reached the server" -- "$IRONSEAL" fleet devices --json
contains out.txt '"version": "1.0.0+0"' "the server knows the device runs v1"

"$IRONSEAL" fleet rollout create --release r2 --group g-SN-1 --phases 100% >/dev/null
expect 0 "v2 assigned: installed, trial, confirmed" -- agent SN-1
contains out.txt '"outcome":"confirmed"' "confirmed by the firmware's health check"
contains out.txt '"target":"v2.img"' "the rollout's target"
steps=$(reports SN-1)
[[ $steps == *"downloading installed rebooting confirmed"* ]]; ok $? "every step reported, in order ($steps)"
# The device's trail: every decision recorded on the device, its head witnessed by the server.
expect 0 "the device's trail holds the agent's decisions" -- "$IRONSEAL" audit show dev/SN-1/audit --event agent. --json
contains out.txt '"event": "agent.installed"' "install recorded on the device"
contains out.txt '"event": "agent.confirmed"' "confirmation recorded on the device"
agent SN-1 >/dev/null  # one more check-in carries the head as it is now
device_seq=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["last_seq"])' <("$IRONSEAL" audit verify dev/SN-1/audit --json))
server_seq=$(curl -s --cacert ca/root-ca.cert.pem -H "Authorization: Bearer $IRONSEAL_FLEET_TOKEN" \
  "https://localhost:$oport/api/v1/devices/SN-1" | python3 -c 'import json,sys; d = json.load(sys.stdin)
print(d.get("device", d)["state"]["audit"]["last_seq"])')
[ -n "$server_seq" ] && [ "$server_seq" -ge 1 ] && [ "$server_seq" -le "$device_seq" ]; ok $? "the server holds the device trail's head (seq $server_seq of $device_seq)"
expect 0 "device status" -- "$IRONSEAL" device status dev/SN-1 --json
contains out.txt '"last_event": "confirmed"' "the device itself says confirmed"
expect 0 "again: nothing to do" -- agent SN-1
contains out.txt '"outcome":"up_to_date"' "up to date"

# Killed in the middle of the trial: the 'ironseal' the agent power-cycles with kills the agent
# (SIGKILL) instead of booting. The next start carries the trial on from agent.json + boot state.
"$IRONSEAL" fleet rollout create --release r2 --group g-SN-2 --phases 100% >/dev/null
cat >killer.sh <<'EOF'
#!/bin/sh
kill -9 "$PPID"
EOF
chmod +x killer.sh
expect 137 "agent killed during its first reboot" -- agent SN-2 --ironseal "$work/killer.sh"
contains dev/SN-2/agent.json '"phase": "trial"' "the agent had recorded that it was following a trial"
expect 0 "restarted: carries the trial on" -- agent SN-2
contains out.txt '"outcome":"confirmed"' "the interrupted trial ends confirmed"

# A release whose firmware fails its health check: the bootloader reverts, the agent reports why
# and does not install it again by itself.
"$IRONSEAL" fleet rollout create --release r3 --group g-SN-1 --phases 100% --max-failure-rate 0 >/dev/null
expect 0 "v3: trial fails, bootloader reverts" -- agent SN-1
contains out.txt '"outcome":"reverted"' "reverted"
contains out.txt "never confirmed its trial" "with the reason"
expect 0 "device status after the revert" -- "$IRONSEAL" device status dev/SN-1 --json
contains out.txt '"last_event": "reverted_unconfirmed"' "the bootloader recorded the revert"
contains out.txt '"otp_counter": 2' "v3's counter was never fused (only confirmed images raise it)"
[[ $(reports SN-1) == *"rebooting reverted"* ]]; ok $? "the revert reported"
expect 0 "next cycle" -- agent SN-1
grep -qE '"outcome":"(held|up_to_date)"' out.txt; ok $? "the reverted release is not installed again ($(cat out.txt))"
expect 0 "rollout status" -- "$IRONSEAL" fleet rollout status 3 --json
contains out.txt '"state": "paused"' "the failure paused the rollout by itself"

# Renewal (EST simplereenroll, issued by the server's CA): same key, a new certificate, and the
# device carries on with it.
old_cert=$(openssl x509 -in dev/SN-1/identity/device.cert.pem -noout -serial)
cp dev/SN-1/identity/device.cert.pem old-SN-1.cert.pem
expect 0 "renew the certificate" -- agent SN-1 --renew
contains out.txt '"renewed_certificate"' "the cycle renewed the certificate"
new_cert=$(openssl x509 -in dev/SN-1/identity/device.cert.pem -noout -serial)
[ "$old_cert" != "$new_cert" ]; ok $? "a new certificate is installed ($old_cert -> $new_cert)"
openssl verify -CAfile dev/SN-1/identity/anchors.pem -untrusted dev/SN-1/identity/chain.pem \
  dev/SN-1/identity/device.cert.pem >/dev/null 2>&1; ok $? "it chains to the factory root"
expect 0 "the next cycle uses it" -- agent SN-1
[[ $(reports SN-1) == *"renewed"* ]]; ok $? "the renewal was reported"
# The renewal kept the key and superseded the old certificate: one current certificate per device.
"$IRONSEAL" ca list ca | grep -i "^$(echo "${old_cert#serial=}" | tr 'A-F' 'a-f' | sed 's/^\(00\)*//') " >old.txt
contains old.txt "revoked(superseded)" "the renewal revoked the old certificate as superseded"
sleep 1.5  # the server re-reads the CRL every trust_poll_ms (200 ms)
old_meta=$(curl -s -o /dev/null -w '%{http_code}' --cacert ca/root-ca.cert.pem \
  --cert old-SN-1.cert.pem --key dev/SN-1/identity/device.key.pem \
  "https://localhost:$dport/director/devices/SN-1/metadata/timestamp.json")
[ "$old_meta" != 200 ]; ok $? "the superseded certificate no longer reads director metadata ($old_meta)"

# A certificate signed with the device CA's key outside the CA (as with a stolen issuing key): it
# chains, names a registered device and passes the handshake, but the CA's index (est_ca) does not
# hold it, so the server refuses every request made with it.
cp -a dev/SN-1 dev/SN-1-minted
printf 'basicConstraints=critical,CA:FALSE\nkeyUsage=critical,digitalSignature\nextendedKeyUsage=clientAuth\n' >minted.cnf
subject=$(openssl x509 -in dev/SN-1/identity/device.cert.pem -noout -subject -nameopt compat | sed 's/^subject=//')
openssl x509 -req -in dev/SN-1-minted/identity/device.csr.pem -CA ca/device-ca/cert.pem \
  -CAkey ca/device-ca/key.pem -set_serial 0x5eed0001 -days 30 -copy_extensions copyall \
  -extfile minted.cnf -subj "$subject" -out dev/SN-1-minted/identity/device.cert.pem 2>/dev/null
openssl verify -purpose sslclient -CAfile ca/root-ca.cert.pem -untrusted ca/device-ca/cert.pem \
  dev/SN-1-minted/identity/device.cert.pem >/dev/null 2>&1; ok $? "the minted certificate chains"
expect 1 "a certificate the CA never issued is refused" -- agent SN-1-minted
contains err.txt "not_issued" "refused because the CA did not issue it"
sqlite3 fleet.db "SELECT detail FROM events WHERE action='device.access' AND outcome='refused'" >refusals.txt
contains refusals.txt "not_issued" "the refusal is in the audit trail"
expect 0 "the device's own certificate still works" -- agent SN-1

# Revoked for keyCompromise: SN-2 renews with its key, then the operator revokes the certificate
# it knows, the first one. Every certificate of that key is revoked and listed on the CRL; the
# server reloads it and refuses the device (with its current certificate) in the handshake.
cert_serial=$(openssl x509 -in dev/SN-2/identity/device.cert.pem -noout -serial | cut -d= -f2)
expect 0 "SN-2 renews with the same key" -- agent SN-2 --renew
contains out.txt '"renewed_certificate"' "SN-2 renewed"
current_serial=$(openssl x509 -in dev/SN-2/identity/device.cert.pem -noout -serial | cut -d= -f2)
expect 0 "revoke the old certificate for keyCompromise" -- "$IRONSEAL" ca revoke ca --serial "$cert_serial" --reason keyCompromise --json
current_lc=$(echo "$current_serial" | tr 'A-F' 'a-f' | sed 's/^\(00\)*//')
python3 -c 'import json,sys; j=json.load(open("out.txt")); sys.exit(0 if [e["serial"] for e in j["also_revoked"]] == [sys.argv[1]] and j["also_revoked"][0]["revocation_reason"] == "keyCompromise" else 1)' "$current_lc"
ok $? "the revocation reached the renewed certificate of the same key ($current_lc)"
sleep 1.5  # the server re-reads changed CRL files every trust_poll_ms (200 ms)
expect 1 "a device whose key was revoked is refused" -- agent SN-2
contains err.txt "refused this device's certificate" "refused for its certificate"
contains err.txt "revoked" "because it is revoked"
expect 0 "another device is still served" -- agent SN-1

finish
