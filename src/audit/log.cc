#include "audit/log.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstring>
#include <ctime>
#include <vector>

#include "core/bytes.h"
#include "core/file.h"
#include "crypto/base64.h"
#include "crypto/hash.h"

namespace ironseal::audit {
namespace fs = std::filesystem;
namespace {

using Json = nlohmann::json;

std::unexpected<Error> io(std::string_view what, const fs::path& p) {
  return fail(ErrorCode::kIo, what, " ", p.string(), ": ", std::strerror(errno));
}

Result<void> sync_dir(const fs::path& dir) {
  int fd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0) return io("open", dir);
  int rc = ::fsync(fd);
  ::close(fd);
  if (rc != 0) return io("fsync", dir);
  return {};
}

}  // namespace

std::vector<fs::path> segment_files(const fs::path& dir) {
  std::vector<fs::path> out;
  std::error_code ec;
  for (const auto& e : fs::directory_iterator(dir, ec)) {
    const auto name = e.path().filename().string();
    if (name.starts_with("audit-") && name.ends_with(".jsonl")) out.push_back(e.path());
  }
  std::sort(out.begin(), out.end());
  return out;
}

std::string segment_name(std::uint64_t first_seq) {
  char buf[40];
  std::snprintf(buf, sizeof buf, "audit-%016llu.jsonl", static_cast<unsigned long long>(first_seq));
  return buf;
}

Result<std::string> key_id(const crypto::PublicKey& key) {
  return to_hex(crypto::sha256(key.spki_der()));
}

std::string now_rfc3339_ms() {
  const auto now = std::chrono::system_clock::now();
  const auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(now.time_since_epoch());
  std::time_t t = static_cast<std::time_t>(ms.count() / 1000);
  std::tm tm{};
  gmtime_r(&t, &tm);
  char buf[40];
  std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%S", &tm);
  char out[48];
  std::snprintf(out, sizeof out, "%s.%03lldZ", buf, static_cast<long long>(ms.count() % 1000));
  return out;
}

Log::Log(Log&& o) noexcept { *this = std::move(o); }

Log& Log::operator=(Log&& o) noexcept {
  if (this != &o) {
    if (fd_ >= 0) ::close(fd_);
    dir_ = std::move(o.dir_);
    signer_ = o.signer_;
    options_ = o.options_;
    fd_ = std::exchange(o.fd_, -1);
    segment_bytes_ = o.segment_bytes_;
    last_seq_ = o.last_seq_;
    since_checkpoint_ = o.since_checkpoint_;
    head_ = std::move(o.head_);
    dirty_ = o.dirty_;
    torn_ = std::move(o.torn_);
  }
  return *this;
}

Log::~Log() {
  if (fd_ >= 0) {
    if (dirty_) ::fsync(fd_);
    ::close(fd_);
  }
}

Result<void> Log::open_segment(std::uint64_t first_seq) {
  if (fd_ >= 0) {
    if (::fsync(fd_) != 0) return io("fsync", dir_);
    ::close(fd_);
    fd_ = -1;
  }
  const fs::path path = dir_ / segment_name(first_seq);
  fd_ = ::open(path.c_str(), O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0600);
  if (fd_ < 0) return io("open", path);
  struct stat st {};
  if (::fstat(fd_, &st) != 0) return io("stat", path);
  segment_bytes_ = static_cast<std::uint64_t>(st.st_size);
  return sync_dir(dir_);
}

// Finds the head of the existing chain: the last complete line of the last segment. A last line
// without its '\n' was torn by a crash mid-write (never acknowledged): it is cut off.
Result<void> Log::recover() {
  auto segs = segment_files(dir_);
  if (segs.empty()) return open_segment(1);
  const fs::path last = segs.back();
  auto bytes = read_file(last);
  if (!bytes) return std::unexpected(bytes.error());
  std::string text(bytes->begin(), bytes->end());
  const auto complete = text.rfind('\n');
  const std::size_t keep = complete == std::string::npos ? 0 : complete + 1;
  if (keep < text.size()) {
    torn_ = std::to_string(text.size() - keep) + " bytes of a torn last line in " +
            last.filename().string();
    if (::truncate(last.c_str(), static_cast<off_t>(keep)) != 0) return io("truncate", last);
    text.resize(keep);
  }
  if (!text.empty()) {
    std::string_view body(text);
    body.remove_suffix(1);  // its final '\n'
    const auto newline = body.rfind('\n');
    const std::string_view line = body.substr(newline == std::string_view::npos ? 0 : newline + 1);
    auto r = decode(line);
    if (!r || record_hash(*r) != r->hash) {
      return fail_because(ErrorCode::kNotTrusted, "damaged_log", "the last record of ",
                          last.string(), " is damaged; run `ironseal audit verify ",
                          dir_.string(), "` before appending to this log");
    }
    last_seq_ = r->seq;
    head_ = r->hash;
  } else if (segs.size() > 1) {
    // An empty last segment after a rotation: the head is the previous segment's last record.
    fs::remove(last);
    return recover();
  }
  const std::string name = last.filename().string();
  const auto first = std::strtoull(name.substr(6, 16).c_str(), nullptr, 10);
  return open_segment(first);
}

