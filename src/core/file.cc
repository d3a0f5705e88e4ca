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

Result<Bytes> read_file(const std::filesystem::path& path) {
  auto file = ReadOnlyFile::open(path);
  if (!file) return std::unexpected(file.error());
  Bytes out(file->size());
  if (!file->read_at(0, out)) return fail(ErrorCode::kIo, "cannot read ", path.string());
  return out;
}

Result<void> write_file_atomic(const std::filesystem::path& path, ByteView content,
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
  const std::filesystem::path tmp = dir / tmp_name;

  const int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, options.mode);
  if (fd < 0) return fail(errno_code(errno), "cannot create ", tmp.string(), ": ", errno_text());
  {
    FdGuard guard{fd};
    // umask may have narrowed the mode; a key file must end up with exactly the asked mode.
    if (::fchmod(fd, options.mode) != 0 || !write_all(fd, content) || ::fsync(fd) != 0) {
      const std::string why = errno_text();
      ::unlink(tmp.c_str());
      return fail(ErrorCode::kIo, "cannot write ", tmp.string(), ": ", why);
    }
  }
  if (options.exclusive) {
    // link() fails if the target appeared meanwhile, so an existing key is never replaced.
    if (::link(tmp.c_str(), path.c_str()) != 0) {
      const std::string why = errno_text();
      ::unlink(tmp.c_str());
      return fail(ErrorCode::kIo, "cannot create ", path.string(), ": ", why);
    }
    ::unlink(tmp.c_str());
  } else if (::rename(tmp.c_str(), path.c_str()) != 0) {
    const std::string why = errno_text();
    ::unlink(tmp.c_str());
    return fail(ErrorCode::kIo, "cannot replace ", path.string(), ": ", why);
  }
  const int dfd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (dfd < 0)
    return fail(ErrorCode::kIo, "cannot open directory ", dir.string(), ": ", errno_text());
  FdGuard dguard{dfd};
  if (::fsync(dfd) != 0)
    return fail(ErrorCode::kIo, "cannot fsync ", dir.string(), ": ", errno_text());
  return {};
}

Result<void> check_private_file_mode(const std::filesystem::path& path) {
  struct stat st {};
  if (::stat(path.c_str(), &st) != 0) {
    return fail(errno_code(errno), "cannot stat ", path.string(), ": ", errno_text());
  }
  if ((st.st_mode & (S_IRWXG | S_IRWXO)) != 0) {
    char mode[8];
    std::snprintf(mode, sizeof mode, "%04o", static_cast<unsigned>(st.st_mode & 07777));
    return fail(ErrorCode::kPermission, "private key file ", path.string(), " has mode ", mode,
                "; group and others must have no access (chmod 600 ", path.string(), ")");
  }
  return {};
}

Result<ReadOnlyFile> ReadOnlyFile::open(const std::filesystem::path& path) {
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return fail(errno_code(errno), "cannot open ", path.string(), ": ", errno_text());
  struct stat st {};
  if (::fstat(fd, &st) != 0) {
    const std::string why = errno_text();
    ::close(fd);
    return fail(ErrorCode::kIo, "cannot stat ", path.string(), ": ", why);
  }
  if (!S_ISREG(st.st_mode)) {
    ::close(fd);
    return fail(ErrorCode::kInvalidArgument, path.string(), " is not a regular file");
  }
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
