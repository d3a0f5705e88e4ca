// `ironseal provision ...`, `ironseal factory ...` and `ironseal device decommission`: the device
// identity lifecycle on the device and at the factory station (docs/pki.md). Thin shells over
// src/pki: a device makes its key and CSR, the factory station enrols, records and checks, and a
// device at its end of life signs its own decommission record (device/decommission.h).
#include <ctime>
#include <iostream>

#include "cli.h"
#include "device/decommission.h"
#include "device/factory.h"
#include "device/identity.h"
#include "pki/ca.h"

namespace ironseal::cli {
namespace {

struct PkiArgs {
  std::string device_dir;
  std::string ca;
  std::string record;
  std::string record_out;
  bool tpm = false;
  bool json = false;
  bool without_record = false;
};

pki::UnixTime now() {
  return static_cast<pki::UnixTime>(std::time(nullptr));
}

Result<void> do_provision_key(const PkiArgs& a) {
  if (auto r = pki::refuse_decommissioned(a.device_dir); !r) return r;
  auto p = pki::provision_key(a.device_dir, a.tpm ? pki::KeyBackend::kTpm : pki::KeyBackend::kFile);
  if (!p) return std::unexpected(p.error());
  const auto paths = pki::identity_paths(a.device_dir);
  if (a.json) {
    print_json({{"serial", p->name.serial},
                {"hardware_id", p->name.hardware_id},
                {"key_backend", pki::key_backend_name(p->backend)},
                {"csr", paths.csr.string()},
                {"csr_pem", p->csr.to_pem()}});
  } else {
    std::cout << "device key generated (" << pki::key_backend_name(p->backend) << ", ECDSA P-256, "
              << paths.key.string() << ", mode 0600)\n"
              << "CSR for " << pki::device_urn(p->name) << " -> " << paths.csr.string() << "\n";
  }
  return {};
}

Result<void> do_factory_enroll(const PkiArgs& a) {
  if (auto r = pki::refuse_decommissioned(a.device_dir); !r) return r;
  auto ca = pki::CertificateAuthority::open(a.ca);
  if (!ca) return std::unexpected(ca.error());
  auto record = pki::ManufacturingRecord::open(a.record, true);
  if (!record) return std::unexpected(record.error());
  auto entry = pki::factory_enroll(*ca, *record, a.device_dir, now());
  if (!entry) return std::unexpected(entry.error());
  if (a.json) {
    print_json({{"serial", entry->device.serial},
                {"hardware_id", entry->device.hardware_id},
                {"certificate_serial", entry->certificate_serial_hex},
                {"certificate_sha256", entry->certificate_fingerprint_hex},
                {"record", a.record}});
  } else {
    std::cout << "enrolled " << entry->device.serial << ": certificate "
              << entry->certificate_serial_hex << " (sha256 " << entry->certificate_fingerprint_hex
              << ") recorded in " << a.record << " and installed in "
              << pki::identity_paths(a.device_dir).dir.string() << "\n";
  }
  return {};
}

Result<void> do_factory_check(const PkiArgs& a) {
  auto ca = pki::CertificateAuthority::open(a.ca);
  if (!ca) return std::unexpected(ca.error());
  auto record = pki::ManufacturingRecord::open(a.record, false);
  if (!record) return std::unexpected(record.error());
  auto crl = ca->current_crl(pki::Profile::kDevice);
  if (!crl) return std::unexpected(crl.error());
  const std::vector<pki::Crl> crls{*crl};
  const auto report = pki::factory_check(a.device_dir, *record, ca->root(), crls, now());
  if (a.json) {
    nlohmann::json items = nlohmann::json::array();
    for (const auto& i : report.items) {
      items.push_back({{"check", i.name}, {"ok", i.ok}, {"detail", i.detail}});
    }
    print_json({{"ok", report.ok()}, {"checks", items}});
  } else {
    for (const auto& i : report.items) {
      std::cout << (i.ok ? "  ok    " : "  FAIL  ") << i.name << ": " << i.detail << "\n";
    }
  }
  if (const auto* f = report.first_failure()) {
    return fail(ErrorCode::kNotTrusted, "factory check failed: ", f->name, ": ", f->detail);
  }
  if (!a.json) std::cout << "ready to ship\n";
  return {};
}

Result<void> do_decommission(const PkiArgs& a) {
  pki::DecommissionOptions o;
  if (!a.without_record) o.record_out = a.record_out;
  o.now = now();
  auto done = pki::decommission_device(a.device_dir, o);
  if (!done) return std::unexpected(done.error());
  if (a.json) {
    nlohmann::json j = {{"lifecycle", "decommissioned"}, {"wiped", done->wiped}};
    if (done->record_signed) j["record"] = a.record_out;
    print_json(j);
  } else {
    std::cout << "device decommissioned: lifecycle fused to decommissioned; wiped";
    for (const auto& w : done->wiped) std::cout << " [" << w << "]";
    std::cout << "\n";
    if (done->record_signed) {
      std::cout << "signed decommission record: " << a.record_out
                << " (hand it to `ironseal ca ingest-decommission`)\n";
    }
  }
  return {};
}

}  // namespace

void register_pki_commands(CLI::App& app) {
  auto a = std::make_shared<PkiArgs>();

  CLI::App* prov = app.add_subcommand(
      "provision",
      "On the device: create its identity key and certificate request.\n\n"
      "The key is generated on the device and never leaves it; only the CSR (public key, serial,\n"
      "hardware id, self-signed as proof of possession) goes to the factory station.");
  prov->require_subcommand(1);
  CLI::App* pkey = prov->add_subcommand(
      "key", "Generate the device key (ECDSA P-256) and a CSR carrying serial and hardware id.");
  pkey->add_option("DIR", a->device_dir,
                   "Device directory (device.json names serial and hardware id)")
      ->required();
  pkey->add_flag("--tpm", a->tpm,
                 "Create the key inside the TPM (needs the TPM backend; fails without it)");
  pkey->add_flag("--json", a->json, "Print the result as JSON");
  set_action(pkey, [a] { return do_provision_key(*a); });

  CLI::App* fac = app.add_subcommand(
      "factory",
      "The factory station: enrol devices and check them before they ship.\n\n"
      "enroll reads a device's CSR, has the device CA issue it, records serial <-> certificate\n"
      "fingerprint in the manufacturing record (SQLite) and installs certificate, chain and trust\n"
      "anchor on the device. check verifies that key, certificate, chain, serial and record "
      "agree.");
  fac->require_subcommand(1);
  CLI::App* enroll = fac->add_subcommand("enroll", "Certify a provisioned device and record it.");
  enroll->add_option("DEVICE_DIR", a->device_dir, "Device directory")->required();
  enroll->add_option("--ca", a->ca, "CA directory")->required();
  enroll->add_option("--record", a->record, "Manufacturing record (SQLite; created if missing)")
      ->required();
  enroll->add_flag("--json", a->json, "Print the record entry as JSON");
  set_action(enroll, [a] { return do_factory_enroll(*a); });

  CLI::App* check = fac->add_subcommand(
      "check", "Verify a device before shipping (exit 1 and the failed check otherwise).");
  check->add_option("DEVICE_DIR", a->device_dir, "Device directory")->required();
  check->add_option("--ca", a->ca, "CA directory (its root and device CRL are the reference)")
      ->required();
  check->add_option("--record", a->record, "Manufacturing record")->required();
  check->add_flag("--json", a->json, "Print every check as JSON");
  set_action(check, [a] { return do_factory_check(*a); });

  if (CLI::App* dev = app.get_subcommand("device")) {
    CLI::App* dec = dev->add_subcommand(
        "decommission",
        "End of life: sign a decommission record with the device key, wipe keys and\n"
        "configuration (files overwritten, then unlinked; flash configuration erased) and fuse\n"
        "the lifecycle to decommissioned (the device never boots again).");
    dec->add_option("DIR", a->device_dir, "Device directory")->required();
    auto* out = dec->add_option("--record-out", a->record_out,
                                "Where to write the signed decommission record");
    dec->add_flag("--without-record", a->without_record,
                  "Device without an identity: wipe and fuse only")
        ->excludes(out);
    dec->add_flag("--json", a->json, "Print the result as JSON");
    set_action(dec, [a]() -> Result<void> {
      if (!a->without_record && a->record_out.empty()) {
        return fail(ErrorCode::kInvalidArgument,
                    "--record-out FILE is required (or --without-record for a device that was "
                    "never enrolled)");
      }
      return do_decommission(*a);
    });
  }
}

}  // namespace ironseal::cli
