#include "crypto/hash.h"

#include <openssl/bn.h>
#include <openssl/ecdsa.h>
#include <openssl/err.h>
#include <openssl/evp.h>

#include <cstdlib>

#include "crypto/ossl.h"

namespace ironseal::crypto {

namespace ossl {
std::string drain_errors() {
  std::string out;
  while (unsigned long e = ERR_get_error()) {
    char buf[256];
    ERR_error_string_n(e, buf, sizeof buf);
    if (!out.empty()) out += "; ";
    out += buf;
  }
  return out;
}

int no_passphrase(char*, int, int, void*) {
  return -1;
}

BioPtr mem_bio(std::string_view text) {
  return BioPtr(BIO_new_mem_buf(text.data(), static_cast<int>(text.size())));
}

std::string bio_text(BIO* bio) {
  char* data = nullptr;
  const long len = BIO_get_mem_data(bio, &data);
  return std::string(data, static_cast<std::size_t>(len));
}

Result<Bytes> ecdsa_der(ByteView r, ByteView s) {
  ECDSA_SIG* sig = ECDSA_SIG_new();
  BIGNUM* br = BN_bin2bn(r.data(), static_cast<int>(r.size()), nullptr);
  BIGNUM* bs = BN_bin2bn(s.data(), static_cast<int>(s.size()), nullptr);
  if (sig == nullptr || br == nullptr || bs == nullptr || ECDSA_SIG_set0(sig, br, bs) != 1) {
    BN_free(br);
    BN_free(bs);
    ECDSA_SIG_free(sig);
    return fail(ErrorCode::kCrypto, "cannot encode an ECDSA signature");
  }
  unsigned char* der = nullptr;
  const int len = i2d_ECDSA_SIG(sig, &der);
  ECDSA_SIG_free(sig);  // owns br and bs now
  if (len <= 0) return fail(ErrorCode::kCrypto, "cannot encode an ECDSA signature");
  Bytes out(der, der + len);
  OPENSSL_free(der);
  return out;
}
}  // namespace ossl

struct Hasher::Ctx {
  ossl::MdCtxPtr md;
  const EVP_MD* type;
};

namespace {
const EVP_MD* md_for(HashAlgorithm alg) {
  return alg == HashAlgorithm::kSha256 ? EVP_sha256() : EVP_sha512();
}
}  // namespace

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
