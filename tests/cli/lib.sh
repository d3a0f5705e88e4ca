# Shared by the CLI test scripts: run commands, check exit codes and output, count the results.
# Source it, then call `finish` last.
passed=0
failed=0

# expect WANT_EXIT DESCRIPTION -- COMMAND...: runs COMMAND (stdout to out.txt, stderr to err.txt)
# and checks its exit code.
expect() {
  local want=$1 what=$2
  shift 3
  "$@" >out.txt 2>err.txt
  local got=$?
  if [ "$got" -eq "$want" ]; then
    passed=$((passed + 1))
  else
    failed=$((failed + 1))
    echo "FAIL: $what: exit $got, want $want"
    sed 's/^/  stdout: /' out.txt | tail -20
    sed 's/^/  stderr: /' err.txt | tail -5
  fi
}

# contains FILE TEXT DESCRIPTION
contains() {
  if grep -qF -- "$2" "$1"; then
    passed=$((passed + 1))
  else
    failed=$((failed + 1))
    echo "FAIL: $3: '$2' not in $1:"
    sed 's/^/  /' "$1" | tail -20
  fi
}

# ok CONDITION_EXIT DESCRIPTION: counts a check done by the caller.
ok() {
  if [ "$1" -eq 0 ]; then passed=$((passed + 1)); else failed=$((failed + 1)); echo "FAIL: $2"; fi
}

# flip_byte FILE OFFSET: inverts every bit of one byte in place. Tampering must change the byte
# whatever it held: writing a constant over a signature byte leaves it unchanged one time in 256.
flip_byte() {
  local v
  v=$(od -An -tu1 -j "$2" -N1 "$1" | tr -d ' ')
  printf "\\$(printf '%03o' $((v ^ 255)))" | dd of="$1" bs=1 seek="$2" conv=notrunc status=none
}

finish() {
  echo "$passed passed, $failed failed"
  [ "$failed" -eq 0 ]
}
