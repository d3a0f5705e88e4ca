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
