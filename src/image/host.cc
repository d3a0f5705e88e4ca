#include "image/host.h"

#include <algorithm>
#include <cstdlib>
#include <memory>
#include <optional>

#include "crypto/verifier.h"

namespace ironseal::image {

OpenSslBackend::OpenSslBackend() {
  auto a = crypto::Hasher::create(crypto::HashAlgorithm::kSha256);
  auto b = crypto::Hasher::create(crypto::HashAlgorithm::kSha512);
  if (!a || !b) std::abort();  // OpenSSL without SHA-2 is not a usable environment
  sha256_ = std::make_unique<crypto::Hasher>(std::move(*a));
  sha512_ = std::make_unique<crypto::Hasher>(std::move(*b));
}

OpenSslBackend::~OpenSslBackend() = default;

void OpenSslBackend::hash_begin(HashKind kind) {
  active_ = kind == HashKind::kSha256 ? sha256_.get() : sha512_.get();
  active_->finish();  // discard anything left from an abandoned computation
}

void OpenSslBackend::hash_update(const std::uint8_t* data, std::size_t length) {
  active_->update(ByteView(data, length));
}

void OpenSslBackend::hash_finish(std::uint8_t* out) {
  const Bytes d = active_->finish();
  std::copy(d.begin(), d.end(), out);
}

bool OpenSslBackend::ed25519_verify(const TrustedKey& key, const std::uint8_t* message,
                                    std::size_t length, const std::uint8_t (&signature)[64]) {
  // from_spki refuses a key of another type, so it never verifies here.
  auto verifier = crypto::Ed25519Verifier::from_spki(ByteView(key.spki, key.spki_size));
  return verifier && verifier->verify(ByteView(message, length), ByteView(signature, 64));
}

bool OpenSslBackend::ed25519_verify_source(const TrustedKey& key, const ImageSource& source,
                                           std::uint64_t length,
                                           const std::uint8_t (&signature)[64]) {
  // OpenSSL's Ed25519 is one-shot: pure mode needs the signed bytes in memory. The digest mode
  // (ironseal's and MCUboot's default) streams instead.
  const std::uint8_t* direct = source.direct(0, length);
  Bytes copy;
  if (direct == nullptr) {
    copy.resize(length);
    if (!source.read(0, copy.data(), length)) return false;
    direct = copy.data();
  }
  return ed25519_verify(key, direct, length, signature);
}

bool OpenSslBackend::ecdsa_p256_verify_digest(const TrustedKey& key,
                                              const std::uint8_t (&digest)[32],
                                              const std::uint8_t* der, std::size_t der_length) {
  auto verifier = crypto::EcdsaP256Verifier::from_spki(ByteView(key.spki, key.spki_size));
  return verifier && verifier->verify_digest(digest, ByteView(der, der_length));
}

TrustedKey to_trusted_key(const crypto::PublicKey& key) {
  const Bytes raw = key.raw();
  TrustedKey out;
  const KeyKind kind =
      key.type() == crypto::KeyType::kEd25519 ? KeyKind::kEd25519 : KeyKind::kEcdsaP256;
  if (!make_trusted_key(kind, raw.data(), static_cast<std::uint32_t>(raw.size()), &out)) {
    std::abort();  // PublicKey only holds Ed25519 or uncompressed P-256 keys
  }
  return out;
}

std::vector<TrustedKey> to_trusted_keys(std::span<const crypto::PublicKey> keys) {
  std::vector<TrustedKey> out;
  out.reserve(keys.size());
  for (const auto& k : keys) out.push_back(to_trusted_key(k));
  return out;
}

Error status_error(Status status) {
  ErrorCode code = ErrorCode::kMalformed;
  switch (status) {
    case Status::kReadError: code = ErrorCode::kIo; break;
    case Status::kHashMismatch:
    case Status::kMissingSignature:
    case Status::kUnknownKey:
    case Status::kKeyTypeMismatch:
    case Status::kBadSignature: code = ErrorCode::kNotTrusted; break;
    default: break;
  }
  return make_error(code, status_name(status), status_message(status));
}

Result<ImageInfo> verify_image_source(const ImageSource& source,
                                      std::span<const crypto::PublicKey> keys) {
  const std::vector<TrustedKey> trusted = to_trusted_keys(keys);
  OpenSslBackend backend;
  const auto scratch = std::make_unique_for_overwrite<std::uint8_t[]>(kHostScratchSize);
  ImageInfo info;
  const Status s = verify_image(
      VerifyRequest{&source, trusted.data(), static_cast<std::uint32_t>(trusted.size()), &backend,
                    scratch.get(), kHostScratchSize},
      &info);
  if (s != Status::kOk) return std::unexpected(status_error(s));
  return info;
}

Result<ImageInfo> verify_image_file(const std::filesystem::path& path,
                                    std::span<const crypto::PublicKey> keys) {
  auto file = ReadOnlyFile::open(path);
  if (!file) return std::unexpected(file.error());
  file->advise_sequential();
  FileSource source(*file);
  return verify_image_source(source, keys);
}

}  // namespace ironseal::image
