// The OpenSSL X.509 handle types src/pki uses (crypto::ossl::Owned: one RAII family for the
// tree), and the internals of the pki value types (KeyPair, Certificate, CertificateRequest, Crl).
// Internal to src/pki: the public headers show no OpenSSL type, except through this file for a
// key backend (TPM) that hands over an EVP_PKEY it made.
#pragma once

#include <openssl/evp.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include <memory>

#include "crypto/ossl.h"

namespace ironseal::pki::ossl {

// One RAII family for every OpenSSL handle: crypto::ossl::Owned (crypto/ossl.h).
using crypto::ossl::BioPtr;
using crypto::ossl::BnPtr;
using crypto::ossl::drain_errors;
using crypto::ossl::Owned;
using crypto::ossl::OwnedMemory;
using crypto::ossl::PkeyCtxPtr;
using crypto::ossl::PkeyPtr;

using X509Ptr = Owned<X509, X509_free>;
using ReqPtr = Owned<X509_REQ, X509_REQ_free>;
using CrlPtr = Owned<X509_CRL, X509_CRL_free>;
using NamePtr = Owned<X509_NAME, X509_NAME_free>;
using StorePtr = Owned<X509_STORE, X509_STORE_free>;
using StoreCtxPtr = Owned<X509_STORE_CTX, X509_STORE_CTX_free>;
using ExtPtr = Owned<X509_EXTENSION, X509_EXTENSION_free>;
using RevokedPtr = Owned<X509_REVOKED, X509_REVOKED_free>;
using AsnIntPtr = Owned<ASN1_INTEGER, ASN1_INTEGER_free>;
using AsnTimePtr = Owned<ASN1_TIME, ASN1_TIME_free>;
using AsnEnumPtr = Owned<ASN1_ENUMERATED, ASN1_ENUMERATED_free>;
using GeneralNamesPtr = Owned<GENERAL_NAMES, GENERAL_NAMES_free>;
using GeneralNamePtr = Owned<GENERAL_NAME, GENERAL_NAME_free>;
using NameConstraintsPtr = Owned<NAME_CONSTRAINTS, NAME_CONSTRAINTS_free>;

// The sk_*_free "functions" are macros: a function to take the address of, then the same family.
inline void free_extension_stack(STACK_OF(X509_EXTENSION) * s) {
  sk_X509_EXTENSION_pop_free(s, X509_EXTENSION_free);
}
using ExtStackPtr = Owned<STACK_OF(X509_EXTENSION), free_extension_stack>;
inline void free_x509_stack(STACK_OF(X509) * s) {
  sk_X509_free(s);
}  // does not own the certs
using X509StackPtr = Owned<STACK_OF(X509), free_x509_stack>;
inline void free_crl_stack(STACK_OF(X509_CRL) * s) {
  sk_X509_CRL_free(s);
}
using CrlStackPtr = Owned<STACK_OF(X509_CRL), free_crl_stack>;

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
