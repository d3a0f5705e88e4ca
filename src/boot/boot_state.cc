// Portable: see boot_state.h.
#include "boot/boot_state.h"

#include "core/endian.h"

namespace ironseal::boot {
namespace {

struct Newest {
  bool found = false;
  int block = -1;
  BootState state;
};

bool read_newest(const Flash& flash, const Geometry& g, Newest* out) {
  Newest n;
  for (int block = 0; block < 2; ++block) {
    std::uint8_t raw[kStateRecordSize];
    if (!flash.read(g.state_offset + static_cast<std::uint32_t>(block) * g.block_size, raw,
                    kStateRecordSize)) {
      return false;
    }
    BootState s;
    if (decode_state(raw, &s) && (!n.found || s.sequence > n.state.sequence)) {
      n.found = true;
      n.block = block;
      n.state = s;
    }
  }
  *out = n;
  return true;
}

}  // namespace

const char* boot_event_name(BootEvent e) {
  switch (e) {
    case BootEvent::kNone: return "none";
    case BootEvent::kProvisioned: return "provisioned";
    case BootEvent::kInstalled: return "installed";
    case BootEvent::kTrialStarted: return "trial_started";
    case BootEvent::kConfirmed: return "confirmed";
    case BootEvent::kRevertedUnconfirmed: return "reverted_unconfirmed";
    case BootEvent::kRevertedInvalid: return "reverted_invalid";
    case BootEvent::kPrimaryInvalid: return "primary_invalid";
    case BootEvent::kInstallAborted: return "install_aborted";
  }
  return "unknown";
}

std::uint32_t crc32(const std::uint8_t* data, std::uint32_t length) {
  std::uint32_t crc = 0xffffffffu;
  for (std::uint32_t i = 0; i < length; ++i) {
    crc ^= data[i];
    for (int k = 0; k < 8; ++k) crc = (crc >> 1) ^ (0xedb88320u & (0u - (crc & 1u)));
  }
  return ~crc;
}

void encode_state(const BootState& s, std::uint8_t (&out)[kStateRecordSize]) {
  for (auto& b : out) b = 0;
  store_le32(out + 0, kStateMagic);
  store_le32(out + 4, s.sequence);
  out[8] = 1;  // record format version
  out[9] = static_cast<std::uint8_t>(s.primary);
  out[10] = s.pending;
  out[11] = s.attempts_left;
  out[12] = s.bad[0];
  out[13] = s.bad[1];
  out[14] = static_cast<std::uint8_t>(s.last_event);
  out[15] = s.image_status;
  store_le32(out + 16, s.revert_count);
  store_le32(out + 20, s.boot_count);
  store_le32(out + kStateRecordSize - 4, crc32(out, kStateRecordSize - 4));
}

bool decode_state(const std::uint8_t (&in)[kStateRecordSize], BootState* out) {
  if (load_le32(in) != kStateMagic || in[8] != 1 ||
      load_le32(in + kStateRecordSize - 4) != crc32(in, kStateRecordSize - 4)) {
    return false;
  }
  BootState s;
  s.sequence = load_le32(in + 4);
  if (in[9] > 1 || (in[10] > 1 && in[10] != kNoSlot) || in[12] > 1 || in[13] > 1 ||
      in[14] > static_cast<std::uint8_t>(BootEvent::kInstallAborted)) {
    return false;
  }
  s.primary = static_cast<SlotId>(in[9]);
  s.pending = in[10];
  s.attempts_left = in[11];
  s.bad[0] = in[12];
  s.bad[1] = in[13];
  s.last_event = static_cast<BootEvent>(in[14]);
  s.image_status = in[15];
  s.revert_count = load_le32(in + 16);
  s.boot_count = load_le32(in + 20);
  *out = s;
  return true;
}

bool load_state(const Flash& flash, const Geometry& g, BootState* state, bool* found) {
  Newest n;
  if (!read_newest(flash, g, &n)) return false;
  *found = n.found;
  *state = n.found ? n.state : BootState{};
  return true;
}

bool store_state(Flash& flash, const Geometry& g, BootState* state) {
  Newest n;
  if (!read_newest(flash, g, &n)) return false;
  const int target = n.found ? 1 - n.block : 0;
  state->sequence = n.found ? n.state.sequence + 1 : 1;
  std::uint8_t raw[kStateRecordSize];
  encode_state(*state, raw);
  const std::uint32_t offset = g.state_offset + static_cast<std::uint32_t>(target) * g.block_size;
  return flash.erase_block(offset) && flash.program(offset, raw, kStateRecordSize);
}

}  // namespace ironseal::boot
