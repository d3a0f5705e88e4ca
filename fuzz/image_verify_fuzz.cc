// Fuzz target: the boot image parser and verifier (untrusted bytes from flash or the network).
// Trusted keys are the committed imgtool test keys, so seeds signed with them reach the signature
// code, and mutations of them exercise every refusal path. Invariants checked beyond "no crash":
// a trusted verdict implies the hashed region and TLV area lie inside the input.
#include <cstdint>
#include <cstdlib>

#include "image/verify.h"
#include "openssl_backend.h"

namespace {

using namespace ironseal::image;

// DER SubjectPublicKeyInfo of tests/fixtures/imgtool/test-key-{ed25519,ecdsa-p256}.pub.pem.
constexpr std::uint8_t kEd25519Spki[] = {
    0x30, 0x2a, 0x30, 0x05, 0x06, 0x03, 0x2b, 0x65, 0x70, 0x03, 0x21, 0x00, 0xfd, 0xaa, 0xa9,
    0x0e, 0x9f, 0x56, 0x61, 0xd3, 0x93, 0x5f, 0x05, 0x05, 0xe6, 0xb2, 0xe3, 0x1a, 0xb1, 0x28,
    0xd4, 0x52, 0xf0, 0x1f, 0x09, 0x2f, 0x66, 0xe5, 0xcc, 0xd6, 0xd3, 0x33, 0x2f, 0x30};
constexpr std::uint8_t kP256Point[] = {
    0x04, 0xe7, 0xb4, 0x23, 0x16, 0x39, 0x72, 0x09, 0xfc, 0x2e, 0x46, 0x7a, 0x5c,
    0xec, 0xd9, 0x09, 0x00, 0xe0, 0x79, 0x49, 0xf3, 0xe3, 0x57, 0x51, 0xe0, 0x4f,
    0x47, 0x7b, 0xec, 0x79, 0x95, 0x8c, 0xb5, 0xf6, 0x3d, 0xf7, 0x81, 0x79, 0x98,
    0xdf, 0x4d, 0xf0, 0x54, 0x81, 0xcf, 0x50, 0xf2, 0x85, 0xad, 0x46, 0x82, 0xbe,
    0x55, 0x84, 0x84, 0xe8, 0x48, 0xd7, 0x47, 0xec, 0xa5, 0xa0, 0x44, 0x63, 0x47};

struct Keys {
  TrustedKey keys[2];
  Keys() {
    if (!make_trusted_key(KeyKind::kEd25519, kEd25519Spki + 12, 32, &keys[0]) ||
        !make_trusted_key(KeyKind::kEcdsaP256, kP256Point, sizeof kP256Point, &keys[1])) {
      std::abort();
    }
  }
};

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  static const Keys keys;
  static ironseal::fuzz::OpenSslCBackend backend;
  MemorySource source(data, size);

  // Structure walk as `ironseal image inspect` does it.
  Layout layout;
  if (parse_layout(source, &layout) == Status::kOk) {
    if (layout.unprotected_end > size) std::abort();
    TlvIterator it(source, layout);
    for (int i = 0; i < 100000; ++i) {
      TlvEntry e;
      bool done = false;
      if (it.next(&e, &done) != Status::kOk || done) break;
      if (e.value_offset + e.length > size) std::abort();
    }
  }

  std::uint8_t scratch[256];
  ImageInfo info;
  const Status s =
      verify_image(VerifyRequest{&source, keys.keys, 2, &backend, scratch, sizeof scratch}, &info);
  if (s == Status::kOk && (info.total_size > size || info.protected_end > info.total_size)) {
    std::abort();
  }
  (void)status_name(s);
  return 0;
}
