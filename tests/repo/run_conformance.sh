#!/usr/bin/env bash
# Runs the public tuf-conformance suite against ironseal-tuf-client (docs/tuf.md). Needs the
# three git mirrors named by TUFC_GIT, TUF_GIT and SSLIB_GIT and the suite runner; reports
# "skipped" (77) when they are not configured, so ordinary builds do not depend on them.
set -euo pipefail
client=${1:?usage: run_conformance.sh CLIENT}
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# The steering repository's shared/ sits beside this checkout (also in CI).
runner=${TUFC_RUNNER:-$(cd "$here/../.." && pwd)/../shared/tools/tuf-conformance/run}
# Local snapshots of the three public repositories, where this machine has them.
mirrors=${IRONSEAL_MIRRORS:-/work/.mirror}
: "${TUFC_GIT:=$mirrors/theupdateframework+tuf-conformance/repo}"
: "${TUF_GIT:=$mirrors/theupdateframework+python-tuf/repo}"
: "${SSLIB_GIT:=$mirrors/secure-systems-lab+securesystemslib/repo}"
export TUFC_GIT TUF_GIT SSLIB_GIT
# ASan refuses to start under faketime's LD_PRELOAD unless told not to check the link order.
export ASAN_OPTIONS=${ASAN_OPTIONS:+$ASAN_OPTIONS:}verify_asan_link_order=0
# Each build tree gets its own scratch directory.
export TUFC_WORK=${TUFC_WORK:-$(dirname "$client")/tuf-conformance}
for v in TUFC_GIT TUF_GIT SSLIB_GIT; do
  if [[ -z ${!v:-} || ! -d ${!v} ]]; then echo "skipped: $v not set" >&2; exit 77; fi
done
[[ -f $runner ]] || { echo "skipped: no runner at $runner" >&2; exit 77; }
exec bash "$runner" "$client" -q
