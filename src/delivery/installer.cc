#include "delivery/installer.h"

#include <atomic>
#include <condition_variable>
#include <deque>
#include <map>
#include <mutex>
#include <nlohmann/json.hpp>
#include <thread>

#include "boot/boot.h"
#include "crypto/hash.h"

namespace ironseal::delivery {
namespace {

image::Sha256 hash_of(ByteView data) {
  const Bytes h = crypto::sha256(data);
  image::Sha256 s;
  std::copy(h.begin(), h.end(), s.begin());
  return s;
}

// Written once, before the first chunk of an install reaches flash: which image (by its chunk
// index) is being written into which slot. It claims nothing about which chunks are there: a
// resumed install proves each chunk by hashing what flash holds, so nothing the journal says can
// put an unproven byte in the slot, and every chunk that reached flash before the cut is kept.
struct Journal {
  std::string index;  // hex SHA-256 of the index
  char slot = 'A';
};

std::optional<Journal> read_journal(const std::filesystem::path& path) {
  auto bytes = read_file(path);
  if (!bytes) return std::nullopt;
  try {
    const auto j = nlohmann::json::parse(bytes->begin(), bytes->end());
    Journal out;
    out.index = j.at("index_sha256").get<std::string>();
    out.slot = j.at("slot").get<std::string>().at(0);
    return out;
  } catch (const std::exception&) {
    return std::nullopt;  // a damaged journal only costs re-checking from the start
  }
}

Result<void> write_journal(const std::filesystem::path& path, const Journal& j) {
  const std::string text =
      nlohmann::json{{"index_sha256", j.index}, {"slot", std::string(1, j.slot)}}.dump() + "\n";
  return write_file_atomic(path, as_bytes(text));
}

// Chunk hashes of the image in the active slot, for delta copies.
std::map<image::Sha256, std::uint64_t> active_chunks(boot::HostDevice& hd, boot::SlotId active,
                                                     std::uint32_t chunk_size, Bytes& buf) {
  std::map<image::Sha256, std::uint64_t> out;
  const boot::FlashRegion region(hd.flash(), boot::slot_offset(hd.geometry(), active),
                                 hd.geometry().slot_size);
  image::Layout layout;
  if (image::parse_layout(region, &layout) != image::Status::kOk) return out;
  for (std::uint64_t off = 0; off < layout.unprotected_end; off += chunk_size) {
    const std::size_t n =
        static_cast<std::size_t>(std::min<std::uint64_t>(chunk_size, layout.unprotected_end - off));
    if (!region.read(off, buf.data(), n)) break;
    out.emplace(hash_of(ByteView(buf.data(), n)), off);
  }
  return out;
}

enum class Origin { kResumed, kLocal, kDownloaded };

constexpr std::uint64_t kWritebackStep = 4u << 20;  // bytes written between writeback hints

struct Chunk {
  std::size_t index = 0;
  std::uint32_t length = 0;
  Origin origin = Origin::kDownloaded;
  Bytes bytes;
};

// Hands proven chunks from the thread that obtains and hashes them to the thread that writes
// them, in order, through a fixed pool of buffers (memory stays bounded by depth x chunk size).
// A side that finds nothing to take sleeps until half the pool is there for it (or the other side
// finished), so the threads wake each other once per batch rather than once per chunk.
class ChunkPipe {
 public:
  ChunkPipe(std::size_t depth, std::size_t chunk_size)
      : batch_(std::max<std::size_t>(1, depth / 2)) {
    for (std::size_t i = 0; i < depth; ++i)
      free_.push_back(Chunk{0, 0, Origin::kDownloaded, Bytes(chunk_size)});
  }
  // Producer side. take_free() returns nullopt once the consumer cancelled.
  std::optional<Chunk> take_free() {
    std::unique_lock lock(mu_);
    if (free_.empty() && !cancelled_) {
      producer_waits_ = true;
      free_cv_.wait(lock, [&] { return cancelled_ || free_.size() >= batch_; });
      producer_waits_ = false;
    }
    if (cancelled_) return std::nullopt;
    Chunk c = std::move(free_.front());
    free_.pop_front();
    return c;
  }
  void put_ready(Chunk c) {
    bool wake = false;
    {
      std::lock_guard lock(mu_);
      ready_.push_back(std::move(c));
      wake = consumer_waits_ && ready_.size() >= batch_;
    }
    if (wake) ready_cv_.notify_one();
  }
  void finish(std::optional<Error> error) {
    {
      std::lock_guard lock(mu_);
      done_ = true;
      error_ = std::move(error);
    }
    ready_cv_.notify_one();
  }
  // Consumer side. take_ready() returns nullopt when the producer finished and all was taken.
  std::optional<Chunk> take_ready() {
    std::unique_lock lock(mu_);
    if (ready_.empty() && !done_) {
      consumer_waits_ = true;
      ready_cv_.wait(lock, [&] { return done_ || ready_.size() >= batch_; });
      consumer_waits_ = false;
    }
    if (ready_.empty()) return std::nullopt;
    Chunk c = std::move(ready_.front());
    ready_.pop_front();
    return c;
  }
  void give_back(Chunk c) {
    bool wake = false;
    {
      std::lock_guard lock(mu_);
      free_.push_back(std::move(c));
      wake = producer_waits_ && free_.size() >= batch_;
    }
    if (wake) free_cv_.notify_one();
  }
  void cancel() {
    {
      std::lock_guard lock(mu_);
      cancelled_ = true;
    }
    free_cv_.notify_one();
  }
  std::optional<Error> error() {
    std::lock_guard lock(mu_);
    return error_;
  }

