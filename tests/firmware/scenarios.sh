#!/usr/bin/env bash
# Scenario tests of the Cortex-M33 bootloader on QEMU's mps2-an505 (docs/firmware.md). Every
# power-on is one QEMU run (bounded by a timeout) over a device directory holding flash.img and
# otp.bin, which the bootloader writes through by semihosting; the run's exit code says how it
# ended (firmware/common/exit_codes.h) and the UART log says why.
#
#   scenarios.sh SCENARIO IRONSEAL_CLI FIRMWARE_BUILD_DIR FIXTURES_DIR
#
# SCENARIO: boot | update | revert | refusals | power_cut | imgtool | trustzone
set -uo pipefail

scenario=${1:?scenario}
IRONSEAL=$(realpath "${2:?ironseal CLI}")
FW=$(realpath "${3:?firmware build dir}")
FIXTURES=$(realpath "${4:?fixtures dir}")
here=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=../cli/lib.sh
source "$here/../cli/lib.sh"

command -v qemu-system-arm >/dev/null || { echo "qemu-system-arm not installed"; exit 1; }
for f in boot.elf boot.bin demo.bin demo-failing.bin key-probe.bin alias-probe.bin deputy-probe.bin standalone.bin; do
  [[ -f "$FW/$f" ]] || { echo "missing firmware build output $FW/$f"; exit 1; }
done

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
cd "$work" || exit 1

# Exit codes (firmware/common/exit_codes.h).
EXIT_HEALTHY=0 EXIT_POWER_CUT=3 EXIT_SECURE_FAULT=4 EXIT_UNHEALTHY=10 EXIT_INSTALLED=11
recovery_exit() { if (($1 >= 64)); then echo $((96 + $1 - 64)); else echo $((64 + $1)); fi; }
refused_exit() { if (($1 >= 64)); then echo $((192 + $1 - 64)); else echo $((128 + $1)); fi; }
# image::Status / boot::Check values.
HASH_MISMATCH=14 UNKNOWN_KEY=17 ROLLED_BACK=64 WRONG_HARDWARE=65

# ---- keys, images, devices --------------------------------------------------------------------
"$IRONSEAL" key generate --out root.pem --public-out root.pub.pem >/dev/null
"$IRONSEAL" key generate --out other.pem --public-out other.pub.pem >/dev/null
VID=example.com CID=ironseal-m33-demo

# sign NAME BIN VERSION COUNTER [CLASS]: writes NAME.img, for this device class unless CLASS.
sign() {
  "$IRONSEAL" image sign --key root.pem --version "$3" --security-counter "$4" \
    --vid "$VID" --cid "${5:-$CID}" "$FW/$2" "$1.img" >/dev/null ||
    { echo "signing $1 failed"; exit 1; }
}
sign stage2 boot.bin 1.0.0 1

# new_device DIR FIRMWARE_IMG [ROOT_PUB] [STAGE2_IMG]: the factory step (ironseal device init)
# with the target's geometry and hardware identity.
new_device() {
  "$IRONSEAL" device init "$1" --root-key "${3:-root.pub.pem}" --stage2 "${4:-stage2.img}" \
    --firmware "$2" --slot-size 1048576 --block-size 4096 --page-size 256 --attempts 3 \
    --vid "$VID" --cid "$CID" >/dev/null || { echo "device init $1 failed"; exit 1; }
}

# stage DIR IMG: puts IMG in the application's update staging buffer for the next run only.
stage() {
  python3 - "$2" "$1/staged.bin" <<'PY'
import struct, sys
data = open(sys.argv[1], 'rb').read()
open(sys.argv[2], 'wb').write(struct.pack('<IIII', 0x50554953, len(data), 0, 0) + data)
PY
}

