// `ironseal cert verify`: a certificate checked the way the fleet server and devices check it
// (pki/verify.h): chain, validity, purpose, revocation, device URN.
#include <ctime>
#include <iostream>

#include "cli.h"
#include "pki/verify.h"

namespace ironseal::cli {
namespace {

struct CertArgs {
  std::string cert;
  std::string anchors;
  std::string chain;
  std::vector<std::string> crls;
  std::string purpose = "device-client";
  std::string host;
  std::int64_t at = -1;
  bool no_revocation = false;
  bool json = false;
};

pki::UnixTime now() {
  return static_cast<pki::UnixTime>(std::time(nullptr));
}

Result<void> do_cert_verify(const CertArgs& a) {
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

}  // namespace

void register_cert_commands(CLI::App& app) {
  auto a = std::make_shared<CertArgs>();
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
}

}  // namespace ironseal::cli
