// `ironseal ca ...`: the device PKI's certificate authority (docs/pki.md). A thin shell over
// src/pki: the CA issues, revokes, publishes CRLs and turns decommission records into
// revocations.
#include <ctime>
#include <iostream>

#include "cli.h"
#include "core/file.h"
#include "device/decommission.h"
#include "pki/ca.h"

namespace ironseal::cli {
namespace {

namespace fs = std::filesystem;

struct CaArgs {
  std::string dir;
  std::string record;
  std::string csr;
  std::string profile = "device";
  std::string out;
  std::string serial;
  std::string reason = "unspecified";
  std::string replaces;
  std::string organization = "ironseal";
  std::string server_domain = "ironseal.internal";
  bool json = false;
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

Result<void> do_ca_init(const CaArgs& a) {
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

Result<void> do_ca_issue(const CaArgs& a) {
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

Result<void> do_ca_revoke(const CaArgs& a) {
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

Result<void> do_ca_crl(const CaArgs& a) {
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

Result<void> do_ca_list(const CaArgs& a) {
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

Result<void> do_ca_ingest(const CaArgs& a) {
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

void register_ca(CLI::App& app, const std::shared_ptr<CaArgs>& a) {
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
}

}  // namespace

void register_ca_commands(CLI::App& app) {
  register_ca(app, std::make_shared<CaArgs>());
}

}  // namespace ironseal::cli
