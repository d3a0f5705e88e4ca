#!/usr/bin/env python3
"""Independent, minimal parser/checker for MCUboot-format signed images.

Written for the ironseal interop tests; it does NOT reuse MCUboot code.
It exists so that the interop checks do not rely on `imgtool verify` alone
(imgtool's verify ignores the KEYHASH TLV, which the real bootloader uses to
pick the key).

Usage:
  mcuboot_inspect.py IMAGE [--pubkey PEM] [--expect FIELD=VALUE ...]
                     [--field FIELD]

  Without options: print a JSON summary of the image.
  --pubkey PEM     also check the hash TLV, the KEYHASH TLV and the
                   signature against this public (or private) key.
  --expect F=V     require summary field F to equal V (ints may be given
                   as 0x..; booleans as true/false); repeatable.
  --field F        print only field F instead of the JSON summary.
  Exit status: 0 all good, 1 bad image / failed check, 2 usage error.

Needs python3; --pubkey also needs the 'cryptography' package.
"""
import argparse
import hashlib
import json
import struct
import sys

IMAGE_MAGIC = 0x96F3B83D
TLV_INFO_MAGIC = 0x6907
TLV_PROT_INFO_MAGIC = 0x6908
BOOT_MAGIC_8 = bytes.fromhex("77c295f360d2ef7f3552500f2cb67980")

TLV_NAMES = {
    0x01: "KEYHASH", 0x02: "PUBKEY", 0x10: "SHA256", 0x11: "SHA384",
    0x12: "SHA512", 0x20: "RSA2048_PSS", 0x22: "ECDSA_SIG",
    0x23: "RSA3072_PSS", 0x24: "ED25519", 0x25: "SIG_PURE",
    0x40: "DEPENDENCY", 0x50: "SEC_CNT", 0x60: "BOOT_RECORD",
    0x74: "UUID_VID", 0x75: "UUID_CID",
}
HASHES = {0x10: hashlib.sha256, 0x11: hashlib.sha384, 0x12: hashlib.sha512}


class BadImage(Exception):
    pass


def parse_tlv_area(data, off, expect_magic):
    if off + 4 > len(data):
        raise BadImage(f"TLV info header at 0x{off:x} beyond end of file")
    magic, total = struct.unpack_from("<HH", data, off)
    if magic != expect_magic:
        raise BadImage(f"TLV info magic 0x{magic:04x} at 0x{off:x}, "
                       f"expected 0x{expect_magic:04x}")
    end = off + total
    if end > len(data):
        raise BadImage("TLV area runs past end of file")
    entries = []
    p = off + 4
    while p < end:
        if p + 4 > end:
            raise BadImage(f"truncated TLV header at 0x{p:x}")
        typ, ln = struct.unpack_from("<HH", data, p)
        if p + 4 + ln > end:
            raise BadImage(f"TLV 0x{typ:x} at 0x{p:x} overruns its area")
        entries.append((typ, data[p + 4:p + 4 + ln], p))
        p += 4 + ln
    return entries, end


def parse(data):
    if len(data) < 32:
        raise BadImage("file shorter than an image header")
    (magic, load_addr, hdr_size, prot_size, img_size, flags,
     major, minor, rev, build, _pad) = struct.unpack_from("<IIHHIIBBHII", data, 0)
    if magic != IMAGE_MAGIC:
        raise BadImage(f"bad image magic 0x{magic:08x}")
    info = {
        "load_addr": load_addr, "hdr_size": hdr_size,
        "protect_tlv_size": prot_size, "img_size": img_size, "flags": flags,
        "version": f"{major}.{minor}.{rev}+{build}",
        "file_size": len(data),
        "sha256_file": hashlib.sha256(data).hexdigest(),
    }
    pad = set(data[32:hdr_size])
    info["header_pad_bytes"] = sorted(pad)
    off = hdr_size + img_size
    prot = []
    if prot_size:
        prot, off2 = parse_tlv_area(data, off, TLV_PROT_INFO_MAGIC)
        if off2 - off != prot_size:
            raise BadImage("protected TLV area size disagrees with header")
        off = off2
    signed_end = off
    unprot, tlv_end = parse_tlv_area(data, off, TLV_INFO_MAGIC)
    info["signed_region_len"] = signed_end
    info["tlv_end"] = tlv_end
    info["protected_tlvs"] = [
        {"type": f"0x{t:02x}", "name": TLV_NAMES.get(t, "?"), "len": len(v),
         "value": v.hex()} for t, v, _ in prot]
    info["tlvs"] = [
        {"type": f"0x{t:02x}", "name": TLV_NAMES.get(t, "?"), "len": len(v)}
        for t, v, _ in unprot]
    for t, v, _ in prot:
        if t == 0x50 and len(v) == 4:
            info["security_counter"] = struct.unpack("<I", v)[0]
    hash_types = [t for t, _, _ in unprot if t in HASHES]
    info["hash_tlv"] = f"0x{hash_types[0]:02x}" if len(hash_types) == 1 else None
    info["pure"] = any(t == 0x25 for t, _, _ in unprot)
    for t, v, pos in unprot:
        if t == 0x01:
            info["keyhash_len"] = len(v)
        if t in (0x20, 0x22, 0x23, 0x24) and "sig_tlv" not in info:
            info["sig_tlv"] = f"0x{t:02x}"
            info["sig_len"] = len(v)
            info["sig_value_offset"] = pos + 4
    tail = data[tlv_end:]
    if tail:
        info["trailing_bytes"] = len(tail)
        info["trailer_magic_at_end"] = tail[-16:] == BOOT_MAGIC_8
        info["trailing_fill"] = sorted(set(tail[:-16]))
    return info, data[:signed_end], prot, unprot


