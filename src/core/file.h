// Whole-file reads and crash-safe whole-file writes for host code.
//
// write_file_atomic() promises that after a crash or power cut at any point the path holds either
// the complete old content or the complete new content, never a mix: it writes a temporary file in
// the same directory, fsyncs it, renames it over the target and fsyncs the directory.
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <filesystem>

#include "core/bytes.h"
#include "core/result.h"

namespace ironseal {

Result<Bytes> read_file(const std::filesystem::path& path);

// `mode` applies to the new file from its creation (no window with wider permissions).
// `exclusive` refuses to replace an existing file (used for keys: never overwrite a key silently).
struct WriteOptions {
  mode_t mode = 0644;
  bool exclusive = false;
};
Result<void> write_file_atomic(const std::filesystem::path& path, ByteView content,
                               WriteOptions options = {});

// Refuses a private key file that the group or others may read or write (kPermission).
Result<void> check_private_file_mode(const std::filesystem::path& path);

// An open read-only file with positioned reads; closes on destruction.
class ReadOnlyFile {
 public:
  static Result<ReadOnlyFile> open(const std::filesystem::path& path);
  ReadOnlyFile(ReadOnlyFile&& other) noexcept;
  ReadOnlyFile& operator=(ReadOnlyFile&& other) noexcept;
  ReadOnlyFile(const ReadOnlyFile&) = delete;
  ReadOnlyFile& operator=(const ReadOnlyFile&) = delete;
  ~ReadOnlyFile();

  std::uint64_t size() const { return size_; }
  // Reads exactly `out.size()` bytes at `offset`; false on any short read or error.
  bool read_at(std::uint64_t offset, std::span<std::uint8_t> out) const;

 private:
  ReadOnlyFile(int fd, std::uint64_t size) : fd_(fd), size_(size) {}
  int fd_ = -1;
  std::uint64_t size_ = 0;
};

}  // namespace ironseal
