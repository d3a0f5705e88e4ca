#!/usr/bin/env bash
# Brings Debian's libsodium source package into DEST (a build directory; never the repository)
# with `apt-get source`, using deb-src lines derived from this machine's configured apt sources
# (the same mirrors and suites as its binary packages, so the version matches Debian's
# libsodium-dev). Only the verify-side files are compiled into the bootloader (firmware/crypto).
# Prints the unpacked source directory. Idempotent: an existing unpacked tree is reused.
#
#   fetch_libsodium.sh DEST
set -euo pipefail

dest=${1:?usage: fetch_libsodium.sh DEST}
mkdir -p "$dest"
dest=$(cd "$dest" && pwd)
existing=$(find "$dest" -maxdepth 1 -type d -name 'libsodium-1.*' | sort | tail -n1)
if [[ -n "$existing" && -f "$existing/src/libsodium/crypto_core/ed25519/ref10/ed25519_ref10.c" ]]; then
  echo "$existing"
  exit 0
fi
command -v apt-get >/dev/null || { echo "fetch_libsodium: apt-get not found" >&2; exit 1; }
command -v dpkg-source >/dev/null || { echo "fetch_libsodium: dpkg-source not found (dpkg-dev)" >&2; exit 1; }

apt_dir="$dest/apt"
rm -rf "$apt_dir"
mkdir -p "$apt_dir/sources.list.d" "$apt_dir/lists/partial" "$apt_dir/cache/archives/partial"
: > "$apt_dir/sources.list"
# One-line format: every "deb URI SUITE COMPONENTS" becomes "deb-src ...".
for list in /etc/apt/sources.list /etc/apt/sources.list.d/*.list; do
  [[ -f "$list" ]] || continue
  sed -n 's/^[[:space:]]*deb[[:space:]]\+/deb-src /p' "$list" >> "$apt_dir/sources.list"
done
# deb822 format: "Types: deb" becomes "Types: deb-src"; everything else is kept.
for src in /etc/apt/sources.list.d/*.sources; do
  [[ -f "$src" ]] || continue
  sed 's/^Types:.*$/Types: deb-src/' "$src" > "$apt_dir/sources.list.d/$(basename "$src")"
done

apt_opts=(-o "Dir::Etc::sourcelist=$apt_dir/sources.list"
          -o "Dir::Etc::sourceparts=$apt_dir/sources.list.d"
          -o "Dir::State::Lists=$apt_dir/lists" -o "Dir::Cache=$apt_dir/cache"
          -o Debug::NoLocking=1 -o APT::Sandbox::User=root -qq)
apt-get "${apt_opts[@]}" update >&2
(cd "$dest" && apt-get "${apt_opts[@]}" source libsodium >&2)
rm -rf "$apt_dir"
found=$(find "$dest" -maxdepth 1 -type d -name 'libsodium-1.*' | sort | tail -n1)
[[ -n "$found" ]] || { echo "fetch_libsodium: apt-get source produced no libsodium tree" >&2; exit 1; }
echo "$found"
