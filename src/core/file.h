// Whole-file reads and crash-safe whole-file writes for host code.
//
// write_file_atomic() promises that after a crash or power cut at any point the path holds either
// the complete old content or the complete new content, never a mix: it writes a temporary file in
// the same directory, fsyncs it, renames it over the target and fsyncs the directory.
#pragma once

#include <sys/stat.h>
#include <sys/types.h>

#include <cstdint>
#include <filesystem>

#include "core/bytes.h"
#include "core/result.h"

namespace ironseal {

// Reads a whole regular file. Anything else (a FIFO, socket, device or directory) is refused with
// kIo without blocking; a file larger than `max_size` is refused with kInvalidArgument before any
// of it is read (the default admits any file memory could hold; inputs with a format limit pass
// that limit, so a huge input cannot exhaust memory).
Result<Bytes> read_file(const std::filesystem::path& path,
                        std::uint64_t max_size = std::uint64_t{1} << 40);

// kIo naming what `path` is, unless `st` describes a regular file.
Result<void> require_regular(const std::filesystem::path& path, const struct stat& st);

// `mode` applies to the new file from its creation (no window with wider permissions).
// `exclusive` refuses to replace an existing file (used for keys: never overwrite a key silently).
struct WriteOptions {
  mode_t mode = 0644;
  bool exclusive = false;
};
Result<void> write_file_atomic(const std::filesystem::path& path, ByteView content,
                               WriteOptions options = {});

// The same for content produced piece by piece (a signed image streamed from its firmware): the
// pieces go to a temporary file beside `path`; commit() fsyncs it, renames it over `path` (or, when
// exclusive, links it there) and fsyncs the directory. Dropped without commit(), the temporary
// file is removed and `path` is untouched. temp_path() lets the caller check the content (e.g.
// verify a signed image) before committing it. Not thread-safe.
class AtomicFileWriter {
 public:
  static Result<AtomicFileWriter> create(const std::filesystem::path& path,
                                         WriteOptions options = {});
  AtomicFileWriter(AtomicFileWriter&& other) noexcept;
  AtomicFileWriter& operator=(AtomicFileWriter&&) = delete;
  AtomicFileWriter(const AtomicFileWriter&) = delete;
  AtomicFileWriter& operator=(const AtomicFileWriter&) = delete;
  ~AtomicFileWriter();

  Result<void> write(ByteView data);
  const std::filesystem::path& temp_path() const { return tmp_; }
  Result<void> commit();

 private:
  AtomicFileWriter(int fd, std::filesystem::path path, std::filesystem::path tmp,
                   WriteOptions options)
      : fd_(fd), path_(std::move(path)), tmp_(std::move(tmp)), options_(options) {}
  int fd_ = -1;
  std::filesystem::path path_;
  std::filesystem::path tmp_;
  WriteOptions options_;
};

// Refuses a private key file that the group or others may read or write (kPermission).
Result<void> check_private_file_mode(const std::filesystem::path& path);

// An open read-only regular file with positioned reads; closes on destruction. open() never
// blocks: a FIFO, socket, device or directory is refused with kIo (require_regular).
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
  // Tells the kernel the file will be read front to back (a larger read-ahead window when it is
  // not in the page cache). Only a hint: nothing to check, nothing changes if it is ignored.
  void advise_sequential() const;

 private:
  ReadOnlyFile(int fd, std::uint64_t size) : fd_(fd), size_(size) {}
  int fd_ = -1;
  std::uint64_t size_ = 0;
};

}  // namespace ironseal
