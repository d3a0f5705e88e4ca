#!/usr/bin/env bash
# Runs the whole test suite of one build tree and keeps the results as JUnit XML:
#   BUILD/test-results/ctest.xml        every ctest test (unit, CLI, interop, fuzz corpus replay)
#   BUILD/test-results/gtest.xml        the unit tests again in one process, with each test's
#                                       "requirements" property (IEC 62443 IDs) for the evidence
set -euo pipefail
build=$1
results="$build/test-results"
mkdir -p "$results"
# fast_unwind_on_malloc=0: OpenSSL is built without frame pointers, so the fast unwinder stops
# inside libcrypto and leak reports (and their suppressions, tests/lsan.supp) lose the caller.
export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=1:fast_unwind_on_malloc=0}
export LSAN_OPTIONS=${LSAN_OPTIONS:-suppressions=$PWD/tests/lsan.supp:print_suppressions=0}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}
# Label "long" (minutes of CPU, more under ASan): run on its own, `ctest --test-dir BUILD -L long`.
ctest --test-dir "$build" -j "$(nproc)" -LE long --output-on-failure --output-junit "$PWD/$results/ctest.xml"
# The second pass below only adds the requirement properties the evidence reads, and the evidence
# is built from the release tree: a sanitizer tree (whose ctest pass above already ran every case
# under ASan+UBSan) skips it, which keeps CI under its time budget.
if grep -q '^IRONSEAL_SANITIZE:BOOL=ON' "$build/CMakeCache.txt" 2>/dev/null; then
  echo "sanitizer build: every gtest case ran under ctest above; no second pass for properties"
  exit 0
fi
"$build/tests/ironseal_tests" --gtest_brief=1 --gtest_output="xml:$results/gtest.xml" >/dev/null
# The device PKI's tests carry CR 1.2 / 1.8 / 1.9 / 2.12 tags: keep their properties too.
"$build/tests/ironseal_pki_tests" --gtest_brief=1 --gtest_output="xml:$results/gtest-pki.xml" >/dev/null
# The TPM tests start their own swtpm + tpm2-abrmd (tests/support/tpm_env.sh).
"$build/tests/ironseal_tpm_tests" --gtest_brief=1 --gtest_output="xml:$results/gtest-tpm.xml" >/dev/null
tagged=$(grep -c 'name="requirements"' "$results/gtest.xml" || true)
echo "requirement tags in $results/gtest.xml: $tagged test cases"
[ "$tagged" -gt 0 ]