 private:
  const std::size_t batch_;
  std::mutex mu_;
  std::condition_variable free_cv_;   // the producer waits here
  std::condition_variable ready_cv_;  // the consumer waits here
  std::deque<Chunk> free_;
  std::deque<Chunk> ready_;
  bool done_ = false;
  bool cancelled_ = false;
  bool producer_waits_ = false;
  bool consumer_waits_ = false;
  std::optional<Error> error_;
};

// The install as begun: the session the bootloader opened, and whether the journal says an earlier
// run was writing this same image into this same slot.
struct BegunInstall {
  boot::InstallSession session;
  bool resuming = false;
};

Result<BegunInstall> begin_chunked(boot::Device& d, const image::ChunkIndex& index,
                                   const image::Sha256& index_digest,
                                   const std::filesystem::path& journal) {
  if (index.image_size > d.geometry.slot_size) {
    return fail(ErrorCode::kInvalidArgument, "image (", std::to_string(index.image_size),
                " bytes) is larger than the slot (", std::to_string(d.geometry.slot_size), ")");
  }
  if (index.chunk_size % d.geometry.block_size != 0) {
    return fail(ErrorCode::kInvalidArgument,
                "chunk size is not a multiple of the flash block size");
  }
  BegunInstall begun;
  std::uint8_t reason = 0;
  const auto result = boot::install_begin(d, &begun.session, &reason);
  if (result == boot::InstallResult::kPowerLost)
    return fail(ErrorCode::kIo, "power cut (simulated)");
  if (result != boot::InstallResult::kOk) {
    return fail(ErrorCode::kNotTrusted, "install refused: ", boot::check_name(reason));
  }
  const std::string index_hex = to_hex(index_digest);
  const char slot_char = boot::slot_name(begun.session.slot);
  if (!journal.empty()) {
    if (auto j = read_journal(journal); j && j->index == index_hex && j->slot == slot_char) {
      begun.resuming = true;
    } else if (auto w = write_journal(journal, Journal{index_hex, slot_char}); !w) {
      return std::unexpected(w.error());
    }
  }
  return begun;
}

// What the producer thread needs to obtain and prove chunks. Only the producer uses `source`.
struct ChunkFinder {
  boot::HostDevice& hd;
  const image::AuthenticatedChunkIndex& authenticated;
  ChunkSource& source;
  bool resuming = false;
  std::map<image::Sha256, std::uint64_t> local;  // chunk hashes of the active slot
  std::uint32_t slot_base = 0;
  std::uint32_t active_base = 0;
};

// Fills `c` with chunk `i`, proven against the index. Returns the error that ends the install.
std::optional<Error> obtain_chunk(ChunkFinder& f, std::size_t i, Chunk& c) {
  const image::ChunkIndex& index = f.authenticated.index();
  boot::Device& d = f.hd.device();
  c.index = i;
  c.length = index.chunk_length(i);
  const std::uint64_t off = index.chunk_offset(i);
  const std::span<std::uint8_t> chunk(c.bytes.data(), c.length);
  const image::Sha256& want = index.hashes[i];
  // 1. Already on flash from an interrupted run? Proven by hashing flash, not by the journal.
  if (f.resuming &&
      d.flash->read(f.slot_base + static_cast<std::uint32_t>(off), chunk.data(), c.length) &&
      hash_of(chunk) == want) {
    c.origin = Origin::kResumed;
  } else if (auto it = f.local.find(want);
             // 2. The same bytes in the active slot? Copied locally, proven again after
             // reading.
             it != f.local.end() &&
             d.flash->read(f.active_base + static_cast<std::uint32_t>(it->second), chunk.data(),
                           c.length) &&
             hash_of(chunk) == want) {
    c.origin = Origin::kLocal;
  } else {
    // 3. Otherwise downloaded, and proven before it is handed on to be written.
    c.origin = Origin::kDownloaded;
    if (auto r = f.source.fetch(off, chunk); !r) return r.error();
    if (hash_of(chunk) != want) {
      return make_error(ErrorCode::kNotTrusted, "chunk_mismatch",
                        "chunk " + std::to_string(i) + " (offset " + std::to_string(off) +
                            ") does not match the chunk index authenticated by " +
                            f.authenticated.origin() + "; nothing of it was written");
    }
  }
  return std::nullopt;
}

// The producer thread: obtains and proves every chunk in order and hands it to the writer. It
// reads only chunks the writer is not writing (earlier chunks of the target slot, which are never
// written again, and the other slot). Slot bytes [0, written_end) are on flash (in order); the
// producer starts the kernel writing them to disk behind the writer, so the final sync waits for
// little, and the writer (the busier thread: it writes and hashes what it reads back) does not pay
// for submitting the writeback.
void produce_chunks(ChunkFinder& f, ChunkPipe& pipe,
                    const std::atomic<std::uint64_t>& written_end) {
  std::uint64_t hinted = 0;  // slot bytes up to which writeback was started
  for (std::size_t i = 0; i < f.authenticated.index().hashes.size(); ++i) {
    if (const std::uint64_t w = written_end.load(std::memory_order_acquire);
        w - hinted >= kWritebackStep) {
      f.hd.flash().start_writeback(f.slot_base + static_cast<std::uint32_t>(hinted),
                                   static_cast<std::uint32_t>(w - hinted));
      hinted = w;
    }
    auto c = pipe.take_free();
    if (!c) return;
    if (auto e = obtain_chunk(f, i, *c)) {
      pipe.finish(std::move(e));
      return;
    }
    pipe.put_ready(std::move(*c));
  }
  pipe.finish(std::nullopt);
}

// The bootloader's check of the written slot, streamed: each chunk is read back from flash once
// it is on flash and hashed into the image digest, on the writer thread while the producer proves
// the next chunk, so install_finish need not read the whole slot a second time. The signature and
// hash TLV checks still run in install_finish, over this digest of the bytes on flash.
class StreamedDigest {
 public:
  explicit StreamedDigest(crypto::Hasher hasher) : hasher_(std::move(hasher)) {}

