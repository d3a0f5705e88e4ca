#!/usr/bin/env bash
# Extract MCUboot's imgtool from a local git mirror into a fresh temp dir and
# print the directory that contains imgtool.py (for use as IMGTOOL_DIR).
#
#   MCUBOOT_GIT  git dir of an MCUboot clone/mirror
#                (default: /work/.mirror/mcu-tools+mcuboot/repo)
#   MCUBOOT_REV  revision to extract (default: HEAD)
#
# This script never downloads anything. If the mirror is missing it prints a
# message and exits 77 (the conventional "skipped" status).
# Nothing from MCUboot is copied into this repository: the extracted files
# live only under a mktemp directory, which the caller may delete.
#
# Example:
#   IMGTOOL_DIR=$(tests/interop/get_imgtool.sh) || exit $?
set -euo pipefail

MCUBOOT_GIT=${MCUBOOT_GIT:-/work/.mirror/mcu-tools+mcuboot/repo}
MCUBOOT_REV=${MCUBOOT_REV:-HEAD}

if ! command -v git >/dev/null 2>&1; then
    echo "get_imgtool: git not found; cannot extract imgtool (skipping)" >&2
    exit 77
fi

if [ ! -d "$MCUBOOT_GIT" ] ||
   ! git --git-dir="$MCUBOOT_GIT" rev-parse --verify --quiet "$MCUBOOT_REV^{commit}" >/dev/null; then
    echo "get_imgtool: no MCUboot git mirror at '$MCUBOOT_GIT' (or no revision '$MCUBOOT_REV');" \
         "set MCUBOOT_GIT to an MCUboot git dir (skipping)" >&2
    exit 77
fi

commit=$(git --git-dir="$MCUBOOT_GIT" rev-parse "$MCUBOOT_REV^{commit}")
dest=$(mktemp -d "${TMPDIR:-/tmp}/ironseal-imgtool.XXXXXX")

if ! git --git-dir="$MCUBOOT_GIT" archive "$commit" scripts/imgtool.py scripts/imgtool |
        tar -x -C "$dest"; then
    echo "get_imgtool: could not extract scripts/imgtool from $commit" >&2
    rm -rf -- "$dest"
    exit 1
fi

if [ ! -f "$dest/scripts/imgtool.py" ]; then
    echo "get_imgtool: scripts/imgtool.py missing in $commit" >&2
    rm -rf -- "$dest"
    exit 1
fi

echo "$commit" > "$dest/scripts/MCUBOOT_COMMIT"
echo "get_imgtool: extracted imgtool from MCUboot $commit" >&2
echo "$dest/scripts"
