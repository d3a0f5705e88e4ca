#!/usr/bin/env bash
# Installs every Debian 12 package that ironseal's build, tests, fuzzing and benchmarks need.
# Idempotent: packages already present are left alone, so a warm machine spends ~1 s here.
set -euo pipefail

packages=(
  # toolchain
  build-essential cmake ninja-build pkg-config git ccache
  clang-16 libclang-rt-16-dev llvm  # the fuzz build (libFuzzer, ASan, UBSan)
  # libraries (DESIGN: OpenSSL 3 for all host crypto, CLI11, nlohmann-json, spdlog/fmt)
  libssl-dev openssl libcli11-dev nlohmann-json3-dev libspdlog-dev libfmt-dev
  libcurl4-openssl-dev  # TUF client transport (src/repo)
  zlib1g-dev  # backup archives are compressed before they are encrypted (src/backup)
  libp11-kit-dev        # PKCS#11 header (src/crypto/pkcs11.cc: HSM-held signing keys)
  # tests and benchmarks
  libgtest-dev libgmock-dev googletest libbenchmark-dev time
  softhsm2  # a software PKCS#11 token for the HSM signing tests
  # MCUboot imgtool interoperability (the imgtool script itself is not part of this repository)
  python3 python3-cryptography python3-click python3-cbor2 python3-intelhex
  # the public tuf-conformance suite's runner (../shared/tools/tuf-conformance/run)
  python3-pytest python3-requests python3-urllib3 faketime
  # device identity: factory PKI records, TPM 2.0-bound device keys (swtpm + tpm2-abrmd + provider)
  libsqlite3-dev sqlite3
  swtpm swtpm-tools tpm2-tools tpm2-openssl tpm2-abrmd libtss2-tcti-tabrmd0 libtss2-dev dbus
  # fleet server (Boost.Beast/Asio on OpenSSL; Argon2id password hashes) and its nginx reference
  libboost-dev libsodium-dev nginx-light
  # bare-metal Cortex-M33 bootloader on QEMU mps2-an505
  gcc-arm-none-eabi libnewlib-arm-none-eabi libstdc++-arm-none-eabi-newlib qemu-system-arm
  # certification evidence (docs/evidence.md): JUnit XML parsing; the report rendered headless
  libxml2-dev chromium
)
# Node.js and npm run the CycloneDX schema check (tests/schema). A machine that already has a
# Node.js (e.g. from NodeSource) keeps it; otherwise Debian's.
if ! command -v npm >/dev/null; then packages+=(nodejs npm); fi

missing=()
for p in "${packages[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
    missing+=("$p")
  fi
done

if ((${#missing[@]})); then
  echo "setup: installing ${missing[*]}" >&2
  SUDO=""
  if [ "$(id -u)" -ne 0 ]; then SUDO="sudo"; fi
  export DEBIAN_FRONTEND=noninteractive
  $SUDO apt-get update -qq
  $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

# The CycloneDX JSON schema and its validator, exactly as package-lock.json pins them; nothing is
# fetched at test time. Re-run only when the lockfile changed since the last install.
schema_dir="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)/tests/schema"
stamp="$schema_dir/node_modules/.package-lock.json"
if [ ! -f "$stamp" ] || [ "$schema_dir/package-lock.json" -nt "$stamp" ]; then
  echo "setup: npm ci in tests/schema" >&2
  (cd "$schema_dir" && npm ci --no-audit --no-fund --silent)
fi
