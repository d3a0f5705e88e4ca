#include "net/tls_client.h"
#include "net/curl_body.h"

#include <curl/curl.h>
#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>

#include <vector>

#include "core/file.h"

namespace ironseal::net {

struct ClientIdentity::Parts {
  std::shared_ptr<X509> leaf;
  std::vector<std::shared_ptr<X509>> chain;
  std::shared_ptr<EVP_PKEY> key;
};

namespace {

std::shared_ptr<X509> own(X509* x) { return std::shared_ptr<X509>(x, X509_free); }

std::string openssl_error() {
  const unsigned long e = ERR_get_error();
  ERR_clear_error();
  if (e == 0) return "unknown OpenSSL error";
  char text[256];
  ERR_error_string_n(e, text, sizeof text);
  return text;
}

CURLcode on_ssl_ctx(CURL*, void* ssl_ctx, void* user) {
  const auto* tls = static_cast<const TlsClient*>(user);
  if (tls->identity && !tls->identity->install(static_cast<SSL_CTX*>(ssl_ctx))) {
    return CURLE_SSL_CERTPROBLEM;
  }
  return CURLE_OK;
}

}  // namespace

Result<ClientIdentity> ClientIdentity::create(const std::filesystem::path& chain_pem,
                                              std::shared_ptr<EVP_PKEY> key,
                                              const std::filesystem::path& extra_chain_pem) {
  if (!key) return fail(ErrorCode::kInvalidArgument, "client identity without a private key");
  auto parts = std::make_shared<Parts>();
  for (const auto& file : {chain_pem, extra_chain_pem}) {
    if (file.empty()) continue;
    auto text = read_file(file);
    if (!text) return std::unexpected(text.error());
    std::unique_ptr<BIO, decltype(&BIO_free)> bio(
        BIO_new_mem_buf(text->data(), static_cast<int>(text->size())), BIO_free);
    while (X509* x = PEM_read_bio_X509(bio.get(), nullptr, nullptr, nullptr)) {
      if (!parts->leaf) {
        parts->leaf = own(x);
      } else {
        parts->chain.push_back(own(x));
      }
    }
    ERR_clear_error();  // the loop ends on "no start line"
  }
  if (!parts->leaf) {
    return fail(ErrorCode::kMalformed, chain_pem.string(), ": no PEM certificate in it");
  }
  if (X509_check_private_key(parts->leaf.get(), key.get()) != 1) {
    ERR_clear_error();
    return fail(ErrorCode::kNotTrusted, chain_pem.string(),
                ": the certificate does not belong to the device's private key");
  }
  parts->key = std::move(key);
  return ClientIdentity(std::move(parts));
}

Result<ClientIdentity> ClientIdentity::load(const std::filesystem::path& chain_pem,
                                            const std::filesystem::path& key_pem) {
  if (auto mode = check_private_file_mode(key_pem); !mode) {
    return std::unexpected(mode.error());
  }
  auto text = read_file(key_pem);
  if (!text) return std::unexpected(text.error());
  std::unique_ptr<BIO, decltype(&BIO_free)> bio(
      BIO_new_mem_buf(text->data(), static_cast<int>(text->size())), BIO_free);
  // No passphrase callback: an encrypted key is refused rather than prompted for.
  EVP_PKEY* raw = PEM_read_bio_PrivateKey(bio.get(), nullptr, [](char*, int, int, void*) { return 0; },
                                          nullptr);
  OPENSSL_cleanse(text->data(), text->size());
  if (raw == nullptr) {
    return fail(ErrorCode::kMalformed, key_pem.string(), ": not an unencrypted PEM private key (",
                openssl_error(), ")");
  }
  return create(chain_pem, std::shared_ptr<EVP_PKEY>(raw, EVP_PKEY_free));
}

bool ClientIdentity::install(SSL_CTX* ctx) const {
  if (SSL_CTX_use_certificate(ctx, parts_->leaf.get()) != 1) return false;
  for (const auto& c : parts_->chain) {
    if (SSL_CTX_add1_chain_cert(ctx, c.get()) != 1) return false;
  }
  return SSL_CTX_use_PrivateKey(ctx, parts_->key.get()) == 1 && SSL_CTX_check_private_key(ctx) == 1;
}

bool curl_global() {
  static const bool ok = curl_global_init(CURL_GLOBAL_DEFAULT) == CURLE_OK;
  return ok;
}

void apply(void* curl, const TlsClient& tls) {
  CURL* c = static_cast<CURL*>(curl);
  curl_easy_setopt(c, CURLOPT_SSL_VERIFYPEER, 1L);
  curl_easy_setopt(c, CURLOPT_SSL_VERIFYHOST, 2L);
  curl_easy_setopt(c, CURLOPT_SSLVERSION, static_cast<long>(CURL_SSLVERSION_TLSv1_2));
  if (!tls.ca_file.empty()) curl_easy_setopt(c, CURLOPT_CAINFO, tls.ca_file.c_str());
  if (tls.identity) {
    curl_easy_setopt(c, CURLOPT_SSL_CTX_FUNCTION, &on_ssl_ctx);
    curl_easy_setopt(c, CURLOPT_SSL_CTX_DATA, const_cast<TlsClient*>(&tls));
  }
}

}  // namespace ironseal::net
