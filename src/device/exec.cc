#include "device/exec.h"

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

namespace ironseal::boot {

Result<int> sealed_body(ByteView image, const image::ImageInfo& info) {
  const std::uint64_t start = info.header.header_size;
  const std::uint64_t length = info.header.image_size;
  if (start + length > image.size()) {
    return fail(ErrorCode::kMalformed, "image body lies outside the verified copy");
  }
  const int fd = ::memfd_create("ironseal-firmware", MFD_CLOEXEC | MFD_ALLOW_SEALING);
  if (fd < 0) return fail(ErrorCode::kIo, "memfd_create: ", std::strerror(errno));
  std::uint64_t done = 0;
  while (done < length) {
    const ssize_t n = ::write(fd, image.data() + start + done, length - done);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) {
      const std::string why = std::strerror(errno);
      ::close(fd);
      return fail(ErrorCode::kIo, "writing firmware to memfd: ", why);
    }
    done += static_cast<std::uint64_t>(n);
  }
  if (::fchmod(fd, 0500) != 0 ||
      ::fcntl(fd, F_ADD_SEALS, F_SEAL_WRITE | F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_SEAL) != 0) {
    const std::string why = std::strerror(errno);
    ::close(fd);
    return fail(ErrorCode::kIo, "sealing firmware memfd: ", why);
  }
  return fd;
}

Error exec_sealed(int fd, const std::vector<std::string>& argv) {
  std::vector<char*> args;
  for (const auto& a : argv) args.push_back(const_cast<char*>(a.c_str()));
  args.push_back(nullptr);
  ::fexecve(fd, args.data(), environ);
  return Error{ErrorCode::kIo,
               std::string("fexecve of the verified firmware failed: ") + std::strerror(errno)};
}

}  // namespace ironseal::boot
