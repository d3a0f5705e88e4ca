#!/usr/bin/env bash
# What the TPM costs, against swtpm + tpm2-abrmd started here (tests/support/tpm_env.sh):
#   - a simulated power-on without a TPM, with measured boot, and with the counter in the TPM;
#   - a quote (device attest) and its verification (attest verify, OpenSSL only);
#   - one TLS 1.3 handshake with client authentication, the client key in the TPM (tpm2 provider)
#     vs in a file, both as `openssl s_client` processes against one `openssl s_server`.
# Usage: tpm.sh IRONSEAL [RUNS]. Figures go to docs/benchmarks.md. swtpm is a software TPM: a
# hardware TPM is slower (tens of ms per signature), so these are lower bounds.
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
IRONSEAL=$(realpath "$1")
RUNS=${2:-9}
work=$(mktemp -d)
# shellcheck source=tests/support/tpm_env.sh
source "$here/../tests/support/tpm_env.sh"
server=""
trap '[ -n "$server" ] && kill "$server" 2>/dev/null; tpm_env_stop "$work/tpm"; rm -rf -- "$work"' EXIT
cd "$work"
# shellcheck source=bench/lib.sh
source "$here/lib.sh"
tpm_env_start "$work/tpm"

"$IRONSEAL" key generate --out root.pem --public-out root.pub >/dev/null
head -c 65536 /dev/urandom >fw.bin
printf 'stage-2' >s2.bin
"$IRONSEAL" image sign --key root.pem --version 0.1.0 --security-counter 0 s2.bin s2.img >/dev/null
"$IRONSEAL" image sign --key root.pem --version 1.0.0 --security-counter 1 fw.bin fw.img >/dev/null
init() { "$IRONSEAL" device init "$@" --root-key root.pub --stage2 s2.img --firmware fw.img \
  --slot-size 0x100000 >/dev/null; }
init plain
init measured --tpm
tpm2_clear -c p >/dev/null 2>&1  # one TPM per device: the next init defines the counter afresh
init counted --rollback-counter tpm
printf 'power-on (device boot --no-exec), best of %s:\n' "$RUNS"
printf '  no TPM                       %.1f ms\n' "$(echo "$(best_time "$IRONSEAL" device boot plain --no-exec) * 1000" | bc -l)"
printf '  TPM counter + PCR 16 extend  %.1f ms\n' "$(echo "$(best_time "$IRONSEAL" device boot counted --no-exec) * 1000" | bc -l)"
NONCE=00112233445566778899aabbccddeeff
"$IRONSEAL" device boot counted --no-exec --json >boot.json
"$IRONSEAL" device attest counted --nonce $NONCE --out quote.json >/dev/null
printf 'device attest (quote)          %.1f ms\n' "$(echo "$(best_time "$IRONSEAL" device attest counted --nonce $NONCE) * 1000" | bc -l)"
printf 'attest verify (no TPM)         %.1f ms\n' "$(echo "$(best_time "$IRONSEAL" attest verify quote.json --nonce $NONCE --ak counted/ak.pub.pem --boot-report boot.json) * 1000" | bc -l)"

# TLS: a CA, a server certificate, and one client certificate per key (TPM / file).
openssl req -x509 -new -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout ca.key \
  -subj /CN=bench-ca -days 1 -out ca.pem 2>/dev/null
openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout srv.key -subj /CN=srv \
  2>/dev/null | openssl x509 -req -CA ca.pem -CAkey ca.key -CAcreateserial -days 1 -out srv.pem 2>/dev/null
openssl genpkey -provider tpm2 -provider default -propquery '?provider=tpm2' -algorithm EC \
  -pkeyopt group:P-256 -out tpm.key 2>/dev/null
openssl req -new -provider tpm2 -provider default -propquery '?provider=tpm2' -key tpm.key \
  -subj /CN=tpm-client 2>/dev/null | openssl x509 -req -CA ca.pem -CAkey ca.key -days 1 -out tpm.pem 2>/dev/null
openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout file.key \
  -subj /CN=file-client 2>/dev/null | openssl x509 -req -CA ca.pem -CAkey ca.key -days 1 -out file.pem 2>/dev/null
port=$(_tpm_env_free_port_pair)
openssl s_server -accept "127.0.0.1:$port" -cert srv.pem -key srv.key -CAfile ca.pem \
  -Verify 1 -verify_return_error -tls1_3 -naccept 100000 -quiet >/dev/null 2>&1 &
server=$!
_tpm_env_poll _tpm_env_port_open "$port"
handshake() {
  echo | openssl s_client -connect "127.0.0.1:$port" -CAfile ca.pem -verify_return_error -tls1_3 \
    "$@" -brief 2>&1 | grep -q "Verification: OK"
}
handshake -cert file.pem -key file.key || { echo "file-key handshake failed"; exit 1; }
handshake -cert tpm.pem -key tpm.key -provider tpm2 -provider default -propquery '?provider=tpm2' ||
  { echo "TPM-key handshake failed"; exit 1; }
printf 'TLS 1.3 mutual-auth handshake (openssl s_client process), best of %s:\n' "$RUNS"
printf '  client key in a file         %.1f ms\n' "$(echo "$(best_time handshake -cert file.pem -key file.key) * 1000" | bc -l)"
printf '  client key in the TPM        %.1f ms\n' "$(echo "$(best_time handshake -cert tpm.pem -key tpm.key -provider tpm2 -provider default -propquery '?provider=tpm2') * 1000" | bc -l)"
