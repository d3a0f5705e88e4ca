// TPM-bound device keys: an ECDSA P-256 key generated inside a TPM 2.0 through the tpm2 OpenSSL
// provider. What lands on disk is a "TSS2 PRIVATE KEY" PEM: the key wrapped by the TPM's storage
// root key, useless without that TPM. Loaded back, it is an EVP_PKEY that signs (CSR via
// X509_REQ_sign, TLS client authentication via SSL_CTX_use_PrivateKey) by asking the TPM; the
// private scalar never exists outside it, and the provider has no way to encode it in the clear.
//
// All of it runs in one OpenSSL library context that holds the default and the tpm2 providers
// (library_context()). OpenSSL objects that use a TPM key must be made in that context:
// X509_REQ_new_ex(tpm::library_context(), nullptr), SSL_CTX_new_ex(tpm::library_context(), ...).
//
// The TPM is reached through the TCTI named by TPM2OPENSSL_TCTI (e.g. "tabrmd:bus_type=session"
// or "device:/dev/tpmrm0"); without it the provider tries its defaults. Thread-safety: the
// library context is created once; keys may be used from one thread at a time.
#pragma once

#include <openssl/evp.h>
#include <openssl/types.h>

#include <filesystem>
#include <memory>

#include "core/result.h"
#include "crypto/ossl.h"

namespace ironseal::tpm {

// The one RAII family (crypto/ossl.h): this header is provider glue, and hands EVP_PKEYs to the
// X.509 code of src/pki and the TLS set-up.
using PkeyPtr = crypto::ossl::PkeyPtr;

// The process-wide library context with the default and tpm2 providers loaded, or an error if
// the tpm2 provider cannot be loaded (module missing) — never a context without it.
Result<OSSL_LIB_CTX*> library_context();

// Generates an ECDSA P-256 key inside the TPM and writes its TSS2 PRIVATE KEY PEM to `path`
// (created 0600, atomically; refuses to overwrite an existing file). Returns the loaded key.
Result<PkeyPtr> generate_device_key(const std::filesystem::path& path);

// Loads a TSS2 PRIVATE KEY PEM written by generate_device_key; the key works only on the TPM
// that made it (any other TPM, or the same one after its owner hierarchy was cleared, refuses).
Result<PkeyPtr> load_device_key(const std::filesystem::path& path);

// True when `key` is held by the tpm2 provider (its operations go to the TPM).
bool is_tpm_key(const EVP_PKEY* key);

// The same TPM key as a key of OpenSSL's default library context, for code that cannot choose
// the context: libcurl's SSL_CTX (TLS client authentication), X509_REQ_sign (CSRs), signatures
// made through pki::KeyPair. Its public half is the TPM key's; each signature is made by the TPM
// key (ECDSA P-256 over the digest OpenSSL computed), and nothing of the private key exists
// outside the TPM. Takes ownership of `tpm_key` (bridge_key.cc explains the mechanism).
Result<PkeyPtr> default_context_key(PkeyPtr tpm_key);

// True for a TPM key and for a key made by default_context_key.
bool is_tpm_backed(const EVP_PKEY* key);

// The public half as a PEM SubjectPublicKeyInfo (what a CSR or certificate carries).
Result<std::string> public_key_pem(const EVP_PKEY* key);

}  // namespace ironseal::tpm
