#!/usr/bin/env bash
# Footprint of MCUboot in the configuration closest to ironseal's Cortex-M33 bootloader, built
# the same way (arm-none-eabi-gcc -Os, Cortex-M33, gc-sections): bootutil with Ed25519
# (ext/fiat, key import without ASN.1), tinycrypt SHA-256/SHA-512, direct-XIP A/B with revert,
# hardware rollback protection; a minimal port of our own below (memory-mapped flash areas, one
# key, a RAM security counter, no logging, no UART, no TrustZone set-up). MCUboot publishes no
# footprint for such a configuration, so we measure it. Nothing of MCUboot is kept: it is
# extracted from a local git mirror into a temp dir.
#
#   MCUBOOT_GIT  git dir of an MCUboot mirror (default /work/.mirror/mcu-tools+mcuboot/repo)
# Exits 77 (skipped) without the mirror.
set -euo pipefail
MCUBOOT_GIT=${MCUBOOT_GIT:-/work/.mirror/mcu-tools+mcuboot/repo}
if ! git --git-dir="$MCUBOOT_GIT" rev-parse --verify --quiet HEAD >/dev/null 2>&1; then
  echo "mcuboot_footprint: no MCUboot mirror at $MCUBOOT_GIT (skipping)" >&2
  exit 77
fi
work=$(mktemp -d)
trap 'rm -rf -- "$work"' EXIT
git --git-dir="$MCUBOOT_GIT" archive HEAD boot/bootutil ext/tinycrypt ext/tinycrypt-sha512 ext/fiat |
  tar -x -C "$work"
echo "MCUboot $(git --git-dir="$MCUBOOT_GIT" rev-parse HEAD)"
port=$work/port
mkdir -p "$port/mcuboot_config" "$port/flash_map_backend" "$port/sysflash"
cat >"$port/mcuboot_config/mcuboot_config.h" <<'H'
#ifndef MCUBOOT_CONFIG_H
#define MCUBOOT_CONFIG_H
#define MCUBOOT_SIGN_ED25519
#define MCUBOOT_KEY_IMPORT_BYPASS_ASN
#define MCUBOOT_USE_TINYCRYPT
#define MCUBOOT_VALIDATE_PRIMARY_SLOT
#define MCUBOOT_IMAGE_NUMBER 1
#define MCUBOOT_MAX_IMG_SECTORS 256
#define MCUBOOT_DIRECT_XIP
#define MCUBOOT_DIRECT_XIP_REVERT
#define MCUBOOT_HW_ROLLBACK_PROT
#define MCUBOOT_BOOT_MAX_ALIGN 8
#define MCUBOOT_WATCHDOG_FEED() do {} while (0)
#define MCUBOOT_CPU_IDLE() do {} while (0)
#endif
H
cat >"$port/mcuboot_config/mcuboot_logging.h" <<'H'
#define MCUBOOT_LOG_MODULE_DECLARE(...)
#define MCUBOOT_LOG_MODULE_REGISTER(...)
#define MCUBOOT_LOG_ERR(...) do {} while (0)
#define MCUBOOT_LOG_WRN(...) do {} while (0)
#define MCUBOOT_LOG_INF(...) do {} while (0)
#define MCUBOOT_LOG_DBG(...) do {} while (0)
#define MCUBOOT_LOG_SIM(...) do {} while (0)
H
echo '#define ASSERT(x) ((void)(x))' >"$port/mcuboot_config/mcuboot_assert.h"
cat >"$port/sysflash/sysflash.h" <<'H'
#define FLASH_AREA_IMAGE_PRIMARY(x) 1
#define FLASH_AREA_IMAGE_SECONDARY(x) 2
#define FLASH_AREA_IMAGE_SCRATCH 3
H
cat >"$port/flash_map_backend/flash_map_backend.h" <<'H'
#ifndef FLASH_MAP_BACKEND_H
#define FLASH_MAP_BACKEND_H
#include <stddef.h>
#include <stdint.h>
struct flash_area { uint8_t fa_id; uint8_t fa_device_id; uint16_t pad; uint32_t fa_off; uint32_t fa_size; };
struct flash_sector { uint32_t fs_off; uint32_t fs_size; };
int flash_area_open(uint8_t id, const struct flash_area **fa);
void flash_area_close(const struct flash_area *fa);
int flash_area_read(const struct flash_area *fa, uint32_t off, void *dst, uint32_t len);
int flash_area_write(const struct flash_area *fa, uint32_t off, const void *src, uint32_t len);
int flash_area_erase(const struct flash_area *fa, uint32_t off, uint32_t len);
uint32_t flash_area_align(const struct flash_area *fa);
uint8_t flash_area_erased_val(const struct flash_area *fa);
int flash_area_get_sectors(int fa_id, uint32_t *count, struct flash_sector *sectors);
int flash_area_get_sector(const struct flash_area *fa, uint32_t off, struct flash_sector *fs);
int flash_area_id_from_multi_image_slot(int image_index, int slot);
int flash_area_id_from_image_slot(int slot);
static inline uint32_t flash_area_get_off(const struct flash_area *fa) { return fa->fa_off; }
static inline uint32_t flash_area_get_size(const struct flash_area *fa) { return fa->fa_size; }
static inline uint8_t flash_area_get_id(const struct flash_area *fa) { return fa->fa_id; }
static inline uint8_t flash_area_get_device_id(const struct flash_area *fa) { return fa->fa_device_id; }
static inline uint32_t flash_sector_get_off(const struct flash_sector *fs) { return fs->fs_off; }
static inline uint32_t flash_sector_get_size(const struct flash_sector *fs) { return fs->fs_size; }
#endif
H
cat >"$port/port.c" <<'C'
#include <stdint.h>
#include <string.h>
#include "bootutil/bootutil.h"
#include "bootutil/fault_injection_hardening.h"
#include "bootutil/security_cnt.h"
#include "bootutil/sign_key.h"
#include "flash_map_backend/flash_map_backend.h"
#define FLASH_BASE 0x10100000u
static const struct flash_area areas[] = {
    {1, 0, 0, 0x11000, 0x100000}, {2, 0, 0, 0x111000, 0x100000}, {3, 0, 0, 0x211000, 0x2000}};