  // Adds chunk `index` at slot offset `off`, as read back from flash.
  void add(std::size_t index, std::uint64_t off, ByteView readback) {
    if (index == 0 && readback.size() >= image::kHeaderSize) {
      std::uint8_t raw[image::kHeaderSize];
      std::copy_n(readback.begin(), image::kHeaderSize, raw);
      const image::ImageHeader h = image::decode_header(raw);
      protected_end_ = std::uint64_t{h.header_size} + h.image_size + h.protected_tlv_size;
    }
    if (hashed_ == off && off < protected_end_) {
      const auto n =
          static_cast<std::size_t>(std::min<std::uint64_t>(readback.size(), protected_end_ - off));
      hasher_.update(ByteView(readback.data(), n));
      hashed_ += n;
    }
  }
  // The digest of the protected region, or nullptr when it was not streamed whole.
  const image::RegionDigest* finish() {
    if (protected_end_ == 0 || hashed_ != protected_end_) return nullptr;
    const Bytes digest = hasher_.finish();
    digest_.kind = image::HashKind::kSha256;
    digest_.length = protected_end_;
    std::copy(digest.begin(), digest.end(), digest_.digest);
    return &digest_;
  }

 private:
  crypto::Hasher hasher_;
  std::uint64_t protected_end_ = 0;  // from the header read back; 0 = unknown (no digest)
  std::uint64_t hashed_ = 0;
  image::RegionDigest digest_;
};

// Writes one proven chunk into the slot (unless it is already there) and reads it back into the
// streamed digest.
Result<void> write_chunk(boot::Device& d, const boot::InstallSession& session,
                         std::uint32_t slot_base, const Chunk& c, std::uint64_t off,
                         Bytes& readback, StreamedDigest& digest, InstallProgress& p) {
  if (c.origin == Origin::kResumed) {
    p.resumed += c.length;
  } else {
    const auto w =
        boot::install_write(d, session, static_cast<std::uint32_t>(off), c.bytes.data(), c.length);
    if (w == boot::InstallResult::kPowerLost)
      return std::unexpected(Error{ErrorCode::kIo, "power cut (simulated)"});
    if (w != boot::InstallResult::kOk)
      return std::unexpected(Error{ErrorCode::kIo, "flash write refused"});
    (c.origin == Origin::kLocal ? p.local : p.downloaded) += c.length;
  }
  if (!d.flash->read(slot_base + static_cast<std::uint32_t>(off), readback.data(), c.length)) {
    return std::unexpected(Error{ErrorCode::kIo, "cannot read back the slot"});
  }
  digest.add(c.index, off, ByteView(readback.data(), c.length));
  return {};
}

// The bootloader's final check of the slot, then the journal is no longer needed.
Result<ChunkedInstallReport> finish_chunked(boot::HostDevice& hd,
                                            const boot::InstallSession& session,
                                            StreamedDigest& digest, ChunkedInstallReport report,
                                            const ChunkedInstallOptions& options) {
  const image::RegionDigest* streamed = digest.finish();
  boot::InstallReport done;
  boot::install_finish(hd.device(), session, nullptr, hd.config().trial_attempts, &done, streamed);
  report.info = done.info;
  switch (done.result) {
    case boot::InstallResult::kOk: break;
    case boot::InstallResult::kPowerLost: return fail(ErrorCode::kIo, "power cut (simulated)");
    default:
      return fail(ErrorCode::kNotTrusted,
                  "the written slot does not verify: ", boot::check_name(done.reason));
  }
  if (!options.journal.empty()) {
    std::error_code ec;
    std::filesystem::remove(options.journal, ec);
  }
  if (options.progress) options.progress(report.totals);
  return report;
}

}  // namespace

Result<FileChunkSource> FileChunkSource::open(const std::filesystem::path& path) {
  auto f = ReadOnlyFile::open(path);
  if (!f) return std::unexpected(f.error());
  return FileChunkSource(std::move(*f));
}

Result<void> FileChunkSource::fetch(std::uint64_t offset, std::span<std::uint8_t> out) {
  if (!file_.read_at(offset, out)) return fail(ErrorCode::kIo, "source ends before the image does");
  return {};
}

Result<ChunkedInstallReport> install_chunked(boot::HostDevice& hd,
                                             const image::AuthenticatedChunkIndex& authenticated,
                                             ChunkSource& source,
                                             const ChunkedInstallOptions& options) {
  const image::ChunkIndex& index = authenticated.index();
  boot::Device& d = hd.device();
  auto begun = begin_chunked(d, index, authenticated.digest(), options.journal);
  if (!begun) return std::unexpected(begun.error());
  const boot::InstallSession& session = begun->session;
  ChunkedInstallReport report;
  report.slot = session.slot;
  InstallProgress& p = report.totals;
  p.image_size = index.image_size;

  Bytes scratch(index.chunk_size);
  ChunkFinder finder{hd,
                     authenticated,
                     source,
                     begun->resuming,
                     active_chunks(hd, boot::other(session.slot), index.chunk_size, scratch),
                     boot::slot_offset(d.geometry, session.slot),
                     boot::slot_offset(d.geometry, boot::other(session.slot))};
  const std::uint32_t slot_base = finder.slot_base;

  // Two stages on two threads: obtain and prove chunk i+1 while chunk i is written.
  ChunkPipe pipe(32, index.chunk_size);  // 2 MiB of 64 KiB chunks; deeper did not measure faster
  std::atomic<std::uint64_t> written_end{0};
  std::thread producer([&] { produce_chunks(finder, pipe, written_end); });
  auto stop = [&](Error e) -> Result<ChunkedInstallReport> {
    pipe.cancel();
    producer.join();
    return std::unexpected(std::move(e));
  };

  auto hasher = crypto::Hasher::create(crypto::HashAlgorithm::kSha256);
  if (!hasher) return stop(hasher.error());
  StreamedDigest digest(std::move(*hasher));
  Bytes readback(index.chunk_size);
  while (auto c = pipe.take_ready()) {
    const std::uint64_t off = index.chunk_offset(c->index);
    if (auto w = write_chunk(d, session, slot_base, *c, off, readback, digest, p); !w)
      return stop(w.error());
    p.done += c->length;
    written_end.store(off + c->length, std::memory_order_release);
    pipe.give_back(std::move(*c));
    if (options.progress) options.progress(p);
  }
  producer.join();
  if (auto e = pipe.error()) return std::unexpected(*e);
  if (auto s = hd.flash().sync(); !s) return std::unexpected(s.error());
  return finish_chunked(hd, session, digest, std::move(report), options);
}

}  // namespace ironseal::delivery
