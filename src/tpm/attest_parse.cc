#include "tpm/attest_parse.h"

namespace ironseal::tpm {
namespace {

class Reader {
 public:
  Reader(const std::uint8_t* d, std::size_t n) : d_(d), n_(n) {}
  bool u8(std::uint8_t* v) {
    if (n_ - pos_ < 1) return false;
    *v = d_[pos_++];
    return true;
  }
  bool u16(std::uint16_t* v) {
    std::uint64_t x = 0;
    if (!be(2, &x)) return false;
    *v = static_cast<std::uint16_t>(x);
    return true;
  }
  bool u32(std::uint32_t* v) {
    std::uint64_t x = 0;
    if (!be(4, &x)) return false;
    *v = static_cast<std::uint32_t>(x);
    return true;
  }
  bool u64(std::uint64_t* v) { return be(8, v); }
  bool bytes(std::size_t len, ByteRange* out) {
    if (n_ - pos_ < len) return false;
    out->data = d_ + pos_;
    out->size = len;
    pos_ += len;
    return true;
  }
  bool at_end() const { return pos_ == n_; }

 private:
  bool be(std::size_t len, std::uint64_t* v) {
    if (n_ - pos_ < len) return false;
    std::uint64_t x = 0;
    for (std::size_t i = 0; i < len; ++i) x = (x << 8) | d_[pos_ + i];
    pos_ += len;
    *v = x;
    return true;
  }
  const std::uint8_t* d_;
  std::size_t n_;
  std::size_t pos_ = 0;
};

// A TPM2B: u16 size, then that many bytes, at most `max`.
AttestStatus sized(Reader& r, std::size_t max, ByteRange* out) {
  std::uint16_t len = 0;
  if (!r.u16(&len)) return AttestStatus::kTruncated;
  if (len > max) return AttestStatus::kFieldTooLarge;
  return r.bytes(len, out) ? AttestStatus::kOk : AttestStatus::kTruncated;
}

}  // namespace

const char* attest_status_name(AttestStatus s) {
  switch (s) {
    case AttestStatus::kOk: return "ok";
    case AttestStatus::kTruncated: return "truncated";
    case AttestStatus::kTrailingBytes: return "trailing_bytes";
    case AttestStatus::kNotTpmGenerated: return "not_tpm_generated";
    case AttestStatus::kNotAQuote: return "not_a_quote";
    case AttestStatus::kFieldTooLarge: return "field_too_large";
  }
  return "unknown";
}

AttestStatus parse_quote(const std::uint8_t* data, std::size_t size, ParsedQuote* q) {
  Reader r(data, size);
  if (!r.u32(&q->magic) || !r.u16(&q->type)) return AttestStatus::kTruncated;
  if (q->magic != kTpmGenerated) return AttestStatus::kNotTpmGenerated;
  if (q->type != kStAttestQuote) return AttestStatus::kNotAQuote;
  // TPM2B_NAME holds at most a TPMU_NAME (2-byte algorithm + 64-byte digest); TPM2B_DATA and
  // TPM2B_DIGEST at most a 64-byte digest (+2 for TPM2B_DATA's TPMT_HA).
  AttestStatus s = sized(r, 2 + 64, &q->qualified_signer);
  if (s != AttestStatus::kOk) return s;
  s = sized(r, 2 + 64, &q->extra_data);
  if (s != AttestStatus::kOk) return s;
  if (!r.u64(&q->clock) || !r.u32(&q->reset_count) || !r.u32(&q->restart_count) ||
      !r.u8(&q->safe) || !r.u64(&q->firmware_version) || !r.u32(&q->selection_count)) {
    return AttestStatus::kTruncated;
  }
  if (q->selection_count > kMaxPcrSelections) return AttestStatus::kFieldTooLarge;
  for (std::uint32_t i = 0; i < q->selection_count; ++i) {
    PcrSelection& sel = q->selections[i];
    if (!r.u16(&sel.hash) || !r.u8(&sel.size)) return AttestStatus::kTruncated;
    if (sel.size > sizeof sel.select) return AttestStatus::kFieldTooLarge;
    ByteRange bits;
    if (!r.bytes(sel.size, &bits)) return AttestStatus::kTruncated;
    for (std::size_t k = 0; k < sel.size; ++k) sel.select[k] = bits.data[k];
  }
  s = sized(r, 64, &q->pcr_digest);
  if (s != AttestStatus::kOk) return s;
  return r.at_end() ? AttestStatus::kOk : AttestStatus::kTrailingBytes;
}

}  // namespace ironseal::tpm