int flash_area_open(uint8_t id, const struct flash_area **fa) {
  for (unsigned i = 0; i < 3; ++i) if (areas[i].fa_id == id) { *fa = &areas[i]; return 0; }
  return -1;
}
void flash_area_close(const struct flash_area *fa) { (void)fa; }
int flash_area_read(const struct flash_area *fa, uint32_t off, void *dst, uint32_t len) {
  if (off > fa->fa_size || len > fa->fa_size - off) return -1;
  memcpy(dst, (const void *)(FLASH_BASE + fa->fa_off + off), len);
  return 0;
}
int flash_area_write(const struct flash_area *fa, uint32_t off, const void *src, uint32_t len) {
  if (off > fa->fa_size || len > fa->fa_size - off) return -1;
  memcpy((void *)(FLASH_BASE + fa->fa_off + off), src, len);
  return 0;
}
int flash_area_erase(const struct flash_area *fa, uint32_t off, uint32_t len) {
  if (off > fa->fa_size || len > fa->fa_size - off) return -1;
  memset((void *)(FLASH_BASE + fa->fa_off + off), 0xff, len);
  return 0;
}
uint32_t flash_area_align(const struct flash_area *fa) { (void)fa; return 8; }
uint8_t flash_area_erased_val(const struct flash_area *fa) { (void)fa; return 0xff; }
int flash_area_get_sectors(int fa_id, uint32_t *count, struct flash_sector *sectors) {
  const struct flash_area *fa;
  if (flash_area_open((uint8_t)fa_id, &fa)) return -1;
  uint32_t n = fa->fa_size / 4096;
  if (n > *count) return -1;
  for (uint32_t i = 0; i < n; ++i) { sectors[i].fs_off = i * 4096; sectors[i].fs_size = 4096; }
  *count = n;
  return 0;
}
int flash_area_get_sector(const struct flash_area *fa, uint32_t off, struct flash_sector *fs) {
  (void)fa; fs->fs_off = off & ~4095u; fs->fs_size = 4096; return 0;
}
int flash_area_id_from_multi_image_slot(int image_index, int slot) { (void)image_index; return slot + 1; }
int flash_area_id_from_image_slot(int slot) { return slot + 1; }
static const unsigned char key0[32] = {1};
static const unsigned int key0_len = 32;
const struct bootutil_key bootutil_keys[] = {{key0, &key0_len}};
const int bootutil_key_cnt = 1;
static uint32_t nv_counter;
fih_ret boot_nv_security_counter_init(void) { FIH_RET(FIH_SUCCESS); }
fih_ret boot_nv_security_counter_get(uint32_t image_id, fih_int *cnt) {
  (void)image_id; *cnt = fih_int_encode(nv_counter); FIH_RET(FIH_SUCCESS);
}
int32_t boot_nv_security_counter_update(uint32_t image_id, uint32_t cnt) {
  (void)image_id; nv_counter = cnt; return 0;
}
volatile uint32_t entry;
void _start(void) {
  struct boot_rsp rsp;
  FIH_DECLARE(rc, FIH_FAILURE);
  FIH_CALL(boot_go, rc, &rsp);
  entry = rsp.br_image_off;
  for (;;) {}
}
C
src=$work/boot/bootutil/src
cd "$src"
# Built twice: as before (-Os, gc-sections), and with link-time optimisation as well, the way
# ironseal's bootloader is built (firmware/CMakeLists.txt), so that each comparison is like for like.
for lto in "" "-flto"; do
  arm-none-eabi-gcc -mcpu=cortex-m33 -mthumb -Os $lto -DNDEBUG -include assert.h \
    -ffunction-sections -fdata-sections -w -I"$port" -I../include \
    -I"$work/ext/tinycrypt/lib/include" -I"$work/ext/tinycrypt-sha512/lib/include" \
    -I"$work/ext/fiat/src" -nostartfiles -nostdlib -Wl,--gc-sections -Wl,-e,_start \
    boot_record.c bootutil_area.c bootutil_find_key.c bootutil_img_hash.c \
    bootutil_img_security_cnt.c bootutil_loader.c bootutil_misc.c bootutil_public.c caps.c \
    fault_injection_hardening.c image_ed25519.c image_validate.c loader.c swap_misc.c \
    swap_scratch.c tlv.c "$port/port.c" "$work/ext/fiat/src/curve25519.c" \
    "$work/ext/tinycrypt-sha512/lib/source/sha512.c" "$work/ext/tinycrypt/lib/source/sha256.c" \
    "$work/ext/tinycrypt/lib/source/utils.c" \
    -Wl,--start-group -lc_nano -lgcc -Wl,--end-group -o "$work/mcuboot.elf"
  echo "== ${lto:-without LTO}"
  arm-none-eabi-size "$work/mcuboot.elf"
done
