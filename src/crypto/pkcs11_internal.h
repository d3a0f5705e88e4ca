// Internals of the PKCS#11 backend (pkcs11.h), private to src/crypto: what a PKCS#11 return
// value means to ironseal.
#pragma once

#include <p11-kit/pkcs11.h>

#include <string_view>

#include "core/result.h"

namespace ironseal::crypto::pkcs11 {

// The error for a failed PKCS#11 call `what`: its code from the return value (a wrong or locked
// PIN is kPermission, a missing token or key kNotFound, an unsupported mechanism or key type
// kUnsupported, anything else kCrypto), its message naming the CKR_ value.
std::unexpected<Error> ck_fail(CK_RV rv, std::string_view what);

}  // namespace ironseal::crypto::pkcs11
