// The chunk index of a target image: the image cut into fixed-size chunks and the SHA-256 of
// each. The index's own SHA-256 is bound into the signed target metadata, so every chunk can be
// proven before it is written (streaming), an interrupted install can resume at a chunk, and a
// chunk the device already has can be copied locally instead of downloaded (delta).
//
// Encoding (little-endian), "NAME.chunks" next to the image:
//   "ISCI" | u16 version (1) | u16 0 | u32 chunk_size | u64 image_size | u32 count | count x 32
//   bytes
// count must equal ceil(image_size / chunk_size); chunk_size is a power of two, 4 KiB..16 MiB.
#pragma once

#include <array>
#include <cstdint>
#include <filesystem>
#include <string>
#include <vector>

#include "core/bytes.h"
#include "core/result.h"

namespace ironseal::image {

using Sha256 = std::array<std::uint8_t, 32>;

inline constexpr std::uint32_t kDefaultChunkSize = 64 * 1024;
inline constexpr std::uint32_t kMinChunkSize = 4 * 1024;
inline constexpr std::uint32_t kMaxChunkSize = 16 * 1024 * 1024;

struct ChunkIndex {
  std::uint32_t chunk_size = kDefaultChunkSize;
  std::uint64_t image_size = 0;
  std::vector<Sha256> hashes;

  std::uint64_t chunk_offset(std::size_t i) const { return std::uint64_t{chunk_size} * i; }
  std::uint32_t chunk_length(std::size_t i) const;
};

Bytes encode_chunk_index(const ChunkIndex& index);
// Refuses anything malformed (kMalformed) with the reason.
Result<ChunkIndex> parse_chunk_index(ByteView bytes);
// A chunk index whose encoding was proven to have the SHA-256 that a trusted origin states (the
// signed target metadata's chunk index binding, or an operator's --index-sha256). Only
// authenticate_chunk_index makes one, and the installer takes nothing else: an index nobody
// vouched for cannot "prove" chunks on their way to flash. `origin` says who vouched, for messages.
class AuthenticatedChunkIndex {
 public:
  const ChunkIndex& index() const { return index_; }
  const Sha256& digest() const { return digest_; }
  const std::string& origin() const { return origin_; }

 private:
  friend Result<AuthenticatedChunkIndex> authenticate_chunk_index(ByteView, const Sha256&,
                                                                  std::string);
  AuthenticatedChunkIndex(ChunkIndex index, const Sha256& digest, std::string origin)
      : index_(std::move(index)), digest_(digest), origin_(std::move(origin)) {}
  ChunkIndex index_;
  Sha256 digest_;
  std::string origin_;
};

// Hashes `encoded`, compares it with `expected` in constant time, then parses it. kNotTrusted
// (naming both digests and the origin) when they differ; kMalformed when it does not parse.
Result<AuthenticatedChunkIndex> authenticate_chunk_index(ByteView encoded, const Sha256& expected,
                                                         std::string origin);

// Reads the image once, in chunk-size pieces (memory independent of the image size).
Result<ChunkIndex> build_chunk_index(const std::filesystem::path& image, std::uint32_t chunk_size);

}  // namespace ironseal::image
