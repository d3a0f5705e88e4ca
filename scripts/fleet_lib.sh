# Builds a fleet on loopback for the demo, the end-to-end tests and the fleet benchmarks (source
# it; set -e friendly). Needs: apps (directory of the ironseal programs). Works in the current
# directory: ca/ (PKI), server.{key,pem}, release.{pem,pub}, repo/{image,director}, dev/SERIAL,
# factory.sqlite, fleet.json, fleet.db, server.log; the benchmarks' server (fleet_test_server)
# uses the test PKI in pki/ and config.json instead.

# fleet_pki: the CA (offline root, device and server issuing CAs), the fleet server's key and
# certificate (server profile: DNS names in the CA's domain, here "localhost"), a release key.
fleet_pki() {
  "$apps/ironseal" ca init ca --org "PLC Example" --server-domain localhost >/dev/null
  openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -subj /CN=localhost \
    -addext subjectAltName=DNS:localhost -keyout server.key -out server.csr 2>/dev/null
  chmod 600 server.key
  "$apps/ironseal" ca issue ca --csr server.csr --profile server --out server.pem >/dev/null
  "$apps/ironseal" key generate --type ed25519 --out release.pem --public-out release.pub >/dev/null
  printf 'ironseal stage-2 (host simulation)\n' >stage2.bin
  fleet_sign --version 0.1.0 --security-counter 0 stage2.bin stage2.img
  "$apps/ironseal" repo init repo/image >/dev/null
  "$apps/ironseal" director init repo/director >/dev/null
}

fleet_sign() { "$apps/ironseal" image sign --key release.pem "$@" >/dev/null; }

# fleet_publish NAME.img...: adds signed images to the image repository for hardware $hw.
fleet_publish() {
  for img in "$@"; do "$apps/ironseal" repo add-target repo/image "$img" --hardware-id "$hw" >/dev/null; done
  "$apps/ironseal" repo publish repo/image >/dev/null
}

# fleet_device SERIAL FIRMWARE.img [--tpm]: the factory flow for one device: fuses and firmware,
# its own key (generated on the device; with --tpm inside the TPM named by TPM2OPENSSL_TCTI) and
# CSR, enrolment by the factory CA, the pre-shipping check.
# 16 MiB slots: the ASan build's demo firmware is about 7 MiB.
fleet_device() {
  "$apps/ironseal" device init "dev/$1" --root-key release.pub --stage2 stage2.img \
    --firmware "$2" --serial "$1" --hardware-id "$hw" --attempts 2 --slot-size 0x1000000 \
    --image-root repo/image/metadata/1.root.json \
    --director-root repo/director/metadata/1.root.json >/dev/null
  "$apps/ironseal" provision key "dev/$1" "${@:3}" >/dev/null
  "$apps/ironseal" factory enroll "dev/$1" --ca ca --record factory.sqlite >/dev/null
  "$apps/ironseal" factory check "dev/$1" --ca ca --record factory.sqlite >/dev/null
}

# fleet_server: configuration, an operator account, the server on free loopback ports. Sets
# server_pid, dport (devices), oport (operators) and exports the operator CLI's environment
# (IRONSEAL_FLEET_URL, _CACERT, _TOKEN).
fleet_server() {
  cat >fleet.json <<EOT
{"listen": "127.0.0.1", "device_port": 0, "operator_port": 0,
 "tls": {"certificate_chain": "server.pem", "private_key": "server.key"},
 "device_ca": ["ca/device-ca/cert.pem"], "crl": ["ca/device-ca/crl.pem"],
 "database": "fleet.db", "repository": "repo", "est_ca": "ca", "poll_interval_s": 1, "trust_poll_ms": 200,
 "security_txt": {"contact": ["mailto:psirt@plc.example"], "expires": "$(date -u -d "+180 days" +%Y-%m-%dT%H:%M:%SZ)"}}
EOT
  local password line
  password=$(head -c 18 /dev/urandom | base64)
  "$apps/ironseal-server" account add --config fleet.json --name operator --role operator \
    <<<"$password" >/dev/null
  coproc FLEET_SERVER { exec "$apps/ironseal-server" run --config fleet.json 2>server.log; }
  server_pid=$FLEET_SERVER_PID
  read -r line <&"${FLEET_SERVER[0]}"
  dport=$(sed -n 's/.*device_port=\([0-9]*\).*/\1/p' <<<"$line")
  oport=$(sed -n 's/.*operator_port=\([0-9]*\).*/\1/p' <<<"$line")
  export IRONSEAL_FLEET_URL="https://localhost:$oport"
  export IRONSEAL_FLEET_CACERT="$PWD/ca/root-ca.cert.pem"
  IRONSEAL_FLEET_TOKEN=$("$apps/ironseal" fleet login --name operator <<<"$password")
  export IRONSEAL_FLEET_TOKEN
}

# fleet_test_server NAME ROLE EXTRA_JSON: the fleet server over the test PKI in pki/ (made by
# tests/fleet/make_test_pki.sh), for the benchmarks: one operator account NAME with ROLE (its
# password in NAME.password), `EXTRA_JSON` appended to the configuration's members (say
# `, "threads": 1`), the server on free loopback ports. Uses $SERVER when set (another build of
# the server), else $apps/ironseal-server. Sets server_pid, dport, oport and exports the operator
# CLI's environment (IRONSEAL_FLEET_URL, _CACERT, _TOKEN).
fleet_test_server() {
  local name=$1 role=$2 extra=$3 server=${SERVER:-$apps/ironseal-server} line srv
  cat >config.json <<EOT
{"device_port": 0, "operator_port": 0,
 "tls": {"certificate_chain": "pki/server.pem", "private_key": "pki/server.key"},
 "device_ca": "pki/test-device-ca.pem", "crl": "pki/device-ca.crl",
 "security_txt": {"contact": "mailto:psirt@example.com", "expires": "$(date -u -d "+180 days" +%Y-%m-%dT%H:%M:%SZ)"}$extra}
EOT
  head -c 18 /dev/urandom | base64 >"$name.password"
  "$server" account add --config config.json --name "$name" --role "$role" <"$name.password" >/dev/null
  exec {srv}< <("$server" run --config config.json 2>server.log & echo "pid $!"; wait)
  read -r _ server_pid <&"$srv"
  read -r line <&"$srv"
  dport=$(sed -n 's/.*device_port=\([0-9]*\).*/\1/p' <<<"$line")
  oport=$(sed -n 's/.*operator_port=\([0-9]*\).*/\1/p' <<<"$line")
  export IRONSEAL_FLEET_URL="https://127.0.0.1:$oport" IRONSEAL_FLEET_CACERT="$PWD/pki/trust-root.pem"
  IRONSEAL_FLEET_TOKEN=$("$apps/ironseal" fleet login --name "$name" <"$name.password")
  export IRONSEAL_FLEET_TOKEN
}

# fleet_test_repository HARDWARE_ID IMAGE [repo add-target options...]: an image repository with
# IMAGE published for HARDWARE_ID, and an empty director, under repo/.
fleet_test_repository() {
  local hardware=$1 image=$2
  "$apps/ironseal" repo init repo/image >/dev/null
  "$apps/ironseal" repo add-target repo/image "$image" --hardware-id "$hardware" "${@:3}" >/dev/null
  "$apps/ironseal" repo publish repo/image >/dev/null
  "$apps/ironseal" director init repo/director >/dev/null
}
