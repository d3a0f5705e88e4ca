#include "repo/tuf_test_repo.h"

#include "crypto/hash.h"
#include "repo/canonical_json.h"

namespace ironseal::testing {

using nlohmann::json;

repo::TufResult<Bytes> MapFetcher::fetch(const std::string& url, std::uint64_t max_length) {
  requests.push_back(url);
  auto it = files.find(url);
  if (it == files.end()) return repo::refuse(repo::Reason::kNotFound, url);
  if (it->second.size() > max_length) return repo::refuse(repo::Reason::kTooLarge, url);
  return it->second;
}

json tuf_key_json(const crypto::PublicKey& key) {
  if (key.type() == crypto::KeyType::kEd25519) {
    return {{"keytype", "ed25519"}, {"scheme", "ed25519"}, {"keyval", {{"public", to_hex(key.raw())}}}};
  }
  return {{"keytype", "ecdsa"},
          {"scheme", "ecdsa-sha2-nistp256"},
          {"keyval", {{"public", key.to_pem()}}}};
}

std::string tuf_keyid(const crypto::PublicKey& key) {
  return to_hex(crypto::sha256(as_bytes(*repo::canonical_json(tuf_key_json(key)))));
}

Bytes sign_metadata(const json& signed_part, const std::vector<const crypto::PrivateKey*>& keys) {
  const std::string canonical = *repo::canonical_json(signed_part);
  json sigs = json::array();
  for (const auto* key : keys) {
    sigs.push_back({{"keyid", tuf_keyid(key->public_key())},
                    {"sig", to_hex(*key->sign(as_bytes(canonical)))}});
  }
  const std::string text = json{{"signed", signed_part}, {"signatures", sigs}}.dump();
  return Bytes(text.begin(), text.end());
}

std::string iso(std::int64_t t) { return repo::format_utc_time(t); }

namespace {
json common(const char* type) {
  return {{"_type", type}, {"spec_version", "1.0.31"}, {"version", 1}, {"expires", iso(kNow + 30 * 86400)}};
}
}  // namespace

TestRepo::TestRepo() {
  root = common("root");
  root["consistent_snapshot"] = true;
  root["keys"] = json::object();
  root["roles"] = json::object();
  for (const char* role : {"root", "timestamp", "snapshot", "targets"}) {
    auto key = *crypto::PrivateKey::generate(crypto::KeyType::kEd25519);
    root["keys"][tuf_keyid(key.public_key())] = tuf_key_json(key.public_key());
    root["roles"][role] = {{"keyids", {tuf_keyid(key.public_key())}}, {"threshold", 1}};
    signers[role].push_back(std::move(key));
  }
  timestamp = common("timestamp");
  timestamp["meta"] = {{"snapshot.json", {{"version", 1}}}};
  snapshot = common("snapshot");
  snapshot["meta"] = {{"targets.json", {{"version", 1}}}};
  targets = common("targets");
  targets["targets"] = json::object();
  publish("root");
  publish_all();
}

json& TestRepo::signed_part(const std::string& role) {
  if (role == "root") return root;
  if (role == "timestamp") return timestamp;
  if (role == "snapshot") return snapshot;
  if (role == "targets") return targets;
  return delegated.at(role);
}

void TestRepo::publish(const std::string& role) {
  json& part = signed_part(role);
  std::vector<const crypto::PrivateKey*> keys;
  for (const auto& k : signers[role]) keys.push_back(&k);
  Bytes bytes = sign_metadata(part, keys);
  const std::uint64_t version = part["version"].get<std::uint64_t>();
  const std::string name = repo::quote_name(role);
  if (role == "root") {
    fetcher.files[kBase + std::to_string(version) + ".root.json"] = bytes;
  } else if (role == "timestamp") {
    fetcher.files[std::string(kBase) + "timestamp.json"] = bytes;
  } else {
    fetcher.files[kBase + std::to_string(version) + "." + name + ".json"] = bytes;
    if (role == "snapshot") {
      timestamp["meta"]["snapshot.json"]["version"] = version;
    } else {
      snapshot["meta"][role + ".json"]["version"] = version;
    }
  }
}

void TestRepo::publish_all() {
  for (const auto& [name, part] : delegated) publish(name);
  publish("targets");
  publish("snapshot");
  publish("timestamp");
}

void TestRepo::bump(const std::string& role) {
  json& part = signed_part(role);
  part["version"] = part["version"].get<std::uint64_t>() + 1;
  publish(role);
}

void TestRepo::add_target(const std::string& role, const std::string& path,
                          const std::string& content) {
  const std::string sha = to_hex(crypto::sha256(as_bytes(content)));
  signed_part(role)["targets"][path] = {{"length", content.size()}, {"hashes", {{"sha256", sha}}}};
  const auto slash = path.rfind('/');
  std::string remote = path;
  remote.insert(slash == std::string::npos ? 0 : slash + 1, sha + ".");
  fetcher.files[kTargetsBase + remote] = Bytes(content.begin(), content.end());
}

void TestRepo::delegate(const std::string& name, std::vector<std::string> paths,
                        bool terminating) {
  auto key = *crypto::PrivateKey::generate(crypto::KeyType::kEd25519);
  const std::string keyid = tuf_keyid(key.public_key());
  if (!targets.contains("delegations")) {
    targets["delegations"] = {{"keys", json::object()}, {"roles", json::array()}};
  }
  targets["delegations"]["keys"][keyid] = tuf_key_json(key.public_key());
  targets["delegations"]["roles"].push_back({{"name", name},
                                             {"keyids", {keyid}},
                                             {"threshold", 1},
                                             {"terminating", terminating},
                                             {"paths", paths}});
  signers[name].push_back(std::move(key));
  json part = common("targets");
  part["targets"] = json::object();
  delegated[name] = part;
}

std::string TestRepo::root_bytes(std::uint64_t version) const {
  const Bytes& b = fetcher.files.at(kBase + std::to_string(version) + ".root.json");
  return std::string(b.begin(), b.end());
}

}  // namespace ironseal::testing
