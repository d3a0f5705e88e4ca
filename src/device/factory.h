// The factory station: enrolment of a device's CSR with the device issuing CA, the manufacturing
// record that binds each serial to its certificate before the device ships, and the final check.
//
// The manufacturing record is an SQLite file (one row per serial: hardware id, certificate serial
// and SHA-256 fingerprint, SHA-256 of the public key, time). A serial is enrolled once: enrolling
// it again with the same key (a station that crashed half-way) replaces the certificate; with a
// different key it is refused ("serial_already_enrolled").
//
// The station only ever reads the device's CSR and writes certificates; the private key never
// leaves the device directory.
#pragma once

#include <filesystem>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "core/result.h"
#include "pki/ca.h"
#include "pki/certificate.h"

namespace ironseal::pki {

struct ManufacturingEntry {
  DeviceName device;
  std::string certificate_serial_hex;
  std::string certificate_fingerprint_hex;
  std::string spki_sha256_hex;
  UnixTime enrolled_at = 0;
};

class ManufacturingRecord {
 public:
  static Result<ManufacturingRecord> open(const std::filesystem::path& path, bool create);
  ManufacturingRecord(ManufacturingRecord&&) noexcept;
  ManufacturingRecord& operator=(ManufacturingRecord&&) noexcept;
  ~ManufacturingRecord();

  Result<void> record(const ManufacturingEntry& entry);
  Result<std::optional<ManufacturingEntry>> find(std::string_view serial);

  struct State;

 private:
  explicit ManufacturingRecord(std::unique_ptr<State> s);
  std::unique_ptr<State> state_;
};

// `ironseal factory enroll`: reads DEVICE_DIR's CSR, checks it names this device, has the device
// CA issue it, records the binding, and installs certificate, chain and anchors on the device.
Result<ManufacturingEntry> factory_enroll(CertificateAuthority& ca, ManufacturingRecord& record,
                                          const std::filesystem::path& device_dir, UnixTime now);

struct CheckItem {
  std::string name;  // e.g. "key_matches_certificate"
  bool ok = false;
  std::string detail;
};

struct CheckReport {
  std::vector<CheckItem> items;
  bool ok() const;
  const CheckItem* first_failure() const;
};

// `ironseal factory check`: before shipping, do key, certificate, chain, anchors, serial and the
// manufacturing record agree? `ca_root` is the root the factory expects on the device; `crls` the
// device CA's current CRL.
CheckReport factory_check(const std::filesystem::path& device_dir, ManufacturingRecord& record,
                          const Certificate& ca_root, std::span<const Crl> crls, UnixTime now);

}  // namespace ironseal::pki
