// Runs a verified firmware image on the host: the body of the in-memory copy that the boot core
// verified goes into a sealed memfd and is executed with fexecve. Flash is never read again after
// the check, and the sealed memfd cannot be changed between the copy and the exec.
#pragma once

#include <string>
#include <vector>

#include "core/bytes.h"
#include "core/result.h"
#include "image/verify.h"

namespace ironseal::boot {

// Creates a sealed, executable memfd holding the image's body (bytes [header, header + body) of
// `image`, which must be the verified copy described by `info`). Returns the descriptor.
Result<int> sealed_body(ByteView image, const image::ImageInfo& info);

// Replaces the current process with the program in `fd`. Returns only on failure.
Error exec_sealed(int fd, const std::vector<std::string>& argv);

}  // namespace ironseal::boot
