#include "crypto/hash.h"

#include <openssl/evp.h>

#include <cstdlib>

#include "crypto/ossl.h"

namespace ironseal::crypto {

struct Hasher::Ctx {
  ossl::MdCtxPtr md;
  const EVP_MD* type;
};

namespace {
const EVP_MD* md_for(HashAlgorithm alg) {
  switch (alg) {
    case HashAlgorithm::kSha224: return EVP_sha224();
    case HashAlgorithm::kSha256: return EVP_sha256();
    case HashAlgorithm::kSha384: return EVP_sha384();
    case HashAlgorithm::kSha512: return EVP_sha512();
  }
  return EVP_sha512();
}
}  // namespace

std::optional<HashAlgorithm> hash_algorithm_from_name(std::string_view name) {
  if (name == "sha224") return HashAlgorithm::kSha224;
  if (name == "sha256") return HashAlgorithm::kSha256;
  if (name == "sha384") return HashAlgorithm::kSha384;
  if (name == "sha512") return HashAlgorithm::kSha512;
  return std::nullopt;
}

Hasher::Hasher(HashAlgorithm alg, std::unique_ptr<Ctx> ctx) : alg_(alg), ctx_(std::move(ctx)) {}
Hasher::Hasher(Hasher&&) noexcept = default;
Hasher& Hasher::operator=(Hasher&&) noexcept = default;
Hasher::~Hasher() = default;

Result<Hasher> Hasher::create(HashAlgorithm alg) {
  auto ctx = std::make_unique<Ctx>(Ctx{ossl::MdCtxPtr(EVP_MD_CTX_new()), md_for(alg)});
  if (!ctx->md || EVP_DigestInit_ex(ctx->md.get(), ctx->type, nullptr) != 1) {
    return fail(ErrorCode::kCrypto, "digest init failed: ", ossl::drain_errors());
  }
  return Hasher(alg, std::move(ctx));
}

void Hasher::update(ByteView data) {
  // EVP_DigestUpdate on an initialised SHA-2 context cannot fail short of memory corruption;
  // abort rather than return a digest that silently skipped bytes.
  if (EVP_DigestUpdate(ctx_->md.get(), data.data(), data.size()) != 1) std::abort();
}

Bytes Hasher::finish() {
  Bytes out(digest_size(alg_));
  unsigned int len = 0;
  if (EVP_DigestFinal_ex(ctx_->md.get(), out.data(), &len) != 1 || len != out.size() ||
      EVP_DigestInit_ex(ctx_->md.get(), ctx_->type, nullptr) != 1) {
    std::abort();
  }
  return out;
}

Bytes digest(HashAlgorithm alg, ByteView data) {
  Bytes out(digest_size(alg));
  unsigned int len = 0;
  if (EVP_Digest(data.data(), data.size(), out.data(), &len, md_for(alg), nullptr) != 1) {
    std::abort();
  }
  return out;
}

Bytes sha1_for_uuid(ByteView data) {
  Bytes out(20);
  unsigned int len = 0;
  if (EVP_Digest(data.data(), data.size(), out.data(), &len, EVP_sha1(), nullptr) != 1) {
    std::abort();
  }
  return out;
}

Bytes sha256(ByteView data) {
  return digest(HashAlgorithm::kSha256, data);
}
Bytes sha512(ByteView data) {
  return digest(HashAlgorithm::kSha512, data);
}

}  // namespace ironseal::crypto
