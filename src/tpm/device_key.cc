#include "tpm/device_key.h"

#include <openssl/core_names.h>
#include <openssl/decoder.h>
#include <openssl/encoder.h>
#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/provider.h>

#include <cstring>
#include <mutex>

#include "core/file.h"
#include "crypto/ossl.h"

namespace ironseal::tpm {
namespace {

using crypto::ossl::BioPtr;
using crypto::ossl::drain_errors;
using crypto::ossl::PkeyCtxPtr;

// Only the tpm2 provider's implementations: generation must happen in the TPM, never fall back
// to the default provider's software key.
constexpr const char* kTpmOnly = "provider=tpm2";

using EncoderCtxPtr = crypto::ossl::Owned<OSSL_ENCODER_CTX, OSSL_ENCODER_CTX_free>;
using DecoderCtxPtr = crypto::ossl::Owned<OSSL_DECODER_CTX, OSSL_DECODER_CTX_free>;
using LibCtxPtr = crypto::ossl::Owned<OSSL_LIB_CTX, OSSL_LIB_CTX_free>;

struct Context {
  OSSL_LIB_CTX* ctx = nullptr;
  std::string error;
};

// Loaded once per process and kept for its lifetime: keys refer to their provider, and an
// unloaded provider under a live key is a use-after-free.
const Context& context() {
  static const Context c = [] {
    Context r;
    LibCtxPtr ctx(OSSL_LIB_CTX_new());
    if (!ctx) {
      r.error = "cannot create an OpenSSL library context";
      return r;
    }
    if (OSSL_PROVIDER_load(ctx.get(), "default") == nullptr) {
      r.error = "cannot load the OpenSSL default provider: " + drain_errors();
      return r;
    }
    if (OSSL_PROVIDER_load(ctx.get(), "tpm2") == nullptr) {
      r.error =
          "cannot load the tpm2 OpenSSL provider (package tpm2-openssl; is the TPM "
          "reachable through TPM2OPENSSL_TCTI?): " +
          drain_errors();
      return r;
    }
    // Prefer the TPM's implementations wherever it has one. OpenSSL fetches a signature
    // algorithm by name and, when the provider it found is not the key's, exports the key to it:
    // the tpm2 provider exports only the public half, so an ECDSA signature fetched from the
    // default provider would fail with "missing private key". With this preference, signing
    // stays inside the TPM (the tpm2-openssl documentation's "-propquery ?provider=tpm2").
    if (EVP_set_default_properties(ctx.get(), "?provider=tpm2") != 1) {
      r.error = "cannot set the TPM property preference: " + drain_errors();
      return r;
    }
    r.ctx = ctx.release();  // process lifetime (see above)
    return r;
  }();
  return c;
}

Result<std::string> encode_tss2_pem(EVP_PKEY* key) {
  EncoderCtxPtr enc(
      OSSL_ENCODER_CTX_new_for_pkey(key, EVP_PKEY_KEYPAIR, "PEM", nullptr, kTpmOnly));
  if (!enc || OSSL_ENCODER_CTX_get_num_encoders(enc.get()) == 0) {
    return fail(ErrorCode::kCrypto,
                "the tpm2 provider has no PEM encoder for the key: ", drain_errors());
  }
  unsigned char* data = nullptr;
  std::size_t len = 0;
  const int encoded = OSSL_ENCODER_to_data(enc.get(), &data, &len);
  const crypto::ossl::OwnedMemory<unsigned char> owned(data);
  if (encoded != 1) {
    return fail(ErrorCode::kCrypto, "cannot encode the TPM key blob: ", drain_errors());
  }
  std::string pem(reinterpret_cast<const char*>(data), len);
  // The blob must be the TPM-wrapped form; anything else would be a key in the clear.
  if (pem.rfind("-----BEGIN TSS2 PRIVATE KEY-----", 0) != 0) {
    return fail(ErrorCode::kCrypto, "the tpm2 provider did not produce a TSS2 PRIVATE KEY blob");
  }
  return pem;
}

}  // namespace

Result<OSSL_LIB_CTX*> library_context() {
  const Context& c = context();
  if (c.ctx == nullptr) return fail(ErrorCode::kUnsupported, c.error);
  return c.ctx;
}

bool is_tpm_key(const EVP_PKEY* key) {
  if (key == nullptr) return false;
  const OSSL_PROVIDER* prov = EVP_PKEY_get0_provider(key);
  return prov != nullptr && std::strcmp(OSSL_PROVIDER_get0_name(prov), "tpm2") == 0;
}

Result<PkeyPtr> generate_device_key(const std::filesystem::path& path) {
  auto ctx = library_context();
  if (!ctx) return std::unexpected(ctx.error());
  if (std::filesystem::exists(path)) {
    return fail(ErrorCode::kInvalidArgument, path.string(),
                " already exists; refusing to overwrite a device key");
  }
  PkeyCtxPtr gen(EVP_PKEY_CTX_new_from_name(*ctx, "EC", kTpmOnly));
  if (!gen || EVP_PKEY_keygen_init(gen.get()) <= 0) {
    return fail(ErrorCode::kUnsupported,
                "the tpm2 provider cannot generate EC keys: ", drain_errors());
  }
  char group[] = "P-256";
  const OSSL_PARAM params[] = {
      OSSL_PARAM_construct_utf8_string(OSSL_PKEY_PARAM_GROUP_NAME, group, 0), OSSL_PARAM_END};
  if (EVP_PKEY_CTX_set_params(gen.get(), params) <= 0) {
    return fail(ErrorCode::kCrypto, "the TPM refused curve P-256: ", drain_errors());
  }
  EVP_PKEY* raw = nullptr;
  if (EVP_PKEY_generate(gen.get(), &raw) <= 0) {
    return fail(ErrorCode::kIo,
                "key generation in the TPM failed (is the TPM reachable?): ", drain_errors());
  }
  PkeyPtr key(raw);
  if (!is_tpm_key(key.get())) {
    return fail(ErrorCode::kCrypto, "generated key is not held by the tpm2 provider");
  }
  auto pem = encode_tss2_pem(key.get());
  if (!pem) return std::unexpected(pem.error());
  if (auto w =
          write_file_atomic(path, as_bytes(*pem), WriteOptions{.mode = 0600, .exclusive = true});
      !w) {
    return std::unexpected(w.error());
  }
  return key;
}

Result<PkeyPtr> load_device_key(const std::filesystem::path& path) {
  auto ctx = library_context();
  if (!ctx) return std::unexpected(ctx.error());
  if (auto m = check_private_file_mode(path); !m) return std::unexpected(m.error());
  auto text = read_file(path);
  if (!text) return std::unexpected(text.error());
  static constexpr std::string_view kHeader = "-----BEGIN TSS2 PRIVATE KEY-----";
  if (text->size() < kHeader.size() ||
      std::memcmp(text->data(), kHeader.data(), kHeader.size()) != 0) {
    return fail(ErrorCode::kMalformed, path.string(),
                " is not a TSS2 PRIVATE KEY (a TPM-wrapped key blob)");
  }
  EVP_PKEY* raw = nullptr;
  DecoderCtxPtr dec(
      OSSL_DECODER_CTX_new_for_pkey(&raw, "PEM", nullptr, "EC", EVP_PKEY_KEYPAIR, *ctx, kTpmOnly));
  if (!dec || OSSL_DECODER_CTX_get_num_decoders(dec.get()) == 0) {
    return fail(ErrorCode::kUnsupported,
                "the tpm2 provider has no TSS2 key decoder: ", drain_errors());
  }
  const unsigned char* data = text->data();
  std::size_t len = text->size();
  const int decoded = OSSL_DECODER_from_data(dec.get(), &data, &len);
  PkeyPtr key(raw);
  if (decoded != 1 || !key) {
    // The provider decodes by loading the blob under the storage root key: a blob from another
    // TPM (or from before an owner clear) fails its integrity check inside the TPM.
    return fail(ErrorCode::kNotTrusted, path.string(),
                ": the TPM refused to load the key (made by another TPM, or the TPM was "
                "cleared): ",
                drain_errors());
  }
  if (!is_tpm_key(key.get()) || EVP_PKEY_get_bits(key.get()) != 256) {
    return fail(ErrorCode::kNotTrusted, path.string(), " did not load as a TPM P-256 key");
  }
  return key;
}

Result<std::string> public_key_pem(const EVP_PKEY* key) {
  BioPtr bio(BIO_new(BIO_s_mem()));
  if (!bio || PEM_write_bio_PUBKEY(bio.get(), key) != 1) {
    return fail(ErrorCode::kCrypto, "cannot encode the public key: ", drain_errors());
  }
  char* data = nullptr;
  const long len = BIO_get_mem_data(bio.get(), &data);
  return std::string(data, static_cast<std::size_t>(len));
}

}  // namespace ironseal::tpm
