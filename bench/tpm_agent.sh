#!/usr/bin/env bash
# What a TPM-held identity key costs the agent: one `ironseal-agent --once` check-in (a new
# process: load the key, a TLS 1.3 mutual-auth handshake with the fleet server, one request) for a
# device whose key is a file and one whose key is in the TPM (swtpm + tpm2-abrmd started here),
# side by side against the same ironseal-server. The TPM key reaches libcurl through
# tpm::default_context_key: only the CertificateVerify signature goes to the TPM.
# Usage: tpm_agent.sh APPS_DIR [RUNS=9]
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
apps=$(realpath "$1")
RUNS=${2:-9}
work=$(mktemp -d)
# shellcheck source=tests/support/tpm_env.sh
source "$here/../tests/support/tpm_env.sh"
trap '[ -n "${server_pid:-}" ] && kill "$server_pid" 2>/dev/null; tpm_env_stop "$work/tpm"; rm -rf -- "$work"' EXIT
cd "$work"
# shellcheck source=bench/lib.sh
source "$here/lib.sh"
# shellcheck source=scripts/fleet_lib.sh
source "$here/../scripts/fleet_lib.sh"
hw=plc-x1
tpm_env_start "$work/tpm"
fleet_pki
fleet_sign --version 1.0.0 --security-counter 1 "$apps/plc-runtime" v1.img
fleet_publish v1.img
fleet_device SN-FILE v1.img
fleet_device SN-TPM v1.img --tpm
fleet_server
for sn in SN-FILE SN-TPM; do "$apps/ironseal" fleet devices register --serial $sn --hardware-id $hw >/dev/null; done
agent() { "$apps/ironseal-agent" "dev/$1" --server "https://localhost:$dport" --once --json; }
agent SN-FILE >/dev/null && agent SN-TPM >/dev/null  # both must work before timing
t_file=$(best_time agent SN-FILE)
t_tpm=$(best_time agent SN-TPM)
awk -v f="$t_file" -v t="$t_tpm" -v runs="$RUNS" 'BEGIN {
  printf "ironseal-agent --once check-in over mutual TLS, best of %d:\n", runs;
  printf "  identity key in a file   %7.1f ms\n", f * 1000;
  printf "  identity key in the TPM  %7.1f ms  (+%.1f ms)\n", t * 1000, (t - f) * 1000;
}'
