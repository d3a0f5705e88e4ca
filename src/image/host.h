// Host (Linux) adapters around the portable verifier: OpenSSL as the CryptoBackend, files as
// ImageSources, PublicKeys as TrustedKeys, and verify_image_file() returning Result.
#pragma once

#include <filesystem>
#include <memory>
#include <span>
#include <vector>

#include "core/file.h"
#include "core/result.h"
#include "crypto/hash.h"
#include "crypto/key.h"
#include "image/verify.h"

namespace ironseal::image {

class OpenSslBackend final : public CryptoBackend {
 public:
  OpenSslBackend();
  ~OpenSslBackend();
  void hash_begin(HashKind kind) override;
  void hash_update(const std::uint8_t* data, std::size_t length) override;
  void hash_finish(std::uint8_t* out) override;
  bool ed25519_verify(const TrustedKey& key, const std::uint8_t* message, std::size_t length,
                      const std::uint8_t (&signature)[64]) override;
  bool ed25519_verify_source(const TrustedKey& key, const ImageSource& source, std::uint64_t length,
                             const std::uint8_t (&signature)[64]) override;
  bool ecdsa_p256_verify_digest(const TrustedKey& key, const std::uint8_t (&digest)[32],
                                const std::uint8_t* der, std::size_t der_length) override;

 private:
  std::unique_ptr<crypto::Hasher> sha256_;
  std::unique_ptr<crypto::Hasher> sha512_;
  crypto::Hasher* active_ = nullptr;
};

// An ImageSource over an open file, read with pread (the file is never mapped or re-opened).
class FileSource final : public ImageSource {
 public:
  explicit FileSource(const ReadOnlyFile& file) : file_(file) {}
  std::uint64_t size() const override { return file_.size(); }
  bool read(std::uint64_t offset, std::uint8_t* out, std::size_t length) const override {
    return file_.read_at(offset, std::span<std::uint8_t>(out, length));
  }

 private:
  const ReadOnlyFile& file_;
};

TrustedKey to_trusted_key(const crypto::PublicKey& key);
std::vector<TrustedKey> to_trusted_keys(std::span<const crypto::PublicKey> keys);

// Maps a verifier Status to an Error: structural problems are kMalformed, trust failures
// kNotTrusted, read failures kIo. The message starts with the status name.
Error status_error(Status status);

// The working memory verify_image_source() streams the hashed region through, one read per
// slice. 256 KiB keeps a slice in the core's L2 cache between the kernel's copy and the hash
// reading it, with 1,024 reads for a 256 MiB image; it is not zero-filled, as each read fills it.
// (1 MiB, zero-filled, was the earlier choice; mapping the file instead of copying it measured
// slower: docs/benchmarks.md, issue 13.)
inline constexpr std::size_t kHostScratchSize = 256 * 1024;

Result<ImageInfo> verify_image_source(const ImageSource& source,
                                      std::span<const crypto::PublicKey> keys);
// Opens `path` read-only (regular files only), hints sequential reading, and verifies it through
// FileSource. The file is only read, never mapped.
Result<ImageInfo> verify_image_file(const std::filesystem::path& path,
                                    std::span<const crypto::PublicKey> keys);

}  // namespace ironseal::image
