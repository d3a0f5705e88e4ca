// TPM-bound device keys against swtpm: generated in the TPM, stored wrapped, usable for a CSR and
// for TLS client authentication, and impossible to export.
#include "tpm/device_key.h"

#include <openssl/core_names.h>
#include <openssl/ec.h>
#include <openssl/encoder.h>
#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>
#include <sys/stat.h>

#include <algorithm>
#include <memory>
#include <string>

#include "core/file.h"
#include "support/requirements.h"
#include "support/test_env.h"
#include "support/tpm_harness.h"

namespace ironseal::tpm {
namespace {

using ironseal::testing::TempDir;
using ironseal::testing::TpmEnvironment;

template <typename T, void (*F)(T*)>
struct Free {
  void operator()(T* p) const { F(p); }
};
using X509Ptr = std::unique_ptr<X509, Free<X509, X509_free>>;
using ReqPtr = std::unique_ptr<X509_REQ, Free<X509_REQ, X509_REQ_free>>;
using BioPtr = std::unique_ptr<BIO, Free<BIO, BIO_free_all>>;
using SslCtxPtr = std::unique_ptr<SSL_CTX, Free<SSL_CTX, SSL_CTX_free>>;
using SslPtr = std::unique_ptr<SSL, Free<SSL, SSL_free>>;
using PkeyCtxPtrForTest = std::unique_ptr<EVP_PKEY_CTX, Free<EVP_PKEY_CTX, EVP_PKEY_CTX_free>>;
void CRYPTO_free_plain(void* p) {
  OPENSSL_free(p);
}

std::string text_of(const std::filesystem::path& p) {
  auto b = read_file(p);
  return b ? std::string(b->begin(), b->end()) : std::string();
}

// A new TPM key: generated, its blob written to `blob`, and loaded back from the blob.
Result<PkeyPtr> fresh_key(const std::filesystem::path& blob) {
  if (auto g = generate_device_key(blob); !g) return std::unexpected(g.error());
  return load_device_key(blob);
}

// A software key in the default context, for the test CA and the TLS server.
PkeyPtr software_p256() {
  return PkeyPtr(EVP_EC_gen("P-256"));
}

// A public-only copy of `key`, made in the default context from its PEM: what a verifier holds.
PkeyPtr public_copy(const EVP_PKEY* key) {
  auto pem = public_key_pem(key);
  if (!pem) return nullptr;
  BioPtr bio(BIO_new_mem_buf(pem->data(), static_cast<int>(pem->size())));
  return PkeyPtr(PEM_read_bio_PUBKEY(bio.get(), nullptr, nullptr, nullptr));
}

X509Ptr make_cert(const char* cn, EVP_PKEY* subject_key, X509* issuer, EVP_PKEY* issuer_key,
                  bool ca, long serial) {
  X509Ptr cert(X509_new());
  X509_set_version(cert.get(), X509_VERSION_3);
  ASN1_INTEGER_set(X509_get_serialNumber(cert.get()), serial);
  X509_gmtime_adj(X509_getm_notBefore(cert.get()), -60);
  X509_gmtime_adj(X509_getm_notAfter(cert.get()), 3600);
  X509_NAME* name = X509_get_subject_name(cert.get());
  X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC, reinterpret_cast<const unsigned char*>(cn),
                             -1, -1, 0);
  X509_set_issuer_name(cert.get(), issuer ? X509_get_subject_name(issuer) : name);
  X509_set_pubkey(cert.get(), subject_key);
  X509V3_CTX v3;
  X509V3_set_ctx_nodb(&v3);
  X509V3_set_ctx(&v3, issuer ? issuer : cert.get(), cert.get(), nullptr, nullptr, 0);
  const char* bc = ca ? "critical,CA:TRUE" : "critical,CA:FALSE";
  X509_EXTENSION* ext = X509V3_EXT_conf_nid(nullptr, &v3, NID_basic_constraints, bc);
  X509_add_ext(cert.get(), ext, -1);
  X509_EXTENSION_free(ext);
  if (!ca) {
    ext = X509V3_EXT_conf_nid(nullptr, &v3, NID_ext_key_usage, "clientAuth,serverAuth");
    X509_add_ext(cert.get(), ext, -1);
    X509_EXTENSION_free(ext);
  }
  X509_sign(cert.get(), issuer_key, EVP_sha256());
  return cert;
}

// Drives a client and a server SSL over a memory BIO pair until both finish or one fails.
bool handshake(SSL* client, SSL* server) {
  BIO* c = nullptr;
  BIO* s = nullptr;
  if (BIO_new_bio_pair(&c, 0, &s, 0) != 1) return false;
  SSL_set_bio(client, c, c);
  SSL_set_bio(server, s, s);
  SSL_set_connect_state(client);
  SSL_set_accept_state(server);
  bool client_done = false, server_done = false;
  for (int i = 0; i < 100 && !(client_done && server_done); ++i) {
    if (!client_done) {
      const int r = SSL_do_handshake(client);
      if (r == 1)
        client_done = true;
      else if (SSL_get_error(client, r) != SSL_ERROR_WANT_READ)
        return false;
    }
    if (!server_done) {
      const int r = SSL_do_handshake(server);
      if (r == 1)
        server_done = true;
      else if (SSL_get_error(server, r) != SSL_ERROR_WANT_READ)
        return false;
    }
  }
  return client_done && server_done;
}

TEST(TpmDeviceKey, IsGeneratedInTheTpmAndStoredOnlyWrapped) {
  IRONSEAL_REQUIREMENTS("CR 1.5; CR 1.9");
  TempDir dir;
  auto key = generate_device_key(dir / "device.key");
  ASSERT_TRUE(key) << key.error().message;
  EXPECT_TRUE(is_tpm_key(key->get()));
  EXPECT_EQ(EVP_PKEY_get_bits(key->get()), 256);
  struct stat st {};
  ASSERT_EQ(::stat((dir / "device.key").c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600u);
  const std::string pem = text_of(dir / "device.key");
  EXPECT_EQ(pem.rfind("-----BEGIN TSS2 PRIVATE KEY-----", 0), 0u) << pem;
  EXPECT_EQ(pem.find("BEGIN PRIVATE KEY"), std::string::npos);
  EXPECT_EQ(pem.find("BEGIN EC PRIVATE KEY"), std::string::npos);

  // Never overwrites an existing key.
  auto again = generate_device_key(dir / "device.key");
  ASSERT_FALSE(again);
  EXPECT_EQ(again.error().code, ErrorCode::kInvalidArgument);
  EXPECT_EQ(text_of(dir / "device.key"), pem);

  // Loads back as the same key (same public half), still held by the TPM.
  auto loaded = load_device_key(dir / "device.key");
  ASSERT_TRUE(loaded) << loaded.error().message;
  EXPECT_TRUE(is_tpm_key(loaded->get()));
  EXPECT_EQ(*public_key_pem(loaded->get()), *public_key_pem(key->get()));
}

TEST(TpmDeviceKey, SignsACsrThatVerifiesWithItsPublicKey) {
  IRONSEAL_REQUIREMENTS("CR 1.2; CR 1.9");
  TempDir dir;
  auto key = fresh_key(dir / "device.key");
  ASSERT_TRUE(key) << key.error().message;
  auto ctx = library_context();
  ASSERT_TRUE(ctx);

  ReqPtr req(X509_REQ_new_ex(*ctx, nullptr));
  ASSERT_TRUE(req);
  X509_REQ_set_version(req.get(), 0);
  X509_NAME_add_entry_by_txt(X509_REQ_get_subject_name(req.get()), "serialNumber", MBSTRING_ASC,
                             reinterpret_cast<const unsigned char*>("SN-0001"), -1, -1, 0);
  ASSERT_EQ(X509_REQ_set_pubkey(req.get(), key->get()), 1);
  ASSERT_GT(X509_REQ_sign(req.get(), key->get(), EVP_sha256()), 0)
      << ERR_error_string(ERR_get_error(), nullptr);

  // The verifier side: a plain default-context copy of the CSR and of the public key.
  BioPtr out(BIO_new(BIO_s_mem()));
  ASSERT_EQ(PEM_write_bio_X509_REQ(out.get(), req.get()), 1);
  ReqPtr parsed(PEM_read_bio_X509_REQ(out.get(), nullptr, nullptr, nullptr));
  ASSERT_TRUE(parsed);
  PkeyPtr pub = public_copy(key->get());
  ASSERT_TRUE(pub);
  EXPECT_EQ(X509_REQ_verify(parsed.get(), pub.get()), 1);

  // The signature binds the content: the same CSR with one byte of the subject changed (the
  // serial number SN-0001 -> SN-0002) no longer verifies, nor does the CSR under another key.
  unsigned char* der = nullptr;
  const int der_len = i2d_X509_REQ(req.get(), &der);
  ASSERT_GT(der_len, 0);
  std::string bytes(reinterpret_cast<char*>(der), static_cast<std::size_t>(der_len));
  OPENSSL_free(der);
  const auto at = bytes.find("SN-0001");
  ASSERT_NE(at, std::string::npos);
  bytes[at + 6] = '2';
  const unsigned char* p = reinterpret_cast<const unsigned char*>(bytes.data());
  ReqPtr forged(d2i_X509_REQ(nullptr, &p, static_cast<long>(bytes.size())));
  ASSERT_TRUE(forged);
  EXPECT_EQ(X509_REQ_verify(forged.get(), pub.get()), 0);
  ERR_clear_error();
  PkeyPtr other = software_p256();
  EXPECT_EQ(X509_REQ_verify(parsed.get(), other.get()), 0);
  ERR_clear_error();
}

struct Pki {
  PkeyPtr ca_key = software_p256();
  X509Ptr ca = make_cert("ironseal test CA", ca_key.get(), nullptr, ca_key.get(), true, 1);
  PkeyPtr server_key = software_p256();
  X509Ptr server = make_cert("server", server_key.get(), ca.get(), ca_key.get(), false, 2);
};

// The TLS server: requires a client certificate chaining to the test CA.
SslCtxPtr server_ctx(const Pki& pki) {
  SslCtxPtr ctx(SSL_CTX_new(TLS_server_method()));
  SSL_CTX_set_min_proto_version(ctx.get(), TLS1_3_VERSION);
  SSL_CTX_use_certificate(ctx.get(), pki.server.get());
  SSL_CTX_use_PrivateKey(ctx.get(), pki.server_key.get());
  X509_STORE_add_cert(SSL_CTX_get_cert_store(ctx.get()), pki.ca.get());
  SSL_CTX_set_verify(ctx.get(), SSL_VERIFY_PEER | SSL_VERIFY_FAIL_IF_NO_PEER_CERT, nullptr);
  return ctx;
}

// A TLS 1.3 client context in library context `lib` (nullptr: the default one) presenting `cert`
// with `key` and trusting the test CA; nullptr if OpenSSL refuses any step (the key included).
SslCtxPtr client_ctx(OSSL_LIB_CTX* lib, X509* cert, EVP_PKEY* key, const Pki& pki) {
  SslCtxPtr ctx(SSL_CTX_new_ex(lib, nullptr, TLS_client_method()));
  if (!ctx || SSL_CTX_set_min_proto_version(ctx.get(), TLS1_3_VERSION) != 1 ||
      SSL_CTX_use_certificate(ctx.get(), cert) != 1 || SSL_CTX_use_PrivateKey(ctx.get(), key) != 1 ||
      SSL_CTX_check_private_key(ctx.get()) != 1 ||
      X509_STORE_add_cert(SSL_CTX_get_cert_store(ctx.get()), pki.ca.get()) != 1) {
    return nullptr;
  }
  SSL_CTX_set_verify(ctx.get(), SSL_VERIFY_PEER, nullptr);
  return ctx;
}

TEST(TpmDeviceKey, AuthenticatesATlsClient) {
  IRONSEAL_REQUIREMENTS("CR 1.2; CR 1.9");
  TempDir dir;
  auto key = fresh_key(dir / "device.key");
  ASSERT_TRUE(key) << key.error().message;
  auto lib = library_context();
  ASSERT_TRUE(lib);
  Pki pki;
  X509Ptr device_cert = make_cert("SN-0001", key->get(), pki.ca.get(), pki.ca_key.get(), false, 3);

  SslCtxPtr sctx = server_ctx(pki);
  SslCtxPtr cctx = client_ctx(*lib, device_cert.get(), key->get(), pki);
  ASSERT_TRUE(cctx) << ERR_error_string(ERR_get_error(), nullptr);

  SslPtr client(SSL_new(cctx.get()));
  SslPtr server(SSL_new(sctx.get()));
  ASSERT_TRUE(handshake(client.get(), server.get())) << ERR_error_string(ERR_get_error(), nullptr);
  EXPECT_EQ(SSL_get_verify_result(server.get()), X509_V_OK);
  X509* peer = SSL_get0_peer_certificate(server.get());
  ASSERT_NE(peer, nullptr);
  EXPECT_EQ(X509_cmp(peer, device_cert.get()), 0);

  // The server does insist on a client certificate: without one the handshake fails, so the
  // success above is the TPM key authenticating (its CertificateVerify signature checked).
  SslCtxPtr anonymous(SSL_CTX_new(TLS_client_method()));
  SSL_CTX_set_verify(anonymous.get(), SSL_VERIFY_NONE, nullptr);
  SslPtr client2(SSL_new(anonymous.get()));
  SslPtr server2(SSL_new(sctx.get()));
  EXPECT_FALSE(handshake(client2.get(), server2.get()));
  EXPECT_EQ(SSL_get0_peer_certificate(server2.get()), nullptr);
  ERR_clear_error();
}

// The TPM key as a key of the default library context (what libcurl's SSL_CTX, X509_REQ_sign and
// pki::KeyPair use): a TLS 1.3 client in the *default* context authenticates with it, every
// signature it makes is the TPM's (it stops working once the TPM key is gone from the TPM), and
// it holds no private scalar to export.
TEST(TpmDeviceKey, DefaultContextKeySignsThroughTheTpmAndHoldsNoPrivateKey) {
  IRONSEAL_REQUIREMENTS("CR 1.2; CR 1.5; CR 1.9");
  TempDir dir;
  auto tpm_key = fresh_key(dir / "device.key");
  ASSERT_TRUE(tpm_key) << tpm_key.error().message;
  auto verifier = public_copy(tpm_key->get());
  ASSERT_TRUE(verifier);
  auto bridged = default_context_key(std::move(*tpm_key));
  ASSERT_TRUE(bridged) << bridged.error().message;
  EVP_PKEY* k = bridged->get();
  EXPECT_TRUE(is_tpm_backed(k));
  EXPECT_FALSE(is_tpm_key(k));  // not a tpm2-provider key: usable outside the TPM context
  EXPECT_EQ(EVP_PKEY_eq(k, verifier.get()), 1);

  // A signature made in the default context verifies with the public key alone.
  const unsigned char msg[] = "decommission record";
  std::unique_ptr<EVP_MD_CTX, Free<EVP_MD_CTX, EVP_MD_CTX_free>> md(EVP_MD_CTX_new());
  ASSERT_EQ(EVP_DigestSignInit_ex(md.get(), nullptr, "SHA256", nullptr, nullptr, k, nullptr), 1)
      << ERR_error_string(ERR_get_error(), nullptr);
  unsigned char sig[80];
  std::size_t sig_len = sizeof sig;
  ASSERT_EQ(EVP_DigestSign(md.get(), sig, &sig_len, msg, sizeof msg), 1)
      << ERR_error_string(ERR_get_error(), nullptr);
  md.reset(EVP_MD_CTX_new());
  ASSERT_EQ(EVP_DigestVerifyInit_ex(md.get(), nullptr, "SHA256", nullptr, nullptr, verifier.get(),
                                    nullptr),
            1);
  EXPECT_EQ(EVP_DigestVerify(md.get(), sig, sig_len, msg, sizeof msg), 1);
  sig[sig_len / 2] ^= 1;
  EXPECT_NE(EVP_DigestVerify(md.get(), sig, sig_len, msg, sizeof msg), 1);
  ERR_clear_error();

  // Nothing private to get out: no scalar, no private-key encoding.
  // (OpenSSL reports the absent scalar of a public-only EC key as zero or not at all.)
  BIGNUM* priv = nullptr;
  const int got = EVP_PKEY_get_bn_param(k, OSSL_PKEY_PARAM_PRIV_KEY, &priv);
  EXPECT_TRUE(got == 0 || (priv != nullptr && BN_is_zero(priv)));
  BN_free(priv);
  BioPtr out(BIO_new(BIO_s_mem()));
  EXPECT_NE(PEM_write_bio_PrivateKey(out.get(), k, nullptr, nullptr, 0, nullptr, nullptr), 1);
  ERR_clear_error();

  // TLS 1.3 client authentication from an SSL_CTX in the default context (as libcurl makes it).
  Pki pki;
  X509Ptr device_cert = make_cert("SN-0002", k, pki.ca.get(), pki.ca_key.get(), false, 4);
  SslCtxPtr sctx = server_ctx(pki);
  SslCtxPtr cctx = client_ctx(nullptr, device_cert.get(), k, pki);
  ASSERT_TRUE(cctx) << ERR_error_string(ERR_get_error(), nullptr);
  SslPtr client(SSL_new(cctx.get()));
  SslPtr server(SSL_new(sctx.get()));
  ASSERT_TRUE(handshake(client.get(), server.get())) << ERR_error_string(ERR_get_error(), nullptr);
  EXPECT_EQ(SSL_get_verify_result(server.get()), X509_V_OK);

  // The signatures come from the TPM: once its owner hierarchy is cleared (the storage key that
  // wraps the device key changes), the same EVP_PKEY can no longer sign.
  ASSERT_EQ(TpmEnvironment::run("tpm2_clear -c p"), 0);
  md.reset(EVP_MD_CTX_new());
  sig_len = sizeof sig;
  const bool signed_after_clear =
      EVP_DigestSignInit_ex(md.get(), nullptr, "SHA256", nullptr, nullptr, k, nullptr) == 1 &&
      EVP_DigestSign(md.get(), sig, &sig_len, msg, sizeof msg) == 1;
  EXPECT_FALSE(signed_after_clear);
  ERR_clear_error();
}

// The TSS2 key blob in DER starts with its OID 2.23.133.10.1.3 (TPM-wrapped private key).
bool is_tss2_der(const unsigned char* d, std::size_t n) {
  static const unsigned char kOid[] = {0x06, 0x06, 0x67, 0x81, 0x05, 0x0a, 0x01, 0x03};
  return n > 16 && std::search(d, d + n, kOid, kOid + sizeof kOid) < d + 16;
}

// Whether `der` can be turned into a software private key by OpenSSL without the TPM.
bool loads_as_software_key(const unsigned char* der, std::size_t n) {
  const unsigned char* p = der;
  EVP_PKEY* k = d2i_AutoPrivateKey(nullptr, &p, static_cast<long>(n));
  EVP_PKEY_free(k);
  ERR_clear_error();
  return k != nullptr;
}

// Each way OpenSSL offers to get a private key out, tried on the TPM key. The provider has no
// private scalar to give: parameter reads fail, exports carry the public half only (and a key
// built from them fails to sign for lack of a private key), and every private-key encoder,
// PKCS#8 included, writes the TPM-wrapped blob that no software can load.
TEST(TpmDeviceKey, RefusesEveryExportOfThePrivateKey) {
  IRONSEAL_REQUIREMENTS("CR 1.5; CR 1.9");
  TempDir dir;
  auto key = fresh_key(dir / "device.key");
  ASSERT_TRUE(key) << key.error().message;
  EVP_PKEY* k = key->get();

  // 1. The private scalar as a parameter: not there.
  BIGNUM* priv = nullptr;
  EXPECT_EQ(EVP_PKEY_get_bn_param(k, OSSL_PKEY_PARAM_PRIV_KEY, &priv), 0);
  EXPECT_EQ(priv, nullptr);
  BN_free(priv);
  ERR_clear_error();
  // ...while the public half is (the same call works for what the TPM does hand out).
  unsigned char pub[128];
  std::size_t pub_len = 0;
  EXPECT_EQ(EVP_PKEY_get_octet_string_param(k, OSSL_PKEY_PARAM_PUB_KEY, pub, sizeof pub, &pub_len),
            1);
  EXPECT_EQ(pub_len, 65u);

  // 2. Export of the whole key pair: only group and public point come out.
  OSSL_PARAM* params = nullptr;
  ASSERT_EQ(EVP_PKEY_todata(k, EVP_PKEY_KEYPAIR, &params), 1);
  EXPECT_EQ(OSSL_PARAM_locate(params, OSSL_PKEY_PARAM_PRIV_KEY), nullptr);
  EXPECT_NE(OSSL_PARAM_locate(params, OSSL_PKEY_PARAM_PUB_KEY), nullptr);
  // A software key made of the export cannot sign: OpenSSL says the private key is missing.
  PkeyCtxPtrForTest from(EVP_PKEY_CTX_new_from_name(nullptr, "EC", "provider=default"));
  EVP_PKEY* copy = nullptr;
  ASSERT_EQ(EVP_PKEY_fromdata_init(from.get()), 1);
  ASSERT_EQ(EVP_PKEY_fromdata(from.get(), &copy, EVP_PKEY_KEYPAIR, params), 1);
  OSSL_PARAM_free(params);
  PkeyPtr software(copy);
  PkeyCtxPtrForTest sign(EVP_PKEY_CTX_new_from_pkey(nullptr, software.get(), "provider=default"));
  unsigned char tbs[32] = {1}, sig[128];
  std::size_t sig_len = sizeof sig;
  ERR_clear_error();
  ASSERT_EQ(EVP_PKEY_sign_init(sign.get()), 1);
  EXPECT_LE(EVP_PKEY_sign(sign.get(), sig, &sig_len, tbs, sizeof tbs), 0);
  EXPECT_EQ(ERR_GET_REASON(ERR_peek_last_error()), EC_R_MISSING_PRIVATE_KEY)
      << ERR_error_string(ERR_peek_last_error(), nullptr);
  ERR_clear_error();

  // 3. Unencrypted PKCS#8 (PrivateKeyInfo), PEM and DER, asking any provider and the default
  // provider by name: what comes out is the TPM-wrapped blob, which no software loads.
  for (const char* propq : {static_cast<const char*>(nullptr), "provider=default"}) {
    for (const char* type : {"PEM", "DER"}) {
      std::unique_ptr<OSSL_ENCODER_CTX, Free<OSSL_ENCODER_CTX, OSSL_ENCODER_CTX_free>> enc(
          OSSL_ENCODER_CTX_new_for_pkey(k, EVP_PKEY_KEYPAIR, type, "PrivateKeyInfo", propq));
      ASSERT_TRUE(enc);
      unsigned char* data = nullptr;
      std::size_t len = 0;
      const bool encoded = OSSL_ENCODER_to_data(enc.get(), &data, &len) == 1;
      std::unique_ptr<unsigned char, Free<void, CRYPTO_free_plain>> owned(data);
      ERR_clear_error();
      if (!encoded) continue;  // refusing outright is as good
      const std::string text(reinterpret_cast<const char*>(data), len);
      if (type[0] == 'P') {
        EXPECT_EQ(text.rfind("-----BEGIN TSS2 PRIVATE KEY-----", 0), 0u) << text;
        EXPECT_EQ(text.find("BEGIN PRIVATE KEY"), std::string::npos);
      } else {
        EXPECT_TRUE(is_tss2_der(data, len)) << "DER PrivateKeyInfo is not the TSS2 blob";
        EXPECT_FALSE(loads_as_software_key(data, len));
      }
    }
  }
  // 4. The classic calls: PEM_write_bio_PrivateKey, PKCS#8 PEM, i2d_PrivateKey.
  for (int which = 0; which < 2; ++which) {
    BioPtr bio(BIO_new(BIO_s_mem()));
    if (which == 0) {
      PEM_write_bio_PrivateKey(bio.get(), k, nullptr, nullptr, 0, nullptr, nullptr);
    } else {
      PEM_write_bio_PKCS8PrivateKey(bio.get(), k, nullptr, nullptr, 0, nullptr, nullptr);
    }
    char* out = nullptr;
    const long out_len = BIO_get_mem_data(bio.get(), &out);
    const std::string written(out, static_cast<std::size_t>(out_len));
    EXPECT_EQ(written.find("BEGIN PRIVATE KEY"), std::string::npos) << written;
    EXPECT_EQ(written.find("BEGIN EC PRIVATE KEY"), std::string::npos) << written;
    if (!written.empty()) {
      EXPECT_EQ(written.rfind("-----BEGIN TSS2 PRIVATE KEY-----", 0), 0u);
    }
    ERR_clear_error();
  }
  unsigned char* der = nullptr;
  const int der_len = i2d_PrivateKey(k, &der);
  std::unique_ptr<unsigned char, Free<void, CRYPTO_free_plain>> owned_der(der);
  ERR_clear_error();
  if (der_len > 0) {
    EXPECT_TRUE(is_tss2_der(der, static_cast<std::size_t>(der_len)));
    EXPECT_FALSE(loads_as_software_key(der, static_cast<std::size_t>(der_len)));
  }
}

TEST(TpmDeviceKey, BlobIsUselessOnceTheTpmOwnerIsCleared) {
  IRONSEAL_REQUIREMENTS("CR 1.5");
  TempDir dir;
  ASSERT_TRUE(generate_device_key(dir / "device.key"));
  // A new owner seed makes a new storage root key: the old wrapping no longer opens. This is the
  // same situation as the blob copied to another device's TPM.
  ASSERT_EQ(TpmEnvironment::run("tpm2_clear -c p"), 0);
  auto key = load_device_key(dir / "device.key");
  ASSERT_FALSE(key);
  EXPECT_EQ(key.error().code, ErrorCode::kNotTrusted);
  EXPECT_NE(key.error().message.find("the TPM refused to load the key"), std::string::npos)
      << key.error().message;
}

TEST(TpmDeviceKey, RefusesASoftwareKeyFileAsADeviceKey) {
  IRONSEAL_REQUIREMENTS("CR 1.5");
  TempDir dir;
  PkeyPtr soft = software_p256();
  BioPtr bio(BIO_new(BIO_s_mem()));
  PEM_write_bio_PrivateKey(bio.get(), soft.get(), nullptr, nullptr, 0, nullptr, nullptr);
  char* pem = nullptr;
  const long n = BIO_get_mem_data(bio.get(), &pem);
  ASSERT_TRUE(write_file_atomic(
      dir / "soft.key",
      ByteView(reinterpret_cast<const std::uint8_t*>(pem), static_cast<std::size_t>(n)),
      WriteOptions{.mode = 0600}));
  auto key = load_device_key(dir / "soft.key");
  ASSERT_FALSE(key);
  EXPECT_EQ(key.error().code, ErrorCode::kMalformed);
  EXPECT_NE(key.error().message.find("not a TSS2 PRIVATE KEY"), std::string::npos);
}

}  // namespace
}  // namespace ironseal::tpm
