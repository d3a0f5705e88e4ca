// TLS contexts, the device trust store (CA certificates + CRLs, hot-reloaded) and the identity of
// a verified device certificate. See tls.h.
#include "fleet/tls.h"

#include "core/bytes.h"
#include "crypto/ossl.h"

#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/x509v3.h>

#include <algorithm>
#include <system_error>

namespace ironseal::fleet {
namespace {

namespace fs = std::filesystem;

// One RAII family for OpenSSL handles (crypto/ossl.h).
using crypto::ossl::BioPtr;
using crypto::ossl::BnPtr;
using crypto::ossl::Free;
using crypto::ossl::Owned;
using crypto::ossl::OwnedMemory;
using X509Ptr = Owned<X509, X509_free>;
using CrlPtr = Owned<X509_CRL, X509_CRL_free>;
using ReqPtr = Owned<X509_REQ, X509_REQ_free>;
using GeneralNamesPtr = Owned<GENERAL_NAMES, GENERAL_NAMES_free>;
void free_extension_stack(STACK_OF(X509_EXTENSION) * s) {
  sk_X509_EXTENSION_pop_free(s, X509_EXTENSION_free);
}
using ExtStackPtr = Owned<STACK_OF(X509_EXTENSION), free_extension_stack>;

constexpr std::string_view kUriPrefix = "urn:ironseal:device:";

bool valid_serial(std::string_view s) {
  return !s.empty() && s.size() <= 128 && s != "." && s != ".." &&
         std::all_of(s.begin(), s.end(), [](char c) {
           return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                  c == '.' || c == '_' || c == '-';
         });
}

std::int64_t to_unix(const ASN1_TIME* t) {
  struct tm tm {};
  if (t == nullptr || ASN1_TIME_to_tm(t, &tm) != 1) return 0;
  return static_cast<std::int64_t>(timegm(&tm));
}

Result<std::vector<X509Ptr>> read_certificates(const fs::path& path) {
  BioPtr bio(BIO_new_file(path.c_str(), "r"));
  if (!bio) return fail(ErrorCode::kIo, "cannot read ", path.string());
  std::vector<X509Ptr> out;
  while (X509* x = PEM_read_bio_X509(bio.get(), nullptr, nullptr, nullptr)) out.emplace_back(x);
  bio.reset();
  ERR_clear_error();  // the read loop ends on "no start line"
  if (out.empty()) return fail(ErrorCode::kMalformed, path.string(), ": no PEM certificate");
  return out;
}

}  // namespace

struct TrustStore::Snapshot {
  std::shared_ptr<X509_STORE> store;
  std::vector<std::shared_ptr<X509>> device_cas;
};

std::string openssl_errors() {
  return crypto::ossl::drain_errors();
}

Result<DeviceIdentity> identity_from_certificate(X509* cert) {
  if (cert == nullptr) return fail(ErrorCode::kNotTrusted, "no client certificate");
  DeviceIdentity id;
  const GeneralNamesPtr sans(static_cast<GENERAL_NAMES*>(
      X509_get_ext_d2i(cert, NID_subject_alt_name, nullptr, nullptr)));
  int uri_count = 0;
  if (sans) {
    for (int i = 0; i < sk_GENERAL_NAME_num(sans.get()); ++i) {
      const GENERAL_NAME* gn = sk_GENERAL_NAME_value(sans.get(), i);
      if (gn->type != GEN_URI) continue;
      const auto* s = gn->d.uniformResourceIdentifier;
      std::string_view uri(reinterpret_cast<const char*>(ASN1_STRING_get0_data(s)),
                           static_cast<std::size_t>(ASN1_STRING_length(s)));
      if (!uri.starts_with(kUriPrefix)) continue;
      ++uri_count;
      const std::string_view rest = uri.substr(kUriPrefix.size());
      const auto colon = rest.rfind(':');
      if (colon == std::string_view::npos) continue;
      id.hardware_id = std::string(rest.substr(0, colon));
      id.serial = std::string(rest.substr(colon + 1));
    }
  }
  if (uri_count > 1) {
    return fail(ErrorCode::kNotTrusted, "certificate names more than one device");
  }
  // The subject serialNumber, when present, must agree with the URI (or stands alone).
  const X509_NAME* subject = X509_get_subject_name(cert);
  const int idx = X509_NAME_get_index_by_NID(subject, NID_serialNumber, -1);
  if (idx >= 0) {
    if (X509_NAME_get_index_by_NID(subject, NID_serialNumber, idx) >= 0) {
      return fail(ErrorCode::kNotTrusted, "certificate subject has more than one serialNumber");
    }
    const ASN1_STRING* s = X509_NAME_ENTRY_get_data(X509_NAME_get_entry(subject, idx));
    std::string sn(reinterpret_cast<const char*>(ASN1_STRING_get0_data(s)),
                   static_cast<std::size_t>(ASN1_STRING_length(s)));
    if (!id.serial.empty() && sn != id.serial) {
      return fail(ErrorCode::kNotTrusted, "certificate subject serialNumber '", sn,
                  "' and URI SAN serial '", id.serial, "' differ");
    }
    id.serial = sn;
  }
  if (!valid_serial(id.serial)) {
    return fail(ErrorCode::kNotTrusted,
                "certificate carries no usable device serial (URI SAN urn:ironseal:device:HW:SERIAL "
                "or subject serialNumber)");
  }
  if (!id.hardware_id.empty() && !valid_serial(id.hardware_id)) {
    return fail(ErrorCode::kNotTrusted, "certificate carries a malformed hardware id");
  }
  if (const ASN1_INTEGER* n = X509_get0_serialNumber(cert)) {
    const BnPtr bn(ASN1_INTEGER_to_BN(n, nullptr));
    if (bn) {
      const OwnedMemory<char> hex(BN_bn2hex(bn.get()));
      if (hex) id.certificate_serial = hex.get();
    }
  }
  id.not_before = to_unix(X509_get0_notBefore(cert));
  id.not_after = to_unix(X509_get0_notAfter(cert));
  return id;
}

Result<void> configure_server_context(SSL_CTX* ctx, const TlsConfig& config,
                                      bool require_client_cert) {
  if (SSL_CTX_set_min_proto_version(ctx, config.allow_tls12 ? TLS1_2_VERSION : TLS1_3_VERSION) !=
      1) {
    return fail(ErrorCode::kCrypto, "TLS: cannot set the protocol floor");
  }
  SSL_CTX_set_options(ctx, SSL_OP_NO_COMPRESSION | SSL_OP_NO_RENEGOTIATION |
                               SSL_OP_CIPHER_SERVER_PREFERENCE | SSL_OP_NO_TICKET);
  if (config.allow_tls12) {
    // Forward-secret AEAD suites only.
    SSL_CTX_set_cipher_list(ctx,
                            "ECDHE-ECDSA-AES128-GCM-SHA256:ECDHE-RSA-AES128-GCM-SHA256:"
                            "ECDHE-ECDSA-AES256-GCM-SHA384:ECDHE-RSA-AES256-GCM-SHA384:"
                            "ECDHE-ECDSA-CHACHA20-POLY1305:ECDHE-RSA-CHACHA20-POLY1305");
  }
  // No session resumption: each connection proves its certificate against the current CRL.
  SSL_CTX_set_session_cache_mode(ctx, SSL_SESS_CACHE_OFF);
  SSL_CTX_set_num_tickets(ctx, 0);
  if (SSL_CTX_use_certificate_chain_file(ctx, config.certificate_chain.c_str()) != 1) {
    return fail(ErrorCode::kIo, "TLS: cannot load the server certificate chain ",
                config.certificate_chain.string(), ": ", openssl_errors());
  }
  if (SSL_CTX_use_PrivateKey_file(ctx, config.private_key.c_str(), SSL_FILETYPE_PEM) != 1) {
    return fail(ErrorCode::kIo, "TLS: cannot load the server key ", config.private_key.string(),
                ": ", openssl_errors());
  }
  if (SSL_CTX_check_private_key(ctx) != 1) {
    return fail(ErrorCode::kInvalidArgument, "TLS: server key does not match its certificate");
  }
  if (require_client_cert) {
    SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER | SSL_VERIFY_FAIL_IF_NO_PEER_CERT, nullptr);
    SSL_CTX_set_verify_depth(ctx, 4);
  } else {
    SSL_CTX_set_verify(ctx, SSL_VERIFY_NONE, nullptr);
  }
  return {};
}

