#!/usr/bin/env bash
# The TPM test harness itself: it starts a working TPM, `run` stops everything it started, and
# the watchdog stops the TPM when the test process it watches dies without cleaning up (SIGKILL).
set -uo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
work=$(mktemp -d)
trap 'bash "$here/tpm_env.sh" stop "$work/a" >/dev/null 2>&1; rm -rf -- "$work"' EXIT
cd "$work" || exit 3
# shellcheck source=tests/cli/lib.sh
source "$here/../cli/lib.sh"

alive() { [ -n "$1" ] && [ -e "/proc/$1" ] && ! grep -q '^State:.*zombie' "/proc/$1/status" 2>/dev/null; }
gone_within() {  # PID SECONDS
  local i
  for i in $(seq $(($2 * 50))); do alive "$1" || return 0; sleep 0.02; done
  return 1
}

# `run`: the command sees a working TPM through the exported TCTI; afterwards nothing is left.
expect 0 "run wraps a command with a TPM" -- bash "$here/tpm_env.sh" run \
  bash -c 'tpm2_getrandom --hex 8 &&
    for f in swtpm abrmd dbus; do echo "$(cat "$IRONSEAL_TPM_DIR/$f.pid")"; done >"'"$work"'/pids"'
pids=$(cat pids 2>/dev/null)
[ "$(echo "$pids" | wc -w)" -eq 3 ]
ok $? "run recorded three daemons"
for p in $pids; do gone_within "$p" 3; ok $? "process $p stopped after run"; done
expect 7 "run passes the command's exit status" -- bash "$here/tpm_env.sh" run bash -c 'exit 7'

# `start DIR PID`: a watchdog stops the TPM once PID is gone, even after SIGKILL.
sleep 60 &
victim=$!
expect 0 "start with a watchdog" -- bash "$here/tpm_env.sh" start "$work/a" "$victim"
swtpm_pid=$(cat "$work/a/swtpm.pid")
abrmd_pid=$(cat "$work/a/abrmd.pid")
( set -a; source "$work/a/env"; tpm2_getrandom 4 >/dev/null )
ok $? "the started TPM answers through tpm2-abrmd"
kill -KILL "$victim"
wait "$victim" 2>/dev/null
gone_within "$abrmd_pid" 5
ok $? "watchdog stopped tpm2-abrmd after the watched process was killed"
gone_within "$swtpm_pid" 5
ok $? "watchdog stopped swtpm after the watched process was killed"
finish
