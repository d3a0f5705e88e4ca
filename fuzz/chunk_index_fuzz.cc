// The chunk index a device downloads next to a target image (src/image/chunk_index.cc); its
// hash is bound into signed metadata, but the parser runs on the bytes as received. Invariants
// beyond "no crash": an accepted index has a valid chunk size, exactly ceil(image_size /
// chunk_size) chunks whose lengths add up to the image size, and encodes back to the same bytes.
#include <cstdint>
#include <cstdlib>

#include "image/chunk_index.h"

using namespace ironseal;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  auto index = image::parse_chunk_index(ByteView(data, size));
  if (!index) return 0;
  const std::uint32_t cs = index->chunk_size;
  if (cs < image::kMinChunkSize || cs > image::kMaxChunkSize || (cs & (cs - 1)) != 0) {
    std::abort();
  }
  const std::uint64_t chunks = index->image_size / cs + (index->image_size % cs != 0 ? 1 : 0);
  if (index->image_size == 0 || index->hashes.size() != chunks) std::abort();
  std::uint64_t total = 0;
  for (std::size_t i = 0; i < index->hashes.size(); ++i) {
    const std::uint32_t len = index->chunk_length(i);
    if (len == 0 || len > cs) std::abort();
    total += len;
  }
  if (total != index->image_size) std::abort();
  if (image::encode_chunk_index(*index) != Bytes(data, data + size)) std::abort();
  return 0;
}