Result<std::unique_ptr<TrustStore>> TrustStore::load(TrustConfig config) {
  if (config.device_ca.empty()) {
    return fail(ErrorCode::kInvalidArgument, "TLS: no device CA configured");
  }
  std::unique_ptr<TrustStore> ts(new TrustStore(std::move(config)));
  auto snap = ts->build();
  if (!snap) return std::unexpected(snap.error());
  ts->current_ = *snap;
  ts->stamps_ = ts->stamps();
  return ts;
}

std::vector<std::pair<std::int64_t, std::uintmax_t>> TrustStore::stamps() const {
  std::vector<std::pair<std::int64_t, std::uintmax_t>> out;
  for (const auto* list : {&config_.device_ca, &config_.enrol_ca, &config_.crl}) {
    for (const auto& p : *list) {
      std::error_code ec;
      const auto t = fs::last_write_time(p, ec);
      const auto size = fs::file_size(p, ec);
      out.emplace_back(ec ? -1 : t.time_since_epoch().count(), ec ? 0 : size);
    }
  }
  return out;
}

Result<std::shared_ptr<const TrustStore::Snapshot>> TrustStore::build() const {
  auto snap = std::make_shared<Snapshot>();
  snap->store.reset(X509_STORE_new(), Free<X509_STORE_free>());
  if (!snap->store) return fail(ErrorCode::kCrypto, "TLS: out of memory");
  auto add_cas = [&](const std::vector<fs::path>& files, bool device) -> Result<void> {
    for (const auto& f : files) {
      auto certs = read_certificates(f);
      if (!certs) return std::unexpected(certs.error());
      for (auto& c : *certs) {
        if (X509_STORE_add_cert(snap->store.get(), c.get()) != 1) {
          ERR_clear_error();  // the same CA listed twice is fine
        }
        if (device) {
          X509_up_ref(c.get());
          snap->device_cas.emplace_back(c.get(), Free<X509_free>());
        }
      }
    }
    return {};
  };
  if (auto ok = add_cas(config_.device_ca, true); !ok) return std::unexpected(ok.error());
  if (auto ok = add_cas(config_.enrol_ca, false); !ok) return std::unexpected(ok.error());
  for (const auto& f : config_.crl) {
    BioPtr bio(BIO_new_file(f.c_str(), "r"));
    if (!bio) return fail(ErrorCode::kIo, "TLS: cannot read CRL ", f.string());
    int count = 0;
    while (CrlPtr crl{PEM_read_bio_X509_CRL(bio.get(), nullptr, nullptr, nullptr)}) {
      X509_STORE_add_crl(snap->store.get(), crl.get());
      ++count;
    }
    bio.reset();
    ERR_clear_error();
    if (count == 0) return fail(ErrorCode::kMalformed, "TLS: ", f.string(), ": no PEM CRL");
  }
  // The device CA is a trust anchor even when it is an intermediate: a certificate must chain to
  // it, not merely to a root it shares with other CAs (e.g. the server CA).
  unsigned long flags = X509_V_FLAG_PARTIAL_CHAIN | X509_V_FLAG_X509_STRICT;
  if (!config_.crl.empty()) flags |= X509_V_FLAG_CRL_CHECK;
  X509_STORE_set_flags(snap->store.get(), flags);
  X509_STORE_set_purpose(snap->store.get(), X509_PURPOSE_SSL_CLIENT);
  return std::shared_ptr<const Snapshot>(std::move(snap));
}

