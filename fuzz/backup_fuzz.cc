// Fuzz target: the backup archive (src/backup/archive.cc), which restore reads from wherever an
// operator kept it. The first byte picks the parser: the archive's container, header and signer
// certificates (parse_archive, then verify_signer against no anchors, which must refuse), or the
// decrypted payload's manifest and entries (parse_contents: GCM keeps fuzzed bytes from reaching
// it through open_archive), or its zlib stream (inflate_bounded, against a limit). Beyond "no crash": an archive that parses has its regions in bounds,
// and every entry path accepted is one check_entry_path accepts.
#include <cstdint>
#include <cstdlib>

#include "backup/archive.h"

using namespace ironseal;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size < 1) return 0;
  const ByteView body(data + 1, size - 1);
  if (data[0] % 2 == 0) {
    auto a = backup::parse_archive(Bytes(body.begin(), body.end()));
    if (!a) return 0;
    if (a->header_end > a->payload_end || a->payload_end > a->bytes.size() ||
        a->payload().size() + a->signature().size() + 12 + a->header_end != a->bytes.size()) {
      std::abort();
    }
    pki::VerifyOptions o;
    if (backup::verify_signer(*a, {}, o)) std::abort();  // nothing is trusted without anchors
    return 0;
  }
  if (data[0] % 4 == 3) {  // the decrypted payload's zlib stream, bounded
    auto inflated = backup::inflate_bounded(body, 1 << 20);
    if (inflated && inflated->size() > (1 << 20)) std::abort();
    return 0;
  }
  auto c = backup::parse_contents(body);
  if (!c) return 0;
  for (const auto& e : c->entries) {
    if (!backup::check_entry_path(e.path)) std::abort();
  }
  return 0;
}
