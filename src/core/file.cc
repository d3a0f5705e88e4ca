#include "core/file.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <random>
#include <string>

namespace ironseal {
namespace {

std::string errno_text() {
  return std::strerror(errno);
}

ErrorCode errno_code(int err) {
  return err == ENOENT ? ErrorCode::kNotFound : ErrorCode::kIo;
}

// Closes a descriptor on scope exit.
struct FdGuard {
  int fd;
  ~FdGuard() {
    if (fd >= 0) ::close(fd);
  }
};

bool write_all(int fd, ByteView data) {
  std::size_t done = 0;
  while (done < data.size()) {
    const ssize_t n = ::write(fd, data.data() + done, data.size() - done);
    if (n < 0) {
      if (errno == EINTR) continue;
      return false;
    }
    done += static_cast<std::size_t>(n);
  }
  return true;
}

}  // namespace

Result<void> require_regular(const std::filesystem::path& path, const struct stat& st) {
  if (S_ISREG(st.st_mode)) return {};
  const char* kind = S_ISDIR(st.st_mode)    ? "a directory"
                     : S_ISFIFO(st.st_mode) ? "a FIFO"
                     : S_ISSOCK(st.st_mode) ? "a socket"
                     : S_ISCHR(st.st_mode)  ? "a character device"
                     : S_ISBLK(st.st_mode)  ? "a block device"
                                            : "not a regular file";
  return fail_because(ErrorCode::kIo, "not_a_regular_file", path.string(), " is ", kind,
                      ", not a regular file");
}

Result<Bytes> read_file(const std::filesystem::path& path, std::uint64_t max_size) {
  auto file = ReadOnlyFile::open(path);
  if (!file) return std::unexpected(file.error());
  if (file->size() > max_size) {
    return fail_because(ErrorCode::kInvalidArgument, "too_large", path.string(), " is ",
                        std::to_string(file->size()), " bytes, over the limit of ",
                        std::to_string(max_size), " bytes for this input");
  }
  Bytes out(file->size());
  if (!file->read_at(0, out)) return fail(ErrorCode::kIo, "cannot read ", path.string());
  return out;
}

Result<AtomicFileWriter> AtomicFileWriter::create(const std::filesystem::path& path,
                                                  WriteOptions options) {
  if (options.exclusive && std::filesystem::exists(path)) {
    return fail(ErrorCode::kInvalidArgument, path.string(),
                " already exists; refusing to overwrite");
  }
  const std::filesystem::path dir =
      path.has_parent_path() ? path.parent_path() : std::filesystem::path(".");
  std::random_device rd;
  const std::string tmp_name =
      "." + path.filename().string() + ".tmp" + std::to_string(rd()) + std::to_string(::getpid());
  std::filesystem::path tmp = dir / tmp_name;
  const int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, options.mode);
  if (fd < 0) return fail(errno_code(errno), "cannot create ", tmp.string(), ": ", errno_text());
  // umask may have narrowed the mode; a key file must end up with exactly the asked mode.
  if (::fchmod(fd, options.mode) != 0) {
    const std::string why = errno_text();
    ::close(fd);
    ::unlink(tmp.c_str());
    return fail(ErrorCode::kIo, "cannot set the mode of ", tmp.string(), ": ", why);
  }
  return AtomicFileWriter(fd, path, std::move(tmp), options);
}

AtomicFileWriter::AtomicFileWriter(AtomicFileWriter&& other) noexcept
    : fd_(other.fd_),
      path_(std::move(other.path_)),
      tmp_(std::move(other.tmp_)),
      options_(other.options_) {
  other.fd_ = -1;
  other.tmp_.clear();
}

AtomicFileWriter::~AtomicFileWriter() {
  if (fd_ >= 0) ::close(fd_);
  if (!tmp_.empty()) ::unlink(tmp_.c_str());
}

Result<void> AtomicFileWriter::write(ByteView data) {
  if (fd_ < 0) return fail(ErrorCode::kIo, "write to ", path_.string(), " after it was closed");
  if (!write_all(fd_, data)) {
    return fail(ErrorCode::kIo, "cannot write ", tmp_.string(), ": ", errno_text());
  }
  return {};
}

