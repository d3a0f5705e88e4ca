// Fuzz target: a power-on over attacker-controlled flash. An attacker who can write flash controls
// both slots, the boot state records and the key store; the fused OTP (root-key hash) is theirs
// to read only. The input is split into: boot state blocks, slot A, slot B, key store tail.
// Invariants beyond "no crash": whatever the flash holds, power_on either refuses (recovery) or
// hands over an image that verifies against the fused key alone, with a security counter not
// below the fused counter.
#include <algorithm>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <iterator>
#include <vector>

#include "boot/boot.h"
#include "boot/otp_map.h"
#include "core/endian.h"
#include "openssl_backend.h"

namespace {

using namespace ironseal;

constexpr std::uint32_t kBlock = 1024;

class MemFlash final : public boot::Flash {
 public:
  explicit MemFlash(std::uint32_t size) : bytes(size, 0xff) {}
  std::uint32_t size() const override { return static_cast<std::uint32_t>(bytes.size()); }
  std::uint32_t block_size() const override { return kBlock; }
  std::uint32_t page_size() const override { return 256; }
  bool read(std::uint32_t off, std::uint8_t* out, std::size_t len) const override {
    if (off > bytes.size() || len > bytes.size() - off) return false;
    std::copy_n(bytes.begin() + off, len, out);
    return true;
  }
  bool program(std::uint32_t off, const std::uint8_t* data, std::size_t len) override {
    if (off > bytes.size() || len > bytes.size() - off) return false;
    for (std::size_t i = 0; i < len; ++i) bytes[off + i] &= data[i];
    return true;
  }
  bool erase_block(std::uint32_t off) override {
    if (off % kBlock != 0 || off >= bytes.size()) return false;
    std::fill_n(bytes.begin() + off, kBlock, 0xff);
    return true;
  }
  std::vector<std::uint8_t> bytes;
};

class MemOtp final : public boot::Otp {
 public:
  std::uint32_t size() const override { return boot::kOtpSize; }
  bool read(std::uint32_t off, std::uint8_t* out, std::size_t len) const override {
    if (off > sizeof bytes || len > sizeof bytes - off) return false;
    std::copy_n(bytes + off, len, out);
    return true;
  }
  bool program(std::uint32_t off, const std::uint8_t* bits, std::size_t len) override {
    if (off > sizeof bytes || len > sizeof bytes - off) return false;
    for (std::size_t i = 0; i < len; ++i) bytes[off + i] |= bits[i];
    return true;
  }
  std::uint8_t bytes[boot::kOtpSize] = {};
};

// SPKI of tests/fixtures/imgtool/test-key-ed25519.pub.pem and the SHA-256 of it.
constexpr std::uint8_t kSpki[] = {0x30, 0x2a, 0x30, 0x05, 0x06, 0x03, 0x2b, 0x65, 0x70, 0x03, 0x21,
                                  0x00, 0xfd, 0xaa, 0xa9, 0x0e, 0x9f, 0x56, 0x61, 0xd3, 0x93, 0x5f,
                                  0x05, 0x05, 0xe6, 0xb2, 0xe3, 0x1a, 0xb1, 0x28, 0xd4, 0x52, 0xf0,
                                  0x1f, 0x09, 0x2f, 0x66, 0xe5, 0xcc, 0xd6, 0xd3, 0x33, 0x2f, 0x30};

struct World {
  boot::Geometry g;
  std::vector<std::uint8_t> stage2;  // a signed image: the imgtool Ed25519 fixture
  World() {
    if (!boot::make_geometry(kBlock, 4 * kBlock, 4 * kBlock, kBlock, &g)) std::abort();
    const char* path = std::getenv("IRONSEAL_FUZZ_STAGE2");
    std::ifstream in(path ? path : "tests/fixtures/imgtool/imgtool-ed25519.img", std::ios::binary);
    stage2.assign(std::istreambuf_iterator<char>(in), {});
    if (stage2.empty() || stage2.size() > g.stage2_size) {
      std::fprintf(stderr,
                   "boot_fuzz: stage-2 fixture not found (run from the repository root "
                   "or set IRONSEAL_FUZZ_STAGE2)\n");
      std::abort();
    }
  }
};

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  static const World world;
  static fuzz::OpenSslCBackend crypto;
  const boot::Geometry& g = world.g;
  MemFlash flash(g.total_size);
  MemOtp otp;

  // Fixed, trusted part: key store with the fixture key, its hash fused, stage-2.
  image::TrustedKey key;
  if (!image::make_trusted_key(image::KeyKind::kEd25519, kSpki + 12, 32, &key)) std::abort();
  std::uint8_t store[64];
  const std::uint32_t n = boot::encode_keystore(&key, 1, store, sizeof store);
  std::copy_n(store, n, flash.bytes.begin() + g.keystore_offset);
  std::uint8_t hash[32];
  crypto.hash_begin(image::HashKind::kSha256);
  crypto.hash_update(kSpki, sizeof kSpki);
  crypto.hash_finish(hash);
  if (!boot::add_key_hash(otp, hash) || !boot::advance_lifecycle(otp, boot::Lifecycle::kSecured)) {
    std::abort();
  }
  std::copy(world.stage2.begin(), world.stage2.end(), flash.bytes.begin() + g.stage2_offset);
  // Fused counter from the first input byte (0..15).
  if (size > 0 && !boot::advance_counter(otp, data[0] & 0x0f)) std::abort();

  // Attacker part: [1 byte][state: 2 x 64][slot A][slot B]
  std::size_t at = size > 0 ? 1 : 0;
  auto take = [&](std::uint32_t dst, std::size_t max) {
    const std::size_t len = std::min(max, size - at);
    std::copy_n(data + at, len, flash.bytes.begin() + dst);
    at += len;
  };
  take(g.state_offset, boot::kStateRecordSize);
  take(g.state_offset + kBlock, boot::kStateRecordSize);
  take(g.slot_offset[0], g.slot_size);
  take(g.slot_offset[1], g.slot_size);

  std::uint8_t scratch[1024];
  boot::Device d;
  d.flash = &flash;
  d.otp = &otp;
  d.crypto = &crypto;
  d.geometry = g;
  d.scratch = scratch;
  d.scratch_size = sizeof scratch;
  std::uint32_t fused = 0;
  boot::read_counter(otp, &fused);
  boot::BootReport r;
  const boot::BootOutcome outcome = boot::power_on(d, nullptr, &r);
  if (outcome == boot::BootOutcome::kBoot || outcome == boot::BootOutcome::kTrial) {
    // Independently re-verify what was handed over, against the fused key alone.
    image::ImageInfo info;
    const image::Status s = image::verify_image(
        image::VerifyRequest{r.image, &key, 1, &crypto, scratch, sizeof scratch}, &info);
    if (s != image::Status::kOk || info.security_counter < fused) std::abort();
  }
  return 0;
}
