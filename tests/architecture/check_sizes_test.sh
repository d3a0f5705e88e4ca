#!/usr/bin/env bash
# scripts/check_sizes.py passes on the real tree and names each kind of excess in a small copy:
# an apps/ file over 300 lines, a src/ file over 600, a function over 80, and an allowance that
# is no longer needed. Usage: check_sizes_test.sh SOURCE_ROOT PYTHON
set -uo pipefail
ROOT=$(cd "$1" && pwd)
PYTHON=$2
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source=tests/cli/lib.sh
source "$here/../cli/lib.sh"
work=$(mktemp -d)
trap 'rm -rf -- "$work"' EXIT
cd "$work" || exit 3

expect 0 "the real tree keeps the size limits" -- "$PYTHON" "$ROOT/scripts/check_sizes.py" --root "$ROOT"
contains out.txt "check_sizes: ok" "summary"

tree=$work/tree
mkdir -p "$tree/scripts" "$tree/src/lib" "$tree/apps/tool"
printf '{"files": [], "functions": [{"file": "src/lib/gone.cc", "function": "old", "max_lines": 90, "why": "test"}]}\n' \
  >"$tree/scripts/sizes_allowed.json"
{ echo "int long_one(int x) {"; for i in $(seq 85); do echo "  x += $i;"; done; echo "  return x;"; echo "}"; } \
  >"$tree/src/lib/long.cc"
{ echo "int short_one(int x) {"; echo "  return x;"; echo "}"; for i in $(seq 650); do echo "// $i"; done; } \
  >"$tree/src/lib/big.cc"
for i in $(seq 320); do echo "// $i"; done >"$tree/apps/tool/main.cc"
expect 1 "excess fails the check" -- "$PYTHON" "$ROOT/scripts/check_sizes.py" --root "$tree"
contains out.txt "src/lib/long.cc:1: function long_one is 88 lines, over the limit of 80" "long function named"
contains out.txt "src/lib/big.cc: 653 lines, over the limit of 600 for src/" "big library file named"
contains out.txt "apps/tool/main.cc: 320 lines, over the limit of 300 for apps/" "big app file named"
contains out.txt "src/lib/gone.cc old is within the limit now (or gone): remove its allowance" "stale allowance named"
grep -q "short_one" out.txt; [ $? -ne 0 ]; ok $? "a short function is not named"
finish
