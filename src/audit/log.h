// An append-only, hash-chained audit log in a directory (docs/audit.md):
//   audit-SSSSSSSSSSSSSSSS.jsonl   segments named by their first sequence number, one record a line
//   checkpoint.json                the latest signed checkpoint (seq, head, key, signature), written
//                                  atomically: cutting the log's tail below it is detected
// A checkpoint record, signed with the server's or the device's key, is appended every
// `checkpoint_every` records and on demand. A crash can tear only the last line, which was never
// acknowledged: open() cuts it off and records that it did. Appends are durable when append()
// returns (sync_each) or at the next flush() (batched).
#pragma once

#include <cstdint>
#include <filesystem>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "audit/record.h"
#include "core/result.h"
#include "crypto/signer.h"

namespace ironseal::audit {

struct LogOptions {
  std::uint64_t checkpoint_every = 256;  // records between automatic checkpoints; 0: only on demand
  std::uint64_t rotate_bytes = 8u << 20;  // a new segment once the current one is this large
  bool sync_each = true;                  // fsync every append; false: flush() makes them durable
};

class Log {
 public:
  // Creates `dir` (0700) when missing. `signer` signs checkpoints and must outlive the Log; null
  // means no checkpoints. Refuses (kNotTrusted, "damaged_log") a log whose last complete record
  // does not decode or whose hash is wrong: nothing is appended to a chain that is already broken.
  static Result<Log> open(const std::filesystem::path& dir, const crypto::Signer* signer,
                          LogOptions options = {});
  Log(Log&& other) noexcept;
  Log& operator=(Log&& other) noexcept;
  Log(const Log&) = delete;
  Log& operator=(const Log&) = delete;
  ~Log();

  Result<Record> append(std::string actor, std::string event, std::string outcome,
                        nlohmann::json details = nlohmann::json::object());
  // A signed checkpoint over the current head (kInvalidArgument without a signer).
  Result<Record> checkpoint();
  // fsyncs what was appended since the last sync.
  Result<void> flush();

  std::uint64_t last_seq() const { return last_seq_; }
  const std::string& head() const { return head_; }
  const std::filesystem::path& dir() const { return dir_; }

 private:
  Log() = default;
  Result<void> write_line(const Record& r);
  Result<void> open_segment(std::uint64_t first_seq);
  Result<void> recover();

  std::filesystem::path dir_;
  const crypto::Signer* signer_ = nullptr;
  LogOptions options_;
  int fd_ = -1;
  std::uint64_t segment_bytes_ = 0;
  std::uint64_t last_seq_ = 0;
  std::uint64_t since_checkpoint_ = 0;
  std::string head_ = std::string(kGenesis);
  bool dirty_ = false;
  std::string torn_;  // what recover() cut off, recorded by the first append after open
};

// "audit-0000000000000001.jsonl" for first_seq 1.
std::string segment_name(std::uint64_t first_seq);
// The segments in `dir`, oldest first (their names sort by first sequence number).
std::vector<std::filesystem::path> segment_files(const std::filesystem::path& dir);
// The latest signed checkpoint beside the segments.
inline constexpr const char* kCheckpointFile = "checkpoint.json";
// The key ID a checkpoint names: SHA-256 (hex) of the public key's DER SubjectPublicKeyInfo.
Result<std::string> key_id(const crypto::PublicKey& key);
// UTC now, RFC 3339 with milliseconds.
std::string now_rfc3339_ms();

}  // namespace ironseal::audit