Result<void> TrustStore::attach(SSL* ssl) const {
  std::shared_ptr<const Snapshot> snap;
  {
    std::lock_guard lock(mutex_);
    snap = current_;
  }
  if (SSL_set1_verify_cert_store(ssl, snap->store.get()) != 1) {
    return fail(ErrorCode::kCrypto, "TLS: cannot attach the device trust store");
  }
  return {};
}

Result<DeviceIdentity> TrustStore::identity(SSL* ssl) const {
  if (SSL_get_verify_result(ssl) != X509_V_OK) {
    return fail(ErrorCode::kNotTrusted, "client certificate not verified");
  }
  X509* peer = SSL_get0_peer_certificate(ssl);
  auto id = identity_from_certificate(peer);
  if (!id) return id;
  unsigned char digest[EVP_MAX_MD_SIZE];
  unsigned int digest_len = 0;
  if (X509_digest(peer, EVP_sha256(), digest, &digest_len) != 1) {
    return fail(ErrorCode::kCrypto, "cannot fingerprint the client certificate");
  }
  id->certificate_sha256 = ironseal::to_hex(ironseal::ByteView(digest, digest_len));
  std::shared_ptr<const Snapshot> snap;
  {
    std::lock_guard lock(mutex_);
    snap = current_;
  }
  bool device = false;
  if (STACK_OF(X509)* chain = SSL_get0_verified_chain(ssl)) {
    for (int i = 0; i < sk_X509_num(chain) && !device; ++i) {
      for (const auto& ca : snap->device_cas) {
        if (X509_cmp(sk_X509_value(chain, i), ca.get()) == 0) device = true;
      }
    }
  }
  id->enrolment_only = !device;
  return id;
}

