// The OpenSSL plumbing shared inside src/crypto (and by the few places ossl.h names): the error
// queue as text, PEM input without prompts, memory BIOs, and which key types ironseal takes.
#include "crypto/ossl.h"

#include <openssl/core_names.h>
#include <openssl/err.h>

namespace ironseal::crypto::ossl {

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

Result<KeyType> classify(EVP_PKEY* pkey) {
  if (EVP_PKEY_is_a(pkey, "ED25519")) return KeyType::kEd25519;
  if (EVP_PKEY_is_a(pkey, "EC")) {
    char group[64] = {};
    size_t len = 0;
    if (EVP_PKEY_get_utf8_string_param(pkey, OSSL_PKEY_PARAM_GROUP_NAME, group, sizeof group,
                                       &len) == 1 &&
        std::string_view(group, len) == "prime256v1") {
      return KeyType::kEcdsaP256;
    }
    return fail(ErrorCode::kUnsupported, "EC key is not on curve P-256 (", group, ")");
  }
  return fail(ErrorCode::kUnsupported, "key algorithm ", EVP_PKEY_get0_type_name(pkey),
              " is not supported (use ed25519 or ecdsa-p256)");
}

}  // namespace ironseal::crypto::ossl
