#include "image/chunk_index.h"

#include <algorithm>

#include "core/ct.h"
#include "core/endian.h"
#include "core/file.h"
#include "crypto/hash.h"

namespace ironseal::image {
namespace {
constexpr std::uint8_t kMagic[4] = {'I', 'S', 'C', 'I'};
constexpr std::size_t kHeader = 4 + 2 + 2 + 4 + 8 + 4;

bool valid_chunk_size(std::uint32_t s) {
  return s >= kMinChunkSize && s <= kMaxChunkSize && (s & (s - 1)) == 0;
}
}  // namespace

std::uint32_t ChunkIndex::chunk_length(std::size_t i) const {
  const std::uint64_t off = chunk_offset(i);
  return off >= image_size
             ? 0
             : static_cast<std::uint32_t>(std::min<std::uint64_t>(chunk_size, image_size - off));
}

Bytes encode_chunk_index(const ChunkIndex& index) {
  Bytes out(kHeader + index.hashes.size() * 32);
  std::copy(std::begin(kMagic), std::end(kMagic), out.begin());
  store_le16(out.data() + 4, 1);
  store_le16(out.data() + 6, 0);
  store_le32(out.data() + 8, index.chunk_size);
  store_le32(out.data() + 12, static_cast<std::uint32_t>(index.image_size));
  store_le32(out.data() + 16, static_cast<std::uint32_t>(index.image_size >> 32));
  store_le32(out.data() + 20, static_cast<std::uint32_t>(index.hashes.size()));
  for (std::size_t i = 0; i < index.hashes.size(); ++i) {
    std::copy(index.hashes[i].begin(), index.hashes[i].end(),
              out.begin() + static_cast<std::ptrdiff_t>(kHeader + 32 * i));
  }
  return out;
}

Result<ChunkIndex> parse_chunk_index(ByteView b) {
  if (b.size() < kHeader) return fail(ErrorCode::kMalformed, "chunk index truncated (header)");
  if (!std::equal(std::begin(kMagic), std::end(kMagic), b.begin())) {
    return fail(ErrorCode::kMalformed, "not a chunk index (bad magic)");
  }
  if (load_le16(b.data() + 4) != 1 || load_le16(b.data() + 6) != 0) {
    return fail(ErrorCode::kMalformed, "unsupported chunk index version");
  }
  ChunkIndex index;
  index.chunk_size = load_le32(b.data() + 8);
  index.image_size = load_le32(b.data() + 12) | std::uint64_t{load_le32(b.data() + 16)} << 32;
  const std::uint32_t count = load_le32(b.data() + 20);
  if (!valid_chunk_size(index.chunk_size)) {
    return fail(ErrorCode::kMalformed, "chunk size is not a power of two in 4 KiB..16 MiB");
  }
  // ceil(image_size / chunk_size) without the overflow of image_size + chunk_size - 1, which
  // let an image size near 2^64 pass with a count of 0 (found by fuzz/chunk_index_fuzz.cc).
  const std::uint64_t expected =
      index.image_size / index.chunk_size + (index.image_size % index.chunk_size != 0 ? 1 : 0);
  if (index.image_size == 0 || count != expected) {
    return fail(ErrorCode::kMalformed, "chunk count does not match the image size");
  }
  if (b.size() != kHeader + std::uint64_t{count} * 32) {
    return fail(ErrorCode::kMalformed, "chunk index length does not match its count");
  }
  index.hashes.resize(count);
  for (std::uint32_t i = 0; i < count; ++i) {
    std::copy_n(b.begin() + static_cast<std::ptrdiff_t>(kHeader + 32 * std::size_t{i}), 32,
                index.hashes[i].begin());
  }
  return index;
}

Result<AuthenticatedChunkIndex> authenticate_chunk_index(ByteView encoded, const Sha256& expected,
                                                         std::string origin) {
  const Bytes actual = crypto::sha256(encoded);
  if (actual.size() != expected.size() ||
      !ct_equal(actual.data(), expected.data(), expected.size())) {
    return fail_because(ErrorCode::kNotTrusted, "index_mismatch", "the chunk index has SHA-256 ",
                        to_hex(actual), " but ", origin, " states ",
                        to_hex(ByteView(expected.data(), expected.size())), "; not trusted");
  }
  auto index = parse_chunk_index(encoded);
  if (!index) return std::unexpected(index.error());
  return AuthenticatedChunkIndex(std::move(*index), expected, std::move(origin));
}

Result<ChunkIndex> build_chunk_index(const std::filesystem::path& image, std::uint32_t chunk_size) {
  if (!valid_chunk_size(chunk_size)) {
    return fail(ErrorCode::kInvalidArgument, "chunk size must be a power of two in 4 KiB..16 MiB");
  }
  auto file = ReadOnlyFile::open(image);
  if (!file) return std::unexpected(file.error());
  if (file->size() == 0) return fail(ErrorCode::kInvalidArgument, image.string(), " is empty");
  ChunkIndex index;
  index.chunk_size = chunk_size;
  index.image_size = file->size();
  Bytes buf(chunk_size);
  for (std::uint64_t off = 0; off < index.image_size; off += chunk_size) {
    const std::size_t n =
        static_cast<std::size_t>(std::min<std::uint64_t>(chunk_size, index.image_size - off));
    if (!file->read_at(off, std::span(buf.data(), n)))
      return fail(ErrorCode::kIo, "cannot read ", image.string());
    const Bytes h = crypto::sha256(ByteView(buf.data(), n));
    Sha256 s;
    std::copy(h.begin(), h.end(), s.begin());
    index.hashes.push_back(s);
  }
  return index;
}

}  // namespace ironseal::image
