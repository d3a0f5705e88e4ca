#!/usr/bin/env bash
# The check of the check: scripts/check_layers.py passes on the real tree, passes on a small copy
# of it, and fails (exit 1) on that copy once violations are injected, naming each one with its
# file:line and rule: an upward include (src/core including "fleet/service.h"), raw OpenSSL in
# src/image, crypto/ossl.h outside src/crypto, host code included by the portable core and by
# firmware/, a header an allowed-for-now entry does not cover, an upward CMake link, a folder the
# map does not know, and a doc table that drifted from scripts/layers.json.
# Usage: check_layers_test.sh SOURCE_ROOT [PYTHON]
set -uo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
ROOT=$(cd "$1" && pwd)
PYTHON=${2:-python3}
CHECK="$ROOT/scripts/check_layers.py"
work=$(mktemp -d)
trap 'rm -rf -- "$work"' EXIT
cd "$work" || exit 3
# shellcheck source=tests/cli/lib.sh
source "$here/../cli/lib.sh"

# ---- the real tree -------------------------------------------------------------------------------
expect 0 "the real tree keeps its layer map" -- "$PYTHON" "$CHECK" --root "$ROOT"
contains out.txt "check_layers: ok" "the real tree: summary"

# ---- a small copy of the tree --------------------------------------------------------------------
tree=$work/tree
for f in scripts/layers.json docs/architecture.md src/CMakeLists.txt apps/CMakeLists.txt \
         src/core/result.h src/image/format.h src/image/verify.h src/image/verify.cc \
         src/tpm/bridge_key.cc firmware/boot/drivers.h; do
  mkdir -p "$tree/$(dirname "$f")" && cp "$ROOT/$f" "$tree/$f"
done
expect 0 "a clean copy passes" -- "$PYTHON" "$CHECK" --root "$tree"
# Most allowed-for-now entries match nothing in the copy: a warning, an error with --fail-stale.
contains err.txt "warning: allowed_for_now entry (internal-header: src/fleet/tls.cc -> crypto/ossl.h)" \
  "a stale entry is reported"
expect 1 "--fail-stale fails on stale entries" -- "$PYTHON" "$CHECK" --root "$tree" --fail-stale

# ---- inject one violation per rule ---------------------------------------------------------------
printf '// injected\n#include "core/result.h"\n#include "fleet/service.h"\n' >"$tree/src/core/evil.cc"
printf '// injected\n#include <openssl/evp.h>\n' >"$tree/src/image/raw.cc"
mkdir -p "$tree/src/repo" && printf '#include "crypto/ossl.h"\n' >"$tree/src/repo/peek.cc"
printf '#include "image/host.h"\n' >>"$tree/src/image/verify.cc"
verify_line=$(wc -l <"$tree/src/image/verify.cc")
printf '#include "device/host_device.h"\n' >>"$tree/firmware/boot/drivers.h"
drivers_line=$(wc -l <"$tree/firmware/boot/drivers.h")
# bridge_key.cc may include crypto/ossl.h for now; another private header is not covered.
printf '#include "pki/ossl_x509.h"\n' >>"$tree/src/tpm/bridge_key.cc"
bridge_line=$(wc -l <"$tree/src/tpm/bridge_key.cc")
printf 'target_link_libraries(ironseal_core PUBLIC ironseal_fleet)\n' >>"$tree/src/CMakeLists.txt"
link_line=$(wc -l <"$tree/src/CMakeLists.txt")
mkdir -p "$tree/src/gadget" && printf '#include "core/result.h"\n' >"$tree/src/gadget/slots.cc"
sed -i 's/^| `src\/core` | 0 |\(.*\)| std only |$/| `src\/core` | 0 |\1| `crypto` |/' \
  "$tree/docs/architecture.md"
doc_line=$(grep -n '^| `src/core` | 0 |' "$tree/docs/architecture.md" | cut -d: -f1)

expect 1 "violations fail the check" -- "$PYTHON" "$CHECK" --root "$tree"
contains out.txt 'src/core/evil.cc:3: includes "fleet/service.h" (src/fleet/service.h): rule layer: core may not use fleet (upward: fleet is layer 5, core is layer 0); core may use: nothing but the standard library' \
  "upward include named with file:line, rule and what is allowed"
contains out.txt 'src/image/raw.cc:2: includes <openssl/evp.h>: rule openssl: OpenSSL is used only through the crypto layer; raw OpenSSL is allowed in src/crypto/' \
  "OpenSSL in src/image named"
contains out.txt 'src/repo/peek.cc:1: includes "crypto/ossl.h" (src/crypto/ossl.h): rule internal-header: src/crypto/ossl.h is private to src/crypto' \
  "crypto/ossl.h outside src/crypto named"
contains out.txt "src/image/verify.cc:$verify_line: includes \"image/host.h\" (src/image/host.h): rule portable: the portable core may include only portable files" \
  "host code in the portable core named"
contains out.txt "firmware/boot/drivers.h:$drivers_line: includes \"device/host_device.h\" (src/device/host_device.h): rule portable: firmware/ may include only portable files" \
  "host code in firmware named"
contains out.txt "src/tpm/bridge_key.cc:$bridge_line: includes \"pki/ossl_x509.h\" (src/pki/ossl_x509.h): rule internal-header" \
  "an allowed-for-now entry does not cover a new header in the same file"
grep -q '^src/tpm/bridge_key.cc:[0-9]*: includes "crypto/ossl.h"' out.txt
ok $((! $?)) "the headers the entry names stay allowed"
contains out.txt "src/CMakeLists.txt:$link_line: ironseal_core links ironseal_fleet: rule link: core may not use fleet (upward: fleet is layer 5, core is layer 0)" \
  "upward CMake link named"
contains out.txt "src/gadget:0: folder in no module: rule unmapped" "unknown folder named"
contains out.txt "docs/architecture.md:$doc_line: rule doc: src/core may use crypto here but nothing in scripts/layers.json" \
  "drifted doc table named"
# drivers.h and bridge_key.cc break two rules each (portable + layer, internal-header + layer).
contains out.txt "check_layers: 12 violation(s)" "exactly the injected violations"

# ---- a broken map is a usage error, not a pass ---------------------------------------------------
printf '{"modules": [' >"$tree/scripts/layers.json"
expect 2 "an unreadable layer map exits 2" -- "$PYTHON" "$CHECK" --root "$tree"
contains err.txt "cannot use the layer map" "unreadable map: message"

finish
