#!/usr/bin/env bash
# Benchmark (issue 15): audit trail appends per second (fsync each / batched) and verification,
# against raw write()+fsync() of the same line size in the same folder (bench/audit_append.cc).
# Usage: bench/audit.sh BUILD [DIR=a scratch folder on the build's disk]
set -euo pipefail
build=$1
dir=${2:-$(mktemp -d -p "$build")}
echo "audit: load average $(cut -d' ' -f1-3 /proc/loadavg)"
"$build/bench/audit_append" "$dir/trail"
rm -rf -- "$dir"
