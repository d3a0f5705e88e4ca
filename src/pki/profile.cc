#include "pki/profile.h"

#include <openssl/rand.h>

namespace ironseal::pki::profile {

Result<ossl::GeneralNamesPtr> general_names(int type, const std::vector<std::string>& values) {
  ossl::GeneralNamesPtr names(GENERAL_NAMES_new());
  for (const auto& v : values) {
    ossl::GeneralNamePtr gn(GENERAL_NAME_new());
    ASN1_IA5STRING* s = ASN1_IA5STRING_new();
    if (!gn || s == nullptr || ASN1_STRING_set(s, v.data(), static_cast<int>(v.size())) != 1) {
      ASN1_IA5STRING_free(s);
      return fail(ErrorCode::kCrypto, "cannot build subjectAltName: ", ossl::drain_errors());
    }
    GENERAL_NAME_set0_value(gn.get(), type, s);
    if (sk_GENERAL_NAME_push(names.get(), gn.get()) <= 0) {
      return fail(ErrorCode::kCrypto, "cannot build subjectAltName");
    }
    gn.release();
  }
  return names;
}

namespace {

struct Extension {
  int nid;
  const char* value;
};

// Extensions in OpenSSL's configuration syntax, with `issuer` as the authority.
Result<void> add_conf_extensions(X509* cert, X509* issuer, std::initializer_list<Extension> exts) {
  X509V3_CTX ctx;
  X509V3_set_ctx_nodb(&ctx);
  X509V3_set_ctx(&ctx, issuer, cert, nullptr, nullptr, 0);
  for (const auto& e : exts) {
    ossl::ExtPtr ext(X509V3_EXT_conf_nid(nullptr, &ctx, e.nid, e.value));
    if (!ext || X509_add_ext(cert, ext.get(), -1) != 1) {
      return fail(ErrorCode::kCrypto, "cannot add extension ", OBJ_nid2sn(e.nid), ": ",
                  ossl::drain_errors());
    }
  }
  return {};
}

// subjectAltName-style names of one GEN_* type.
Result<void> add_general_names(X509* cert, int nid, int type,
                               const std::vector<std::string>& values, bool critical) {
  auto names = general_names(type, values);
  if (!names) return std::unexpected(names.error());
  if (X509_add1_ext_i2d(cert, nid, names->get(), critical ? 1 : 0, X509V3_ADD_DEFAULT) != 1) {
    return fail(ErrorCode::kCrypto, "cannot add subjectAltName: ", ossl::drain_errors());
  }
  return {};
}

// Name constraints of an issuing CA: subjects must lie under O=<organization>; with a domain, DNS
// names must lie in it.
Result<void> add_name_constraints(X509* cert, const std::string& organization,
                                  const std::string& dns_domain) {
  ossl::NameConstraintsPtr nc(NAME_CONSTRAINTS_new());
  nc->permittedSubtrees = sk_GENERAL_SUBTREE_new_null();
  auto push = [&](GENERAL_NAME* gn) {
    GENERAL_SUBTREE* st = GENERAL_SUBTREE_new();
    GENERAL_NAME_free(st->base);
    st->base = gn;
    sk_GENERAL_SUBTREE_push(nc->permittedSubtrees, st);
  };
  X509_NAME* dir = X509_NAME_new();
  X509_NAME_add_entry_by_NID(dir, NID_organizationName, MBSTRING_ASC,
                             reinterpret_cast<const unsigned char*>(organization.data()),
                             static_cast<int>(organization.size()), -1, 0);
  GENERAL_NAME* dir_gn = GENERAL_NAME_new();
  GENERAL_NAME_set0_value(dir_gn, GEN_DIRNAME, dir);
  push(dir_gn);
  if (!dns_domain.empty()) {
    ASN1_IA5STRING* s = ASN1_IA5STRING_new();
    ASN1_STRING_set(s, dns_domain.data(), static_cast<int>(dns_domain.size()));
    GENERAL_NAME* dns_gn = GENERAL_NAME_new();
    GENERAL_NAME_set0_value(dns_gn, GEN_DNS, s);
    push(dns_gn);
  }
  if (X509_add1_ext_i2d(cert, NID_name_constraints, nc.get(), 1, X509V3_ADD_DEFAULT) != 1) {
    return fail(ErrorCode::kCrypto, "cannot add name constraints: ", ossl::drain_errors());
  }
  return {};
}

// A name of (NID, value) entries in order; entries with an empty value are left out.
Result<ossl::NamePtr> make_name(std::initializer_list<std::pair<int, std::string>> entries) {
  ossl::NamePtr name(X509_NAME_new());
  for (const auto& [nid, value] : entries) {
    if (value.empty()) continue;
    if (X509_NAME_add_entry_by_NID(name.get(), nid, MBSTRING_ASC,
                                   reinterpret_cast<const unsigned char*>(value.data()),
                                   static_cast<int>(value.size()), -1, 0) != 1) {
      return fail(ErrorCode::kCrypto, "cannot build name: ", ossl::drain_errors());
    }
  }
  return name;
}

// A new certificate with a random positive 128-bit serial, the given subject, key and validity.
Result<ossl::X509Ptr> new_certificate(const X509_NAME* subject, const X509_NAME* issuer,
                                      EVP_PKEY* subject_key, UnixTime not_before,
                                      UnixTime not_after) {
  ossl::X509Ptr x(X509_new());
  unsigned char serial[16];
  if (!x || RAND_bytes(serial, sizeof serial) != 1) {
    return fail(ErrorCode::kCrypto, "cannot create certificate: ", ossl::drain_errors());
  }
  serial[0] = static_cast<unsigned char>((serial[0] & 0x7f) | 0x40);  // positive, 16 bytes
  ossl::BnPtr bn(BN_bin2bn(serial, sizeof serial, nullptr));
  ossl::AsnIntPtr asn_serial(BN_to_ASN1_INTEGER(bn.get(), nullptr));
  ossl::AsnTimePtr nb(ASN1_TIME_set(nullptr, static_cast<time_t>(not_before)));
  ossl::AsnTimePtr na(ASN1_TIME_set(nullptr, static_cast<time_t>(not_after)));
  if (!asn_serial || !nb || !na || X509_set_version(x.get(), X509_VERSION_3) != 1 ||
      X509_set_serialNumber(x.get(), asn_serial.get()) != 1 ||
      X509_set_subject_name(x.get(), subject) != 1 || X509_set_issuer_name(x.get(), issuer) != 1 ||
      X509_set1_notBefore(x.get(), nb.get()) != 1 || X509_set1_notAfter(x.get(), na.get()) != 1 ||
      X509_set_pubkey(x.get(), subject_key) != 1) {
    return fail(ErrorCode::kCrypto, "cannot create certificate: ", ossl::drain_errors());
  }
  return x;
}

// Signs with ECDSA-SHA256 and hands the result over as a Certificate.
Result<Certificate> sign_certificate(ossl::X509Ptr x, EVP_PKEY* issuer_key) {
  if (X509_sign(x.get(), issuer_key, EVP_sha256()) <= 0) {
    return fail(ErrorCode::kCrypto, "cannot sign certificate: ", ossl::drain_errors());
  }
  auto h = std::make_shared<CertificateHandle>();
  h->x509 = std::move(x);
  return Certificate::adopt(std::move(h));
}

Result<Certificate> sign_end_entity(const EndEntity& e, const X509_NAME* subject,
                                    const char* extended_key_usage, int name_type,
                                    const std::vector<std::string>& alt_names) {
  X509* issuer = e.issuer->handle().x509.get();
  auto x = new_certificate(subject, X509_get_subject_name(issuer), e.subject_key, e.not_before,
                           e.not_after);
  if (!x) return std::unexpected(x.error());
  if (auto r = add_conf_extensions(x->get(), issuer,
                                   {{NID_basic_constraints, "critical,CA:FALSE"},
                                    {NID_key_usage, "critical,digitalSignature"},
                                    {NID_ext_key_usage, extended_key_usage},
                                    {NID_subject_key_identifier, "hash"},
                                    {NID_authority_key_identifier, "keyid:always"}});
      !r) {
    return std::unexpected(r.error());
  }
  if (auto r = add_general_names(x->get(), NID_subject_alt_name, name_type, alt_names, false); !r) {
    return std::unexpected(r.error());
  }
  return sign_certificate(std::move(*x), e.issuer_key->handle().pkey.get());
}

}  // namespace

Result<Certificate> sign_root_certificate(const KeyPair& key, const std::string& organization,
                                          UnixTime not_before, UnixTime not_after) {
  auto name = make_name(
      {{NID_organizationName, organization}, {NID_commonName, organization + " Root CA"}});
  if (!name) return std::unexpected(name.error());
  EVP_PKEY* pkey = key.handle().pkey.get();
  auto x = new_certificate(name->get(), name->get(), pkey, not_before, not_after);
  if (!x) return std::unexpected(x.error());
  if (auto r = add_conf_extensions(x->get(), x->get(),
                                   {{NID_basic_constraints, "critical,CA:TRUE,pathlen:1"},
                                    {NID_key_usage, "critical,keyCertSign,cRLSign"},
                                    {NID_subject_key_identifier, "hash"}});
      !r) {
    return std::unexpected(r.error());
  }
  return sign_certificate(std::move(*x), pkey);
}

Result<Certificate> sign_issuing_ca_certificate(const Certificate& root, const KeyPair& root_key,
                                                const KeyPair& key, Profile profile,
                                                const std::string& organization,
                                                const std::string& dns_domain, UnixTime not_before,
                                                UnixTime not_after) {
  const bool device = profile == Profile::kDevice;
  const std::string cn = organization + (device ? " Device Issuing CA" : " Server Issuing CA");
  auto name = make_name({{NID_organizationName, organization}, {NID_commonName, cn}});
  if (!name) return std::unexpected(name.error());
  X509* root_cert = root.handle().x509.get();
  auto x = new_certificate(name->get(), X509_get_subject_name(root_cert), key.handle().pkey.get(),
                           not_before, not_after);
  if (!x) return std::unexpected(x.error());
  if (auto r = add_conf_extensions(x->get(), root_cert,
                                   {{NID_basic_constraints, "critical,CA:TRUE,pathlen:0"},
                                    {NID_key_usage, "critical,keyCertSign,cRLSign"},
                                    {NID_ext_key_usage, device ? "clientAuth" : "serverAuth"},
                                    {NID_subject_key_identifier, "hash"},
                                    {NID_authority_key_identifier, "keyid:always"}});
      !r) {
    return std::unexpected(r.error());
  }
  if (auto r = add_name_constraints(x->get(), organization, device ? "" : dns_domain); !r) {
    return std::unexpected(r.error());
  }
  return sign_certificate(std::move(*x), root_key.handle().pkey.get());
}

Result<Certificate> sign_device_certificate(const EndEntity& e, const DeviceName& device) {
  auto subject = make_name({{NID_organizationName, e.organization},
                            {NID_commonName, device.serial},
                            {NID_serialNumber, device.serial}});
  if (!subject) return std::unexpected(subject.error());
  return sign_end_entity(e, subject->get(), "clientAuth", GEN_URI, {device_urn(device)});
}

Result<Certificate> sign_server_certificate(const EndEntity& e,
                                            const std::vector<std::string>& dns_names) {
  if (dns_names.empty()) return fail(ErrorCode::kInvalidArgument, "a server needs a DNS name");
  auto subject =
      make_name({{NID_organizationName, e.organization}, {NID_commonName, dns_names.front()}});
  if (!subject) return std::unexpected(subject.error());
  return sign_end_entity(e, subject->get(), "serverAuth", GEN_DNS, dns_names);
}

}  // namespace ironseal::pki::profile
