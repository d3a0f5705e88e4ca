#!/usr/bin/env bash
# Reverse-direction interop check: images signed by ironseal must be accepted
# by MCUboot's imgtool ("imgtool verify"), and tampered images or the wrong
# key must be refused.
#
# Environment:
#   IRONSEAL        path to the ironseal CLI binary (required)
#   IMGTOOL_DIR     directory containing imgtool.py; if unset/empty the test
#                   prints SKIP and exits 77 (see get_imgtool.sh)
#   IMGTOOL_PYTHON  interpreter for imgtool (default: first of /usr/bin/python3,
#                   python3 that can run "imgtool.py version")
#   FIRMWARE        raw body to sign (default: tests/fixtures/imgtool/firmware.bin)
#   INSPECT         1 (default) also runs mcuboot_inspect.py on every image
#                   (KEYHASH, hash TLV type, SIG_PURE, version, counter);
#                   0 = rely on imgtool verify only
#   KEEP_WORKDIR    1 = keep the temp dir even when everything passes
#
# Output: one "PASS <case>" or "FAIL <case>: <reason>" line per case.
# Exit status: 0 all passed, 1 some case failed, 2 bad configuration,
#              77 skipped (no imgtool).
set -uo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)

VERSION=1.2.3+4
SEC_CNT=7
HDR_SIZE=0x200
OK_TEXT="Image was correctly validated"
BAD_HASH_TEXT="Image has an invalid hash"
NO_SIG_TEXT="No signature found for the given key"

if [ -z "${IMGTOOL_DIR:-}" ]; then
    echo "SKIP: IMGTOOL_DIR is not set (use tests/interop/get_imgtool.sh)"
    exit 77
fi
if [ ! -f "$IMGTOOL_DIR/imgtool.py" ]; then
    echo "SKIP: no imgtool.py in IMGTOOL_DIR='$IMGTOOL_DIR'"
    exit 77
fi
if [ -z "${IRONSEAL:-}" ] || [ ! -x "$IRONSEAL" ]; then
    echo "ERROR: IRONSEAL must point to the ironseal CLI binary (got '${IRONSEAL:-}')" >&2
    exit 2
fi
FIRMWARE=${FIRMWARE:-$here/../fixtures/imgtool/firmware.bin}
if [ ! -s "$FIRMWARE" ]; then
    echo "ERROR: firmware body '$FIRMWARE' missing or empty" >&2
    exit 2
fi
INSPECT=${INSPECT:-1}
INSPECTOR=$here/mcuboot_inspect.py

# Pick a Python that can actually run imgtool (it needs cryptography, click,
# cbor2 and intelhex).
PY=""
for cand in ${IMGTOOL_PYTHON:-/usr/bin/python3 python3}; do
    if command -v "$cand" >/dev/null 2>&1 &&
       (cd "$IMGTOOL_DIR" && "$cand" imgtool.py version) >/dev/null 2>&1; then
        PY=$cand
        break
    fi
done
if [ -z "$PY" ]; then
    echo "SKIP: no Python interpreter can run $IMGTOOL_DIR/imgtool.py" \
         "(needs cryptography, click, cbor2, intelhex; set IMGTOOL_PYTHON)"
    exit 77
fi

WORK=$(mktemp -d "${TMPDIR:-/tmp}/ironseal-interop.XXXXXX")
any_fail=0
# shellcheck disable=SC2317  # invoked via trap
cleanup() {
    if [ "$any_fail" -eq 0 ] && [ "${KEEP_WORKDIR:-0}" != 1 ]; then
        rm -rf -- "$WORK"
    else
        echo "work dir kept: $WORK" >&2
    fi
}
trap cleanup EXIT

LOG=/dev/null
REASON=""

# run CMD...: log the command and its combined output, return its status.
run() {
    echo "\$ $*" >>"$LOG"
    "$@" >>"$LOG" 2>&1
    local rc=$?
    echo "[exit $rc]" >>"$LOG"
    return "$rc"
}

imgtool() {
    # imgtool.py imports its package relative to its own directory.
    (cd "$IMGTOOL_DIR" && "$PY" imgtool.py "$@")
}

