#!/usr/bin/env bash
# Runs every libFuzzer target of a fuzz build for SECONDS each, starting from the committed seed
# corpus (read-only: new inputs go to a scratch directory). A crash fails the run and leaves its
# reproducer in BUILD/fuzz-artifacts/; commit it under fuzz/corpus/TARGET/ once fixed.
set -euo pipefail
build=$1
seconds=${2:-30}
artifacts="$build/fuzz-artifacts"
mkdir -p "$artifacts"
status=0
for bin in "$build"/fuzz/*_fuzz; do
  name=$(basename "$bin" _fuzz)
  scratch=$(mktemp -d)
  echo "fuzz: $name for ${seconds}s"
  if ! "$bin" -max_total_time="$seconds" -max_len=16384 -print_final_stats=1 \
      -artifact_prefix="$artifacts/$name-" "$scratch" "fuzz/corpus/$name" >"$artifacts/$name.log" 2>&1; then
    echo "fuzz: $name FAILED; see $artifacts/$name.log"
    tail -30 "$artifacts/$name.log"
    status=1
  else
    grep -E "stat::number_of_executed_units|stat::peak_rss_mb" "$artifacts/$name.log" | sed "s/^/fuzz: $name /"
  fi
  rm -rf -- "$scratch"
done
exit $status
