// `ironseal ca ...`, `ironseal provision ...`, `ironseal factory ...` and
// `ironseal device decommission`: the device identity lifecycle (docs/pki.md). Thin shells over
// src/pki: a CA issues and revokes, a device makes its key and CSR, the factory station enrols,
// records and checks, and a device at its end of life signs its own decommission record.
#include <ctime>
#include <iostream>

#include "boot/host_device.h"
#include "boot/otp_map.h"
#include "cli.h"
#include "core/file.h"
#include "pki/ca.h"
#include "pki/decommission.h"
#include "pki/device_identity.h"
#include "pki/factory.h"
#include "pki/verify.h"

namespace ironseal::cli {
namespace {

namespace fs = std::filesystem;

struct PkiArgs {
  std::string dir;
  std::string device_dir;
  std::string ca;
  std::string record;
  std::string csr;
  std::string profile = "device";
  std::string out;
  std::string serial;
  std::string reason = "unspecified";
  std::string replaces;
  std::string organization = "ironseal";
  std::string server_domain = "ironseal.internal";
  std::string record_out;
  std::string cert;
  std::string anchors;
  std::string chain;
  std::vector<std::string> crls;
  std::string purpose = "device-client";
  std::string host;
  std::int64_t at = -1;
  bool no_revocation = false;
  bool tpm = false;
  bool json = false;
  bool without_record = false;
  bool all_of_device = false;
};

pki::UnixTime now() {
  return static_cast<pki::UnixTime>(std::time(nullptr));
}

nlohmann::json describe(const pki::Certificate& c) {
  nlohmann::json j = {{"serial", c.serial_hex()},   {"subject", c.subject()},
                      {"issuer", c.issuer()},       {"not_before", c.not_before()},
                      {"not_after", c.not_after()}, {"sha256_fingerprint", c.fingerprint_hex()}};
  if (auto d = c.device_name()) {
    j["device_serial"] = d->serial;
    j["hardware_id"] = d->hardware_id;
  }
  if (auto dns = c.dns_names(); !dns.empty()) j["dns_names"] = dns;
  return j;
}

nlohmann::json describe(const pki::IndexEntry& e) {
  nlohmann::json j = {{"serial", e.serial_hex},   {"profile", pki::profile_name(e.profile)},
                      {"subject", e.subject},     {"sha256_fingerprint", e.fingerprint_hex},
                      {"not_after", e.not_after}, {"revoked", e.revoked}};
  if (!e.device_serial.empty()) j["device_serial"] = e.device_serial;
  if (e.revoked) {
    j["revoked_at"] = e.revoked_at;
    j["revocation_reason"] = e.revocation_reason;
  }
  return j;
}

Result<void> do_ca_init(const PkiArgs& a) {
  pki::CaInitOptions o;
  o.organization = a.organization;
  o.server_domain = a.server_domain;
  o.now = now();
  if (auto r = pki::CertificateAuthority::init(a.dir, o); !r) return r;
  auto ca = pki::CertificateAuthority::open(a.dir);
  if (!ca) return std::unexpected(ca.error());
  if (a.json) {
    print_json({{"root", describe(ca->root())},
                {"device_ca", describe(ca->issuing_ca(pki::Profile::kDevice))},
                {"server_ca", describe(ca->issuing_ca(pki::Profile::kServer))},
                {"root_key", (fs::path(a.dir) / "offline" / "root-ca.key.pem").string()}});
  } else {
    std::cout << "CA created in " << a.dir << "\n"
              << "  root:      " << ca->root().subject() << " (anchor: " << a.dir
              << "/root-ca.cert.pem)\n"
              << "  device CA: " << ca->issuing_ca(pki::Profile::kDevice).subject() << "\n"
              << "  server CA: " << ca->issuing_ca(pki::Profile::kServer).subject()
              << " (names under " << a.server_domain << ")\n"
              << "The root key " << a.dir
              << "/offline/root-ca.key.pem is not needed again: move it to offline storage.\n";
  }
  return {};
}

Result<void> do_ca_issue(const PkiArgs& a) {
  auto profile = pki::parse_profile(a.profile);
  if (!profile) return std::unexpected(profile.error());
  auto ca = pki::CertificateAuthority::open(a.dir);
  if (!ca) return std::unexpected(ca.error());
  auto csr = pki::CertificateRequest::load(a.csr);
  if (!csr) return std::unexpected(csr.error());
  pki::IssueOptions o;
  o.now = now();
  if (!a.replaces.empty()) o.replaces_serial_hex = a.replaces;
  auto issued = ca->issue(*csr, *profile, o);
  if (!issued) return std::unexpected(issued.error());
  const std::string pem = issued->certificate.to_pem() + issued->issuing_ca.to_pem();
  if (!a.out.empty()) {
    if (auto w = write_file_atomic(a.out, as_bytes(pem)); !w) return w;
  }
  if (a.json) {
    auto j = describe(issued->certificate);
    j["existing"] = issued->existing;
    if (!a.out.empty()) j["written_to"] = a.out;
    print_json(j);
  } else if (a.out.empty()) {
    std::cout << pem;
  } else {
    std::cout << (issued->existing ? "current " : "issued ") << a.profile << " certificate "
              << issued->certificate.serial_hex() << " for " << issued->certificate.subject()
              << " -> " << a.out << " (certificate + issuing CA)\n";
  }
  return {};
}

Result<void> do_ca_revoke(const PkiArgs& a) {
  auto reason = pki::parse_revocation_reason(a.reason);
  if (!reason) return std::unexpected(reason.error());
  auto ca = pki::CertificateAuthority::open(a.dir);
  if (!ca) return std::unexpected(ca.error());
  auto revoked =
      ca->revoke(a.serial, *reason, now(),
                 a.all_of_device ? pki::RevokeScope::kAllOfDevice : pki::RevokeScope::kCertificate);
  if (!revoked) return std::unexpected(revoked.error());
  const pki::IndexEntry& entry = revoked->certificate;
  if (a.json) {
    auto j = describe(entry);
    j["also_revoked"] = nlohmann::json::array();
    for (const auto& e : revoked->also_revoked) j["also_revoked"].push_back(describe(e));
    print_json(j);
  } else {
    std::cout << "revoked " << entry.serial_hex << " (" << entry.subject << ") as "
              << entry.revocation_reason << "; CRL republished\n";
    for (const auto& e : revoked->also_revoked) {
      std::cout << "  also revoked " << e.serial_hex << " (" << e.subject << ") as "
                << e.revocation_reason << "\n";
    }
  }
  return {};
}

Result<void> do_ca_crl(const PkiArgs& a) {
  auto ca = pki::CertificateAuthority::open(a.dir);
  if (!ca) return std::unexpected(ca.error());
  nlohmann::json j = nlohmann::json::object();
  for (auto p : {pki::Profile::kDevice, pki::Profile::kServer}) {
    auto crl = ca->publish_crl(p, now());
    if (!crl) return std::unexpected(crl.error());
    const std::string path =
        (fs::path(a.dir) / (p == pki::Profile::kDevice ? "device-ca" : "server-ca") / "crl.pem")
            .string();
    j[std::string(pki::profile_name(p))] = {{"path", path},
                                            {"next_update", crl->next_update()},
                                            {"revoked", crl->revoked_serials_hex()}};
    if (!a.json) {
      std::cout << pki::profile_name(p) << " CA CRL: " << path << ", "
                << crl->revoked_serials_hex().size() << " revoked, next update "
                << crl->next_update() << "\n";
    }
  }
  if (a.json) print_json(j);
  return {};
}

Result<void> do_ca_list(const PkiArgs& a) {
  auto ca = pki::CertificateAuthority::open(a.dir);
  if (!ca) return std::unexpected(ca.error());
  auto all = ca->list();
  if (!all) return std::unexpected(all.error());
  nlohmann::json j = nlohmann::json::array();
  for (const auto& e : *all) {
    j.push_back(describe(e));
    if (!a.json) {
      std::cout << e.serial_hex << "  " << pki::profile_name(e.profile) << "  "
                << (e.revoked ? "revoked(" + e.revocation_reason + ")" : "valid") << "  "
                << e.subject << "\n";
    }
  }
  if (a.json) print_json(j);
  return {};
}

Result<void> do_ca_ingest(const PkiArgs& a) {
  auto ca = pki::CertificateAuthority::open(a.dir);
  if (!ca) return std::unexpected(ca.error());
  auto text = read_file(a.record);
  if (!text) return std::unexpected(text.error());
  auto entry = pki::ingest_decommission(
      *ca, std::string_view(reinterpret_cast<const char*>(text->data()), text->size()), now());
  if (!entry) return std::unexpected(entry.error());
  if (a.json) {
    print_json(describe(*entry));
  } else {
    std::cout << "device " << entry->device_serial << ": certificate " << entry->serial_hex
              << " revoked (cessationOfOperation); CRL republished\n";
  }
  return {};
}

// A decommissioned device never gets an identity again (its lifecycle fuse says so).
Result<void> refuse_decommissioned(const std::string& device_dir) {
  auto hd = boot::load_device(device_dir);
  if (!hd) return std::unexpected(hd.error());
  boot::Lifecycle lifecycle{};
  if (!boot::read_lifecycle((*hd)->otp(), &lifecycle)) {
    return fail(ErrorCode::kIo, "cannot read the lifecycle fuses of ", device_dir);
  }
  if (lifecycle == boot::Lifecycle::kDecommissioned) {
    return fail(ErrorCode::kNotTrusted, "decommissioned: ", device_dir,
                " is decommissioned and cannot be given an identity");
  }
  return {};
}

Result<void> do_provision_key(const PkiArgs& a) {
  if (auto r = refuse_decommissioned(a.device_dir); !r) return r;
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
  if (auto r = refuse_decommissioned(a.device_dir); !r) return r;
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

Result<void> do_cert_verify(const PkiArgs& a) {
  auto leaf = pki::Certificate::load_all(a.cert);  // a leaf, optionally followed by its chain
  if (!leaf) return std::unexpected(leaf.error());
  auto anchors = pki::Certificate::load_all(a.anchors);
  if (!anchors) return std::unexpected(anchors.error());
  std::vector<pki::Certificate> chain(leaf->begin() + 1, leaf->end());
  if (!a.chain.empty()) {
    auto more = pki::Certificate::load_all(a.chain);
    if (!more) return std::unexpected(more.error());
    chain.insert(chain.end(), more->begin(), more->end());
  }
  std::vector<pki::Crl> crls;
  for (const auto& path : a.crls) {
    auto crl = pki::Crl::load(path);
    if (!crl) return std::unexpected(crl.error());
    crls.push_back(std::move(*crl));
  }
  if (crls.empty() && !a.no_revocation) {
    return fail(ErrorCode::kInvalidArgument,
                "give the issuer's CRL with --crl, or say --no-revocation to skip the check");
  }
  pki::VerifyOptions o;
  o.purpose = a.purpose == "server" ? pki::Purpose::kServer : pki::Purpose::kDeviceClient;
  o.at = a.at >= 0 ? a.at : now();
  o.revocation = a.no_revocation ? pki::Revocation::kNotChecked : pki::Revocation::kRequireCrl;
  o.crls = crls;
  o.hostname = a.host;
  auto v = pki::verify_certificate(leaf->front(), chain, *anchors, o);
  if (!v) {
    if (a.json) {
      print_json({{"trusted", false},
                  {"reason", pki::cert_reason_name(v.error().reason)},
                  {"detail", v.error().detail}});
    }
    return std::unexpected(v.error().to_error());
  }
  nlohmann::json j = {
      {"trusted", true}, {"serial", v->serial_hex}, {"sha256_fingerprint", v->fingerprint_hex}};
  if (v->device) {
    j["device_serial"] = v->device->serial;
    j["hardware_id"] = v->device->hardware_id;
  }
  if (a.json) {
    print_json(j);
  } else {
    std::cout << "trusted as " << a.purpose
              << (v->device ? ": device " + pki::device_urn(*v->device) : std::string()) << "\n";
  }
  return {};
}

Result<void> do_decommission(const PkiArgs& a) {
  auto hd = boot::load_device(a.device_dir);
  if (!hd) return std::unexpected(hd.error());
  const auto paths = pki::identity_paths(a.device_dir);
  // 1. The record, signed while the key still exists, written before anything is wiped.
  bool signed_record = false;
  // Resuming after a cut: the record was written and the key already wiped. Finish the rest.
  const bool resumed = !a.without_record && fs::exists(a.record_out) && !fs::exists(paths.key) &&
                       !fs::exists(paths.tpm_key);
  if (resumed) {
    auto text = read_file(a.record_out);
    if (!text) return std::unexpected(text.error());
    auto claim = pki::verify_decommission_record(
        std::string_view(reinterpret_cast<const char*>(text->data()), text->size()));
    auto name = pki::read_device_name(a.device_dir);
    if (!claim || !name || claim->device != *name) {
      return fail(ErrorCode::kNotTrusted, a.record_out,
                  " exists but is not this device's decommission record, and the device key is "
                  "gone; refusing to continue");
    }
    signed_record = true;
  } else if (!a.without_record) {
    auto key = pki::load_device_key(paths);
    if (!key) return std::unexpected(key.error());
    auto cert = pki::Certificate::load(paths.certificate);
    if (!cert) return std::unexpected(cert.error());
    auto record = pki::sign_decommission_record(*key, *cert, now());
    if (!record) return std::unexpected(record.error());
    if (auto w = write_file_atomic(a.record_out, as_bytes(*record)); !w) return w;
    signed_record = true;
  }
  // 2. Keys and configuration: identity files overwritten and unlinked, the flash configuration
  //    region erased.
  std::vector<std::string> wiped;
  if (fs::exists(paths.key) || fs::exists(paths.tpm_key)) {
    if (auto r = pki::destroy_device_key(paths); !r) return r;
    wiped.push_back("device key");
  }
  // Everything else the device keeps besides its simulated hardware (device.json, otp.bin,
  // flash.img): the identity directory, trusted update metadata and its cache, the install journal.
  auto wipe_tree = [&](const fs::path& root) -> Result<void> {
    std::error_code ec;
    if (fs::is_regular_file(fs::symlink_status(root, ec))) {
      if (auto r = pki::wipe_file(root); !r) return r;
      wiped.push_back(fs::relative(root, a.device_dir, ec).string());
      return {};
    }
    if (!fs::is_directory(fs::symlink_status(root, ec))) return {};
    std::vector<fs::path> files;
    for (auto it = fs::recursive_directory_iterator(root, ec); !ec && it != fs::end(it);
         it.increment(ec)) {
      if (it->is_regular_file() && !it->is_symlink()) files.push_back(it->path());
    }
    if (ec) return fail(ErrorCode::kIo, "cannot list ", root.string(), ": ", ec.message());
    for (const auto& f : files) {
      if (auto r = pki::wipe_file(f); !r) return r;
    }
    fs::remove_all(root, ec);
    if (ec) return fail(ErrorCode::kIo, "cannot remove ", root.string(), ": ", ec.message());
    wiped.push_back(fs::relative(root, a.device_dir, ec).string() + "/ (" +
                    std::to_string(files.size()) + " files)");
    return {};
  };
  for (const fs::path& p :
       {paths.dir, fs::path(a.device_dir) / "tuf", fs::path(a.device_dir) / "install.journal"}) {
    if (auto r = wipe_tree(p); !r) return r;
  }
  const auto& g = (*hd)->geometry();
  for (std::uint32_t off = g.config_offset; off < g.config_offset + g.config_size;
       off += g.block_size) {
    if (!(*hd)->flash().erase_block(off)) {
      return fail(ErrorCode::kIo, "cannot erase the configuration block at ", std::to_string(off));
    }
  }
  wiped.push_back("flash configuration region");
  // 3. The lifecycle fuse: from now on stage-2 refuses to boot anything on this device.
  if (!boot::advance_lifecycle((*hd)->otp(), boot::Lifecycle::kDecommissioned)) {
    return fail(ErrorCode::kIo, "cannot program the lifecycle fuses");
  }
  if (auto r = boot::save_device(a.device_dir, **hd); !r) return r;
  if (a.json) {
    nlohmann::json j = {{"lifecycle", "decommissioned"}, {"wiped", wiped}};
    if (signed_record) j["record"] = a.record_out;
    print_json(j);
  } else {
    std::cout << "device decommissioned: lifecycle fused to decommissioned; wiped";
    for (const auto& w : wiped) std::cout << " [" << w << "]";
    std::cout << "\n";
    if (signed_record) {
      std::cout << "signed decommission record: " << a.record_out
                << " (hand it to `ironseal ca ingest-decommission`)\n";
    }
  }
  return {};
}

}  // namespace

void register_pki_commands(CLI::App& app) {
  auto a = std::make_shared<PkiArgs>();

  CLI::App* ca = app.add_subcommand(
      "ca",
      "The device PKI's certificate authority.\n\n"
      "Three CAs in one directory: an offline root (its key is used once, by init, and belongs\n"
      "on offline storage afterwards), a device issuing CA (client certificates naming a device\n"
      "serial and hardware id) and a server issuing CA (TLS server certificates for one DNS\n"
      "domain). Every issued certificate is recorded in DIR/index.sqlite; one device serial is\n"
      "bound to one key. Profiles: docs/pki.md.");
  ca->require_subcommand(1);

  CLI::App* init = ca->add_subcommand("init", "Create the root and the two issuing CAs.");
  init->add_option("DIR", a->dir, "CA directory to create")->required();
  init->add_option("--org", a->organization,
                   "Organization (O=) in every subject; issuing CAs are constrained to it");
  init->add_option("--server-domain", a->server_domain,
                   "DNS domain server certificates must lie in (default ironseal.internal)");
  init->add_flag("--json", a->json, "Print the three CA certificates as JSON");
  set_action(init, [a] { return do_ca_init(*a); });

  CLI::App* issue = ca->add_subcommand(
      "issue",
      "Issue a certificate for a CSR. Refuses a CSR without proof of possession, a key that is\n"
      "not ECDSA P-256, names the profile does not allow, and a device serial bound to another "
      "key.");
  issue->add_option("DIR", a->dir, "CA directory")->required();
  issue->add_option("--csr", a->csr, "Certificate signing request (PEM)")->required();
  issue->add_option("--profile", a->profile, "device or server")
      ->check(CLI::IsMember({"device", "server"}))
      ->required();
  issue->add_option("--out", a->out, "Write certificate + issuing CA (PEM) here, not to stdout");
  issue->add_option("--replaces", a->replaces,
                    "Re-enrolment with a new key: serial (hex) of the device's current "
                    "certificate, which is revoked as superseded");
  issue->add_flag("--json", a->json, "Describe the certificate as JSON");
  set_action(issue, [a] { return do_ca_issue(*a); });

  CLI::App* revoke = ca->add_subcommand(
      "revoke",
      "Revoke a certificate and republish its CA's CRL. keyCompromise revokes every certificate\n"
      "of the same public key (and the CA never certifies that key again).");
  revoke->add_option("DIR", a->dir, "CA directory")->required();
  revoke->add_option("--serial", a->serial, "Certificate serial number (hex)")->required();
  revoke
      ->add_option("--reason", a->reason,
                   "unspecified, keyCompromise, affiliationChanged, superseded or "
                   "cessationOfOperation")
      ->check(CLI::IsMember({"unspecified", "keyCompromise", "affiliationChanged", "superseded",
                             "cessationOfOperation"}));
  revoke->add_flag("--all-of-device", a->all_of_device,
                   "Revoke every certificate of the named certificate's device serial too");
  revoke->add_flag("--json", a->json,
                   "Print the revoked entry as JSON (with \"also_revoked\": the others)");
  set_action(revoke, [a] { return do_ca_revoke(*a); });

  CLI::App* crl = ca->add_subcommand(
      "crl", "Sign fresh CRLs for both issuing CAs (valid 7 days; publish at least daily).");
  crl->add_option("DIR", a->dir, "CA directory")->required();
  crl->add_flag("--json", a->json, "Print paths and revoked serials as JSON");
  set_action(crl, [a] { return do_ca_crl(*a); });

  CLI::App* list = ca->add_subcommand("list", "List every certificate the CA has issued.");
  list->add_option("DIR", a->dir, "CA directory")->required();
  list->add_flag("--json", a->json, "Print as JSON");
  set_action(list, [a] { return do_ca_list(*a); });

  CLI::App* ingest = ca->add_subcommand(
      "ingest-decommission",
      "Revoke a device's certificate from the decommission record the device signed.");
  ingest->add_option("DIR", a->dir, "CA directory")->required();
  ingest->add_option("RECORD", a->record, "Decommission record (JSON)")->required();
  ingest->add_flag("--json", a->json, "Print the revoked entry as JSON");
  set_action(ingest, [a] { return do_ca_ingest(*a); });

  CLI::App* cert =
      app.add_subcommand("cert", "Check certificates the way the fleet server and devices do.");
  cert->require_subcommand(1);
  CLI::App* verify = cert->add_subcommand(
      "verify",
      "Verify a certificate for a purpose: chain to the anchors, validity at a time, key usage,\n"
      "revocation (the issuer's CRL is required unless --no-revocation) and, for devices, the\n"
      "device URN. Exit 1 with the reason (untrusted_chain, expired, not_yet_valid,\n"
      "issuer_not_ca, wrong_purpose, revoked, crl_unavailable, crl_expired, hostname_mismatch,\n"
      "device_identity_missing, ...).");
  verify->add_option("CERT", a->cert, "Certificate (PEM), optionally followed by its chain")
      ->required();
  verify->add_option("--anchors", a->anchors, "Trust anchors (PEM bundle)")->required();
  verify->add_option("--chain", a->chain, "Intermediate certificates (PEM bundle)");
  verify->add_option("--crl", a->crls, "CRL of an issuer in the chain (repeatable)");
  verify->add_flag("--no-revocation", a->no_revocation, "Do not check revocation");
  verify->add_option("--purpose", a->purpose, "device-client (default) or server")
      ->check(CLI::IsMember({"device-client", "server"}));
  verify->add_option("--host", a->host, "server: the host name the client connects to");
  verify->add_option("--at", a->at, "Verify at this time (seconds since 1970) instead of now");
  verify->add_flag("--json", a->json, "Print the verdict as JSON");
  set_action(verify, [a] { return do_cert_verify(*a); });

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
