#include "pki/decommission.h"

#include <nlohmann/json.hpp>

#include "core/bytes.h"

namespace ironseal::pki {

Result<std::string> sign_decommission_record(const KeyPair& key, const Certificate& cert,
                                             UnixTime now) {
  if (key.spki_der() != cert.spki_der()) {
    return fail(ErrorCode::kNotTrusted, "the device certificate is not for the device key");
  }
  auto name = cert.device_name();
  if (!name) return fail(ErrorCode::kNotTrusted, "the device certificate names no device");
  const nlohmann::json payload = {{"type", "decommission"},
                                  {"serial", name->serial},
                                  {"hardware_id", name->hardware_id},
                                  {"certificate_serial", cert.serial_hex()},
                                  {"certificate_sha256", cert.fingerprint_hex()},
                                  {"decommissioned_at", now}};
  const std::string text = payload.dump();
  auto sig = key.sign(as_bytes(text));
  if (!sig) return std::unexpected(sig.error());
  const nlohmann::json record = {{"format", "ironseal-decommission-1"},
                                 {"payload", text},
                                 {"signature_hex", to_hex(*sig)},
                                 {"certificate_pem", cert.to_pem()}};
  return record.dump(2) + "\n";
}

Result<DecommissionClaim> verify_decommission_record(std::string_view record_json) {
  std::string payload_text, signature_hex, cert_pem;
  try {
    const auto j = nlohmann::json::parse(record_json);
    if (j.at("format") != "ironseal-decommission-1") {
      return fail(ErrorCode::kMalformed, "not an ironseal decommission record");
    }
    payload_text = j.at("payload").get<std::string>();
    signature_hex = j.at("signature_hex").get<std::string>();
    cert_pem = j.at("certificate_pem").get<std::string>();
  } catch (const nlohmann::json::exception& e) {
    return fail(ErrorCode::kMalformed, "decommission record: ", e.what());
  }
  auto cert = Certificate::from_pem(cert_pem);
  if (!cert) return fail(ErrorCode::kMalformed, "decommission record: ", cert.error().message);
  auto sig = from_hex(signature_hex);
  if (!sig) return fail(ErrorCode::kMalformed, "decommission record: bad signature encoding");
  if (auto v = verify_with_spki(cert->spki_der(), as_bytes(payload_text), *sig); !v) {
    return fail(ErrorCode::kNotTrusted,
                "decommission_signature_invalid: the record is not signed by the key of the "
                "certificate it carries");
  }
  DecommissionClaim claim;
  try {
    const auto p = nlohmann::json::parse(payload_text);
    if (p.at("type") != "decommission") {
      return fail(ErrorCode::kMalformed, "decommission record: wrong payload type");
    }
    claim.device.serial = p.at("serial").get<std::string>();
    claim.device.hardware_id = p.at("hardware_id").get<std::string>();
    claim.certificate_serial_hex = p.at("certificate_serial").get<std::string>();
    claim.certificate_fingerprint_hex = p.at("certificate_sha256").get<std::string>();
    claim.decommissioned_at = p.at("decommissioned_at").get<UnixTime>();
  } catch (const nlohmann::json::exception& e) {
    return fail(ErrorCode::kMalformed, "decommission payload: ", e.what());
  }
  const auto cert_name = cert->device_name();
  if (!cert_name || *cert_name != claim.device ||
      claim.certificate_serial_hex != cert->serial_hex() ||
      claim.certificate_fingerprint_hex != cert->fingerprint_hex()) {
    return fail(ErrorCode::kNotTrusted,
                "decommission_mismatch: the signed payload does not name the certificate it "
                "carries");
  }
  return claim;
}

Result<IndexEntry> ingest_decommission(CertificateAuthority& ca, std::string_view record_json,
                                       UnixTime now) {
  auto claim = verify_decommission_record(record_json);
  if (!claim) return std::unexpected(claim.error());
  auto entry = ca.find_fingerprint(claim->certificate_fingerprint_hex);
  if (!entry) return std::unexpected(entry.error());
  if (!*entry || (*entry)->profile != Profile::kDevice ||
      (*entry)->device_serial != claim->device.serial) {
    return fail(ErrorCode::kNotTrusted,
                "unknown_certificate: this CA did not issue the certificate in the record to "
                "device ",
                claim->device.serial);
  }
  auto revoked = ca.revoke((*entry)->serial_hex, RevocationReason::kCessationOfOperation, now);
  if (!revoked) return std::unexpected(revoked.error());
  return revoked->certificate;
}

}  // namespace ironseal::pki
