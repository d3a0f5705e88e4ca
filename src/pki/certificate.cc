#include "pki/certificate.h"

#include <openssl/core_names.h>
#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/pkcs7.h>

#include <cstring>
#include <ctime>

#include "core/file.h"
#include "crypto/hash.h"
#include "crypto/key.h"
#include "crypto/verifier.h"
#include "pki/certificate_internal.h"
#include "pki/ossl_x509.h"

namespace ironseal::pki {
namespace detail {

std::string text_of(ByteView b) {
  return std::string(reinterpret_cast<const char*>(b.data()), b.size());
}

Bytes spki_of(EVP_PKEY* pkey) {
  unsigned char* der = nullptr;
  const int len = i2d_PUBKEY(pkey, &der);
  if (len <= 0) return {};
  Bytes out(der, der + len);
  OPENSSL_free(der);
  return out;
}

std::vector<std::string> names_of_type(const GENERAL_NAMES* names, int type) {
  std::vector<std::string> out;
  if (names == nullptr) return out;
  for (int i = 0; i < sk_GENERAL_NAME_num(names); ++i) {
    const GENERAL_NAME* gn = sk_GENERAL_NAME_value(names, i);
    if (gn->type != type) continue;
    const ASN1_IA5STRING* s = type == GEN_URI ? gn->d.uniformResourceIdentifier : gn->d.dNSName;
    out.emplace_back(reinterpret_cast<const char*>(ASN1_STRING_get0_data(s)),
                     static_cast<std::size_t>(ASN1_STRING_length(s)));
  }
  return out;
}

}  // namespace detail

namespace {

constexpr std::string_view kUrnPrefix = "urn:ironseal:device:";

using crypto::ossl::bio_text;
using crypto::ossl::mem_bio;
using crypto::ossl::no_passphrase;
using detail::names_of_type;
using detail::spki_of;
using detail::text_of;

Result<void> check_p256(EVP_PKEY* pkey) {
  if (!EVP_PKEY_is_a(pkey, "EC")) {
    return fail_because(ErrorCode::kNotTrusted, "key_type_disallowed",
                        EVP_PKEY_get0_type_name(pkey), " key (only ECDSA P-256 is accepted)");
  }
  char group[64] = {};
  size_t len = 0;
  if (EVP_PKEY_get_utf8_string_param(pkey, OSSL_PKEY_PARAM_GROUP_NAME, group, sizeof group, &len) !=
          1 ||
      std::string_view(group, len) != "prime256v1") {
    return fail_because(ErrorCode::kNotTrusted, "key_type_disallowed", "EC key on curve '", group,
                        "' (only P-256 is accepted)");
  }
  return {};
}

std::string name_text(const X509_NAME* name) {
  ossl::BioPtr bio(BIO_new(BIO_s_mem()));
  X509_NAME_print_ex(bio.get(), name, 0, XN_FLAG_RFC2253);
  return bio_text(bio.get());
}

UnixTime unix_time(const ASN1_TIME* t) {
  std::tm tm{};
  if (t == nullptr || ASN1_TIME_to_tm(t, &tm) != 1) return 0;
  return static_cast<UnixTime>(timegm(&tm));
}

std::vector<std::string> cert_names(X509* x, int type) {
  ossl::GeneralNamesPtr names(
      static_cast<GENERAL_NAMES*>(X509_get_ext_d2i(x, NID_subject_alt_name, nullptr, nullptr)));
  return names_of_type(names.get(), type);
}

}  // namespace

// ---- Device name --------------------------------------------------------------------------------

Result<void> check_identifier(std::string_view what, std::string_view value) {
  if (value.empty() || value.size() > 64) {
    return fail(ErrorCode::kInvalidArgument, what, " must be 1 to 64 characters long");
  }
  for (char c : value) {
    const bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                    c == '.' || c == '-';
    if (!ok) {
      return fail(ErrorCode::kInvalidArgument, what, " '", value,
                  "' may only contain letters, digits, '.' and '-'");
    }
  }
  return {};
}

std::string device_urn(const DeviceName& name) {
  return std::string(kUrnPrefix) + name.hardware_id + ":" + name.serial;
}

Result<DeviceName> parse_device_urn(std::string_view urn) {
  if (!urn.starts_with(kUrnPrefix)) {
    return fail(ErrorCode::kMalformed, "not an ironseal device URN: ", urn);
  }
  const std::string_view rest = urn.substr(kUrnPrefix.size());
  const auto colon = rest.find(':');
  if (colon == std::string_view::npos) {
    return fail(ErrorCode::kMalformed, "device URN without serial: ", urn);
  }
  DeviceName name{std::string(rest.substr(colon + 1)), std::string(rest.substr(0, colon))};
  if (auto r = check_identifier("hardware id", name.hardware_id); !r) {
    return fail(ErrorCode::kMalformed, "device URN: ", r.error().message);
  }
  if (auto r = check_identifier("serial", name.serial); !r) {
    return fail(ErrorCode::kMalformed, "device URN: ", r.error().message);
  }
  return name;
}

// ---- KeyPair ------------------------------------------------------------------------------------

Result<KeyPair> KeyPair::generate_p256() {
  auto h = std::make_shared<KeyHandle>();
  // The function behind OpenSSL's EVP_EC_gen macro, whose expansion casts the curve name's const
  // away (clang's -Wcast-qual reports it): the name is passed as the char* the call reads.
  char curve[] = "P-256";
  h->pkey.reset(EVP_PKEY_Q_keygen(nullptr, nullptr, "EC", curve));
  if (!h->pkey)
    return fail(ErrorCode::kCrypto, "P-256 key generation failed: ", ossl::drain_errors());
  return KeyPair(std::move(h));
}

Result<KeyPair> KeyPair::load(const std::filesystem::path& path) {
  if (auto m = check_private_file_mode(path); !m) return std::unexpected(m.error());
  auto text = read_file(path);
  if (!text) return std::unexpected(text.error());
  const std::string pem = text_of(*text);
  auto bio = mem_bio(pem);
  auto h = std::make_shared<KeyHandle>();
  h->pkey.reset(PEM_read_bio_PrivateKey(bio.get(), nullptr, no_passphrase, nullptr));
  OPENSSL_cleanse(const_cast<char*>(pem.data()), pem.size());
  OPENSSL_cleanse(text->data(), text->size());
  if (!h->pkey) {
    return fail(ErrorCode::kMalformed, path.string(),
                " is not an unencrypted PEM private key: ", ossl::drain_errors());
  }
  return adopt(std::move(h));
}

Result<KeyPair> KeyPair::adopt(std::shared_ptr<KeyHandle> handle) {
  if (!handle || !handle->pkey) return fail(ErrorCode::kInvalidArgument, "no key");
  if (auto r = check_p256(handle->pkey.get()); !r) return std::unexpected(r.error());
  return KeyPair(std::move(handle));
}

Result<KeyPair> KeyPair::adopt_evp(EVP_PKEY* owned) {
  auto handle = std::make_shared<KeyHandle>();
  handle->pkey.reset(owned);
  return adopt(std::move(handle));
}

Result<std::shared_ptr<EVP_PKEY>> KeyPair::shared_evp_key() const {
  EVP_PKEY* pkey = handle_->pkey.get();
  if (EVP_PKEY_up_ref(pkey) != 1) return fail(ErrorCode::kCrypto, "cannot share the key");
  return std::shared_ptr<EVP_PKEY>(pkey, EVP_PKEY_free);
}

Result<void> KeyPair::save(const std::filesystem::path& path) const {
  ossl::BioPtr bio(BIO_new(BIO_s_mem()));
  if (PEM_write_bio_PrivateKey(bio.get(), handle_->pkey.get(), nullptr, nullptr, 0, nullptr,
                               nullptr) != 1) {
    return fail(ErrorCode::kCrypto, "cannot encode private key: ", ossl::drain_errors());
  }
  std::string pem = bio_text(bio.get());
  auto r = write_file_atomic(path, as_bytes(pem), {.mode = 0600, .exclusive = true});
  OPENSSL_cleanse(pem.data(), pem.size());
  return r;
}

Bytes KeyPair::spki_der() const {
  return spki_of(handle_->pkey.get());
}

Result<Bytes> KeyPair::sign(ByteView message) const {
  crypto::ossl::MdCtxPtr ctx(EVP_MD_CTX_new());
  size_t len = 0;
  if (!ctx ||
      EVP_DigestSignInit(ctx.get(), nullptr, EVP_sha256(), nullptr, handle_->pkey.get()) != 1 ||
      EVP_DigestSign(ctx.get(), nullptr, &len, message.data(), message.size()) != 1) {
    return fail(ErrorCode::kCrypto, "signing failed: ", ossl::drain_errors());
  }
  Bytes sig(len);
  if (EVP_DigestSign(ctx.get(), sig.data(), &len, message.data(), message.size()) != 1) {
    return fail(ErrorCode::kCrypto, "signing failed: ", ossl::drain_errors());
  }
  sig.resize(len);
  return sig;
}

Result<void> check_key_allowed(ByteView spki_der) {
  const unsigned char* p = spki_der.data();
  ossl::PkeyPtr pkey(d2i_PUBKEY(nullptr, &p, static_cast<long>(spki_der.size())));
  if (!pkey || p != spki_der.data() + spki_der.size()) {
    ossl::drain_errors();
    return fail_because(ErrorCode::kNotTrusted, "key_type_disallowed",
                        "the public key does not parse");
  }
  if (EVP_PKEY_is_a(pkey.get(), "RSA") && EVP_PKEY_get_bits(pkey.get()) < 2048) {
    return fail_because(ErrorCode::kNotTrusted, "weak_key", "RSA key of ",
                        std::to_string(EVP_PKEY_get_bits(pkey.get())), " bits");
  }
  if (auto r = check_p256(pkey.get()); !r) return r;
  ossl::PkeyCtxPtr ctx(EVP_PKEY_CTX_new_from_pkey(nullptr, pkey.get(), nullptr));
  if (!ctx || EVP_PKEY_public_check(ctx.get()) != 1) {
    ossl::drain_errors();
    return fail_because(ErrorCode::kNotTrusted, "weak_key",
                        "the EC point is not a valid P-256 public key");
  }
  return {};
}

Result<void> verify_with_spki(ByteView spki_der, ByteView message, ByteView signature) {
  auto verifier = crypto::Verifier::from_spki(spki_der);
  if (!verifier) return std::unexpected(verifier.error());
  return verifier->verify(message, signature);
}

// ---- Certificate --------------------------------------------------------------------------------

Result<Certificate> Certificate::from_pem(std::string_view pem) {
  auto all = all_from_pem(pem);
  if (!all) return std::unexpected(all.error());
  if (all->size() != 1) {
    return fail(ErrorCode::kMalformed, "expected one certificate, found ",
                std::to_string(all->size()));
  }
  return std::move(all->front());
}

Result<std::vector<Certificate>> Certificate::all_from_pem(std::string_view pem) {
  auto bio = mem_bio(pem);
  std::vector<Certificate> out;
  ERR_clear_error();  // the end-of-input check below reads the queue
  for (;;) {
    ossl::X509Ptr x(PEM_read_bio_X509(bio.get(), nullptr, no_passphrase, nullptr));
    if (!x) break;
    auto h = std::make_shared<CertificateHandle>();
    h->x509 = std::move(x);
    out.push_back(Certificate(std::move(h)));
  }
  // The loop ends on end-of-input (PEM_R_NO_START_LINE) or on a malformed certificate.
  const unsigned long err = ERR_peek_last_error();
  if (err != 0 &&
      !(ERR_GET_LIB(err) == ERR_LIB_PEM && ERR_GET_REASON(err) == PEM_R_NO_START_LINE)) {
    return fail(ErrorCode::kMalformed, "malformed PEM certificate: ", ossl::drain_errors());
  }
  ERR_clear_error();
  if (out.empty()) return fail(ErrorCode::kMalformed, "no PEM certificate found");
  return out;
}

Result<Certificate> Certificate::from_der(ByteView der) {
  const unsigned char* p = der.data();
  auto h = std::make_shared<CertificateHandle>();
  h->x509.reset(d2i_X509(nullptr, &p, static_cast<long>(der.size())));
  if (!h->x509 || p != der.data() + der.size()) {
    return fail(ErrorCode::kMalformed, "malformed DER certificate: ", ossl::drain_errors());
  }
  return Certificate(std::move(h));
}

Result<Certificate> Certificate::load(const std::filesystem::path& path) {
  auto text = read_file(path);
  if (!text) return std::unexpected(text.error());
  auto c = from_pem(text_of(*text));
  if (!c) return fail_in(c.error(), path.string(), ": ");
  return c;
}

Result<std::vector<Certificate>> Certificate::load_all(const std::filesystem::path& path) {
  auto text = read_file(path);
  if (!text) return std::unexpected(text.error());
  auto c = all_from_pem(text_of(*text));
  if (!c) return fail_in(c.error(), path.string(), ": ");
  return c;
}

std::string Certificate::to_pem() const {
  ossl::BioPtr bio(BIO_new(BIO_s_mem()));
  PEM_write_bio_X509(bio.get(), handle_->x509.get());
  return bio_text(bio.get());
}

Bytes Certificate::der() const {
  unsigned char* der = nullptr;
  const int len = i2d_X509(handle_->x509.get(), &der);
  if (len <= 0) return {};
  Bytes out(der, der + len);
  OPENSSL_free(der);
  return out;
}

std::string Certificate::fingerprint_hex() const {
  return to_hex(crypto::sha256(der()));
}

std::string Certificate::serial_hex() const {
  ossl::BnPtr bn(ASN1_INTEGER_to_BN(X509_get0_serialNumber(handle_->x509.get()), nullptr));
  if (!bn) return {};
  Bytes b(static_cast<std::size_t>(BN_num_bytes(bn.get())));
  BN_bn2bin(bn.get(), b.data());
  return to_hex(b);
}

std::string Certificate::subject() const {
  return name_text(X509_get_subject_name(handle_->x509.get()));
}

std::string Certificate::issuer() const {
  return name_text(X509_get_issuer_name(handle_->x509.get()));
}

UnixTime Certificate::not_before() const {
  return unix_time(X509_get0_notBefore(handle_->x509.get()));
}

UnixTime Certificate::not_after() const {
  return unix_time(X509_get0_notAfter(handle_->x509.get()));
}

Bytes Certificate::spki_der() const {
  return spki_of(X509_get0_pubkey(handle_->x509.get()));
}

bool Certificate::is_ca() const {
  return X509_check_ca(handle_->x509.get()) != 0;
}

std::optional<DeviceName> Certificate::device_name() const {
  std::optional<DeviceName> found;
  for (const auto& uri : cert_names(handle_->x509.get(), GEN_URI)) {
    if (!uri.starts_with(kUrnPrefix)) continue;
    auto name = parse_device_urn(uri);
    if (!name || found) return std::nullopt;  // malformed, or two identities: neither is trusted
    found = std::move(*name);
  }
  return found;
}

std::vector<std::string> Certificate::dns_names() const {
  return cert_names(handle_->x509.get(), GEN_DNS);
}

Result<void> write_pem_bundle(const std::filesystem::path& path,
                              const std::vector<Certificate>& certs) {
  std::string text;
  for (const auto& c : certs) text += c.to_pem();
  return write_file_atomic(path, as_bytes(text));
}

Result<Bytes> certs_only_pkcs7(const std::vector<Certificate>& certs) {
  ossl::Owned<PKCS7, PKCS7_free> p7(PKCS7_new());
  // SignedData with no signers and an absent (detached) data content: RFC 7030's certs-only.
  if (!p7 || PKCS7_set_type(p7.get(), NID_pkcs7_signed) != 1 ||
      PKCS7_content_new(p7.get(), NID_pkcs7_data) != 1 || PKCS7_set_detached(p7.get(), 1) != 1) {
    return fail(ErrorCode::kCrypto, "cannot build PKCS#7: ", ossl::drain_errors());
  }
  for (const auto& c : certs) {
    if (PKCS7_add_certificate(p7.get(), c.handle().x509.get()) != 1) {
      return fail(ErrorCode::kCrypto, "cannot build PKCS#7: ", ossl::drain_errors());
    }
  }
  unsigned char* der = nullptr;
  const int len = i2d_PKCS7(p7.get(), &der);
  if (len <= 0) return fail(ErrorCode::kCrypto, "cannot encode PKCS#7: ", ossl::drain_errors());
  Bytes out(der, der + len);
  OPENSSL_free(der);
  return out;
}

// ---- Crl ----------------------------------------------------------------------------------------

Result<Crl> Crl::from_pem(std::string_view pem) {
  auto bio = mem_bio(pem);
  auto h = std::make_shared<CrlHandle>();
  h->crl.reset(PEM_read_bio_X509_CRL(bio.get(), nullptr, no_passphrase, nullptr));
  if (!h->crl) return fail(ErrorCode::kMalformed, "not a PEM CRL: ", ossl::drain_errors());
  return Crl(std::move(h));
}

Result<Crl> Crl::load(const std::filesystem::path& path) {
  auto text = read_file(path);
  if (!text) return std::unexpected(text.error());
  auto r = from_pem(text_of(*text));
  if (!r) return fail_in(r.error(), path.string(), ": ");
  return r;
}

std::string Crl::to_pem() const {
  ossl::BioPtr bio(BIO_new(BIO_s_mem()));
  PEM_write_bio_X509_CRL(bio.get(), handle_->crl.get());
  return bio_text(bio.get());
}

std::string Crl::issuer() const {
  return name_text(X509_CRL_get_issuer(handle_->crl.get()));
}

UnixTime Crl::this_update() const {
  return unix_time(X509_CRL_get0_lastUpdate(handle_->crl.get()));
}

UnixTime Crl::next_update() const {
  return unix_time(X509_CRL_get0_nextUpdate(handle_->crl.get()));
}

std::vector<std::string> Crl::revoked_serials_hex() const {
  std::vector<std::string> out;
  STACK_OF(X509_REVOKED)* revoked = X509_CRL_get_REVOKED(handle_->crl.get());
  for (int i = 0; i < sk_X509_REVOKED_num(revoked); ++i) {
    const ASN1_INTEGER* serial = X509_REVOKED_get0_serialNumber(sk_X509_REVOKED_value(revoked, i));
    ossl::BnPtr bn(ASN1_INTEGER_to_BN(serial, nullptr));
    if (!bn) continue;
    Bytes b(static_cast<std::size_t>(BN_num_bytes(bn.get())));
    BN_bn2bin(bn.get(), b.data());
    out.push_back(to_hex(b));
  }
  return out;
}

}  // namespace ironseal::pki
