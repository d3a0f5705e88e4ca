#include "audit/record.h"

#include "core/bytes.h"
#include "crypto/hash.h"

namespace ironseal::audit {
namespace {

using Json = nlohmann::json;

Json without_hash(const Record& r) {
  return Json{{"seq", r.seq},       {"time", r.time},       {"actor", r.actor},
              {"event", r.event},   {"outcome", r.outcome}, {"details", r.details},
              {"prev", r.prev}};
}

bool has_float(const Json& j, int depth) {
  if (depth > 32) return true;  // refused as well: nesting this deep is not an audit detail
  if (j.is_number_float()) return true;
  if (j.is_structured()) {
    for (const auto& v : j) {
      if (has_float(v, depth + 1)) return true;
    }
  }
  return false;
}

std::unexpected<Error> malformed(std::string_view what) {
  return fail_because(ErrorCode::kMalformed, "malformed_record", what);
}

}  // namespace

Result<void> check_details(const Json& details) {
  if (!details.is_object()) return fail(ErrorCode::kInvalidArgument, "audit details must be an object");
  if (has_float(details, 0)) {
    return fail(ErrorCode::kInvalidArgument,
                "audit details hold strings, integers, booleans, lists and objects only (no "
                "floating-point numbers, no nesting deeper than 32)");
  }
  return {};
}

std::string record_hash(const Record& r) {
  const std::string canonical = without_hash(r).dump();
  return to_hex(crypto::sha256(as_bytes(canonical)));
}

std::string encode(const Record& r) {
  Json j = without_hash(r);
  j["hash"] = r.hash;
  return j.dump();
}

Result<Record> decode(std::string_view line) {
  Json j = Json::parse(line, nullptr, /*allow_exceptions=*/false);
  if (j.is_discarded() || !j.is_object()) return malformed("not a JSON object");
  if (j.size() != 8) return malformed("a record has exactly 8 fields");
  Record r;
  auto text = [&](const char* key, std::string& out) -> Result<void> {
    auto it = j.find(key);
    if (it == j.end() || !it->is_string()) return malformed(std::string(key) + " is not a string");
    out = it->get<std::string>();
    return {};
  };
  auto seq = j.find("seq");
  if (seq == j.end() || !seq->is_number_unsigned()) return malformed("seq is not a number");
  r.seq = seq->get<std::uint64_t>();
  for (auto [key, out] : {std::pair{"time", &r.time}, {"actor", &r.actor}, {"event", &r.event},
                          {"outcome", &r.outcome}, {"prev", &r.prev}, {"hash", &r.hash}}) {
    if (auto ok = text(key, *out); !ok) return std::unexpected(ok.error());
  }
  auto details = j.find("details");
  if (details == j.end() || !details->is_object() || has_float(*details, 0)) {
    return malformed("details is not an object of strings, integers, booleans, lists, objects");
  }
  r.details = *details;
  if (r.prev.size() != 64 || r.hash.size() != 64 || !from_hex(r.prev) || !from_hex(r.hash)) {
    return malformed("prev and hash must be SHA-256 in hex");
  }
  return r;
}

std::string checkpoint_message(std::uint64_t seq, std::string_view head) {
  return "ironseal-audit-checkpoint-v1\n" + std::to_string(seq) + "\n" + std::string(head) + "\n";
}

}  // namespace ironseal::audit
