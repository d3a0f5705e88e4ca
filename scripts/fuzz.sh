#!/usr/bin/env bash
# Runs every libFuzzer target of a fuzz build for SECONDS each (default 20), starting from the
# committed seed corpus (read-only: new inputs go to a scratch directory). A crash fails the run
# and leaves its reproducer in BUILD/fuzz-artifacts/; commit it under fuzz/corpus/TARGET/ once
# fixed. For a long campaign on one target, see docs/testing.md ("Fuzzing").
set -euo pipefail
build=$1
seconds=${2:-20}
artifacts="$build/fuzz-artifacts"
mkdir -p "$artifacts"
shopt -s nullglob
targets=("$build"/fuzz/*_fuzz)
if ((${#targets[@]} == 0)); then
  echo "fuzz: no *_fuzz binaries in $build/fuzz (build it with \`make build-fuzz\`)" >&2
  exit 2
fi
status=0
failed=()
for bin in "${targets[@]}"; do
  name=$(basename "$bin" _fuzz)
  scratch=$(mktemp -d)
  echo "fuzz: $name for ${seconds}s"
  if ! "$bin" -max_total_time="$seconds" -max_len=16384 -print_final_stats=1 \
      -artifact_prefix="$artifacts/$name-" "$scratch" "fuzz/corpus/$name" >"$artifacts/$name.log" 2>&1; then
    echo "fuzz: $name FAILED; see $artifacts/$name.log"
    tail -30 "$artifacts/$name.log"
    status=1
    failed+=("$name")
  else
    grep -E "stat::number_of_executed_units|stat::peak_rss_mb" "$artifacts/$name.log" | sed "s/^/fuzz: $name /"
  fi
  rm -rf -- "$scratch"
done
if ((status == 0)); then
  echo "fuzz: ${#targets[@]} targets, ${seconds}s each, no finding"
else
  echo "fuzz: ${#failed[@]} of ${#targets[@]} targets failed: ${failed[*]}"
fi
exit $status