# imgtool_verify KEY IMG: sets VOUT (combined output) and VRC (exit status).
imgtool_verify() {
    echo "\$ imgtool verify -k $1 $2" >>"$LOG"
    VOUT=$(imgtool verify -k "$1" "$2" 2>&1)
    VRC=$?
    printf '%s\n[exit %s]\n' "$VOUT" "$VRC" >>"$LOG"
}

# Here-strings, not pipes: with pipefail, `printf | grep -q` fails at random when grep exits
# early and printf is killed by SIGPIPE.
has_line() { grep -qxF -- "$1" <<<"$VOUT"; }
has_prefix() { grep -q -- "^$1" <<<"$VOUT"; }

# expect_refusal KEY IMG MESSAGE WHAT
expect_refusal() {
    imgtool_verify "$1" "$2"
    if [ "$VRC" -eq 0 ] || has_line "$OK_TEXT"; then
        REASON="imgtool accepted $4"
        return 1
    fi
    if ! has_line "$3"; then
        REASON="imgtool refused $4 but not with '$3' (got: $(printf '%s' "$VOUT" | tail -n 1))"
        return 1
    fi
    return 0
}

# flip_byte IN OFFSET OUT: copy IN to OUT with the byte at OFFSET xor-ed by 1.
flip_byte() {
    "$PY" - "$1" "$2" "$3" <<'EOF'
import sys
src, off, dst = sys.argv[1], int(sys.argv[2], 0), sys.argv[3]
data = bytearray(open(src, "rb").read())
data[off] ^= 0x01
open(dst, "wb").write(bytes(data))
EOF
}

