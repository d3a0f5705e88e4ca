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
  const image::Sha256& index_digest = authenticated.digest();
  boot::Device& d = hd.device();
  if (index.image_size > d.geometry.slot_size) {
    return fail(ErrorCode::kInvalidArgument, "image (", std::to_string(index.image_size),
                " bytes) is larger than the slot (", std::to_string(d.geometry.slot_size), ")");
  }
  if (index.chunk_size % d.geometry.block_size != 0) {
    return fail(ErrorCode::kInvalidArgument,
                "chunk size is not a multiple of the flash block size");
  }
  boot::InstallSession session;
  std::uint8_t reason = 0;
  const auto begun = boot::install_begin(d, &session, &reason);
  if (begun == boot::InstallResult::kPowerLost)
    return fail(ErrorCode::kIo, "power cut (simulated)");
  if (begun != boot::InstallResult::kOk) {
    return fail(ErrorCode::kNotTrusted, "install refused: ", boot::check_name(reason));
  }
  ChunkedInstallReport report;
  report.slot = session.slot;
  InstallProgress& p = report.totals;
  p.image_size = index.image_size;

  const std::string index_hex = to_hex(index_digest);
  const char slot_char = boot::slot_name(session.slot);
  bool resuming = false;
  if (!options.journal.empty()) {
    if (auto j = read_journal(options.journal);
        j && j->index == index_hex && j->slot == slot_char) {
      resuming = true;
    } else if (auto w = write_journal(options.journal, Journal{index_hex, slot_char}); !w) {
      return std::unexpected(w.error());
    }
  }

  Bytes scratch(index.chunk_size);
  const auto local = active_chunks(hd, boot::other(session.slot), index.chunk_size, scratch);
  const std::uint32_t slot_base = boot::slot_offset(d.geometry, session.slot);
  const std::uint32_t active_base = boot::slot_offset(d.geometry, boot::other(session.slot));

  // Two stages on two threads: obtain and prove chunk i+1 while chunk i is written. The producer
  // reads only chunks the consumer is not writing (earlier chunks of the target slot, which it
  // never writes again, and the other slot), and only it uses `source`.
  ChunkPipe pipe(32, index.chunk_size);  // 2 MiB of 64 KiB chunks; deeper did not measure faster
  // Slot bytes [0, written_end) are on flash (in order). The producer starts the kernel writing
  // them to disk behind the writer, so the final sync waits for little, and the writer (the busier
  // thread: it writes and hashes what it reads back) does not pay for submitting the writeback.
  std::atomic<std::uint64_t> written_end{0};
  std::thread producer([&] {
    std::uint64_t hinted = 0;  // slot bytes up to which writeback was started
    for (std::size_t i = 0; i < index.hashes.size(); ++i) {
      if (const std::uint64_t w = written_end.load(std::memory_order_acquire);
          w - hinted >= kWritebackStep) {
        hd.flash().start_writeback(slot_base + static_cast<std::uint32_t>(hinted),
                                   static_cast<std::uint32_t>(w - hinted));
        hinted = w;
      }
      auto c = pipe.take_free();
      if (!c) return;
      c->index = i;
      c->length = index.chunk_length(i);
      const std::uint64_t off = index.chunk_offset(i);
      const std::span<std::uint8_t> chunk(c->bytes.data(), c->length);
      const image::Sha256& want = index.hashes[i];
      // 1. Already on flash from an interrupted run? Proven by hashing flash, not by the journal.
      if (resuming &&
          d.flash->read(slot_base + static_cast<std::uint32_t>(off), chunk.data(), c->length) &&
          hash_of(chunk) == want) {
        c->origin = Origin::kResumed;
      } else if (auto it = local.find(want);
                 // 2. The same bytes in the active slot? Copied locally, proven again after
                 // reading.
                 it != local.end() &&
                 d.flash->read(active_base + static_cast<std::uint32_t>(it->second), chunk.data(),
                               c->length) &&
                 hash_of(chunk) == want) {
        c->origin = Origin::kLocal;
      } else {
        // 3. Otherwise downloaded, and proven before it is handed on to be written.
        c->origin = Origin::kDownloaded;
        if (auto r = source.fetch(off, chunk); !r) {
          pipe.finish(r.error());
          return;
        }
        if (hash_of(chunk) != want) {
          pipe.finish(make_error(ErrorCode::kNotTrusted, "chunk_mismatch",
                                 "chunk " + std::to_string(i) + " (offset " + std::to_string(off) +
                                     ") does not match the chunk index authenticated by " +
                                     authenticated.origin() + "; nothing of it was written"));
          return;
        }
      }
      pipe.put_ready(std::move(*c));
    }
    pipe.finish(std::nullopt);
  });
  auto stop = [&](Error e) -> Result<ChunkedInstallReport> {
    pipe.cancel();
    producer.join();
    return std::unexpected(std::move(e));
  };

  // The bootloader's check of the written slot, streamed: each chunk is read back from flash once
  // it is on flash and hashed into the image digest, on this thread while the producer proves the
  // next chunk, so install_finish need not read the whole slot a second time. The signature and
  // hash TLV checks still run in install_finish, over this digest of the bytes on flash.
  auto hasher = crypto::Hasher::create(crypto::HashAlgorithm::kSha256);
  if (!hasher) return stop(hasher.error());
  Bytes readback(index.chunk_size);
  std::uint64_t protected_end = 0;  // from the header read back; 0 = unknown (no streamed digest)
  std::uint64_t hashed = 0;

  while (auto c = pipe.take_ready()) {
    const std::uint64_t off = index.chunk_offset(c->index);
    if (c->origin == Origin::kResumed) {
      p.resumed += c->length;
    } else {
      const auto w = boot::install_write(d, session, static_cast<std::uint32_t>(off),
                                         c->bytes.data(), c->length);
      if (w == boot::InstallResult::kPowerLost)
        return stop({ErrorCode::kIo, "power cut (simulated)"});
      if (w != boot::InstallResult::kOk) return stop({ErrorCode::kIo, "flash write refused"});
      (c->origin == Origin::kLocal ? p.local : p.downloaded) += c->length;
    }
    if (!d.flash->read(slot_base + static_cast<std::uint32_t>(off), readback.data(), c->length)) {
      return stop({ErrorCode::kIo, "cannot read back the slot"});
    }
    if (c->index == 0 && c->length >= image::kHeaderSize) {
      std::uint8_t raw[image::kHeaderSize];
      std::copy_n(readback.begin(), image::kHeaderSize, raw);
      const image::ImageHeader h = image::decode_header(raw);
      protected_end = std::uint64_t{h.header_size} + h.image_size + h.protected_tlv_size;
    }
    if (hashed == off && off < protected_end) {
      const auto n =
          static_cast<std::size_t>(std::min<std::uint64_t>(c->length, protected_end - off));
      hasher->update(ByteView(readback.data(), n));
      hashed += n;
    }
    p.done += c->length;
    written_end.store(off + c->length, std::memory_order_release);
    pipe.give_back(std::move(*c));
    if (options.progress) options.progress(p);
  }
  producer.join();
  if (auto e = pipe.error()) return std::unexpected(*e);
  if (auto s = hd.flash().sync(); !s) return std::unexpected(s.error());

  image::RegionDigest streamed;
  const bool have_streamed = protected_end != 0 && hashed == protected_end;
  if (have_streamed) {
    const Bytes digest = hasher->finish();
    streamed.kind = image::HashKind::kSha256;
    streamed.length = protected_end;
    std::copy(digest.begin(), digest.end(), streamed.digest);
  }
  boot::InstallReport done;
  boot::install_finish(d, session, nullptr, hd.config().trial_attempts, &done,
                       have_streamed ? &streamed : nullptr);
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
  if (options.progress) options.progress(p);
  return report;
}

}  // namespace ironseal::delivery
