// Fuzz target: the TPMS_ATTEST (quote) parser, which reads bytes a device sends the verifier.
// Invariants beyond "no crash": on success every range points inside the input and the parsed
// fields account for every byte (the structure ends where the input ends).
#include <cstdint>
#include <cstdlib>

#include "tpm/attest_parse.h"

namespace {
bool inside(const ironseal::tpm::ByteRange& r, const std::uint8_t* data, std::size_t size) {
  return r.size == 0 || (r.data >= data && r.data + r.size <= data + size);
}
}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using namespace ironseal::tpm;
  ParsedQuote q;
  if (parse_quote(data, size, &q) != AttestStatus::kOk) return 0;
  if (!inside(q.qualified_signer, data, size) || !inside(q.extra_data, data, size) ||
      !inside(q.pcr_digest, data, size) || q.selection_count > kMaxPcrSelections) {
    std::abort();
  }
  std::size_t total = 4 + 2 + 2 + q.qualified_signer.size + 2 + q.extra_data.size + 17 + 8 + 4 + 2 +
                      q.pcr_digest.size;
  for (std::uint32_t i = 0; i < q.selection_count; ++i) total += 3 + q.selections[i].size;
  if (total != size) std::abort();
  return 0;
}
