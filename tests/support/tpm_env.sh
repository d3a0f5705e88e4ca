#!/usr/bin/env bash
# A private TPM 2.0 for tests: swtpm (socket mode, free TCP ports, state in a directory), a private
# D-Bus session bus, and tpm2-abrmd as resource manager on that bus (swtpm alone holds three
# transient objects, too few for a TLS handshake through the tpm2 OpenSSL provider).
#
# Three ways to use it:
#   tpm_env.sh run CMD ARGS...     start a TPM in a temp dir, run CMD with the TPM exported, stop
#                                  everything, exit with CMD's status (ctest wraps binaries so)
#   tpm_env.sh start DIR [PID]     start a TPM with its state in DIR, write DIR/env (KEY=VALUE
#                                  lines) and return; with PID, a watchdog stops the TPM once PID
#                                  is gone (a crashed test leaves nothing running)
#   tpm_env.sh stop DIR            stop what `start DIR` started
#   source tpm_env.sh; tpm_env_start DIR; ...; tpm_env_stop DIR   (CLI test scripts; set a trap)
#
# Exported to the caller: TPM2OPENSSL_TCTI (the tpm2 provider and ironseal's own libtss2 use),
# TPM2TOOLS_TCTI (tpm2-tools), DBUS_SESSION_BUS_ADDRESS, IRONSEAL_TPM_DIR.
# Every wait is bounded (TPM_ENV_TIMEOUT seconds per step, default 10).

_tpm_env_log() { echo "tpm_env: $*" >&2; }

# Waits until "$@" succeeds, polling every 20 ms, for at most TPM_ENV_TIMEOUT seconds.
_tpm_env_poll() {
  local deadline=$((SECONDS + ${TPM_ENV_TIMEOUT:-10}))
  until "$@" >/dev/null 2>&1; do
    [ "$SECONDS" -lt "$deadline" ] || return 1
    sleep 0.02
  done
}

# Two consecutive free TCP ports on 127.0.0.1 (swtpm's TCTI uses PORT for commands and PORT+1
# for control). A race with another process is caught by swtpm failing to bind; start retries.
_tpm_env_free_port_pair() {
  python3 - <<'EOF'
import random, socket
for _ in range(200):
    p = random.randrange(20000, 60000, 2)
    socks = []
    try:
        for q in (p, p + 1):
            s = socket.socket(); s.bind(("127.0.0.1", q)); socks.append(s)
        print(p); break
    except OSError:
        pass
    finally:
        for s in socks: s.close()
EOF
}

