#!/usr/bin/env bash
# ctest entry point: extract imgtool from a local MCUboot mirror (never downloads) and run
# imgtool_verify.sh against the ironseal binary given as $1. Exit 77 (skipped) without a mirror.
set -uo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
dir=$(bash "$here/get_imgtool.sh") || exit $?
trap 'rm -rf -- "$(dirname "$dir")"' EXIT
IRONSEAL="$1" IMGTOOL_DIR="$dir" bash "$here/imgtool_verify.sh"
