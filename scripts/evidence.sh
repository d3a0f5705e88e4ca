#!/usr/bin/env bash
# The last step of `make test`: the certification evidence of this build (docs/evidence.md).
#   BUILD/test-results/ctest-tests.json   ctest's test list (its LABELS carry requirement IDs)
#   BUILD/evidence/sbom.cdx.json          the build's CycloneDX 1.6 SBOM (binaries, Debian
#                                         packages, the Cortex-M33 bootloader when built)
#   BUILD/evidence/report.html, report.json, attestation.cdx.json
# Exits 1 when the evidence does not support every claim (ironseal evidence build).
# Usage: scripts/evidence.sh BUILD
set -euo pipefail
build=$(cd "$1" && pwd)
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$root"  # the report names the catalogue and the threat model by their paths in the tree
out="$build/evidence"
mkdir -p "$out"
ctest --test-dir "$build" --show-only=json-v1 >"$build/test-results/ctest-tests.json"
commit=$(git -C "$root" rev-parse HEAD 2>/dev/null || echo unknown)
if ! git -C "$root" diff --quiet HEAD 2>/dev/null; then commit="$commit+uncommitted"; fi
firmware=()
if [ -f "$build/firmware/boot.elf" ]; then
  flags=(-mcpu=cortex-m33 -mthumb -mfloat-abi=soft)
  firmware=(--firmware "$build/firmware/boot.elf"
            --firmware-lib "$(arm-none-eabi-gcc "${flags[@]}" -print-file-name=libc_nano.a)"
            --firmware-lib "$(arm-none-eabi-gcc "${flags[@]}" -print-libgcc-file-name)")
fi
"$build/apps/ironseal" evidence sbom --commit "$commit" "${firmware[@]}" --out "$out/sbom.cdx.json"
node "$root/tests/schema/validate.mjs" "$out/sbom.cdx.json"
"$build/apps/ironseal" evidence build --catalogue docs/compliance/requirements.json \
  --results "$build/test-results" --sbom "$out/sbom.cdx.json" \
  --threat-model docs/threat-model.md --source-root . --commit "$commit" --out "$out"
node "$root/tests/schema/validate.mjs" "$out/attestation.cdx.json"
