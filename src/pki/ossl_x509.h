// RAII owners for the OpenSSL X.509 handles src/pki uses, and the internals of the pki value
// types (KeyPair, Certificate, CertificateRequest, Crl). Internal to src/pki: the public headers
// show no OpenSSL type, except through this file for a key backend (TPM) that hands over an
// EVP_PKEY it made.
#pragma once

#include <openssl/evp.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include <memory>

#include "crypto/ossl.h"

namespace ironseal::pki::ossl {

using crypto::ossl::BioPtr;
using crypto::ossl::drain_errors;
using crypto::ossl::PkeyCtxPtr;
using crypto::ossl::PkeyPtr;

template <typename T, void (*F)(T*)>
struct Deleter {
  void operator()(T* p) const { F(p); }
};

using X509Ptr = std::unique_ptr<X509, Deleter<X509, X509_free>>;
using ReqPtr = std::unique_ptr<X509_REQ, Deleter<X509_REQ, X509_REQ_free>>;
using CrlPtr = std::unique_ptr<X509_CRL, Deleter<X509_CRL, X509_CRL_free>>;
using NamePtr = std::unique_ptr<X509_NAME, Deleter<X509_NAME, X509_NAME_free>>;
using StorePtr = std::unique_ptr<X509_STORE, Deleter<X509_STORE, X509_STORE_free>>;
using StoreCtxPtr = std::unique_ptr<X509_STORE_CTX, Deleter<X509_STORE_CTX, X509_STORE_CTX_free>>;
using ExtPtr = std::unique_ptr<X509_EXTENSION, Deleter<X509_EXTENSION, X509_EXTENSION_free>>;
using RevokedPtr = std::unique_ptr<X509_REVOKED, Deleter<X509_REVOKED, X509_REVOKED_free>>;
using AsnIntPtr = std::unique_ptr<ASN1_INTEGER, Deleter<ASN1_INTEGER, ASN1_INTEGER_free>>;
using AsnTimePtr = std::unique_ptr<ASN1_TIME, Deleter<ASN1_TIME, ASN1_TIME_free>>;
using AsnEnumPtr = std::unique_ptr<ASN1_ENUMERATED, Deleter<ASN1_ENUMERATED, ASN1_ENUMERATED_free>>;
using BnPtr = std::unique_ptr<BIGNUM, Deleter<BIGNUM, BN_free>>;
using GeneralNamesPtr = std::unique_ptr<GENERAL_NAMES, Deleter<GENERAL_NAMES, GENERAL_NAMES_free>>;
using GeneralNamePtr = std::unique_ptr<GENERAL_NAME, Deleter<GENERAL_NAME, GENERAL_NAME_free>>;
using NameConstraintsPtr =
    std::unique_ptr<NAME_CONSTRAINTS, Deleter<NAME_CONSTRAINTS, NAME_CONSTRAINTS_free>>;

inline void free_extension_stack(STACK_OF(X509_EXTENSION) * s) {
  sk_X509_EXTENSION_pop_free(s, X509_EXTENSION_free);
}
using ExtStackPtr = std::unique_ptr<STACK_OF(X509_EXTENSION),
                                    Deleter<STACK_OF(X509_EXTENSION), free_extension_stack>>;
inline void free_x509_stack(STACK_OF(X509) * s) {
  sk_X509_free(s);
}  // does not own the certs
using X509StackPtr = std::unique_ptr<STACK_OF(X509), Deleter<STACK_OF(X509), free_x509_stack>>;
inline void free_crl_stack(STACK_OF(X509_CRL) * s) {
  sk_X509_CRL_free(s);
}
using CrlStackPtr =
    std::unique_ptr<STACK_OF(X509_CRL), Deleter<STACK_OF(X509_CRL), free_crl_stack>>;

}  // namespace ironseal::pki::ossl

namespace ironseal::pki {

struct KeyHandle {
  ossl::PkeyPtr pkey;
};
struct CertificateHandle {
  ossl::X509Ptr x509;
};
struct RequestHandle {
  ossl::ReqPtr req;
};
struct CrlHandle {
  ossl::CrlPtr crl;
};

}  // namespace ironseal::pki