def check_with_key(signed, unprot, pem_path):
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec, ed25519
    from cryptography.exceptions import InvalidSignature

    with open(pem_path, "rb") as f:
        pem = f.read()
    try:
        key = serialization.load_pem_public_key(pem)
    except ValueError:
        key = serialization.load_pem_private_key(pem, password=None).public_key()
    spki = key.public_bytes(serialization.Encoding.DER,
                            serialization.PublicFormat.SubjectPublicKeyInfo)
    types = [t for t, _, _ in unprot]
    pure = 0x25 in types
    problems = []
    hash_tlvs = [(t, v) for t, v, _ in unprot if t in HASHES]
    if len(hash_tlvs) != 1:
        problems.append(f"expected exactly one hash TLV, found {len(hash_tlvs)}")
        return problems
    htype, hval = hash_tlvs[0]
    digest = HASHES[htype](signed).digest()
    if digest != hval:
        problems.append("hash TLV does not match header+body+protected TLVs")
    keyhashes = [v for t, v, _ in unprot if t == 0x01]
    want_kh = HASHES[htype](spki).digest()
    if keyhashes != [want_kh]:
        problems.append("KEYHASH TLV missing or not the hash of the public "
                        "key's SubjectPublicKeyInfo DER")
    if isinstance(key, ed25519.Ed25519PublicKey):
        sigs = [v for t, v, _ in unprot if t == 0x24]
        msg = signed if pure else digest
        ok = False
        for s in sigs:
            try:
                key.verify(s, msg)
                ok = True
            except InvalidSignature:
                pass
        if not ok:
            problems.append("no ED25519 TLV verifies over the expected message "
                            f"({'whole signed region' if pure else 'digest'})")
    elif isinstance(key, ec.EllipticCurvePublicKey):
        if pure:
            problems.append("SIG_PURE present with an ECDSA key")
        sigs = [v for t, v, _ in unprot if t == 0x22]
        ok = False
        for s in sigs:
            if len(s) < 2:
                continue
            der = s[:s[1] + 2]  # tolerate zero padding after the DER SEQUENCE
            try:
                key.verify(der, signed, ec.ECDSA(hashes.SHA256()))
                ok = True
            except InvalidSignature:
                pass
        if not ok:
            problems.append("no ECDSA_SIG TLV verifies")
    else:
        problems.append(f"unsupported key type {type(key).__name__}")
    return problems


def fmt(value):
    if isinstance(value, bool):
        return "true" if value else "false"
    if value is None:
        return "null"
    return str(value)


def same(value, want):
    if isinstance(value, bool) or value is None:
        return fmt(value) == want
    if isinstance(value, int):
        try:
            return value == int(want, 0)
        except ValueError:
            return False
    return str(value) == want


def main(argv):
    ap = argparse.ArgumentParser(description="Inspect an MCUboot-format image")
    ap.add_argument("image")
    ap.add_argument("--pubkey")
    ap.add_argument("--expect", action="append", default=[], metavar="FIELD=VALUE")
    ap.add_argument("--field")
    args = ap.parse_args(argv[1:])
    with open(args.image, "rb") as f:
        data = f.read()
    try:
        info, signed, _prot, unprot = parse(data)
    except BadImage as e:
        print(f"BAD IMAGE: {e}")
        return 1
    failed = False
    if args.pubkey:
        problems = check_with_key(signed, unprot, args.pubkey)
        info["key_check"] = "ok" if not problems else problems
        failed = bool(problems)
    mismatches = []
    for item in args.expect:
        if "=" not in item:
            ap.error(f"--expect needs FIELD=VALUE, got {item!r}")
        field, want = item.split("=", 1)
        if not same(info.get(field), want):
            mismatches.append(f"{field}: expected {want}, got {fmt(info.get(field))}")
    if mismatches:
        info["expect_mismatch"] = mismatches
        failed = True
    if args.field:
        print(fmt(info.get(args.field)))
        if failed:
            print(json.dumps({k: info[k] for k in ("key_check", "expect_mismatch")
                              if k in info}), file=sys.stderr)
    else:
        print(json.dumps(info, indent=2))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