# power_on DIR [cut=N]: one QEMU run; sets $rc and leaves the UART log in DIR/uart.log (and
# appends it to DIR/history.log). A staged update is consumed by the run.
runs=0
power_on() {
  local dir=$1 args="arg=boot"
  [[ $# -ge 2 ]] && args="$args,arg=$2"
  local loaders=(-device "loader,file=flash.img,addr=0x10100000"
                 -device "loader,file=otp.bin,addr=0x103ff000")
  [[ -f "$dir/staged.bin" ]] && loaders+=(-device "loader,file=staged.bin,addr=0x28200000")
  (cd "$dir" && timeout 20 qemu-system-arm -M mps2-an505 -display none -monitor none \
      -chardev stdio,id=con,mux=on -serial chardev:con \
      -semihosting-config "enable=on,target=native,chardev=con,$args" \
      -kernel "$FW/boot.elf" "${loaders[@]}" </dev/null >uart.log 2>&1)
  rc=$?
  rm -f "$dir/staged.bin"
  runs=$((runs + 1))
  # The flash driver refuses (and counts) anything a real part would reject: there must be none.
  if grep -a -o 'violations=[0-9]*' "$dir/uart.log" | grep -qv 'violations=0$'; then
    failed=$((failed + 1))
    echo "FAIL: run $runs: the boot core broke a flash rule"
    grep -a 'violations=' "$dir/uart.log"
  fi
  { echo "---- run $runs ($*) exit $rc"; cat "$dir/uart.log"; } >>"$dir/history.log"
}

# want_exit WANT DESCRIPTION DIR
want_exit() {
  if [[ "$rc" -eq "$1" ]]; then
    passed=$((passed + 1))
  else
    failed=$((failed + 1))
    echo "FAIL: $2: exit $rc, want $1"
    sed 's/^/  uart: /' "$3/uart.log" | tail -15
  fi
}

# last_operations DIR: the flash/OTP operation count the last run reported.
last_operations() { grep -o 'operations=[0-9]*' "$1/uart.log" | tail -n1 | cut -d= -f2; }

measurement() { sed -n "s/^$2 \([0-9a-f]\{64\}\).*/\1/p" "$1/uart.log" | tail -n1; }

# ---- scenarios ---------------------------------------------------------------------------------

scenario_boot() {
  sign v1 demo.bin 1.0.0 1
  new_device dev v1.img
  power_on dev
  want_exit $EXIT_HEALTHY "the only valid image boots" dev
  contains dev/uart.log "boot: stage-2 trusted" "ROM verified stage-2"
  contains dev/uart.log "boot: slot A version 1.0.0+0 confirmed" "slot A runs"
  contains dev/uart.log "app: ironseal demo PLC demo (non-secure)" "the application runs"
  contains dev/uart.log "app: image already confirmed" "confirm of a confirmed image"
  local m1 a1
  m1=$(measurement dev "boot: measurement")
  a1=$(measurement dev "app: measured boot")
  [[ -n "$m1" && "$m1" == "$a1" ]]
  ok $? "the application sees the bootloader's measurement ($m1 / $a1)"
  power_on dev
  want_exit $EXIT_HEALTHY "boots again after a power cycle" dev
  [[ "$(measurement dev "boot: measurement")" == "$m1" ]]
  ok $? "same image, same measurement"

  # A stage-2 image that verifies but is not the code that runs: refused before anything else.
  sign other-stage2 demo.bin 1.0.0 1
  new_device dev2 v1.img root.pub.pem other-stage2.img
  power_on dev2
  want_exit 7 "a signed stage-2 that is not the running bootloader is refused" dev2
  contains dev2/uart.log "boot: RECOVERY, the stage-2 image on flash is not the running bootloader" \
    "the mismatch is named"
}

scenario_update() {
  sign v1 demo.bin 1.0.0 1
  sign v2 demo.bin 2.0.0 2
  new_device dev v1.img
  stage dev v2.img
  power_on dev
  want_exit $EXIT_INSTALLED "staged update installed" dev
  contains dev/uart.log "secure: install into slot B: ok, version 2.0.0+0 pending a trial" \
    "install reported"
  power_on dev
  want_exit $EXIT_HEALTHY "trial boot of the update" dev
  contains dev/uart.log "boot: slot B version 2.0.0+0 TRIAL" "update boots on trial"
  contains dev/uart.log "secure: confirm slot B: confirmed" "confirmed through the veneer"
  for i in 1 2 3; do
    power_on dev
    want_exit $EXIT_HEALTHY "power cycle $i after confirmation" dev
    contains dev/uart.log "boot: slot B version 2.0.0+0 confirmed" "update stays ($i)"
    contains dev/uart.log "otp counter 2" "anti-rollback counter raised to 2 ($i)"
  done
}

scenario_revert() {
  sign v1 demo.bin 1.0.0 1
  sign v2bad demo-failing.bin 2.0.0 2
  new_device dev v1.img
  stage dev v2bad.img
  power_on dev
  want_exit $EXIT_INSTALLED "update installed" dev
  for i in 1 2 3; do
    power_on dev
    want_exit $EXIT_UNHEALTHY "trial $i fails its health check" dev
    contains dev/uart.log "boot: slot B version 2.0.0+0 TRIAL" "trial $i runs the update"
    contains dev/uart.log "app: health check FAILED; not confirming" "trial $i does not confirm"
  done
  power_on dev
  want_exit $EXIT_HEALTHY "after the attempts: back on the old image" dev
  contains dev/uart.log "event reverted_unconfirmed" "revert reported"
  contains dev/uart.log "boot: slot A version 1.0.0+0 confirmed" "old image runs"
  contains dev/uart.log "otp counter 1" "counter not raised by the unconfirmed update"
  power_on dev
  want_exit $EXIT_HEALTHY "stays on the old image" dev
  contains dev/uart.log "boot: slot A version 1.0.0+0 confirmed" "old image stays"
}

scenario_refusals() {
  sign v1 demo.bin 1.0.0 5
  new_device dev v1.img
  power_on dev
  want_exit $EXIT_HEALTHY "baseline boot" dev

  # Tampered: one body byte flipped after signing.
  sign v2 demo.bin 2.0.0 6
  python3 -c 'import sys; b=bytearray(open("v2.img","rb").read()); b[0x200+100]^=1; open("tampered.img","wb").write(b)'
  # Unknown key, wrong hardware, downgrade.
  "$IRONSEAL" image sign --key other.pem --version 2.0.0 --security-counter 6 --vid "$VID" \
    --cid "$CID" "$FW/demo.bin" unknown-key.img >/dev/null
  sign wrong-hw demo.bin 2.0.0 6 other-device-class
  sign downgrade demo.bin 0.9.0 4

  cp dev/flash.img flash.before
  local name reason code
  for entry in "tampered:hash_mismatch:$HASH_MISMATCH" "unknown-key:unknown_key:$UNKNOWN_KEY" \
               "wrong-hw:wrong_hardware:$WRONG_HARDWARE" "downgrade:rolled_back:$ROLLED_BACK"; do
    IFS=: read -r name reason code <<<"$entry"
    stage dev "$name.img"
    power_on dev
    want_exit "$(refused_exit "$code")" "$name update refused with its own exit code" dev
    contains dev/uart.log "secure: install REFUSED, $reason ($code)" \
      "$name refused for the right reason"
    cmp -s dev/flash.img flash.before
    ok $? "$name: flash untouched by the refused update"
    power_on dev
    want_exit $EXIT_HEALTHY "$name: the device still boots its image" dev
  done

  # The same four written straight into the confirmed slot (an attacker with flash access): at
  # boot the only image is refused, nothing runs, and the exit code names the reason.
  cp dev/flash.img flash.good
  for entry in "tampered:hash_mismatch:$HASH_MISMATCH" "unknown-key:unknown_key:$UNKNOWN_KEY" \
               "wrong-hw:wrong_hardware:$WRONG_HARDWARE" "downgrade:rolled_back:$ROLLED_BACK"; do
    IFS=: read -r name reason code <<<"$entry"
    cp flash.good dev/flash.img
    python3 - "$name.img" dev/flash.img <<'PY'
import sys
image = open(sys.argv[1], "rb").read()
flash = bytearray(open(sys.argv[2], "rb").read())
slot_a = 0x11000  # key store 4 KiB + stage-2 64 KiB
flash[slot_a:slot_a + 0x10000] = image + b"\xff" * (0x10000 - len(image))
open(sys.argv[2], "wb").write(flash)
PY
    power_on dev
    want_exit "$(recovery_exit "$code")" "$name image in slot A: recovery, its own exit code" dev
    contains dev/uart.log "boot: RECOVERY, nothing verifiable to run: slot A $reason ($code)" \
      "$name: recovery names the reason"
    grep -q "app:" dev/uart.log
    ok $((1 - $?)) "$name: no application code ran"
  done
}

scenario_power_cut() {
  sign v1 demo.bin 1.0.0 1
  sign v2 demo.bin 2.0.0 2
  new_device base v1.img
  # Count the operations of the two power-ons an update takes: install, trial + confirm.
  cp -r base probe
  stage probe v2.img
  power_on probe
  want_exit $EXIT_INSTALLED "reference install" probe
  local install_ops trial_ops
  install_ops=$(last_operations probe)
  cp -r probe probe-installed
  power_on probe
  want_exit $EXIT_HEALTHY "reference trial and confirm" probe
  trial_ops=$(last_operations probe)
  echo "update: $install_ops operations to install, $trial_ops to boot the trial and confirm"
  ((install_ops > 5 && trial_ops > 2))
  ok $? "the update performs flash operations ($install_ops, $trial_ops)"

  # Every cut point, twice: the operation does not happen, or it lands half-way (torn).
  local cut mode
  for mode in cut tear; do
    local extra="" && [[ $mode == tear ]] && extra=",arg=tear"
    for ((cut = 0; cut < install_ops; cut++)); do
      rm -rf d && cp -r base d
      stage d v2.img
      power_on d "cut=$cut$extra"
      want_exit $EXIT_POWER_CUT "install: $mode after $cut operations" d
      power_on d
      want_exit $EXIT_HEALTHY "install $mode at $cut: verified boot" d
      contains d/uart.log "boot: slot A version 1.0.0+0 confirmed" "$mode $cut: the old image runs"
      stage d v2.img
      power_on d
      want_exit $EXIT_INSTALLED "$mode $cut: the update installs on the next try" d
      power_on d
      want_exit $EXIT_HEALTHY "$mode $cut: the update boots and confirms" d
      contains d/uart.log "boot: slot B version 2.0.0+0 TRIAL" "$mode $cut: trial of the update"
    done
    for ((cut = 0; cut < trial_ops; cut++)); do
      rm -rf d && cp -r probe-installed d
      power_on d "cut=$cut$extra"
      want_exit $EXIT_POWER_CUT "trial/confirm: $mode after $cut operations" d
      power_on d
      want_exit $EXIT_HEALTHY "trial/confirm $mode at $cut: verified boot" d
      grep -Eq "boot: slot (A version 1\.0\.0\+0|B version 2\.0\.0\+0)" d/uart.log
      ok $? "$mode $cut: a verified image runs"
      power_on d
      want_exit $EXIT_HEALTHY "$mode $cut: and again" d
    done
  done
}

scenario_imgtool() {
  local fx="$FIXTURES/firmware"
  cp "$FIXTURES/imgtool/test-key-ed25519.pem" imgtool-key.pem && chmod 600 imgtool-key.pem
  "$IRONSEAL" image sign --key imgtool-key.pem --version 1.0.0 --security-counter 1 \
    "$FW/boot.bin" stage2-imgtool-key.img >/dev/null
  for img in imgtool-standalone.img imgtool-standalone-pure.img; do
    rm -rf d
    "$IRONSEAL" device init d --root-key "$FIXTURES/imgtool/test-key-ed25519.pub.pem" \
      --stage2 stage2-imgtool-key.img --firmware "$fx/$img" --slot-size 1048576 \
      --block-size 4096 --page-size 256 >/dev/null || { echo "device init with $img failed"; exit 1; }
    power_on d
    want_exit $EXIT_HEALTHY "image signed by MCUboot's imgtool boots ($img)" d
    contains d/uart.log "app: ironseal demo PLC standalone (non-secure)" "$img: its code runs"
  done
  contains d/uart.log "ed25519-pure" "imgtool --pure image verified in pure mode"
  # The same application signed by ironseal, under the same key.
  "$IRONSEAL" image sign --key imgtool-key.pem --version 1.0.0 --security-counter 1 \
    "$fx/standalone.bin" ironseal-standalone.img >/dev/null
  rm -rf d
  "$IRONSEAL" device init d --root-key "$FIXTURES/imgtool/test-key-ed25519.pub.pem" \
    --stage2 stage2-imgtool-key.img --firmware ironseal-standalone.img --slot-size 1048576 \
    --block-size 4096 --page-size 256 >/dev/null
  power_on d
  want_exit $EXIT_HEALTHY "the same application signed by ironseal boots" d
}

scenario_trustzone() {
  sign probe key-probe.bin 1.0.0 1
  new_device dev probe.img
  power_on dev
  want_exit $EXIT_SECURE_FAULT "reading the key store from the non-secure side faults" dev
  contains dev/uart.log "app: reading the key store in secure flash at 0x10100000" "probe ran"
  contains dev/uart.log "secure: SECURE FAULT: the non-secure application accessed secure memory (AUVIOL)" \
    "the secure side reports the violation"
  local pc
  pc=$(sed -n 's/.*SECURE FAULT.*, pc \(0x[0-9a-f]*\),.*/\1/p' dev/uart.log)
  [[ -n "$pc" && $((pc)) -ge $((0x28000200)) && $((pc)) -lt $((0x28100000)) ]]
  ok $? "the faulting instruction ($pc) is in the non-secure application"
  grep -q "LEAKED" dev/uart.log
  ok $((1 - $?)) "no key store byte reached the application"

  # The same bytes through SSRAM1's non-secure alias.
  sign alias alias-probe.bin 1.0.0 1
  new_device dev3 alias.img
  power_on dev3
  want_exit $EXIT_SECURE_FAULT "reading the key store through the non-secure alias faults" dev3
  contains dev3/uart.log "app: reading the key store in secure flash at 0x00100000" "alias probe ran"
  contains dev3/uart.log "secure: SECURE FAULT: the non-secure application accessed secure memory (AUVIOL)" \
    "the secure side reports the alias access"
  grep -q "LEAKED" dev3/uart.log
  ok $((1 - $?)) "nothing leaked through the alias"

  # The install entry function must not read secure memory on the application's behalf.
  sign deputy deputy-probe.bin 1.0.0 1
  new_device dev2 deputy.img
  cp dev2/flash.img flash.before
  power_on dev2
  want_exit "$(refused_exit 0)" "install from a secure address is refused" dev2
  contains dev2/uart.log "secure: install refused: the staged image is not in non-secure memory" \
    "the secure side names the reason"
  n=$(grep -c "secure: install refused: the staged image is not in non-secure memory" dev2/uart.log)
  [[ $n -eq 2 ]]
  ok $? "a range crossing the end of the non-secure window is refused too (refusals: $n)"
  cmp -s dev2/flash.img flash.before
  ok $? "flash untouched"
}

case "$scenario" in
  boot | update | revert | refusals | power_cut | imgtool | trustzone) "scenario_$scenario" ;;
  *) echo "unknown scenario $scenario"; exit 2 ;;
esac
echo "$scenario: $runs QEMU runs"
finish