Result<Log> Log::open(const fs::path& dir, const crypto::Signer* signer, LogOptions options) {
  std::error_code ec;
  fs::create_directories(dir, ec);
  if (ec) return fail(ErrorCode::kIo, "audit log ", dir.string(), ": ", ec.message());
  ::chmod(dir.c_str(), 0700);
  Log log;
  log.dir_ = dir;
  log.signer_ = signer;
  log.options_ = options;
  if (auto ok = log.recover(); !ok) return std::unexpected(ok.error());
  return log;
}

Result<void> Log::write_line(const Record& r) {
  if (segment_bytes_ >= options_.rotate_bytes && segment_bytes_ > 0) {
    if (auto ok = open_segment(r.seq); !ok) return ok;
  }
  std::string line = encode(r);
  line.push_back('\n');
  // One write() of the whole line with O_APPEND: a crash leaves a prefix of it at worst.
  const char* p = line.data();
  std::size_t left = line.size();
  while (left > 0) {
    ssize_t n = ::write(fd_, p, left);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return io("write", dir_);
    p += n;
    left -= static_cast<std::size_t>(n);
  }
  segment_bytes_ += line.size();
  dirty_ = true;
  if (options_.sync_each) return flush();
  return {};
}

Result<void> Log::flush() {
  if (fd_ >= 0 && dirty_) {
    if (::fsync(fd_) != 0) return io("fsync", dir_);
    dirty_ = false;
  }
  return {};
}

Result<Record> Log::append(std::string actor, std::string event, std::string outcome,
                           Json details) {
  if (auto ok = check_details(details); !ok) return std::unexpected(ok.error());
  if (!torn_.empty()) {
    std::string what = std::exchange(torn_, {});
    auto noted = append("system", "audit.torn_tail_discarded", "info", Json{{"discarded", what}});
    if (!noted) return noted;
  }
  Record r;
  r.seq = last_seq_ + 1;
  r.time = now_rfc3339_ms();
  r.actor = std::move(actor);
  r.event = std::move(event);
  r.outcome = std::move(outcome);
  r.details = std::move(details);
  r.prev = head_;
  r.hash = record_hash(r);
  if (auto ok = write_line(r); !ok) return std::unexpected(ok.error());
  last_seq_ = r.seq;
  head_ = r.hash;
  if (signer_ != nullptr && options_.checkpoint_every > 0 && !r.is_checkpoint() &&
      ++since_checkpoint_ >= options_.checkpoint_every) {
    if (auto cp = checkpoint(); !cp) return std::unexpected(cp.error());
  }
  return r;
}

Result<Record> Log::checkpoint() {
  if (signer_ == nullptr) return fail(ErrorCode::kInvalidArgument, "audit log has no signing key");
  const std::uint64_t seq = last_seq_ + 1;
  const std::string message = checkpoint_message(seq, head_);
  auto sig = signer_->sign(as_bytes(message));
  if (!sig) return std::unexpected(sig.error());
  auto id = key_id(signer_->public_key());
  if (!id) return std::unexpected(id.error());
  Record r;
  r.seq = seq;
  r.time = now_rfc3339_ms();
  r.actor = "system";
  r.event = std::string(kCheckpointEvent);
  r.outcome = "info";
  r.details = {{"key_id", *id}, {"signature", crypto::base64_encode(*sig)}};
  r.prev = head_;
  r.hash = record_hash(r);
  if (auto ok = write_line(r); !ok) return std::unexpected(ok.error());
  if (auto ok = flush(); !ok) return std::unexpected(ok.error());
  last_seq_ = r.seq;
  head_ = r.hash;
  since_checkpoint_ = 0;
  const std::string cp = Json{{"seq", r.seq}, {"hash", r.hash}, {"prev", r.prev},
                              {"key_id", *id}, {"signature", r.details["signature"]}}.dump() + "\n";
  if (auto ok = write_file_atomic(dir_ / kCheckpointFile, as_bytes(cp), {.mode = 0600});
      !ok) {
    return std::unexpected(ok.error());
  }
  return r;
}

}  // namespace ironseal::audit
