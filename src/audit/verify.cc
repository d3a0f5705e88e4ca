#include "audit/verify.h"

#include <algorithm>

#include "audit/log.h"
#include "core/bytes.h"
#include "core/file.h"
#include "crypto/base64.h"

namespace ironseal::audit {
namespace fs = std::filesystem;
namespace {

struct Walk {
  VerifyReport report;
  const crypto::PublicKey* key = nullptr;
  std::string key_id;
  std::uint64_t expected_seq = 1;
  std::string expected_prev = std::string(kGenesis);
  std::string file;
  std::uint64_t line = 0;
  std::vector<std::pair<std::uint64_t, std::string>> checkpoints;  // (seq, hash) of each

  void find(std::string reason, std::uint64_t seq, std::string detail) {
    report.problem = Finding{std::move(reason), file, line, seq, std::move(detail)};
  }
};

bool check_checkpoint(Walk& w, const Record& r) {
  ++w.report.checkpoints;
  if (w.key == nullptr) return true;
  const auto sig_field = r.details.find("signature");
  const auto id_field = r.details.find("key_id");
  if (sig_field == r.details.end() || !sig_field->is_string() || id_field == r.details.end() ||
      !id_field->is_string()) {
    w.find("bad_checkpoint", r.seq, "a checkpoint without key_id and signature");
    return false;
  }
  if (id_field->get<std::string>() != w.key_id) {
    w.find("bad_checkpoint", r.seq, "signed by key " + id_field->get<std::string>() +
                                        ", not by the given key " + w.key_id);
    return false;
  }
  auto sig = crypto::base64_decode(sig_field->get<std::string>());
  const std::string message = checkpoint_message(r.seq, r.prev);
  if (!sig || !w.key->verify(as_bytes(message), *sig)) {
    w.find("bad_checkpoint", r.seq, "the checkpoint's signature does not verify");
    return false;
  }
  w.report.signed_through = r.seq;
  return true;
}

// Checks one line; false stops the walk at the first problem.
bool check_line(Walk& w, std::string_view text, const std::function<void(const Record&)>& each) {
  auto r = decode(text);
  if (!r) {
    w.find("malformed_record", w.expected_seq, r.error().message);
    return false;
  }
  if (record_hash(*r) != r->hash) {
    w.find("modified", r->seq, "the record's content does not match its hash");
    return false;
  }
  if (r->seq != w.expected_seq) {
    w.find("sequence_gap", r->seq,
           "expected sequence number " + std::to_string(w.expected_seq) + ", found " +
               std::to_string(r->seq) + " (records deleted, inserted or moved)");
    return false;
  }
  if (r->prev != w.expected_prev) {
    w.find("broken_chain", r->seq,
           "its prev is not the hash of the record before it (records deleted, inserted or moved)");
    return false;
  }
  if (r->is_checkpoint() && !check_checkpoint(w, *r)) return false;
  ++w.report.records;
  w.report.last_seq = r->seq;
  w.report.head = r->hash;
  w.expected_seq = r->seq + 1;
  w.expected_prev = r->hash;
  if (r->is_checkpoint()) w.checkpoints.emplace_back(r->seq, r->hash);
  if (each) each(*r);
  return true;
}

// checkpoint.json beside the segments: the log must reach it, with the same record there.
void check_anchor(Walk& w, const fs::path& dir) {
  const auto& hashes = w.checkpoints;
  std::error_code ec;
  const fs::path anchor = dir / kCheckpointFile;
  if (!fs::exists(anchor, ec)) return;
  auto bytes = read_file(anchor, 1 << 16);
  nlohmann::json j = bytes ? nlohmann::json::parse(bytes->begin(), bytes->end(), nullptr, false)
                           : nlohmann::json();
  w.file = anchor.string();
  w.line = 1;
  if (j.is_discarded() || !j.is_object() || !j.contains("seq") || !j["seq"].is_number_unsigned() ||
      !j.contains("hash") || !j["hash"].is_string()) {
    w.find("malformed_record", 0, "checkpoint.json does not decode");
    return;
  }
  const auto seq = j["seq"].get<std::uint64_t>();
  const auto hash = j["hash"].get<std::string>();
  auto it = std::find_if(hashes.begin(), hashes.end(), [&](const auto& p) { return p.first == seq; });
  if (it == hashes.end()) {
    w.find("truncated", seq, "the latest signed checkpoint is record " + std::to_string(seq) +
                                 " but the log ends at " + std::to_string(w.report.last_seq));
  } else if (it->second != hash) {
    w.find("truncated", seq, "record " + std::to_string(seq) +
                                 " is not the signed checkpoint of checkpoint.json (the tail was "
                                 "cut and rewritten)");
  }
}

}  // namespace

Result<VerifyReport> verify_log(const fs::path& path, const crypto::PublicKey* key,
                                const std::function<void(const Record&)>& each) {
  Walk w;
  w.key = key;
  w.report.signatures_checked = key != nullptr;
  if (key != nullptr) {
    auto id = key_id(*key);
    if (!id) return std::unexpected(id.error());
    w.key_id = *id;
  }
  std::error_code ec;
  std::vector<fs::path> files;
  const bool is_dir = fs::is_directory(path, ec);
  if (is_dir) {
    files = segment_files(path);
    if (files.empty()) return fail(ErrorCode::kNotFound, path.string(), ": no audit-*.jsonl segment");
  } else {
    files.push_back(path);
  }
  for (const auto& f : files) {
    auto bytes = read_file(f);
    if (!bytes) return fail_in(bytes.error(), "audit log ", f.string(), ": ");
    w.report.files.push_back(f.string());
    w.file = f.string();
    w.line = 0;
    const std::string_view text(reinterpret_cast<const char*>(bytes->data()), bytes->size());
    std::size_t start = 0;
    while (start < text.size()) {
      auto end = text.find('\n', start);
      if (end == std::string_view::npos) end = text.size();  // a torn last line is checked too
      ++w.line;
      if (!check_line(w, text.substr(start, end - start), each)) return w.report;
      start = end + 1;
    }
  }
  if (is_dir) check_anchor(w, path);
  return w.report;
}

}  // namespace ironseal::audit
