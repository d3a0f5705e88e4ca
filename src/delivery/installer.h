// Chunked, verified, resumable, delta-aware installation of a target image into the inactive
// slot of a device, through the boot core (boot::install_begin/write/finish).
//
// Promises:
//  - nothing unverified reaches flash: each chunk is hashed and compared with the chunk index
//    before it is written, and the installer takes only an AuthenticatedChunkIndex (its SHA-256
//    proven against what signed metadata, or the operator, states);
//  - memory is bounded by one chunk, whatever the image size;
//  - an interrupted install (power cut, kill) resumes: a journal next to the device records how
//    many chunks are on flash (written only after flash is synced); those chunks are re-hashed
//    from flash, not downloaded again;
//  - a chunk whose hash already occurs in the active slot is copied locally (delta);
//  - the finished slot is verified as the bootloader will before it is marked pending.
//
// Thread-safety: install_chunked() is not reentrant for one device (one install at a time owns the
// device and its journal). It runs two threads of its own: a producer that fetches and proves
// chunks (the only user of `source`) and the calling thread, which writes and reads back flash;
// `progress` is called on the calling thread.
#pragma once

#include <filesystem>
#include <functional>
#include <span>

#include "core/file.h"
#include "device/host_device.h"
#include "image/chunk_index.h"

namespace ironseal::delivery {

// Where the bytes of an image come from: a file, an HTTP server (Range requests), ...
class ChunkSource {
 public:
  virtual ~ChunkSource() = default;
  // Reads exactly out.size() bytes of the image at `offset`.
  virtual Result<void> fetch(std::uint64_t offset, std::span<std::uint8_t> out) = 0;
};

class FileChunkSource final : public ChunkSource {
 public:
  static Result<FileChunkSource> open(const std::filesystem::path& path);
  Result<void> fetch(std::uint64_t offset, std::span<std::uint8_t> out) override;

 private:
  explicit FileChunkSource(ReadOnlyFile file) : file_(std::move(file)) {}
  ReadOnlyFile file_;
};

struct InstallProgress {
  std::uint64_t image_size = 0;
  std::uint64_t done = 0;        // bytes on flash and proven
  std::uint64_t downloaded = 0;  // bytes fetched from the source
  std::uint64_t local = 0;       // bytes copied from the active slot (delta)
  std::uint64_t resumed = 0;     // bytes already on flash from an interrupted run
};

struct ChunkedInstallOptions {
  // Resume journal: names the image and slot being written (written once, before the first chunk
  // reaches flash); removed when the install completes. With it, an interrupted install resumes:
  // each chunk flash already holds is proven by its hash and kept, the rest fetched.
  std::filesystem::path journal;
  std::function<void(const InstallProgress&)> progress;
};

struct ChunkedInstallReport {
  boot::SlotId slot = boot::SlotId::kA;
  InstallProgress totals;
  image::ImageInfo info;
};

// `index` keys the resume journal by its digest. Errors: kNotTrusted (a chunk or the finished slot
// does not verify: the reason names which, and which index it was proven against), kIo (source or
// flash failed, or simulated power cut), kInvalidArgument (image larger than the slot, chunk size
// not a multiple of the flash block).
Result<ChunkedInstallReport> install_chunked(boot::HostDevice& device,
                                             const image::AuthenticatedChunkIndex& index,
                                             ChunkSource& source,
                                             const ChunkedInstallOptions& options);

}  // namespace ironseal::delivery
