#include "crypto/random.h"

#include <openssl/rand.h>

#include <climits>

#include "crypto/ossl.h"

namespace ironseal::crypto {

Result<Bytes> random_bytes(std::size_t count) {
  if (count > INT_MAX) return fail(ErrorCode::kInvalidArgument, "too many random bytes asked for");
  Bytes out(count);
  if (count > 0 && RAND_bytes(out.data(), static_cast<int>(count)) != 1) {
    return fail(ErrorCode::kCrypto, "no random bytes: ", ossl::drain_errors());
  }
  return out;
}

}  // namespace ironseal::crypto
