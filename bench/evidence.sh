#!/usr/bin/env bash
# Benchmark (issue 14): the time of `ironseal evidence build` on the full results of a build, and
# of `ironseal evidence sbom`, with the counts the report gives (requirements met / partial / not
# met / not claimed; tests read). The issue names no reference tool (no update tool produces this
# evidence), so the figure stands against a budget instead: a step of `make test` should cost
# well under a second (BUDGET_MS). Best and median of RUNS runs, after one warm-up.
#
# Usage: bench/evidence.sh BUILD [RUNS=10]   (BUILD/test-results from `make test-unit`)
set -euo pipefail
export LC_ALL=C
build=$1
RUNS=${2:-10}
BUDGET_MS=1000
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
IRONSEAL="$build/apps/ironseal"
work=$(mktemp -d)
trap 'rm -rf -- "$work"' EXIT
[ -f "$build/test-results/ctest.xml" ] || { echo "no $build/test-results: run make test-unit"; exit 2; }
ctest --test-dir "$build" --show-only=json-v1 >"$build/test-results/ctest-tests.json"

time_ms() {  # prints the wall time of "$@" in ms; the command's output is dropped, its status kept
  local t0 t1
  t0=$(date +%s%N)
  "$@" >/dev/null 2>&1 || true
  t1=$(date +%s%N)
  echo $(((t1 - t0) / 1000000))
}
stats() {  # best median of the numbers on stdin
  sort -n | awk '{a[NR]=$1} END {printf "%d %d\n", a[1], a[int((NR+1)/2)]}'
}

sbom_cmd=("$IRONSEAL" evidence sbom --commit bench --out "$work/sbom.json")
build_cmd=("$IRONSEAL" evidence build --catalogue "$root/docs/compliance/requirements.json"
           --results "$build/test-results" --sbom "$work/sbom.json"
           --threat-model "$root/docs/threat-model.md" --source-root "$root" --out "$work/out")
"${sbom_cmd[@]}"
"${build_cmd[@]}" --json >"$work/summary.json" 2>/dev/null || true
read -r sbom_best sbom_median < <(for _ in $(seq "$RUNS"); do time_ms "${sbom_cmd[@]}"; done | stats)
read -r build_best build_median < <(for _ in $(seq "$RUNS"); do time_ms "${build_cmd[@]}"; done | stats)

python3 - "$work/summary.json" "$work/sbom.json" <<PY
import json, sys
s = json.load(open(sys.argv[1])); b = json.load(open(sys.argv[2]))
c = s["counts"]; r = s["results"]
print(f"evidence: catalogue {c['met'] + c['partial'] + c['not_met'] + c['not_claimed']} items: "
      f"met {c['met']}, partial {c['partial']}, not met {c['not_met']}, not claimed {c['not_claimed']}")
print(f"evidence: results {r['tests']} tests ({r['passed']} passed, {r['failed']} failed, "
      f"{r['skipped']} skipped) from {len(r['files'])} files; report ok: {s['ok']}")
print(f"evidence: SBOM {len(b['components'])} components")
PY
echo "evidence: load average $(cut -d' ' -f1-3 /proc/loadavg), $RUNS runs each"
printf "%-22s %8s %8s %10s %s\n" "step" "best ms" "median" "budget ms" "ratio median/budget"
for row in "evidence build:$build_best:$build_median" "evidence sbom:$sbom_best:$sbom_median"; do
  IFS=: read -r name best median <<<"$row"
  printf "%-22s %8d %8d %10d %.3f\n" "$name" "$best" "$median" "$BUDGET_MS" \
    "$(awk -v m="$median" -v b="$BUDGET_MS" 'BEGIN {print m / b}')"
done
