// A boot image's structure read without judging trust, for `ironseal image inspect` (what is in
// this file?) and `image chunk` (is this a well-formed image before it is indexed?): the header,
// every TLV entry of both areas with its bytes, and, where the format defines a type's encoding,
// its meaning (security counter, vendor/class UUID, dependency). Trust is verify.h's business.
//
// Host code (it allocates); stateless, so safe from any thread.
#pragma once

#include <filesystem>
#include <optional>
#include <vector>

#include "core/bytes.h"
#include "core/result.h"
#include "image/format.h"
#include "image/sign.h"
#include "image/verify.h"

namespace ironseal::image {

struct InspectedTlv {
  TlvEntry entry;
  std::optional<Bytes> value;  // the bytes, for values of at most kInspectValueBytes
  // The value's meaning where its type has a defined encoding (and the value is well-formed).
  std::optional<std::uint32_t> security_counter;
  std::optional<Uuid> uuid;  // vendor or class UUID
  std::optional<Dependency> dependency;
};

inline constexpr std::size_t kInspectValueBytes = 128;

struct Inspection {
  std::uint64_t file_size = 0;
  Status layout_status = Status::kOk;  // not kOk: nothing else below is set
  Layout layout;
  std::vector<InspectedTlv> tlvs;   // as far as the TLV areas could be walked
  Status tlv_status = Status::kOk;  // the first structural problem in the TLV areas
  // The protected security counter TLV, if the image has one.
  std::optional<std::uint32_t> security_counter;

  // The first structural problem: of the layout, else of the TLV areas; kOk when well-formed.
  Status structure_status() const {
    return layout_status != Status::kOk ? layout_status : tlv_status;
  }
  bool well_formed() const { return structure_status() == Status::kOk; }
};

// Reads the file's structure; errors are I/O only (a malformed image is an Inspection that says
// where it is malformed).
Result<Inspection> inspect_image_file(const std::filesystem::path& path);

}  // namespace ironseal::image
