// The service's EST routes (est.h EstEndpoint); the CSR check they share with the fuzz target
// is in est.cc, which links without the service.
#include "fleet/answers.h"
#include "fleet/est.h"

namespace ironseal::fleet {

EstEndpoint::EstEndpoint(CertificateIssuer* issuer, SharedStore& shared, Metrics& metrics)
    : issuer_(issuer), shared_(shared), metrics_(metrics) {}

std::optional<HttpResponse> EstEndpoint::refuse_unissued(const HttpRequest& r,
                                                         const DeviceIdentity& id) {
  // Enrolment certificates come from the factory CA, not the issuer's index.
  if (issuer_ == nullptr || id.enrolment_only) return std::nullopt;
  auto issued = issuer_->check_issued(id);
  if (issued) return std::nullopt;
  if (issued.error().code != ErrorCode::kNotTrusted) return from_error(issued.error());
  const bool revoked = issued.error().message.starts_with("revoked");
  auto lock = shared_.lock();
  (void)shared_.audit("device:" + id.serial, "device.access", "refused",
                      {{"reason", issued.error().message},
                       {"path", r.target},
                       {"peer", r.peer},
                       {"certificate_sha256", id.certificate_sha256}});
  return error_response(403, revoked ? "revoked" : "not_issued", issued.error().message);
}

HttpResponse EstEndpoint::handle(const HttpRequest& r, const std::string& op) {
  if (op == "cacerts") {
    if (r.method != "GET") return method_not_allowed("GET");
  } else if (r.method != "POST") {
    return method_not_allowed("POST");
  }
  if (issuer_ == nullptr) {
    return error_response(501, "no_issuer", "this server has no certificate issuer configured");
  }
  if (op != "cacerts") return enrol(r, op);
  HttpResponse out;
  out.content_type = "application/pkcs7-mime";
  out.headers.emplace_back("Content-Transfer-Encoding", "base64");
  auto cas = issuer_->ca_certificates();
  if (!cas) return from_error(cas.error());
  auto p7 = certs_only_base64(*cas);
  if (!p7) return from_error(p7.error());
  out.body = std::move(*p7);
  return out;
}

std::optional<HttpResponse> EstEndpoint::refuse_csr(const std::string& op, const DeviceIdentity& id,
                                                    const CheckedCsr& csr,
                                                    DeviceIdentity* subject) {
  auto lock = shared_.lock();
  if (!csr.serial.empty() && csr.serial != id.serial) {
    (void)shared_.audit("device:" + id.serial, "est." + op, "refused",
                        {{"reason", "CSR names serial " + csr.serial}});
    return error_response(
        403, "serial_mismatch",
        "the CSR names serial " + csr.serial + ", the client certificate " + id.serial);
  }
  *subject = id;
  if (const CachedDevice* dev = shared_.devices().find(id.serial); dev != nullptr) {
    subject->hardware_id = dev->hardware_id;
  }
  // The certificate names the registered hardware id; a CSR asking for another is refused.
  if (!csr.hardware_id.empty() && csr.hardware_id != subject->hardware_id) {
    (void)shared_.audit("device:" + id.serial, "est." + op, "refused",
                        {{"reason", "hardware_mismatch: CSR names hardware id " + csr.hardware_id},
                         {"registered_hardware_id", subject->hardware_id}});
    return error_response(403, "hardware_mismatch",
                          "the CSR names hardware id " + csr.hardware_id + ", " + id.serial +
                              " is registered as " + subject->hardware_id);
  }
  return std::nullopt;
}

HttpResponse EstEndpoint::enrol(const HttpRequest& r, const std::string& op) {
  const DeviceIdentity& id = *r.device;
  if (!r.content_type.starts_with("application/pkcs10")) {
    return error_response(415, "unsupported_media_type", "send application/pkcs10");
  }
  if (op == "simplereenroll" && id.enrolment_only) {
    return error_response(403, "enrolment_only", "renewal needs the current device certificate");
  }
  auto csr = check_csr(r.body);
  if (!csr) {
    auto lock = shared_.lock();
    (void)shared_.audit("device:" + id.serial, "est." + op, "refused",
                        {{"reason", csr.error().message}});
    return error_response(400, "bad_csr", csr.error().message);
  }
  DeviceIdentity subject;
  if (auto refused = refuse_csr(op, id, *csr, &subject)) return *refused;
  auto chain = issuer_->issue(csr->der, subject);
  if (!chain && chain.error().code == ErrorCode::kNotTrusted) {
    // The CA's policy refused: audited, and its reason is the answer's error code.
    const std::string& why = chain.error().message;
    const std::string& token = chain.error().reason;
    auto lock = shared_.lock();
    (void)shared_.audit("device:" + id.serial, "est." + op, "refused", {{"reason", why}});
    return error_response(403, valid_name(token, 64) ? std::string_view(token) : "forbidden", why,
                          token);
  }
  if (!chain) return from_error(chain.error());
  auto p7 = certs_only_base64(*chain);
  if (!p7) return from_error(p7.error());
  {
    auto lock = shared_.lock();
    if (auto ok = shared_.audit("device:" + id.serial, "est." + op, "ok",
                                {{"previous_certificate", id.certificate_serial}});
        !ok) {
      return from_error(ok.error());
    }
  }
  metrics_.certificates_issued++;
  HttpResponse out;
  out.content_type = "application/pkcs7-mime; smime-type=certs-only";
  out.headers.emplace_back("Content-Transfer-Encoding", "base64");
  out.body = std::move(*p7);
  return out;
}

}  // namespace ironseal::fleet
