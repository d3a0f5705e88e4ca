// `ironseal key ...`: create signing keys and export their public halves.
#include <iostream>

#include "cli.h"
#include "core/bytes.h"
#include "core/file.h"
#include "crypto/hash.h"
#include "crypto/key.h"
#include "crypto/pkcs11.h"

namespace ironseal::cli {
namespace {

struct KeyArgs {
  std::string type = "ed25519";
  std::string out;
  std::string in;
  std::string public_out;
  bool json = false;
};

nlohmann::json describe(const crypto::PublicKey& pub) {
  return {{"type", crypto::key_type_name(pub.type())},
          {"public_key_pem", pub.to_pem()},
          // What an image's KEYHASH TLV carries and what a device's OTP stores for this key.
          {"key_hash_sha256", to_hex(crypto::sha256(pub.spki_der()))}};
}

Result<crypto::PublicKey> public_of(const std::string& path) {
  if (path.starts_with("pkcs11:")) return crypto::pkcs11::public_key(path);
  auto text = read_file(path);
  if (!text) return std::unexpected(text.error());
  const std::string_view pem(reinterpret_cast<const char*>(text->data()), text->size());
  if (pem.find("PRIVATE KEY") == std::string_view::npos) return crypto::PublicKey::load(path);
  auto key = crypto::PrivateKey::load(path);
  if (!key) return std::unexpected(key.error());
  return key->public_key();
}

}  // namespace

void register_key_commands(CLI::App& app) {
  auto args = std::make_shared<KeyArgs>();
  CLI::App* key = app.add_subcommand(
      "key",
      "Create and inspect signing keys.\n\n"
      "A signing key signs boot images. Its private half stays in a file readable by its owner "
      "only (mode 0600; ironseal refuses a key file that group or others can read). Its public "
      "half, or the SHA-256 hash of it, is what devices trust.");
  key->require_subcommand(1);

  CLI::App* gen = key->add_subcommand("generate", "Generate a new private key (PKCS#8 PEM, 0600).");
  gen->add_option("--type", args->type, "Key algorithm: ed25519 (default) or ecdsa-p256")
      ->check(CLI::IsMember({"ed25519", "ecdsa-p256"}));
  gen->add_option("--out", args->out,
                  "Where to write the private key; never overwritten. A PKCS#11 URI "
                  "(pkcs11:token=T;object=NAME) generates it inside the token instead")
      ->required();
  gen->add_option("--public-out", args->public_out, "Also write the public key (PEM) here");
  gen->add_flag("--json", args->json, "Print the public key and its hash as JSON");
  set_action(gen, [args]() -> Result<void> {
    auto type = crypto::parse_key_type(args->type);
    if (!type) return std::unexpected(type.error());
    // A PKCS#11 URI: the key pair is made inside the token and its private half never leaves.
    const bool in_token = args->out.starts_with("pkcs11:");
    auto pub_or = [&]() -> Result<crypto::PublicKey> {
      if (in_token) return crypto::pkcs11::generate_key(args->out, *type);
      auto priv = crypto::PrivateKey::generate(*type);
      if (!priv) return std::unexpected(priv.error());
      if (auto saved = priv->save(args->out); !saved) return std::unexpected(saved.error());
      return priv->public_key();
    }();
    if (!pub_or) return std::unexpected(pub_or.error());
    const crypto::PublicKey& pub = *pub_or;
    if (!args->public_out.empty()) {
      const std::string pem = pub.to_pem();
      if (auto w = write_file_atomic(args->public_out, as_bytes(pem)); !w) return w;
    }
    if (args->json) {
      nlohmann::json j = describe(pub);
      j[in_token ? "private_key_uri" : "private_key_file"] = args->out;
      print_json(j);
    } else {
      std::cout << "generated " << crypto::key_type_name(*type) << " key " << args->out
                << (in_token ? " (in the token, not extractable)" : " (mode 0600)")
                << "\nkey hash (SHA-256 of SubjectPublicKeyInfo): "
                << to_hex(crypto::sha256(pub.spki_der())) << "\n";
    }
    return {};
  });

  CLI::App* pub = key->add_subcommand(
      "public", "Print the public key (SubjectPublicKeyInfo PEM) of a private or public key file.");
  pub->add_option("KEY", args->in,
                  "Private key (PKCS#8 PEM), public key PEM, or PKCS#11 URI (pkcs11:...)")
      ->required();
  pub->add_flag("--json", args->json, "Print type, PEM and key hash as JSON");
  set_action(pub, [args]() -> Result<void> {
    auto pub_key = public_of(args->in);
    if (!pub_key) return std::unexpected(pub_key.error());
    if (args->json) {
      print_json(describe(*pub_key));
    } else {
      std::cout << pub_key->to_pem();
    }
    return {};
  });
}

}  // namespace ironseal::cli
