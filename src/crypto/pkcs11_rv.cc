// PKCS#11 return values (pkcs11_internal.h): their names, and the ErrorCode each maps to.
#include <cstdio>
#include <string>

#include "crypto/pkcs11_internal.h"

namespace ironseal::crypto::pkcs11 {
namespace {

std::string rv_name(CK_RV rv) {
  switch (rv) {
#define IRONSEAL_CKR(x) \
  case x: return #x;
    IRONSEAL_CKR(CKR_OK)
    IRONSEAL_CKR(CKR_GENERAL_ERROR)
    IRONSEAL_CKR(CKR_ARGUMENTS_BAD)
    IRONSEAL_CKR(CKR_ATTRIBUTE_SENSITIVE)
    IRONSEAL_CKR(CKR_ATTRIBUTE_TYPE_INVALID)
    IRONSEAL_CKR(CKR_ATTRIBUTE_VALUE_INVALID)
    IRONSEAL_CKR(CKR_DEVICE_ERROR)
    IRONSEAL_CKR(CKR_DOMAIN_PARAMS_INVALID)
    IRONSEAL_CKR(CKR_FUNCTION_FAILED)
    IRONSEAL_CKR(CKR_KEY_HANDLE_INVALID)
    IRONSEAL_CKR(CKR_KEY_TYPE_INCONSISTENT)
    IRONSEAL_CKR(CKR_MECHANISM_INVALID)
    IRONSEAL_CKR(CKR_MECHANISM_PARAM_INVALID)
    IRONSEAL_CKR(CKR_PIN_INCORRECT)
    IRONSEAL_CKR(CKR_PIN_INVALID)
    IRONSEAL_CKR(CKR_PIN_LEN_RANGE)
    IRONSEAL_CKR(CKR_PIN_EXPIRED)
    IRONSEAL_CKR(CKR_PIN_LOCKED)
    IRONSEAL_CKR(CKR_SESSION_HANDLE_INVALID)
    IRONSEAL_CKR(CKR_SLOT_ID_INVALID)
    IRONSEAL_CKR(CKR_TEMPLATE_INCOMPLETE)
    IRONSEAL_CKR(CKR_TEMPLATE_INCONSISTENT)
    IRONSEAL_CKR(CKR_TOKEN_NOT_PRESENT)
    IRONSEAL_CKR(CKR_TOKEN_NOT_RECOGNIZED)
    IRONSEAL_CKR(CKR_TOKEN_WRITE_PROTECTED)
    IRONSEAL_CKR(CKR_USER_NOT_LOGGED_IN)
    IRONSEAL_CKR(CKR_USER_PIN_NOT_INITIALIZED)
    IRONSEAL_CKR(CKR_USER_ALREADY_LOGGED_IN)
    IRONSEAL_CKR(CKR_BUFFER_TOO_SMALL)
    IRONSEAL_CKR(CKR_CRYPTOKI_NOT_INITIALIZED)
    IRONSEAL_CKR(CKR_CRYPTOKI_ALREADY_INITIALIZED)
#undef IRONSEAL_CKR
    default: {
      char buf[32];
      std::snprintf(buf, sizeof buf, "CKR 0x%lx", static_cast<unsigned long>(rv));
      return buf;
    }
  }
}

}  // namespace

std::unexpected<Error> ck_fail(CK_RV rv, std::string_view what) {
  ErrorCode code = ErrorCode::kCrypto;
  switch (rv) {
    case CKR_PIN_INCORRECT:
    case CKR_PIN_INVALID:
    case CKR_PIN_LEN_RANGE:
    case CKR_PIN_EXPIRED:
    case CKR_PIN_LOCKED:
    case CKR_USER_PIN_NOT_INITIALIZED: code = ErrorCode::kPermission; break;
    case CKR_TOKEN_NOT_PRESENT:
    case CKR_SLOT_ID_INVALID:
    case CKR_KEY_HANDLE_INVALID: code = ErrorCode::kNotFound; break;
    case CKR_MECHANISM_INVALID:
    case CKR_KEY_TYPE_INCONSISTENT:
    case CKR_DOMAIN_PARAMS_INVALID: code = ErrorCode::kUnsupported; break;
    default: break;
  }
  return fail(code, "PKCS#11: ", what, " failed (", rv_name(rv), ")");
}

}  // namespace ironseal::crypto::pkcs11
