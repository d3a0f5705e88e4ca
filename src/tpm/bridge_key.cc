// A TPM-held key usable from OpenSSL's default library context (see device_key.h,
// default_context_key). Why it exists: libcurl makes its SSL_CTX in the default context, and so
// do X509_REQ_new and the rest of the PKI code. There, OpenSSL fetches ECDSA from the default
// provider and exports the key to it; the tpm2 provider exports only the public half, and the
// signature then fails with "missing private key". Loading tpm2 into the default context with a
// "?provider=tpm2" preference would send every SHA-256, AES and random byte of the process to the
// TPM as well (the provider offers all three).
//
// So the key handed to the default context is an EC key with the TPM key's public point and an
// EC_KEY_METHOD whose sign functions ask the TPM key (in tpm::library_context()) to sign the
// digest. OpenSSL treats a key with its own method as "foreign" and signs it through the EC
// method, never exporting it; the private scalar stays in the TPM. The EC_KEY_METHOD API is
// deprecated in OpenSSL 3 (provider keys replace it) but supported throughout 3.x; it is used in
// this file only.
#define OPENSSL_SUPPRESS_DEPRECATED 1

#include <openssl/ec.h>
#include <openssl/ecdsa.h>
#include <openssl/evp.h>
#include <openssl/obj_mac.h>

#include <cstring>
#include <mutex>
#include <vector>

#include "crypto/ossl.h"
#include "tpm/device_key.h"

namespace ironseal::tpm {
namespace {

using crypto::ossl::drain_errors;
using crypto::ossl::PkeyCtxPtr;
using EcKeyPtr = crypto::ossl::Owned<EC_KEY, EC_KEY_free>;

// The TPM key rides on the EC_KEY as ex_data, released with it.
void free_tpm_key(void* /*parent*/, void* ptr, CRYPTO_EX_DATA* /*ad*/, int /*idx*/, long /*argl*/,
                  void* /*argp*/) {
  EVP_PKEY_free(static_cast<EVP_PKEY*>(ptr));
}

int tpm_key_index() {
  static const int index = EC_KEY_get_ex_new_index(0, nullptr, nullptr, nullptr, free_tpm_key);
  return index;
}

// One signature at a time per process: the tpm2 provider's connection is not shared safely.
std::mutex& sign_mutex() {
  static std::mutex m;
  return m;
}

// ECDSA over a digest the caller computed, by the TPM; DER signature out.
bool tpm_sign_digest(EC_KEY* ec, const unsigned char* digest, int digest_len,
                     std::vector<unsigned char>* der) {
  auto* key = static_cast<EVP_PKEY*>(EC_KEY_get_ex_data(ec, tpm_key_index()));
  auto ctx = library_context();
  if (key == nullptr || !ctx || digest_len <= 0) return false;
  const std::lock_guard lock(sign_mutex());
  PkeyCtxPtr sign(EVP_PKEY_CTX_new_from_pkey(*ctx, key, "?provider=tpm2"));
  std::size_t len = 0;
  if (!sign || EVP_PKEY_sign_init(sign.get()) <= 0 ||
      EVP_PKEY_sign(sign.get(), nullptr, &len, digest, static_cast<std::size_t>(digest_len)) <= 0) {
    return false;
  }
  der->resize(len);
  if (EVP_PKEY_sign(sign.get(), der->data(), &len, digest, static_cast<std::size_t>(digest_len)) <=
      0) {
    return false;
  }
  der->resize(len);
  return true;
}

int bridge_sign(int /*type*/, const unsigned char* digest, int digest_len, unsigned char* sig,
                unsigned int* sig_len, const BIGNUM* /*kinv*/, const BIGNUM* /*r*/, EC_KEY* ec) {
  std::vector<unsigned char> der;
  if (!tpm_sign_digest(ec, digest, digest_len, &der)) return 0;
  const int room = ECDSA_size(ec);
  if (room <= 0 || der.size() > static_cast<std::size_t>(room)) return 0;
  std::memcpy(sig, der.data(), der.size());
  *sig_len = static_cast<unsigned int>(der.size());
  return 1;
}

ECDSA_SIG* bridge_sign_sig(const unsigned char* digest, int digest_len, const BIGNUM* /*kinv*/,
                           const BIGNUM* /*r*/, EC_KEY* ec) {
  std::vector<unsigned char> der;
  if (!tpm_sign_digest(ec, digest, digest_len, &der)) return nullptr;
  const unsigned char* p = der.data();
  return d2i_ECDSA_SIG(nullptr, &p, static_cast<long>(der.size()));
}

// Process lifetime: keys made with it may outlive any scope.
const EC_KEY_METHOD* bridge_method() {
  static EC_KEY_METHOD* const method = [] {
    EC_KEY_METHOD* m = EC_KEY_METHOD_new(EC_KEY_OpenSSL());
    if (m != nullptr) EC_KEY_METHOD_set_sign(m, bridge_sign, nullptr, bridge_sign_sig);
    return m;
  }();
  return method;
}

}  // namespace

Result<PkeyPtr> default_context_key(PkeyPtr tpm_key) {
  if (!is_tpm_key(tpm_key.get())) {
    return fail(ErrorCode::kInvalidArgument, "not a TPM-held key");
  }
  if (EVP_PKEY_get_bits(tpm_key.get()) != 256 || !EVP_PKEY_is_a(tpm_key.get(), "EC")) {
    return fail(ErrorCode::kUnsupported, "only TPM ECDSA P-256 keys are supported");
  }
  unsigned char point[65];
  std::size_t point_len = 0;
  if (EVP_PKEY_get_octet_string_param(tpm_key.get(), "pub", point, sizeof point, &point_len) != 1) {
    return fail(ErrorCode::kCrypto, "cannot read the TPM key's public point: ", drain_errors());
  }
  const EC_KEY_METHOD* method = bridge_method();
  EcKeyPtr ec(EC_KEY_new_by_curve_name(NID_X9_62_prime256v1));
  EC_KEY* target = ec.get();
  const unsigned char* p = point;
  if (method == nullptr || !ec ||
      o2i_ECPublicKey(&target, &p, static_cast<long>(point_len)) == nullptr ||
      EC_KEY_check_key(ec.get()) != 1 || EC_KEY_set_method(ec.get(), method) != 1) {
    return fail(ErrorCode::kCrypto, "cannot set up the TPM key for OpenSSL: ", drain_errors());
  }
  if (EC_KEY_set_ex_data(ec.get(), tpm_key_index(), tpm_key.get()) != 1) {
    return fail(ErrorCode::kCrypto, "cannot attach the TPM key: ", drain_errors());
  }
  (void)tpm_key.release();  // owned by the EC_KEY now (free_tpm_key)
  PkeyPtr out(EVP_PKEY_new());
  if (!out || EVP_PKEY_assign_EC_KEY(out.get(), ec.get()) != 1) {
    return fail(ErrorCode::kCrypto, "cannot wrap the TPM key: ", drain_errors());
  }
  (void)ec.release();  // owned by `out` now
  return out;
}

bool is_tpm_backed(const EVP_PKEY* key) {
  if (key == nullptr) return false;
  if (is_tpm_key(key)) return true;
  const EC_KEY* ec = EVP_PKEY_get0_EC_KEY(key);
  return ec != nullptr && EC_KEY_get_method(ec) == bridge_method() &&
         EC_KEY_get_ex_data(ec, tpm_key_index()) != nullptr;
}

}  // namespace ironseal::tpm
