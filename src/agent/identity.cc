#include "agent/identity.h"

#include "core/file.h"
#include "device/identity.h"
#include "net/est_wire.h"
#include "pki/certificate.h"
#include "pki/verify.h"

namespace ironseal::agent {

Result<net::TlsClient> device_tls(const std::filesystem::path& device_dir,
                                  const std::filesystem::path& ca_override) {
  const auto paths = pki::identity_paths(device_dir);
  auto key = pki::load_device_tls_key(paths);
  if (!key) return std::unexpected(key.error());
  auto identity = net::ClientIdentity::create(paths.certificate, *key, paths.chain);
  if (!identity) return std::unexpected(identity.error());
  net::TlsClient tls;
  tls.ca_file = ca_override.empty() ? paths.anchors : ca_override;
  tls.identity = std::make_shared<const net::ClientIdentity>(std::move(*identity));
  return tls;
}

Result<Renewal> renew_certificate(FleetClient& client, const std::filesystem::path& device_dir,
                                  std::int64_t now) {
  const auto paths = pki::identity_paths(device_dir);
  auto name = pki::read_device_name(device_dir);
  if (!name) return std::unexpected(name.error());
  auto key = pki::load_device_key(paths);
  if (!key) return std::unexpected(key.error());
  auto csr = pki::CertificateRequest::for_device(*key, *name);
  if (!csr) return std::unexpected(csr.error());

  auto answer = client.request("POST", "/.well-known/est/simplereenroll", "application/pkcs10",
                               net::base64_encode(csr->der()));
  if (!answer) return std::unexpected(answer.error());
  if (answer->status != 200) {
    return fail(
        answer->status == 401 || answer->status == 403 ? ErrorCode::kNotTrusted : ErrorCode::kIo,
        "EST simplereenroll answered ", std::to_string(answer->status), ": ",
        answer->body.substr(0, 300));
  }
  auto ders = net::parse_certs_only_base64(answer->body);
  if (!ders) return std::unexpected(ders.error());
  auto leaf = pki::Certificate::from_der(ders->front());
  if (!leaf) return std::unexpected(leaf.error());
  std::vector<pki::Certificate> chain;
  for (std::size_t i = 1; i < ders->size(); ++i) {
    auto c = pki::Certificate::from_der((*ders)[i]);
    if (!c) return std::unexpected(c.error());
    chain.push_back(std::move(*c));
  }
  // Nothing is replaced unless the answer is exactly what was asked for.
  if (leaf->spki_der() != key->spki_der()) {
    return fail(ErrorCode::kNotTrusted, "EST answer certifies another key than the device's");
  }
  auto anchors = pki::Certificate::load_all(paths.anchors);
  if (!anchors) return std::unexpected(anchors.error());
  pki::VerifyOptions options;
  options.purpose = pki::Purpose::kDeviceClient;
  options.at = now;
  // The device holds no CRL; the server checks revocation of every connection.
  options.revocation = pki::Revocation::kNotChecked;
  auto verified = pki::verify_certificate(*leaf, chain, *anchors, options);
  if (!verified) return std::unexpected(verified.error().to_error());
  if (!verified->device || !(*verified->device == *name)) {
    return fail(ErrorCode::kNotTrusted, "EST answer names another device than ", name->serial);
  }
  std::string chain_pem;
  for (const auto& c : chain) chain_pem += c.to_pem();
  if (auto w = write_file_atomic(paths.chain, as_bytes(chain_pem)); !w)
    return std::unexpected(w.error());
  if (auto w = write_file_atomic(paths.certificate, as_bytes(leaf->to_pem())); !w) {
    return std::unexpected(w.error());
  }
  return Renewal{verified->serial_hex, leaf->not_after()};
}

}  // namespace ironseal::agent
