#include "pki/verify.h"

#include <openssl/err.h>

#include "pki/ossl_x509.h"

namespace ironseal::pki {
namespace {

CertReason reason_of(int err) {
  switch (err) {
    case X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT:
    case X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT_LOCALLY:
    case X509_V_ERR_UNABLE_TO_VERIFY_LEAF_SIGNATURE:
    case X509_V_ERR_SELF_SIGNED_CERT_IN_CHAIN:
    case X509_V_ERR_DEPTH_ZERO_SELF_SIGNED_CERT:
    case X509_V_ERR_CERT_UNTRUSTED:
    case X509_V_ERR_CERT_REJECTED: return CertReason::kUntrustedChain;
    case X509_V_ERR_CERT_SIGNATURE_FAILURE:
    case X509_V_ERR_UNABLE_TO_DECRYPT_CERT_SIGNATURE:
    case X509_V_ERR_UNABLE_TO_DECODE_ISSUER_PUBLIC_KEY: return CertReason::kBadSignature;
    case X509_V_ERR_CERT_HAS_EXPIRED: return CertReason::kExpired;
    case X509_V_ERR_CERT_NOT_YET_VALID: return CertReason::kNotYetValid;
    case X509_V_ERR_INVALID_CA:
    case X509_V_ERR_KEYUSAGE_NO_CERTSIGN: return CertReason::kNotACa;
    case X509_V_ERR_INVALID_PURPOSE: return CertReason::kWrongPurpose;
    case X509_V_ERR_CERT_REVOKED: return CertReason::kRevoked;
    case X509_V_ERR_UNABLE_TO_GET_CRL:
    case X509_V_ERR_UNABLE_TO_GET_CRL_ISSUER:
    case X509_V_ERR_CRL_SIGNATURE_FAILURE:
    case X509_V_ERR_UNABLE_TO_DECRYPT_CRL_SIGNATURE:
    case X509_V_ERR_KEYUSAGE_NO_CRL_SIGN: return CertReason::kCrlUnavailable;
    case X509_V_ERR_CRL_HAS_EXPIRED:
    case X509_V_ERR_CRL_NOT_YET_VALID: return CertReason::kCrlExpired;
    case X509_V_ERR_PATH_LENGTH_EXCEEDED: return CertReason::kPathTooLong;
    case X509_V_ERR_PERMITTED_VIOLATION:
    case X509_V_ERR_EXCLUDED_VIOLATION:
    case X509_V_ERR_SUBTREE_MINMAX:
    case X509_V_ERR_UNSUPPORTED_CONSTRAINT_TYPE:
    case X509_V_ERR_UNSUPPORTED_CONSTRAINT_SYNTAX:
    case X509_V_ERR_UNSUPPORTED_NAME_SYNTAX: return CertReason::kNameConstraint;
    case X509_V_ERR_HOSTNAME_MISMATCH: return CertReason::kHostnameMismatch;
    case X509_V_ERR_INVALID_EXTENSION:
    case X509_V_ERR_INVALID_NON_CA:
    case X509_V_ERR_UNHANDLED_CRITICAL_EXTENSION:
    case X509_V_ERR_ERROR_IN_CERT_NOT_BEFORE_FIELD:
    case X509_V_ERR_ERROR_IN_CERT_NOT_AFTER_FIELD: return CertReason::kMalformed;
    default: return CertReason::kOther;
  }
}

std::unexpected<CertificateFailure> refuse(CertReason reason, std::string detail) {
  return std::unexpected(CertificateFailure{reason, std::move(detail)});
}

}  // namespace

std::string_view cert_reason_name(CertReason reason) {
  switch (reason) {
    case CertReason::kUntrustedChain: return "untrusted_chain";
    case CertReason::kBadSignature: return "bad_signature";
    case CertReason::kExpired: return "expired";
    case CertReason::kNotYetValid: return "not_yet_valid";
    case CertReason::kNotACa: return "issuer_not_ca";
    case CertReason::kWrongPurpose: return "wrong_purpose";
    case CertReason::kRevoked: return "revoked";
    case CertReason::kCrlUnavailable: return "crl_unavailable";
    case CertReason::kCrlExpired: return "crl_expired";
    case CertReason::kPathTooLong: return "path_too_long";
    case CertReason::kNameConstraint: return "name_constraint_violation";
    case CertReason::kIdentityMissing: return "device_identity_missing";
    case CertReason::kHostnameMismatch: return "hostname_mismatch";
    case CertReason::kMalformed: return "malformed_certificate";
    case CertReason::kOther: return "not_trusted";
  }
  return "not_trusted";
}

Error CertificateFailure::to_error() const {
  return make_error(ErrorCode::kNotTrusted, cert_reason_name(reason), detail);
}

std::expected<VerifiedCertificate, CertificateFailure> verify_certificate(
    const Certificate& leaf, std::span<const Certificate> intermediates,
    std::span<const Certificate> anchors, const VerifyOptions& options) {
  if (anchors.empty()) return refuse(CertReason::kUntrustedChain, "no trust anchors given");
  // The leaf's own validity period first: OpenSSL checks revocation before times, and "the CRL is
  // stale" would hide the plainer truth that the certificate itself has expired.
  if (options.at < leaf.not_before()) {
    return refuse(CertReason::kNotYetValid,
                  "the certificate is not valid before " + std::to_string(leaf.not_before()));
  }
  if (options.at > leaf.not_after()) {
    return refuse(CertReason::kExpired,
                  "the certificate expired at " + std::to_string(leaf.not_after()));
  }
  ossl::StorePtr store(X509_STORE_new());
  ossl::X509StackPtr untrusted(sk_X509_new_null());
  ossl::CrlStackPtr crls(sk_X509_CRL_new_null());
  ossl::StoreCtxPtr ctx(X509_STORE_CTX_new());
  if (!store || !untrusted || !crls || !ctx) {
    return refuse(CertReason::kOther, "out of memory: " + ossl::drain_errors());
  }
  for (const auto& a : anchors) {
    if (X509_STORE_add_cert(store.get(), a.handle().x509.get()) != 1) {
      return refuse(CertReason::kMalformed, "cannot use trust anchor: " + ossl::drain_errors());
    }
  }
  for (const auto& c : intermediates) sk_X509_push(untrusted.get(), c.handle().x509.get());
  for (const auto& c : options.crls) sk_X509_CRL_push(crls.get(), c.handle().crl.get());

  if (X509_STORE_CTX_init(ctx.get(), store.get(), leaf.handle().x509.get(), untrusted.get()) != 1) {
    return refuse(CertReason::kOther, "cannot start verification: " + ossl::drain_errors());
  }
  X509_STORE_CTX_set0_crls(ctx.get(), crls.get());
  X509_VERIFY_PARAM* param = X509_STORE_CTX_get0_param(ctx.get());
  unsigned long flags = X509_V_FLAG_X509_STRICT;
  if (options.revocation == Revocation::kRequireCrl) flags |= X509_V_FLAG_CRL_CHECK;
  X509_VERIFY_PARAM_set_flags(param, flags);
  X509_VERIFY_PARAM_set_time(param, static_cast<time_t>(options.at));
  X509_VERIFY_PARAM_set_purpose(param, options.purpose == Purpose::kServer
                                           ? X509_PURPOSE_SSL_SERVER
                                           : X509_PURPOSE_SSL_CLIENT);
  if (options.purpose == Purpose::kServer && !options.hostname.empty()) {
    X509_VERIFY_PARAM_set_hostflags(
        param, X509_CHECK_FLAG_NO_PARTIAL_WILDCARDS | X509_CHECK_FLAG_NEVER_CHECK_SUBJECT);
    X509_VERIFY_PARAM_set1_host(param, options.hostname.c_str(), options.hostname.size());
  }

  const int ok = X509_verify_cert(ctx.get());
  if (ok != 1) {
    const int err = X509_STORE_CTX_get_error(ctx.get());
    const int depth = X509_STORE_CTX_get_error_depth(ctx.get());
    ossl::drain_errors();
    return refuse(reason_of(err), std::string(X509_verify_cert_error_string(err)) + " (at depth " +
                                      std::to_string(depth) + ", " +
                                      (depth == 0 ? "the certificate itself" : "an issuer") + ")");
  }

  VerifiedCertificate out{std::nullopt, leaf.fingerprint_hex(), leaf.serial_hex()};
  if (leaf.is_ca()) {
    return refuse(CertReason::kWrongPurpose, "a CA certificate cannot authenticate a peer");
  }
  if (options.purpose == Purpose::kDeviceClient) {
    out.device = leaf.device_name();
    if (!out.device) {
      return refuse(CertReason::kIdentityMissing,
                    "the certificate carries no single well-formed urn:ironseal:device URI");
    }
  }
  return out;
}

}  // namespace ironseal::pki