# Alive and not a zombie (daemons are re-parented to PID 1, which in a container may never reap).
_tpm_env_alive() {
  [ -n "$1" ] && kill -0 "$1" 2>/dev/null || return 1
  local stat
  stat=$(cat "/proc/$1/stat" 2>/dev/null) || return 1
  stat=${stat##*) }
  [ "${stat%% *}" != Z ]
}

_tpm_env_port_open() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

# tpm_env_start DIR: starts swtpm, dbus-daemon and tpm2-abrmd; exports the variables above.
tpm_env_start() {
  local dir=$1 tool
  for tool in swtpm tpm2-abrmd dbus-daemon tpm2_getrandom python3; do
    command -v "$tool" >/dev/null || {
      _tpm_env_log "$tool is not installed (scripts/setup.sh installs the TPM packages)"
      return 3
    }
  done
  if ! compgen -G '/usr/lib*/libtss2-tcti-tabrmd.so*' >/dev/null &&
    ! compgen -G '/usr/lib/*/libtss2-tcti-tabrmd.so*' >/dev/null; then
    _tpm_env_log "libtss2-tcti-tabrmd is not installed (package libtss2-tcti-tabrmd0)"
    return 3
  fi
  mkdir -p "$dir/state" || return 3
  dir=$(cd "$dir" && pwd)
  local attempt port
  for attempt in 1 2 3 4 5; do
    port=$(_tpm_env_free_port_pair)
    [ -n "$port" ] || { _tpm_env_log "no free port pair"; return 3; }
    rm -f "$dir/swtpm.pid"
    # not-need-init + startup-clear: the TPM is initialised and started (TPM2_Startup(CLEAR)) by
    # swtpm itself, so no separate tpm2_startup is needed.
    if swtpm socket --tpm2 --daemon --tpmstate "dir=$dir/state" \
      --server "type=tcp,port=$port,bindaddr=127.0.0.1" \
      --ctrl "type=tcp,port=$((port + 1)),bindaddr=127.0.0.1" \
      --flags not-need-init,startup-clear --pid "file=$dir/swtpm.pid" \
      --log "file=$dir/swtpm.log" 2>>"$dir/swtpm.log" &&
      _tpm_env_poll test -s "$dir/swtpm.pid" && _tpm_env_poll _tpm_env_port_open "$port"; then
      break
    fi
    [ -s "$dir/swtpm.pid" ] && kill "$(cat "$dir/swtpm.pid")" 2>/dev/null
    port=
  done
  [ -n "$port" ] || { _tpm_env_log "swtpm did not start (see $dir/swtpm.log)"; return 3; }
  echo "$port" >"$dir/port"

  # A private session bus: tpm2-abrmd registers its name there and clients find it there.
  local bus="unix:path=$dir/bus"
  dbus-daemon --session --address="$bus" --fork --print-pid=3 --nopidfile 3>"$dir/dbus.pid" \
    >/dev/null 2>"$dir/dbus.log" || { _tpm_env_log "dbus-daemon did not start"; return 3; }
  _tpm_env_poll test -S "$dir/bus" || { _tpm_env_log "D-Bus socket missing"; return 3; }

  local tcti="tabrmd:bus_type=session"
  # --allow-root: CI containers run as root; the daemon only ever talks to this private swtpm.
  DBUS_SESSION_BUS_ADDRESS=$bus setsid tpm2-abrmd --session --allow-root --flush-all \
    --tcti="swtpm:host=127.0.0.1,port=$port" </dev/null >"$dir/abrmd.log" 2>&1 &
  echo $! >"$dir/abrmd.pid"
  if ! DBUS_SESSION_BUS_ADDRESS=$bus TPM2TOOLS_TCTI=$tcti _tpm_env_poll tpm2_getrandom 4; then
    _tpm_env_log "tpm2-abrmd did not come up (see $dir/abrmd.log)"
    tpm_env_stop "$dir"
    return 3
  fi
  cat >"$dir/env" <<EOF
TPM2OPENSSL_TCTI=$tcti
TPM2TOOLS_TCTI=$tcti
DBUS_SESSION_BUS_ADDRESS=$bus
IRONSEAL_TPM_DIR=$dir
TSS2_LOG=all+none
EOF
  export TPM2OPENSSL_TCTI=$tcti TPM2TOOLS_TCTI=$tcti DBUS_SESSION_BUS_ADDRESS=$bus
  export IRONSEAL_TPM_DIR=$dir
}

# tpm_env_stop DIR: TERM, up to 2 s grace, then KILL; for each process started by tpm_env_start.
tpm_env_stop() {
  local dir=$1 f pid i
  for f in watchdog abrmd dbus swtpm; do
    [ -s "$dir/$f.pid" ] || continue
    pid=$(cat "$dir/$f.pid")
    rm -f "$dir/$f.pid"
    _tpm_env_alive "$pid" || continue
    kill -TERM "$pid" 2>/dev/null
    for i in $(seq 100); do _tpm_env_alive "$pid" || break; sleep 0.02; done
    _tpm_env_alive "$pid" && kill -KILL "$pid" 2>/dev/null
  done
  return 0
}

if [ "${BASH_SOURCE[0]}" = "$0" ]; then
  set -u
  case "${1:-}" in
    run)
      shift
      [ $# -gt 0 ] || { echo "usage: $0 run CMD [ARGS...]" >&2; exit 2; }
      _dir=$(mktemp -d)
      trap 'tpm_env_stop "$_dir"; rm -rf -- "$_dir"' EXIT
      trap 'exit 130' INT TERM
      tpm_env_start "$_dir" || exit 3
      "$@"
      exit $?
      ;;
    start)
      [ $# -ge 2 ] || { echo "usage: $0 start DIR [WATCH_PID]" >&2; exit 2; }
      tpm_env_start "$2" || exit 3
      if [ $# -ge 3 ]; then
        _dir=$(cd "$2" && pwd)
        # The watchdog outlives this script; it stops the TPM when the watched process is gone.
        (
          trap '' HUP
          while _tpm_env_alive "$3"; do sleep 0.5; done
          rm -f "$_dir/watchdog.pid"
          tpm_env_stop "$_dir"
        ) </dev/null >/dev/null 2>&1 &
        echo $! >"$_dir/watchdog.pid"
      fi
      ;;
    stop)
      [ $# -ge 2 ] || { echo "usage: $0 stop DIR" >&2; exit 2; }
      tpm_env_stop "$2"
      ;;
    *)
      echo "usage: $0 run CMD... | start DIR [WATCH_PID] | stop DIR" >&2
      exit 2
      ;;
  esac
fi
