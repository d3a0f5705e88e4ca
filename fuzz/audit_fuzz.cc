// Fuzz target: the audit record decoder (src/audit/record.cc), which reads lines of an audit log
// that anyone with write access to the disk may have altered. Invariant beyond "no crash": a
// decoded record re-encodes to a line that decodes to the same record.
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "audit/record.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using namespace ironseal::audit;
  auto r = decode(std::string_view(reinterpret_cast<const char*>(data), size));
  if (!r) return 0;
  auto again = decode(encode(*r));
  if (!again || again->seq != r->seq || again->details != r->details || again->hash != r->hash ||
      record_hash(*again) != record_hash(*r)) {
    std::abort();
  }
  return 0;
}
