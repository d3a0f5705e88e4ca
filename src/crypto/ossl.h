// RAII owners for OpenSSL handles and the error text of the OpenSSL error queue. Internal to
// src/crypto: no OpenSSL type leaks through the public headers.
#pragma once

#include <openssl/bio.h>
#include <openssl/evp.h>

#include <memory>
#include <string>
#include <string_view>

#include "core/bytes.h"
#include "core/result.h"

namespace ironseal::crypto::ossl {

struct PkeyFree {
  void operator()(EVP_PKEY* p) const { EVP_PKEY_free(p); }
};
struct PkeyCtxFree {
  void operator()(EVP_PKEY_CTX* p) const { EVP_PKEY_CTX_free(p); }
};
struct MdCtxFree {
  void operator()(EVP_MD_CTX* p) const { EVP_MD_CTX_free(p); }
};
struct BioFree {
  void operator()(BIO* p) const { BIO_free(p); }
};

using PkeyPtr = std::unique_ptr<EVP_PKEY, PkeyFree>;
using PkeyCtxPtr = std::unique_ptr<EVP_PKEY_CTX, PkeyCtxFree>;
using MdCtxPtr = std::unique_ptr<EVP_MD_CTX, MdCtxFree>;
using BioPtr = std::unique_ptr<BIO, BioFree>;

// Drains OpenSSL's thread-local error queue into one line (empty if the queue was empty).
std::string drain_errors();

// A PEM password callback that never prompts: an encrypted PEM fails to load instead.
int no_passphrase(char* buf, int size, int rwflag, void* u);
// A read-only memory BIO over `text` (which must outlive it).
BioPtr mem_bio(std::string_view text);
// Everything written to a memory BIO, as text.
std::string bio_text(BIO* bio);

// An ECDSA signature given as its two integers (big-endian, as PKCS#11 tokens and TPMs return
// them) in the DER form OpenSSL verifies (ECDSA-Sig-Value).
Result<Bytes> ecdsa_der(ByteView r, ByteView s);

}  // namespace ironseal::crypto::ossl
