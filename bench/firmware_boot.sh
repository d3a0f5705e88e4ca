#!/usr/bin/env bash
# Benchmark of the Cortex-M33 bootloader (firmware/, docs/firmware.md):
#   1. code size: flash (text + data initialisers + veneers) and static RAM (data + bss + stack
#      reserve) of boot.elf, and how much of the flash is crypto, the portable core, the rest;
#   2. emulated instructions from reset to the hand-over to the application, for a 256 KiB image
#      signed in digest mode (SHA-256 + Ed25519) and in pure mode (Ed25519 over the bytes, SHA-512),
#      and for a 2 KiB image. QEMU runs with -icount shift=0 (one instruction = 1 ns of virtual
#      time); the bootloader reads SysTick on the 20 MHz processor clock of the mps2-an505, so
#      instructions = ticks * 50. ROM's stage-2 check (a 44 KiB image) is part of every boot.
#
# Usage: bench/firmware_boot.sh IRONSEAL FIRMWARE_BUILD_DIR
set -euo pipefail
IRONSEAL=$(realpath "$1")
FW=$(realpath "$2")
work=$(mktemp -d)
trap 'rm -rf -- "$work"' EXIT
cd "$work"

echo "== code size (arm-none-eabi-size -A $FW/boot.elf)"
arm-none-eabi-size -A "$FW/boot.elf" | awk '
  $1 ~ /^\.(vectors|text|ARM\.exidx|init_array|data|gnu\.sgstubs)$/ { flash += $2 }
  $1 ~ /^\.(data|bss)$/ { ram += $2 }
  END { printf "flash %d bytes (%.1f KiB); static RAM %d bytes (%.1f KiB) + stack\n",
               flash, flash / 1024, ram, ram / 1024 }'
echo "by part (symbols in flash, arm-none-eabi-nm; with LTO, code inlined across parts counts"
echo "where it landed: the boot core's power_on is inlined into fw_main):"
arm-none-eabi-nm -n -S -C "$FW/boot.elf" | python3 -c '
import re, sys
rows = []
for line in sys.stdin:
    f = line.rstrip("\n").split(" ", 3)
    if len(f) == 4 and f[2] in "tTrRdDwW":
        rows.append([int(f[0], 16), int(f[1], 16), f[3]])
    elif len(f) == 3 and f[1] in "tT":  # no size: the entry functions (CMSE) after LTO
        rows.append([int(f[0], 16), 0, f[2]])
for i, r in enumerate(rows):  # an entry function extends to the next symbol
    if r[1] == 0 and r[2].startswith("__acle_se_") and i + 1 < len(rows):
        r[1] = rows[i + 1][0] - r[0]
sizes = {}
for _, size, name in rows:
    if re.match(r"(fe_|point_|mp_add|load_words|sc_|bit_of|mul_acc|sha2|store_be|load_be|ror"
                r"|ironseal_sha2|ironseal_ed25519|k(P|L|D|SqrtM1|H|K|PointAdd|Decode[12])$)", name) \
            or "FirmwareBackend" in name or "ed25519_raw" in name:
        key = "crypto: Ed25519, SHA-256/512 (firmware/crypto) + backend"
    elif re.match(r"(memcpy|memset|memcmp|__aeabi|__udiv|__gnu|cmse_check)", name):
        key = "C library / libgcc"
    elif re.match(r"(vtable for |typeinfo for )?ironseal::(?!fw::)", name):
        key = "portable boot core + image verifier (src/)"
    else:
        key = "bootloader: drivers, TrustZone, main, UART, start-up"
    sizes[key] = sizes.get(key, 0) + size
for k, v in sorted(sizes.items(), key=lambda kv: -kv[1]):
    print(f"  {k:55s} {v:6d} bytes")
print("  %-55s %6d bytes" % ("(sum; the rest: string literals, alignment)", sum(sizes.values())))
'

"$IRONSEAL" key generate --out k.pem --public-out k.pub.pem >/dev/null
"$IRONSEAL" image sign --key k.pem --version 1.0.0 --security-counter 1 "$FW/boot.bin" s2.img >/dev/null
python3 -c "
import sys
d = open('$FW/demo.bin', 'rb').read()
open('big.bin', 'wb').write(d + bytes(256 * 1024 - len(d)))"
"$IRONSEAL" image sign --key k.pem --version 1.0.0 --security-counter 1 big.bin big.img >/dev/null
"$IRONSEAL" image sign --key k.pem --version 1.0.0 --security-counter 1 --pure big.bin big-pure.img >/dev/null
"$IRONSEAL" image sign --key k.pem --version 1.0.0 --security-counter 1 "$FW/demo.bin" small.img >/dev/null

echo "== emulated instructions, reset to hand-over (qemu -icount shift=0)"
for img in small big big-pure; do
  rm -rf "d-$img"
  "$IRONSEAL" device init "d-$img" --root-key k.pub.pem --stage2 s2.img --firmware "$img.img" \
    --slot-size 1048576 --block-size 4096 --page-size 256 >/dev/null
  out=$(cd "d-$img" && timeout 60 qemu-system-arm -M mps2-an505 -icount shift=0 -display none \
    -monitor none -chardev stdio,id=con,mux=on -serial chardev:con \
    -semihosting-config enable=on,target=native,chardev=con -kernel "$FW/boot.elf" \
    -device loader,file=flash.img,addr=0x10100000 -device loader,file=otp.bin,addr=0x103ff000 \
    </dev/null)
  ticks=$(sed -n 's/^boot: \([0-9]*\) SysTick ticks.*/\1/p' <<<"$out" | tr -d '\r')
  stack=$(grep -o 'stack=[0-9]*' <<<"$out" | cut -d= -f2 | sort -n | tail -n1)
  grep -q "app: image already confirmed" <<<"$out" || { echo "$img did not boot"; exit 1; }
  printf "  %-9s %8d bytes  %7d ticks  %5.1f M instructions  stack high-water %d bytes\n" \
    "$img" "$(stat -c %s "$img.img")" "$ticks" "$(echo "$ticks * 50 / 1000000" | bc -l)" "$stack"
done
