// Chunked delivery into the inactive slot: verify-before-write, resume, delta, and refusals.
#include "delivery/installer.h"

#include <gtest/gtest.h>

#include "boot/boot_test_util.h"
#include "crypto/hash.h"
#include "support/requirements.h"
#include "support/test_env.h"

namespace ironseal::delivery {
namespace {

// The chunk index format lives in src/image (issue 13); these tests use it unqualified.
using image::authenticate_chunk_index;
using image::AuthenticatedChunkIndex;
using image::build_chunk_index;
using image::ChunkIndex;
using image::encode_chunk_index;
using image::parse_chunk_index;
using image::Sha256;

using boot::testing::boot_and_run;
using boot::testing::BootTest;

// An in-memory source that counts what it serves and can lie about one chunk.
class MemorySource final : public ChunkSource {
 public:
  explicit MemorySource(Bytes bytes) : bytes_(std::move(bytes)) {}
  Result<void> fetch(std::uint64_t offset, std::span<std::uint8_t> out) override {
    if (offset + out.size() > bytes_.size()) return fail(ErrorCode::kIo, "short source");
    std::copy_n(bytes_.begin() + static_cast<std::ptrdiff_t>(offset), out.size(), out.begin());
    if (tamper_at && *tamper_at >= offset && *tamper_at < offset + out.size()) {
      out[*tamper_at - offset] ^= 0x01;
    }
    fetched += out.size();
    ++requests;
    return {};
  }
  Bytes bytes_;
  std::optional<std::uint64_t> tamper_at;
  std::uint64_t fetched = 0;
  std::uint32_t requests = 0;
};

ChunkIndex plain_index_of(const Bytes& image, std::uint32_t chunk) {
  ::ironseal::testing::TempDir dir;
  EXPECT_TRUE(write_file_atomic(dir / "img", image));
  auto idx = build_chunk_index(dir / "img", chunk);
  EXPECT_TRUE(idx) << idx.error().message;
  return *idx;
}

Sha256 digest_of(ByteView encoded) {
  const Bytes h = crypto::sha256(encoded);
  Sha256 s;
  std::copy(h.begin(), h.end(), s.begin());
  return s;
}

// The index of `image`, authenticated as the signed metadata would vouch for it.
AuthenticatedChunkIndex index_of(const Bytes& image, std::uint32_t chunk) {
  const Bytes encoded = encode_chunk_index(plain_index_of(image, chunk));
  auto idx = authenticate_chunk_index(encoded, digest_of(encoded), "the test's signed metadata");
  EXPECT_TRUE(idx) << idx.error().message;
  return *idx;
}

boot::DeviceConfig big_config() {
  boot::DeviceConfig c = boot::testing::small_config();
  c.slot_size = 512 * 1024;
  return c;
}

Bytes body(std::size_t size, std::uint8_t seed) {
  Bytes b(size);
  std::uint32_t x = seed;
  for (auto& v : b) {
    x = x * 1664525u + 1013904223u;
    v = static_cast<std::uint8_t>(x >> 24);
  }
  return b;
}

class Delivery : public BootTest {};

TEST(ChunkIndexFormat, RoundTripsAndRefusesMalformed) {
  IRONSEAL_REQUIREMENTS("CR 3.5");
  const ChunkIndex idx = plain_index_of(body(10000, 1), 4096);
  ASSERT_EQ(idx.hashes.size(), 3u);
  EXPECT_EQ(idx.chunk_length(2), 10000u - 8192u);
  const Bytes enc = encode_chunk_index(idx);
  auto back = parse_chunk_index(enc);
  ASSERT_TRUE(back);
  EXPECT_EQ(back->hashes, idx.hashes);
  EXPECT_EQ(back->image_size, 10000u);
  for (std::size_t cut = 0; cut < enc.size(); ++cut) {
    auto r = parse_chunk_index(ByteView(enc).first(cut));
    ASSERT_FALSE(r) << cut;
    EXPECT_EQ(r.error().code, ErrorCode::kMalformed);
  }
  Bytes bad = enc;
  bad[8] = 0x01;  // chunk size 4097: not a power of two
  EXPECT_FALSE(parse_chunk_index(bad));
  bad = enc;
  bad[20] = 4;  // count disagrees with the image size
  EXPECT_FALSE(parse_chunk_index(bad));
  bad = enc;
  bad[0] = 'X';
  EXPECT_FALSE(parse_chunk_index(bad));
  // An image size near 2^64 with no chunks (found by fuzz/chunk_index_fuzz.cc): the count check
  // must not wrap around to 0 and accept it.
  ChunkIndex huge;
  huge.chunk_size = 128 * 1024;
  huge.image_size = ~std::uint64_t{0} - 3;
  auto wrapped = parse_chunk_index(encode_chunk_index(huge));
  ASSERT_FALSE(wrapped);
  EXPECT_EQ(wrapped.error().code, ErrorCode::kMalformed);
  EXPECT_NE(wrapped.error().message.find("chunk count"), std::string::npos)
      << wrapped.error().message;
}

TEST_F(Delivery, InstallsVerifiesAndBootsTheTrial) {
  IRONSEAL_REQUIREMENTS("CR 3.4; SUM-4");
  auto d = make_device(big_config());
  const Bytes v2 = firmware_with_body("2.0.0", 2, body(200000, 2));
  const AuthenticatedChunkIndex idx = index_of(v2, 4096);
  MemorySource src(v2);
  auto r = install_chunked(*d, idx, src, {});
  ASSERT_TRUE(r) << r.error().message;
  EXPECT_EQ(r->slot, boot::SlotId::kB);
  EXPECT_EQ(r->totals.done, v2.size());
  const auto step = boot_and_run(*d);
  ASSERT_EQ(step.outcome, boot::BootOutcome::kTrial);
  EXPECT_TRUE(step.confirmed_now);
}

TEST_F(Delivery, ATamperedChunkIsRefusedBeforeAnythingOfItIsWritten) {
  IRONSEAL_REQUIREMENTS("CR 3.4; SUM-4");
  auto d = make_device(big_config());
  const Bytes v2 = firmware_with_body("2.0.0", 2, body(100000, 3));
  const AuthenticatedChunkIndex idx = index_of(v2, 4096);
  MemorySource src(v2);
  src.tamper_at = 5 * 4096 + 17;  // chunk 5
  const std::vector<std::uint8_t> before(d->flash().bytes().begin(), d->flash().bytes().end());
  auto r = install_chunked(*d, idx, src, {});
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, ErrorCode::kNotTrusted);
  EXPECT_NE(r.error().message.find("chunk_mismatch: chunk 5 "), std::string::npos)
      << r.error().message;
  EXPECT_NE(r.error().message.find("authenticated by the test's signed metadata"),
            std::string::npos)
      << r.error().message;
  // Chunks 0..4 were written; chunk 5's block is untouched (still what it was: erased).
  const std::uint32_t slot_b = boot::slot_offset(d->geometry(), boot::SlotId::kB);
  for (std::uint32_t i = 0; i < 4096; ++i) {
    ASSERT_EQ(d->flash().bytes()[slot_b + 5 * 4096 + i], before[slot_b + 5 * 4096 + i]);
  }
  EXPECT_EQ(boot::testing::state_of(*d).pending, boot::kNoSlot);  // nothing pending
}

TEST_F(Delivery, AChunkIndexIsTrustedOnlyWithTheDigestItsOriginStates) {
  IRONSEAL_REQUIREMENTS("CR 3.4; SUM-4");
  // An attacker who can change the source can also hand over an index listing the hashes of
  // its tampered chunks; only the digest from signed metadata tells the two apart.
  const Bytes v2 = firmware_with_body("2.0.0", 2, body(60000, 11));
  Bytes tampered = v2;
  tampered[3 * 4096 + 5] ^= 0x40;
  const Bytes genuine = encode_chunk_index(plain_index_of(v2, 4096));
  const Bytes forged = encode_chunk_index(plain_index_of(tampered, 4096));
  auto refused = authenticate_chunk_index(forged, digest_of(genuine), "the signed metadata");
  ASSERT_FALSE(refused);
  EXPECT_EQ(refused.error().code, ErrorCode::kNotTrusted);
  EXPECT_NE(refused.error().message.find("index_mismatch"), std::string::npos);
  EXPECT_NE(refused.error().message.find("the signed metadata states"), std::string::npos);
  // One flipped bit anywhere in the encoding (header or a hash) is refused the same way.
  for (std::size_t at : {std::size_t{9}, genuine.size() - 1}) {
    Bytes flipped = genuine;
    flipped[at] ^= 0x01;
    auto r = authenticate_chunk_index(flipped, digest_of(genuine), "the signed metadata");
    ASSERT_FALSE(r) << at;
    EXPECT_EQ(r.error().code, ErrorCode::kNotTrusted) << at;
  }
  // A digest that matches but an encoding that does not parse is malformed, not trusted.
  const Bytes junk = {'I', 'S', 'C', 'I', 9, 9};
  auto malformed = authenticate_chunk_index(junk, digest_of(junk), "the signed metadata");
  ASSERT_FALSE(malformed);
  EXPECT_EQ(malformed.error().code, ErrorCode::kMalformed);
  // The genuine index installs the genuine image, and refuses the tampered source at chunk 3.
  auto d = make_device(big_config());
  auto idx = authenticate_chunk_index(genuine, digest_of(genuine), "the signed metadata");
  ASSERT_TRUE(idx);
  MemorySource bad(tampered);
  auto r = install_chunked(*d, *idx, bad, {});
  ASSERT_FALSE(r);
  EXPECT_NE(r.error().message.find("chunk_mismatch: chunk 3 "), std::string::npos)
      << r.error().message;
}

TEST_F(Delivery, WrongImageForTheIndexIsRefusedAtTheFirstChunk) {
  auto d = make_device(big_config());
  const Bytes v2 = firmware_with_body("2.0.0", 2, body(50000, 4));
  const AuthenticatedChunkIndex idx = index_of(v2, 4096);
  MemorySource src(firmware_with_body("2.0.1", 2, body(50000, 5)));
  auto r = install_chunked(*d, idx, src, {});
  ASSERT_FALSE(r);
  EXPECT_NE(r.error().message.find("chunk 0 "), std::string::npos);
  EXPECT_EQ(src.requests, 1u);
}

TEST_F(Delivery, ResumesAfterAPowerCutWithoutDownloadingVerifiedChunksAgain) {
  IRONSEAL_REQUIREMENTS("SUM-4; CR 7.4");
  auto d = make_device(big_config());
  const Bytes v2 = firmware_with_body("2.0.0", 2, body(300000, 6));
  const AuthenticatedChunkIndex idx = index_of(v2, 4096);
  ::ironseal::testing::TempDir dir;
  ChunkedInstallOptions opt;
  opt.journal = dir / "install.journal";
  // Each 4 KiB chunk costs one erase and 8 page programs: cut in chunk 41.
  d->faults().cut_after(d->faults().operations() + 41 * 9 + 3, true);
  MemorySource first(v2);
  auto r1 = install_chunked(*d, idx, first, opt);
  ASSERT_FALSE(r1);
  EXPECT_EQ(r1.error().code, ErrorCode::kIo);
  d->faults().power_cycle();
  ASSERT_TRUE(std::filesystem::exists(opt.journal));

  MemorySource second(v2);
  auto r2 = install_chunked(*d, idx, second, opt);
  ASSERT_TRUE(r2) << r2.error().message;
  // Chunks 0..40 reached flash before the cut (41 was torn): each is re-proven from flash and
  // kept, none fetched again; the torn chunk and the rest are fetched.
  EXPECT_EQ(r2->totals.resumed, 41u * 4096);
  EXPECT_EQ(second.fetched + r2->totals.resumed + r2->totals.local, v2.size());
  EXPECT_FALSE(std::filesystem::exists(opt.journal));
  EXPECT_TRUE(boot_and_run(*d).confirmed_now);
}

TEST_F(Delivery, DeltaDownloadsOnlyTheChangedChunks) {
  IRONSEAL_REQUIREMENTS("SUM-4");
  const Bytes base = body(400000, 7);
  const Bytes v1 = firmware_with_body("1.0.0", 1, base);
  auto d = make_device(big_config(), &v1);
  Bytes changed = base;
  // Change 5 % of the chunks (every 20th chunk).
  for (std::size_t c = 0; c < changed.size() / 4096; c += 20) changed[c * 4096 + 100] ^= 0xff;
  const Bytes v2 = firmware_with_body("2.0.0", 2, changed);
  const AuthenticatedChunkIndex idx = index_of(v2, 4096);
  MemorySource src(v2);
  auto r = install_chunked(*d, idx, src, {});
  ASSERT_TRUE(r) << r.error().message;
  const double fraction = static_cast<double>(src.fetched) / static_cast<double>(v2.size());
  RecordProperty("downloaded_fraction", std::to_string(fraction));
  std::cout << "[ delta ] downloaded " << src.fetched << " of " << v2.size() << " bytes ("
            << fraction * 100 << " %)\n";
  EXPECT_LE(fraction, 0.10);
  EXPECT_GT(r->totals.local, v2.size() / 2);
  EXPECT_TRUE(boot_and_run(*d).confirmed_now);
}

TEST_F(Delivery, ImageLargerThanTheSlotIsRefused) {
  auto d = make_device();  // 16 KiB slots
  const Bytes big = firmware_with_body("2.0.0", 2, body(20000, 8));
  const AuthenticatedChunkIndex idx = index_of(big, 4096);
  MemorySource src(big);
  auto r = install_chunked(*d, idx, src, {});
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, ErrorCode::kInvalidArgument);
  EXPECT_EQ(src.requests, 0u);
}

TEST_F(Delivery, SignedButRolledBackImageIsRefusedAfterWritingAndNeverMarkedPending) {
  IRONSEAL_REQUIREMENTS("CR 3.4");
  auto d = make_device(big_config());
  const Bytes v2 = firmware_with_body("2.0.0", 5, body(50000, 9));
  MemorySource s2(v2);
  const AuthenticatedChunkIndex i2 = index_of(v2, 4096);
  ASSERT_TRUE(install_chunked(*d, i2, s2, {}));
  ASSERT_TRUE(boot_and_run(*d).confirmed_now);  // fuses now at 5
  const Bytes old = firmware_with_body("1.5.0", 2, body(50000, 10));
  const AuthenticatedChunkIndex io = index_of(old, 4096);
  MemorySource so(old);
  auto r = install_chunked(*d, io, so, {});
  ASSERT_FALSE(r);
  EXPECT_NE(r.error().message.find("rolled_back"), std::string::npos);
  EXPECT_EQ(boot::testing::state_of(*d).pending, boot::kNoSlot);
}

}  // namespace
}  // namespace ironseal::delivery
