// Benchmark (issue 15): audit trail appends per second, synced each time (a device's default) and
// batched (the fleet server: fsync once per tick), and verification in records per second. The
// reference, side by side in the same run and folder: raw write()+fsync() of lines of the same
// size, the physical limit of an append-only file on this disk. Checkpoints every 256 records
// (Ed25519) are included, as in production.
// Usage: audit_append DIR [N_SYNC=2000] [N_BATCH=100000]
#include <fcntl.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <filesystem>
#include <string>

#include "audit/log.h"
#include "audit/verify.h"
#include "crypto/signer.h"

using namespace ironseal;
namespace fs = std::filesystem;
using Clock = std::chrono::steady_clock;

static double seconds_since(Clock::time_point t0) {
  return std::chrono::duration<double>(Clock::now() - t0).count();
}

// Raw lines of `size` bytes: fsync after each (every = 1) or after every `every` lines.
static double raw_rate(const fs::path& file, int n, std::size_t size, int every) {
  int fd = ::open(file.c_str(), O_WRONLY | O_APPEND | O_CREAT | O_TRUNC, 0600);
  std::string line(size - 1, 'x');
  line.push_back('\n');
  auto t0 = Clock::now();
  for (int i = 0; i < n; ++i) {
    if (::write(fd, line.data(), line.size()) != static_cast<ssize_t>(line.size())) return 0;
    if ((i + 1) % every == 0) ::fsync(fd);
  }
  ::fsync(fd);
  double s = seconds_since(t0);
  ::close(fd);
  return n / s;
}

static double audit_rate(const fs::path& dir, const crypto::Signer& signer, int n, bool sync_each,
                         int flush_every, std::uint64_t* bytes) {
  fs::remove_all(dir);
  auto log = audit::Log::open(dir, &signer, {.checkpoint_every = 256, .sync_each = sync_each});
  if (!log) return 0;
  auto t0 = Clock::now();
  for (int i = 0; i < n; ++i) {
    auto r = log->append("operator:ops", "auth.login", "refused",
                         {{"peer", "10.0.0.7"}, {"reason", "bad password"}, {"n", i}});
    if (!r) return 0;
    if (!sync_each && (i + 1) % flush_every == 0) (void)log->flush();
  }
  (void)log->flush();
  double s = seconds_since(t0);
  *bytes = 0;
  for (const auto& e : fs::directory_iterator(dir)) *bytes += fs::file_size(e.path());
  return n / s;
}

int main(int argc, char** argv) {
  if (argc < 2) {
    std::fprintf(stderr, "usage: audit_append DIR [N_SYNC] [N_BATCH]\n");
    return 2;
  }
  const fs::path dir = argv[1];
  const int n_sync = argc > 2 ? std::atoi(argv[2]) : 2000;
  const int n_batch = argc > 3 ? std::atoi(argv[3]) : 100000;
  fs::create_directories(dir);
  auto key = crypto::PrivateKey::generate(crypto::KeyType::kEd25519);
  if (!key) return 3;
  crypto::KeyFileSigner signer(std::move(*key));

  std::uint64_t bytes = 0;
  const double sync_rate = audit_rate(dir / "sync", signer, n_sync, true, 1, &bytes);
  const std::size_t line = static_cast<std::size_t>(bytes / (n_sync + n_sync / 256));
  const double raw_sync = raw_rate(dir / "raw-sync", n_sync, line, 1);
  const double batch_rate = audit_rate(dir / "batch", signer, n_batch, false, 1000, &bytes);
  const double raw_batch = raw_rate(dir / "raw-batch", n_batch, line, 1000);

  auto t0 = Clock::now();
  auto report = audit::verify_log(dir / "batch", &signer.public_key());
  const double verify_s = seconds_since(t0);
  if (!report || report->problem) return 1;

  std::printf("audit: %zu-byte records, checkpoints every 256 (Ed25519), folder %s\n", line,
              dir.c_str());
  std::printf("%-36s %12s %12s %8s\n", "case", "ironseal/s", "raw/s", "ratio");
  std::printf("%-36s %12.0f %12.0f %8.3f\n", "append, fsync each (device)", sync_rate, raw_sync,
              sync_rate / raw_sync);
  std::printf("%-36s %12.0f %12.0f %8.3f\n", "append, fsync per 1000 (server tick)", batch_rate,
              raw_batch, batch_rate / raw_batch);
  std::printf("verify: %llu records (%llu checkpoints) in %.3f s = %.0f records/s\n",
              static_cast<unsigned long long>(report->records),
              static_cast<unsigned long long>(report->checkpoints), verify_s,
              report->records / verify_s);
  fs::remove_all(dir);
  return 0;
}