Result<bool> TrustStore::reload_if_changed() {
  auto now = stamps();
  {
    std::lock_guard lock(mutex_);
    if (now == stamps_) return false;
  }
  auto snap = build();
  std::lock_guard lock(mutex_);
  stamps_ = now;  // a broken file is reported once, and retried when it changes again
  if (!snap) return std::unexpected(snap.error());
  current_ = *snap;
  ++reloads_;
  return true;
}

std::uint64_t TrustStore::reloads() const {
  std::lock_guard lock(mutex_);
  return reloads_;
}

Result<RequestedIdentity> identity_from_request(ByteView der) {
  const unsigned char* p = der.data();
  ReqPtr req(d2i_X509_REQ(nullptr, &p, static_cast<long>(der.size())));
  if (!req || p != der.data() + der.size()) {
    ERR_clear_error();
    return fail(ErrorCode::kMalformed, "CSR: not a DER PKCS#10 request");
  }
  EVP_PKEY* key = X509_REQ_get0_pubkey(req.get());
  if (key == nullptr || X509_REQ_verify(req.get(), key) != 1) {
    ERR_clear_error();
    return fail(ErrorCode::kNotTrusted, "CSR: its signature does not verify with its own key");
  }
  // The identity the CSR claims, read the way certificates are read.
  X509Ptr probe(X509_new());
  if (!probe || X509_set_subject_name(probe.get(), X509_REQ_get_subject_name(req.get())) != 1) {
    return fail(ErrorCode::kCrypto, "CSR: cannot read its subject: ", openssl_errors());
  }
  if (const ExtStackPtr exts{X509_REQ_get_extensions(req.get())}) {
    for (int i = 0; i < sk_X509_EXTENSION_num(exts.get()); ++i) {
      X509_add_ext(probe.get(), sk_X509_EXTENSION_value(exts.get(), i), -1);
    }
  }
  ERR_clear_error();  // a request without extensions leaves a "not found" behind
  RequestedIdentity out;
  // A CSR may name no device (the connection's identity is used), but one that names a device
  // must name it well: a malformed or contradictory name is refused here rather than ignored.
  auto id = identity_from_certificate(probe.get());
  if (id) {
    out.serial = id->serial;
    out.hardware_id = id->hardware_id;
  } else {
    const bool names_serial =
        X509_NAME_get_index_by_NID(X509_REQ_get_subject_name(req.get()), NID_serialNumber, -1) >=
        0;
    const bool names_none = !names_serial && id.error().message.starts_with(
                                                 "certificate carries no usable device serial");
    if (!names_none) {
      return fail(ErrorCode::kMalformed, "the CSR's device identity is malformed: ",
                  id.error().message);
    }
  }
  return out;
}

std::optional<std::string> client_certificate_refusal(const SSL* ssl) {
  const long verify = SSL_get_verify_result(ssl);
  if (verify == X509_V_OK) return std::nullopt;
  return std::string(X509_verify_cert_error_string(verify));
}

void clear_openssl_errors() {
  ERR_clear_error();
}

}  // namespace ironseal::fleet
