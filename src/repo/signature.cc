#include "repo/signature.h"

#include <set>

#include "crypto/hash.h"
#include "crypto/verifier.h"

namespace ironseal::repo {

bool verify_signature(const Key& key, ByteView message, std::string_view sig_hex) {
  auto sig = from_hex(sig_hex);
  if (!sig || sig->empty()) return false;
  // The key decides the scheme; a key this client cannot use never verifies.
  auto verifier = crypto::Verifier::from_tuf_key(key.keytype, key.scheme, key.public_value);
  return verifier && verifier->verify(message, *sig);
}

TufResult<void> verify_threshold(std::string_view role_name, const RoleKeys& role,
                                 const KeyMap& keys, const std::vector<Signature>& signatures,
                                 std::string_view canonical_signed) {
  std::set<std::string> counted;
  for (const auto& keyid : role.keyids) {
    if (counted.contains(keyid)) continue;  // a repeated authorization counts once
    auto key = keys.find(keyid);
    if (key == keys.end()) continue;
    for (const auto& sig : signatures) {
      if (sig.keyid != keyid) continue;
      if (verify_signature(key->second, as_bytes(canonical_signed), sig.sig)) {
        counted.insert(keyid);
        break;
      }
    }
  }
  if (counted.size() < role.threshold) {
    return refuse(Reason::kThresholdNotMet, role_name, ": ", std::to_string(counted.size()),
                  " valid signature(s) from authorized keys, threshold is ",
                  std::to_string(role.threshold));
  }
  return {};
}

TufResult<void> verify_length_and_hashes(ByteView data, std::optional<std::uint64_t> length,
                                         const std::map<std::string, std::string>& hashes,
                                         std::string_view what) {
  if (length && data.size() != *length) {
    return refuse(Reason::kLengthMismatch, what, ": length ", std::to_string(data.size()),
                  ", expected ", std::to_string(*length));
  }
  for (const auto& [alg, expected] : hashes) {
    const auto algorithm = crypto::hash_algorithm_from_name(alg);
    if (!algorithm) {
      return refuse(Reason::kHashMismatch, what, ": unsupported hash algorithm ", alg);
    }
    const Bytes actual = crypto::digest(*algorithm, data);
    auto want = from_hex(expected);
    if (!want || *want != actual) {
      return refuse(Reason::kHashMismatch, what, ": ", alg, " does not match");
    }
  }
  return {};
}

}  // namespace ironseal::repo
