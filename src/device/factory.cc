#include "device/factory.h"

#include "core/file.h"
#include "crypto/hash.h"
#include "crypto/random.h"
#include "device/device_audit.h"
#include "device/identity.h"
#include "pki/verify.h"
#include "sql/sqlite.h"

namespace ironseal::pki {

namespace fs = std::filesystem;

namespace {

constexpr const char* kSchema = R"sql(
CREATE TABLE IF NOT EXISTS devices(
  serial TEXT PRIMARY KEY,
  hardware_id TEXT NOT NULL,
  certificate_serial TEXT NOT NULL,
  certificate_sha256 TEXT NOT NULL UNIQUE,
  spki_sha256 TEXT NOT NULL,
  enrolled_at INTEGER NOT NULL);
)sql";

}  // namespace

struct ManufacturingRecord::State {
  sql::Database db;
};

ManufacturingRecord::ManufacturingRecord(std::unique_ptr<State> s) : state_(std::move(s)) {}
ManufacturingRecord::ManufacturingRecord(ManufacturingRecord&&) noexcept = default;
ManufacturingRecord& ManufacturingRecord::operator=(ManufacturingRecord&&) noexcept = default;
ManufacturingRecord::~ManufacturingRecord() = default;

Result<ManufacturingRecord> ManufacturingRecord::open(const fs::path& path, bool create) {
  if (!create && !fs::exists(path)) {
    return fail(ErrorCode::kNotFound, "no manufacturing record at ", path.string());
  }
  auto db = sql::Database::open(path, create);
  if (!db) return std::unexpected(db.error());
  if (auto r = db->exec(kSchema); !r) return std::unexpected(r.error());
  return ManufacturingRecord(std::make_unique<State>(State{std::move(*db)}));
}

Result<void> ManufacturingRecord::record(const ManufacturingEntry& e) {
  auto tx = state_->db.begin();
  if (!tx) return std::unexpected(tx.error());
  auto existing = find(e.device.serial);
  if (!existing) return std::unexpected(existing.error());
  if (*existing && (*existing)->spki_sha256_hex != e.spki_sha256_hex) {
    return fail_because(ErrorCode::kNotTrusted, "serial_already_enrolled", "serial ",
                        e.device.serial, " is recorded with another key (certificate ",
                        (*existing)->certificate_fingerprint_hex, ")");
  }
  auto put = state_->db.prepare(
      "INSERT OR REPLACE INTO devices(serial, hardware_id, certificate_serial, "
      "certificate_sha256, spki_sha256, enrolled_at) VALUES (?, ?, ?, ?, ?, ?)");
  if (!put) return std::unexpected(put.error());
  put->bind(1, e.device.serial)
      .bind(2, e.device.hardware_id)
      .bind(3, e.certificate_serial_hex)
      .bind(4, e.certificate_fingerprint_hex)
      .bind(5, e.spki_sha256_hex)
      .bind(6, e.enrolled_at);
  if (auto r = put->run(); !r) return r;
  return tx->commit();
}

Result<std::optional<ManufacturingEntry>> ManufacturingRecord::find(std::string_view serial) {
  auto q = state_->db.prepare(
      "SELECT serial, hardware_id, certificate_serial, certificate_sha256, spki_sha256, "
      "enrolled_at FROM devices WHERE serial = ?");
  if (!q) return std::unexpected(q.error());
  q->bind(1, serial);
  auto row = q->step();
  if (!row) return std::unexpected(row.error());
  if (!*row) return std::optional<ManufacturingEntry>();
  return std::optional<ManufacturingEntry>(ManufacturingEntry{
      {q->text(0), q->text(1)}, q->text(2), q->text(3), q->text(4), q->integer(5)});
}

Result<ManufacturingEntry> factory_enroll(CertificateAuthority& ca, ManufacturingRecord& record,
                                          const fs::path& device_dir, UnixTime now) {
  auto name = read_device_name(device_dir);
  if (!name) return std::unexpected(name.error());
  const IdentityPaths paths = identity_paths(device_dir);
  auto csr = CertificateRequest::load(paths.csr);
  if (!csr) return std::unexpected(csr.error());
  // The station knows which unit is on the bench (its label, here device.json); the CSR must
  // name that unit, not another one.
  const auto uris = csr->requested_uris();
  if (uris.size() != 1 || uris.front() != device_urn(*name)) {
    return fail_because(ErrorCode::kNotTrusted, "identity_mismatch",
                        "the CSR does not name device ", device_urn(*name));
  }
  const std::string key_hash = to_hex(crypto::sha256(csr->spki_der()));
  auto existing = record.find(name->serial);
  if (!existing) return std::unexpected(existing.error());
  if (*existing && (*existing)->spki_sha256_hex != key_hash) {
    return fail_because(ErrorCode::kNotTrusted, "serial_already_enrolled", "serial ", name->serial,
                        " is recorded with another key");
  }
  IssueOptions options;
  options.now = now;
  auto issued = ca.issue(*csr, Profile::kDevice, options);
  if (!issued) return std::unexpected(issued.error());
  ManufacturingEntry entry{*name, issued->certificate.serial_hex(),
                           issued->certificate.fingerprint_hex(), key_hash, now};
  // Record first, install second: a crash in between leaves a recorded certificate the device
  // lacks (enrol again: same key, replaced), never an installed one the record lacks.
  if (auto r = record.record(entry); !r) return std::unexpected(r.error());
  if (auto r = write_pem_bundle(paths.chain, {issued->issuing_ca}); !r)
    return std::unexpected(r.error());
  if (auto r = write_pem_bundle(paths.anchors, {ca.root()}); !r) return std::unexpected(r.error());
  if (auto r = write_pem_bundle(paths.certificate, {issued->certificate}); !r) {
    return std::unexpected(r.error());
  }
  if (auto a = boot::audit_event(device_dir, "identity.enrolled", "ok",
                                 {{"certificate_serial", entry.certificate_serial_hex},
                                  {"certificate_sha256", entry.certificate_fingerprint_hex},
                                  {"key_spki_sha256", key_hash},
                                  {"not_after", issued->certificate.not_after()}});
      !a) {
    return std::unexpected(a.error());
  }
  return entry;
}

