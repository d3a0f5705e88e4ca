# Shared by the benchmark scripts (source it; RUNS must be set).

# Best wall time, in seconds, of RUNS runs of a command; one untimed run first warms the caches.
best_time() {
  "$@" >/dev/null 2>&1
  local best=""
  for _ in $(seq "$RUNS"); do
    local t0 t1
    t0=$(date +%s.%N)
    "$@" >/dev/null 2>&1
    t1=$(date +%s.%N)
    best=$(awk -v a="$best" -v b="$t0" -v c="$t1" 'BEGIN{d=c-b; if (a=="" || d<a) print d; else print a}')
  done
  echo "$best"
}

# Peak resident set size, in KiB, of one run of a command.
peak_rss_kib() { /usr/bin/time -f %M "$@" 2>&1 >/dev/null | tail -1; }

# One run of a command: prints "WALL USER SYS" in seconds. Wall from bash's clock (no fork to
# read it), user and sys of the command's process tree from `times` (millisecond resolution).
# Fails when the command does.
time_once() {
  local t0 t1 cpu
  t0=$EPOCHREALTIME
  cpu=$("$@" >/dev/null 2>&1 || exit 1; times) || {
    echo "bench: failed: $*" >&2
    return 1
  }
  t1=$EPOCHREALTIME
  awk -v a="$t0" -v b="$t1" -v c="$cpu" 'BEGIN {
    split(c, l, "\n"); split(l[2], f, " ");  # line 1: the subshell, line 2: its children
    for (i = 1; i <= 2; i++) { split(f[i], p, "m"); sub("s", "", p[2]); v[i] = p[1] * 60 + p[2] }
    printf "%.4f %.3f %.3f\n", b - a, v[1], v[2] }'
}
