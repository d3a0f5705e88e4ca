#!/usr/bin/env bash
# Benchmark of the Cortex-M33 bootloader (firmware/, docs/firmware.md):
#   1. code size: flash (text + data initialisers + veneers) and static RAM (data + bss + stack
#      reserve) of boot.elf, and how much of the flash is libsodium, the portable core, the rest;
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
echo "by archive (text+data of the members linked in, from boot.map):"
python3 - "$FW/boot.map" <<'PY'
import re, sys
# Input sections in the map: " .text.name  0xADDR  0xSIZE  object" (name and rest may wrap).
sizes, pending, counting = {}, None, False
for line in open(sys.argv[1]):
    if line.startswith("Linker script and memory map"):
        counting = True
    if not counting:
        continue
    m = re.match(r"^ (\.(?:text|rodata|data|vectors|init_array)\S*)(.*)$", line)
    rest = m.group(2) if m else (line if pending else "")
    if m:
        pending = m.group(1)
    f = rest.split()
    if pending and len(f) >= 3 and f[0].startswith("0x") and f[1].startswith("0x"):
        size, obj = int(f[1], 16), f[2]
        key = ("libsodium (Debian source) + glue" if "libfw_sodium" in obj else
               "portable boot core + image verifier (src/)" if "libfw_portable" in obj else
               "newlib-nano mem*, libgcc" if ("libc_nano" in obj or "libgcc" in obj) else
               "bootloader (drivers, TrustZone, main, UART)")
        sizes[key] = sizes.get(key, 0) + size
        pending = None
for k, v in sorted(sizes.items(), key=lambda kv: -kv[1]):
    print(f"  {k:45s} {v:6d} bytes")
PY

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