bool CheckReport::ok() const {
  return first_failure() == nullptr;
}

const CheckItem* CheckReport::first_failure() const {
  for (const auto& i : items) {
    if (!i.ok) return &i;
  }
  return nullptr;
}

namespace {

// The manufacturing record must bind the device's serial to this certificate, key and hardware
// id.
void check_record(CheckReport& report, ManufacturingRecord& record, const DeviceName& name,
                  const Certificate& cert) {
  auto add = [&](bool ok, std::string detail) {
    report.items.push_back({"manufacturing_record", ok, std::move(detail)});
  };
  auto entry = record.find(name.serial);
  if (!entry) {
    add(false, entry.error().message);
  } else if (!*entry) {
    add(false, "serial " + name.serial + " is not in the record");
  } else {
    const bool same = (*entry)->certificate_fingerprint_hex == cert.fingerprint_hex() &&
                      (*entry)->spki_sha256_hex == to_hex(crypto::sha256(cert.spki_der())) &&
                      (*entry)->device.hardware_id == name.hardware_id;
    add(same, same
                  ? "serial " + name.serial + " recorded with certificate " + cert.fingerprint_hex()
                  : "the record binds serial " + name.serial + " to certificate " +
                        (*entry)->certificate_fingerprint_hex + ", the device holds " +
                        cert.fingerprint_hex());
  }
}

}  // namespace

CheckReport factory_check(const fs::path& device_dir, ManufacturingRecord& record,
                          const Certificate& ca_root, std::span<const Crl> crls, UnixTime now) {
  CheckReport report;
  auto add = [&](std::string name, bool ok, std::string detail) {
    report.items.push_back({std::move(name), ok, std::move(detail)});
    return ok;
  };
  auto name = read_device_name(device_dir);
  if (!add("device_name", name.has_value(), name ? device_urn(*name) : name.error().message)) {
    return report;
  }
  const IdentityPaths paths = identity_paths(device_dir);
  auto key = load_device_key(paths);
  const auto backend = device_key_backend(paths);
  add("device_key", key.has_value(),
      !key                                      ? key.error().message
      : backend && *backend == KeyBackend::kTpm ? "held by the TPM (only its wrapped blob on disk)"
                                                : "present, owner-only file");
  auto cert = Certificate::load(paths.certificate);
  auto chain = Certificate::load_all(paths.chain);
  auto anchors = Certificate::load_all(paths.anchors);
  if (!add("certificate_files", cert && chain && anchors,
           !cert      ? cert.error().message
           : !chain   ? chain.error().message
           : !anchors ? anchors.error().message
                      : "certificate, chain and anchors parse")) {
    return report;
  }
  if (key) {
    if (add("key_matches_certificate", key->spki_der() == cert->spki_der(),
            key->spki_der() == cert->spki_der() ? "the certificate certifies the device key"
                                                : "the certificate is for another key")) {
      // The key must also work: a fresh challenge signed by it (by the TPM, for a TPM key)
      // verifies with the certificate's public key.
      const auto v = [&]() -> Result<void> {
        auto challenge = crypto::random_bytes(32);
        if (!challenge) return fail(ErrorCode::kCrypto, "no random challenge");
        auto sig = key->sign(*challenge);
        if (!sig) return std::unexpected(sig.error());
        return verify_with_spki(cert->spki_der(), *challenge, *sig);
      }();
      add("key_signs", v.has_value(),
          v ? "a fresh challenge signed by the device key verifies with the certificate"
            : "the device key cannot sign for its certificate: " + v.error().message);
    }
  }
  bool anchor_ok = false;
  for (const auto& a : *anchors) anchor_ok = anchor_ok || a.der() == ca_root.der();
  add("anchors_match_factory_root", anchor_ok && anchors->size() == 1,
      anchor_ok && anchors->size() == 1 ? ca_root.subject()
                                        : "the installed trust anchors are not exactly the "
                                          "factory's root");
  VerifyOptions options;
  options.purpose = Purpose::kDeviceClient;
  options.at = now;
  options.crls = crls;
  const std::vector<Certificate> expected_anchor{ca_root};
  auto verified = verify_certificate(*cert, *chain, expected_anchor, options);
  add("chain_verifies", verified.has_value(),
      verified ? "device-client certificate, chain to the factory root, not revoked"
               : verified.error().to_error().message);
  const auto cert_name = cert->device_name();
  add("serial_matches_device", cert_name && cert_name->serial == name->serial,
      cert_name ? "certificate serial " + cert_name->serial + ", device " + name->serial
                : "the certificate names no device");
  add("hardware_id_matches_device", cert_name && cert_name->hardware_id == name->hardware_id,
      cert_name
          ? "certificate hardware id " + cert_name->hardware_id + ", device " + name->hardware_id
          : "the certificate names no device");
  check_record(report, record, *name, *cert);
  return report;
}

}  // namespace ironseal::pki
