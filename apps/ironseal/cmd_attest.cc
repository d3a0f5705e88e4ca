// `ironseal attest verify`: the verifier's side of remote attestation. Checks a device's TPM quote
// (ironseal device attest) against the attestation key recorded at the factory, the nonce the
// verifier chose, and the measured-boot digests it expects. No TPM needed: OpenSSL only.
#include <iostream>

#include "cli.h"
#include "core/file.h"
#include "tpm/attest.h"

namespace ironseal::cli {
namespace {

struct AttestArgs {
  std::string quote;
  std::string nonce;
  std::string ak;
  std::vector<std::string> expected;
  std::string boot_report;
  std::string stage2_digest;
  std::string image_digest;
  std::string slot;
  bool trial = false;
  bool json = false;
};

Result<tpm::Digest> digest_from_hex(const std::string& hex, const char* what) {
  auto b = from_hex(hex);
  if (!b || b->size() != 32) {
    return fail(ErrorCode::kInvalidArgument, what, " is not a SHA-256 digest in hex: ", hex);
  }
  tpm::Digest d;
  std::copy(b->begin(), b->end(), d.begin());
  return d;
}

// The quote document is untrusted input: every field is checked for presence, type and hex.
Result<tpm::QuoteEvidence> read_quote(const std::string& path) {
  auto text = read_file(path);
  if (!text) return std::unexpected(text.error());
  const auto j = nlohmann::json::parse(text->begin(), text->end(), nullptr, false);
  if (j.is_discarded() || !j.is_object() || j.value("format", "") != "ironseal-tpm-quote-1" ||
      !j.contains("attest") || !j["attest"].is_string() || !j.contains("signature") ||
      !j["signature"].is_string()) {
    return fail(ErrorCode::kMalformed, path, " is not an ironseal TPM quote document");
  }
  auto attest = from_hex(j["attest"].get<std::string>());
  auto sig = from_hex(j["signature"].get<std::string>());
  if (!attest || !sig || attest->size() > 1024 || sig->size() > 128) {
    return fail(ErrorCode::kMalformed, path, ": attest/signature are not hex of a sane size");
  }
  return tpm::QuoteEvidence{std::move(*attest), std::move(*sig)};
}

// The digests a boot measured, in extend order, from `ironseal device boot --json` output.
Result<std::vector<tpm::Digest>> read_boot_report(const std::string& path) {
  auto text = read_file(path);
  if (!text) return std::unexpected(text.error());
  const auto j = nlohmann::json::parse(text->begin(), text->end(), nullptr, false);
  if (j.is_discarded() || !j.is_object()) {
    return fail(ErrorCode::kMalformed, path, " is not a boot report (device boot --json)");
  }
  std::vector<tpm::Digest> out;
  for (const char* key : {"stage2_measurement", "measurement"}) {
    if (!j.contains(key)) continue;
    if (!j[key].is_string()) return fail(ErrorCode::kMalformed, path, ": ", key, " not a string");
    auto d = digest_from_hex(j[key].get<std::string>(), key);
    if (!d) return std::unexpected(d.error());
    out.push_back(*d);
  }
  return out;
}

Result<void> do_verify(const AttestArgs& a) {
  auto nonce = from_hex(a.nonce);
  if (!nonce || nonce->empty() || nonce->size() > 64) {
    return fail(ErrorCode::kInvalidArgument, "--nonce must be 1 to 64 bytes in hex");
  }
  std::vector<tpm::Digest> expected;
  if (!a.boot_report.empty()) {
    auto r = read_boot_report(a.boot_report);
    if (!r) return std::unexpected(r.error());
    expected = std::move(*r);
  }
  if (!a.image_digest.empty()) {
    auto s2 = from_hex(a.stage2_digest);
    auto img = from_hex(a.image_digest);
    if (!s2 || !img || (a.slot != "A" && a.slot != "B")) {
      return fail(ErrorCode::kInvalidArgument,
                  "--stage2-digest and --image-digest are hex SHA-256, --slot is A or B");
    }
    auto m = tpm::boot_measurements(*s2, *img, a.slot == "A" ? 0 : 1, a.trial);
    if (!m) return std::unexpected(m.error());
    expected.insert(expected.end(), m->begin(), m->end());
  }
  for (const auto& hex : a.expected) {
    auto d = digest_from_hex(hex, "--expected-digest");
    if (!d) return std::unexpected(d.error());
    expected.push_back(*d);
  }
  if (expected.empty()) {
    return fail(ErrorCode::kInvalidArgument,
                "give the expected measurements: --image-digest with --stage2-digest and --slot, "
                "--boot-report, or --expected-digest (repeatable)");
  }
  auto ak = read_file(a.ak);
  if (!ak) return std::unexpected(ak.error());
  auto ev = read_quote(a.quote);
  if (!ev) return std::unexpected(ev.error());
  auto v = tpm::verify_quote(
      *ev, std::string_view(reinterpret_cast<const char*>(ak->data()), ak->size()), *nonce,
      expected);
  if (!v) {
    if (a.json) {
      print_json({{"result", "refused"},
                  {"reason", std::string(v.error().reason_or_code())},
                  {"message", v.error().message}});
    }
    return std::unexpected(v.error());
  }
  const std::string pcr = to_hex(ByteView(v->pcr_value.data(), v->pcr_value.size()));
  if (a.json) {
    print_json({{"result", "trusted"},
                {"pcr", 16},
                {"pcr_value", pcr},
                {"measurements", expected.size()},
                {"reset_count", v->reset_count},
                {"restart_count", v->restart_count}});
  } else {
    std::cout << "quote trusted: signed by the attestation key, fresh for the nonce, PCR 16 = "
              << pcr << " (" << expected.size() << " expected measurement(s))\n";
  }
  return {};
}

}  // namespace

void register_attest_commands(CLI::App& app) {
  auto a = std::make_shared<AttestArgs>();
  CLI::App* att = app.add_subcommand(
      "attest",
      "Remote attestation: check what a device's TPM says it booted.\n\n"
      "A device with a TPM extends its boot measurements into PCR 16 at every power-on and\n"
      "quotes that PCR over a verifier's nonce (ironseal device attest). The verifier needs the\n"
      "device's attestation key (recorded at the factory) and the measurements it expects.");
  att->require_subcommand(1);
  CLI::App* verify = att->add_subcommand(
      "verify",
      "Check a quote: signature by the attestation key, nonce, PCR selection and PCR value.\n"
      "Refusal reasons: malformed, bad_signature, nonce_mismatch, pcr_selection, pcr_mismatch.");
  verify->add_option("QUOTE", a->quote, "Quote document (device attest --out/--json)")->required();
  verify->add_option("--nonce", a->nonce, "The nonce this verifier sent, in hex")->required();
  verify->add_option("--ak", a->ak, "The device's attestation public key (PEM)")->required();
  verify->add_option("--expected-digest", a->expected,
                     "A measurement the boot extended, in order (hex SHA-256; repeatable)");
  verify->add_option("--boot-report", a->boot_report,
                     "Take the expected measurements from a reference `device boot --json` "
                     "output (stage2_measurement, then measurement)");
  CLI::Option* image = verify->add_option(
      "--image-digest", a->image_digest,
      "Recompute the measurements from image digests (`ironseal image verify --json`): the "
      "digest of the image that should have booted");
  CLI::Option* stage2 =
      verify->add_option("--stage2-digest", a->stage2_digest, "Digest of the stage-2 image");
  CLI::Option* slot = verify->add_option("--slot", a->slot, "Slot it booted from: A or B")
                          ->check(CLI::IsMember({"A", "B"}));
  CLI::Option* trial = verify->add_flag("--trial", a->trial, "It booted on trial (not confirmed)");
  image->needs(stage2)->needs(slot);
  stage2->needs(image);
  slot->needs(image);
  trial->needs(image);
  verify->add_flag("--json", a->json, "Print the verdict as JSON");
  set_action(verify, [a] { return do_verify(*a); });
}

}  // namespace ironseal::cli
