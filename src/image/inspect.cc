#include "image/inspect.h"

#include <algorithm>

#include "core/endian.h"
#include "core/file.h"
#include "image/host.h"

namespace ironseal::image {
namespace {

// The meaning of a value whose type has a defined encoding.
void decode(InspectedTlv& t) {
  const Bytes& v = *t.value;
  const std::uint16_t type = t.entry.type;
  if (type == kTlvSecurityCounter && v.size() == 4) {
    t.security_counter = load_le32(v.data());
  } else if ((type == kTlvUuidVendor || type == kTlvUuidClass) && v.size() == 16) {
    Uuid uuid;
    std::copy(v.begin(), v.end(), uuid.begin());
    t.uuid = uuid;
  } else if (type == kTlvDependency && v.size() == 12) {
    Dependency d;
    d.image_id = v[0];
    d.min_version.major = v[4];
    d.min_version.minor = v[5];
    d.min_version.revision = load_le16(v.data() + 6);
    d.min_version.build = load_le32(v.data() + 8);
    t.dependency = d;
  }
}

}  // namespace

Result<Inspection> inspect_image_file(const std::filesystem::path& path) {
  auto file = ReadOnlyFile::open(path);
  if (!file) return std::unexpected(file.error());
  FileSource source(*file);
  Inspection out;
  out.file_size = source.size();
  out.layout_status = parse_layout(source, &out.layout);
  if (out.layout_status != Status::kOk) return out;
  TlvIterator it(source, out.layout);
  for (;;) {
    InspectedTlv t;
    bool done = false;
    out.tlv_status = it.next(&t.entry, &done);
    if (out.tlv_status != Status::kOk || done) break;
    if (t.entry.length <= kInspectValueBytes) {
      t.value.emplace(t.entry.length);
      if (!source.read(t.entry.value_offset, t.value->data(), t.value->size())) {
        return fail(ErrorCode::kIo, "cannot read ", path.string());
      }
      decode(t);
      if (t.security_counter && t.entry.is_protected) out.security_counter = t.security_counter;
    }
    out.tlvs.push_back(std::move(t));
  }
  return out;
}

}  // namespace ironseal::image
