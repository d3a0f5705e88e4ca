#include "repo/signature.h"

#include <openssl/core_names.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rsa.h>

#include <set>

#include "crypto/ossl.h"

namespace ironseal::repo {
namespace {

using crypto::ossl::BioPtr;
using crypto::ossl::MdCtxPtr;
using crypto::ossl::PkeyPtr;

struct SchemeInfo {
  enum Family { kEd25519, kEcdsa, kRsaPss, kRsaPkcs1 } family;
  const EVP_MD* md = nullptr;
  const char* curve = nullptr;  // ECDSA: the group name OpenSSL reports
};

std::optional<SchemeInfo> scheme_info(const Key& key) {
  const std::string& t = key.keytype;
  const std::string& s = key.scheme;
  if (t == "ed25519" && s == "ed25519") return SchemeInfo{SchemeInfo::kEd25519};
  if ((t == "ecdsa" || t == s) && s == "ecdsa-sha2-nistp256") {
    return SchemeInfo{SchemeInfo::kEcdsa, EVP_sha256(), "prime256v1"};
  }
  if ((t == "ecdsa" || t == s) && s == "ecdsa-sha2-nistp384") {
    return SchemeInfo{SchemeInfo::kEcdsa, EVP_sha384(), "secp384r1"};
  }
  if (t != "rsa") return std::nullopt;
  static const std::pair<const char*, const EVP_MD* (*)()> kHashes[] = {
      {"sha224", EVP_sha224}, {"sha256", EVP_sha256}, {"sha384", EVP_sha384},
      {"sha512", EVP_sha512}};
  for (const auto& [name, md] : kHashes) {
    if (s == std::string("rsassa-pss-") + name) return SchemeInfo{SchemeInfo::kRsaPss, md()};
    if (s == std::string("rsa-pkcs1v15-") + name) return SchemeInfo{SchemeInfo::kRsaPkcs1, md()};
  }
  return std::nullopt;
}

PkeyPtr load_pem_public(const std::string& pem) {
  BioPtr bio(BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size())));
  if (!bio) return nullptr;
  return PkeyPtr(PEM_read_bio_PUBKEY(bio.get(), nullptr, nullptr, nullptr));
}

bool verify_impl(const Key& key, ByteView message, ByteView sig) {
  const auto info = scheme_info(key);
  if (!info) return false;
  PkeyPtr pkey;
  if (info->family == SchemeInfo::kEd25519) {
    auto raw = from_hex(key.public_value);
    if (!raw || raw->size() != 32) return false;
    pkey.reset(EVP_PKEY_new_raw_public_key(EVP_PKEY_ED25519, nullptr, raw->data(), raw->size()));
  } else {
    pkey = load_pem_public(key.public_value);
  }
  if (!pkey) return false;
  if (info->family == SchemeInfo::kEcdsa) {
    char group[64] = {};
    std::size_t len = 0;
    if (!EVP_PKEY_is_a(pkey.get(), "EC") ||
        EVP_PKEY_get_group_name(pkey.get(), group, sizeof group, &len) != 1 ||
        std::string_view(group) != info->curve) {
      return false;
    }
  }
  if ((info->family == SchemeInfo::kRsaPss || info->family == SchemeInfo::kRsaPkcs1) &&
      !EVP_PKEY_is_a(pkey.get(), "RSA")) {
    return false;
  }
  MdCtxPtr ctx(EVP_MD_CTX_new());
  if (!ctx) return false;
  EVP_PKEY_CTX* pctx = nullptr;  // owned by ctx
  if (EVP_DigestVerifyInit(ctx.get(), &pctx, info->md, nullptr, pkey.get()) != 1) return false;
  if (info->family == SchemeInfo::kRsaPss) {
    if (EVP_PKEY_CTX_set_rsa_padding(pctx, RSA_PKCS1_PSS_PADDING) != 1 ||
        EVP_PKEY_CTX_set_rsa_mgf1_md(pctx, info->md) != 1 ||
        EVP_PKEY_CTX_set_rsa_pss_saltlen(pctx, RSA_PSS_SALTLEN_AUTO) != 1) {
      return false;
    }
  } else if (info->family == SchemeInfo::kRsaPkcs1) {
    if (EVP_PKEY_CTX_set_rsa_padding(pctx, RSA_PKCS1_PADDING) != 1) return false;
  }
  return EVP_DigestVerify(ctx.get(), sig.data(), sig.size(), message.data(), message.size()) == 1;
}

}  // namespace

bool verify_signature(const Key& key, ByteView message, std::string_view sig_hex) {
  auto sig = from_hex(sig_hex);
  if (!sig || sig->empty()) return false;
  const bool ok = verify_impl(key, message, *sig);
  (void)crypto::ossl::drain_errors();  // a failed verification must not leak into later calls
  return ok;
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
    const EVP_MD* md = nullptr;
    if (alg == "sha224") md = EVP_sha224();
    if (alg == "sha256") md = EVP_sha256();
    if (alg == "sha384") md = EVP_sha384();
    if (alg == "sha512") md = EVP_sha512();
    if (md == nullptr) {
      return refuse(Reason::kHashMismatch, what, ": unsupported hash algorithm ", alg);
    }
    unsigned char out[EVP_MAX_MD_SIZE];
    unsigned int out_len = 0;
    if (EVP_Digest(data.data(), data.size(), out, &out_len, md, nullptr) != 1) {
      return refuse(Reason::kHashMismatch, what, ": cannot compute ", alg);
    }
    auto want = from_hex(expected);
    if (!want || want->size() != out_len || !std::equal(want->begin(), want->end(), out)) {
      return refuse(Reason::kHashMismatch, what, ": ", alg, " does not match");
    }
  }
  return {};
}

}  // namespace ironseal::repo
