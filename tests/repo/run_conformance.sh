#!/usr/bin/env bash
# Runs the public tuf-conformance suite against ironseal-tuf-client (docs/tuf.md). Needs the
# three git mirrors named by TUFC_GIT, TUF_GIT and SSLIB_GIT and the suite runner; reports
# "skipped" (77) when they are not configured, so ordinary builds do not depend on them.
set -euo pipefail
client=${1:?usage: run_conformance.sh CLIENT}
runner=${TUFC_RUNNER:-/work/shared/tools/tuf-conformance/run}
for v in TUFC_GIT TUF_GIT SSLIB_GIT; do
  if [[ -z ${!v:-} || ! -d ${!v} ]]; then echo "skipped: $v not set" >&2; exit 77; fi
done
[[ -f $runner ]] || { echo "skipped: no runner at $runner" >&2; exit 77; }
exec bash "$runner" "$client" -q