Result<void> AtomicFileWriter::commit() {
  if (fd_ < 0) return fail(ErrorCode::kIo, "commit of ", path_.string(), " after it was closed");
  const int rc = ::fsync(fd_);
  const std::string why = errno_text();
  ::close(fd_);
  fd_ = -1;
  if (rc != 0) return fail(ErrorCode::kIo, "cannot write ", tmp_.string(), ": ", why);
  if (options_.exclusive) {
    // link() fails if the target appeared meanwhile, so an existing key is never replaced.
    if (::link(tmp_.c_str(), path_.c_str()) != 0) {
      return fail(ErrorCode::kIo, "cannot create ", path_.string(), ": ", errno_text());
    }
    ::unlink(tmp_.c_str());
  } else if (::rename(tmp_.c_str(), path_.c_str()) != 0) {
    return fail(ErrorCode::kIo, "cannot replace ", path_.string(), ": ", errno_text());
  }
  tmp_.clear();
  const std::filesystem::path dir =
      path_.has_parent_path() ? path_.parent_path() : std::filesystem::path(".");
  const int dfd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (dfd < 0)
    return fail(ErrorCode::kIo, "cannot open directory ", dir.string(), ": ", errno_text());
  FdGuard dguard{dfd};
  if (::fsync(dfd) != 0)
    return fail(ErrorCode::kIo, "cannot fsync ", dir.string(), ": ", errno_text());
  return {};
}

Result<void> write_file_atomic(const std::filesystem::path& path, ByteView content,
                               WriteOptions options) {
  auto writer = AtomicFileWriter::create(path, options);
  if (!writer) return std::unexpected(writer.error());
  if (auto w = writer->write(content); !w) return w;
  return writer->commit();
}

Result<void> check_private_file_mode(const std::filesystem::path& path) {
  struct stat st {};
  if (::stat(path.c_str(), &st) != 0) {
    return fail(errno_code(errno), "cannot stat ", path.string(), ": ", errno_text());
  }
  if (auto regular = require_regular(path, st); !regular) return regular;
  if ((st.st_mode & (S_IRWXG | S_IRWXO)) != 0) {
    char mode[8];
    std::snprintf(mode, sizeof mode, "%04o", static_cast<unsigned>(st.st_mode & 07777));
    return fail(ErrorCode::kPermission, "private key file ", path.string(), " has mode ", mode,
                "; group and others must have no access (chmod 600 ", path.string(), ")");
  }
  return {};
}

Result<ReadOnlyFile> ReadOnlyFile::open(const std::filesystem::path& path) {
  // O_NONBLOCK: opening a FIFO (or a device) for reading would otherwise wait for a writer
  // forever. Only regular files are read; the flag changes nothing for them.
  const int fd = ::open(path.c_str(), O_RDONLY | O_NONBLOCK | O_CLOEXEC);
  if (fd < 0) return fail(errno_code(errno), "cannot open ", path.string(), ": ", errno_text());
  FdGuard guard{fd};
  struct stat st {};
  if (::fstat(fd, &st) != 0) {
    return fail(ErrorCode::kIo, "cannot stat ", path.string(), ": ", errno_text());
  }
  if (auto regular = require_regular(path, st); !regular) return std::unexpected(regular.error());
  guard.fd = -1;
  return ReadOnlyFile(fd, static_cast<std::uint64_t>(st.st_size));
}

ReadOnlyFile::ReadOnlyFile(ReadOnlyFile&& other) noexcept : fd_(other.fd_), size_(other.size_) {
  other.fd_ = -1;
}

ReadOnlyFile& ReadOnlyFile::operator=(ReadOnlyFile&& other) noexcept {
  if (this != &other) {
    if (fd_ >= 0) ::close(fd_);
    fd_ = other.fd_;
    size_ = other.size_;
    other.fd_ = -1;
  }
  return *this;
}

ReadOnlyFile::~ReadOnlyFile() {
  if (fd_ >= 0) ::close(fd_);
}

void ReadOnlyFile::advise_sequential() const {
  (void)::posix_fadvise(fd_, 0, 0, POSIX_FADV_SEQUENTIAL);
}

bool ReadOnlyFile::read_at(std::uint64_t offset, std::span<std::uint8_t> out) const {
  std::size_t done = 0;
  while (done < out.size()) {
    const ssize_t n =
        ::pread(fd_, out.data() + done, out.size() - done, static_cast<off_t>(offset + done));
    if (n < 0) {
      if (errno == EINTR) continue;
      return false;
    }
    if (n == 0) return false;
    done += static_cast<std::size_t>(n);
  }
  return true;
}

}  // namespace ironseal