# check_case NAME KEYTYPE PURE(yes|no): returns 0 on pass, sets REASON on fail.
check_case() {
    local name=$1 ktype=$2 pure=$3
    local d=$WORK/$name
    local key=$d/key.pem pub=$d/key.pub.pem img=$d/signed.img
    local key2=$d/other.pem pub2=$d/other.pub.pem
    local -a pure_opt=()
    [ "$pure" = yes ] && pure_opt=(--pure)
    mkdir -p "$d"
    LOG=$d/log.txt
    : >"$LOG"

    run "$IRONSEAL" key generate --type "$ktype" --out "$key" ||
        { REASON="ironseal key generate --type $ktype failed"; return 1; }
    echo "\$ $IRONSEAL key public $key > $pub" >>"$LOG"
    "$IRONSEAL" key public "$key" >"$pub" 2>>"$LOG" ||
        { REASON="ironseal key public failed"; return 1; }
    grep -q -- "-----BEGIN PUBLIC KEY-----" "$pub" ||
        { REASON="ironseal key public did not print a PEM PUBLIC KEY"; return 1; }
    run "$IRONSEAL" image sign --key "$key" --version "$VERSION" \
        --security-counter "$SEC_CNT" --header-size "$HDR_SIZE" \
        "${pure_opt[@]}" "$FIRMWARE" "$img" ||
        { REASON="ironseal image sign failed"; return 1; }
    [ -s "$img" ] || { REASON="ironseal image sign produced no output"; return 1; }

    # 1. imgtool accepts the image with the public key ...
    imgtool_verify "$pub" "$img"
    if [ "$VRC" -ne 0 ] || ! has_line "$OK_TEXT"; then
        REASON="imgtool verify (public key) rejected the image: $(printf '%s' "$VOUT" | tail -n 1)"
        return 1
    fi
    has_line "Image version: $VERSION" ||
        { REASON="imgtool reports a version other than $VERSION"; return 1; }
    if [ "$pure" = yes ]; then
        has_prefix "Image signature over image: " ||
            { REASON="imgtool did not treat the image as pure (no SIG_PURE TLV?)"; return 1; }
    else
        has_prefix "Image digest: " ||
            { REASON="imgtool did not report a digest (pure image in digest mode?)"; return 1; }
    fi

    # ... and with ironseal's private key file (PKCS#8 must be loadable).
    imgtool_verify "$key" "$img"
    if [ "$VRC" -ne 0 ] || ! has_line "$OK_TEXT"; then
        REASON="imgtool verify (private key file) failed: $(printf '%s' "$VOUT" | tail -n 1)"
        return 1
    fi

    # 2. Header/body sanity and an independent look at the TLVs.
    local fw_size hdr
    fw_size=$(wc -c <"$FIRMWARE" | tr -d ' ')
    hdr=$((HDR_SIZE))
    echo "\$ cmp -n $fw_size -i $hdr:0 $img $FIRMWARE" >>"$LOG"
    cmp -s -n "$fw_size" -i "$hdr:0" "$img" "$FIRMWARE" ||
        { REASON="image body at offset $HDR_SIZE differs from $FIRMWARE"; return 1; }
    if [ "$INSPECT" = 1 ]; then
        local -a exp=(--expect "version=$VERSION" --expect "security_counter=$SEC_CNT"
                      --expect "hdr_size=$HDR_SIZE" --expect "img_size=$fw_size")
        case "$ktype/$pure" in
            ed25519/no)  exp+=(--expect hash_tlv=0x10 --expect keyhash_len=32
                               --expect pure=false --expect sig_tlv=0x24) ;;
            ed25519/yes) exp+=(--expect hash_tlv=0x12 --expect keyhash_len=64
                               --expect pure=true --expect sig_tlv=0x24) ;;
            ecdsa-p256/no) exp+=(--expect hash_tlv=0x10 --expect keyhash_len=32
                                 --expect pure=false --expect sig_tlv=0x22) ;;
        esac
        run "$PY" "$INSPECTOR" "$img" --pubkey "$pub" "${exp[@]}" ||
            { REASON="mcuboot_inspect.py found a problem (KEYHASH/hash TLV/fields)"; return 1; }
    fi

    # 3. One flipped byte in the firmware body must be refused (hash mismatch).
    flip_byte "$img" $((hdr + 100)) "$d/tampered-body.img" 2>>"$LOG" ||
        { REASON="could not write tampered copy"; return 1; }
    expect_refusal "$pub" "$d/tampered-body.img" "$BAD_HASH_TEXT" \
        "an image with a flipped body byte" || return 1

    # 4. One flipped byte inside the signature must be refused.
    local sig_off
    sig_off=$("$PY" "$INSPECTOR" "$img" --field sig_value_offset 2>>"$LOG")
    case "$sig_off" in
        ''|*[!0-9]*) REASON="could not locate the signature TLV (got '$sig_off')"; return 1 ;;
    esac
    flip_byte "$img" $((sig_off + 10)) "$d/tampered-sig.img" 2>>"$LOG" ||
        { REASON="could not write tampered copy"; return 1; }
    expect_refusal "$pub" "$d/tampered-sig.img" "$NO_SIG_TEXT" \
        "an image with a flipped signature byte" || return 1

    # 5. A different key of the same type must be refused.
    run "$IRONSEAL" key generate --type "$ktype" --out "$key2" ||
        { REASON="ironseal key generate (second key) failed"; return 1; }
    "$IRONSEAL" key public "$key2" >"$pub2" 2>>"$LOG" ||
        { REASON="ironseal key public (second key) failed"; return 1; }
    expect_refusal "$pub2" "$img" "$NO_SIG_TEXT" "the image with an unrelated key" || return 1

    return 0
}

echo "imgtool: $IMGTOOL_DIR/imgtool.py ($(imgtool version 2>/dev/null)), python: $PY"
echo "ironseal: $IRONSEAL"

for spec in "ed25519-digest ed25519 no" \
            "ed25519-pure ed25519 yes" \
            "ecdsa-p256 ecdsa-p256 no"; do
    # shellcheck disable=SC2086  # intentional word splitting of spec
    set -- $spec
    REASON=""
    if check_case "$1" "$2" "$3"; then
        echo "PASS $1"
    else
        echo "FAIL $1: $REASON (log: $WORK/$1/log.txt)"
        any_fail=1
    fi
done

exit "$any_fail"
