// A TUF repository for tests: real keys (crypto::PrivateKey, Ed25519 by default), metadata
// built as JSON, signed over canonical JSON and "published" into an in-memory server
// (MapFetcher) under the file names a client asks for. Tests edit the JSON, re-sign, publish,
// and run the real Updater against it with a controllable clock.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "crypto/key.h"
#include "repo/fetcher.h"
#include "repo/metadata.h"

namespace ironseal::testing {

// Serves byte strings by URL; counts requests. Enforces max_length like a real fetcher.
class MapFetcher final : public repo::Fetcher {
 public:
  repo::TufResult<Bytes> fetch(const std::string& url, std::uint64_t max_length) override;
  std::map<std::string, Bytes> files;  // full URL -> body
  std::vector<std::string> requests;
};

// The TUF key JSON and keyid of a key (keyid = SHA-256 of the canonical key JSON).
nlohmann::json tuf_key_json(const crypto::PublicKey& key);
std::string tuf_keyid(const crypto::PublicKey& key);
// {"signed": signed_part, "signatures": [...]} signed by each key in order.
Bytes sign_metadata(const nlohmann::json& signed_part,
                    const std::vector<const crypto::PrivateKey*>& keys);

constexpr std::int64_t kNow = 1'750'000'000;  // the tests' "now" (June 2025)

class TestRepo {
 public:
  static constexpr const char* kBase = "http://repo.test/metadata/";
  static constexpr const char* kTargetsBase = "http://repo.test/targets/";

  TestRepo();

  // Signed parts, editable. Versions and expiries are set; publish() signs and serves.
  nlohmann::json root, timestamp, snapshot, targets;
  std::map<std::string, nlohmann::json> delegated;  // role name -> signed part
  std::map<std::string, std::vector<crypto::PrivateKey>> signers;  // role -> signing keys

  // Signs `role` (current JSON), serves it under the names a client uses, and updates the
  // snapshot/timestamp meta for it (call in order: delegated, targets, snapshot, timestamp).
  void publish(const std::string& role);
  void publish_all();  // targets (and delegated), snapshot, timestamp
  // Bumps the version of `role` and publishes it.
  void bump(const std::string& role);

  // Adds a target file to `role` (targets or a delegated role) and serves its bytes.
  void add_target(const std::string& role, const std::string& path, const std::string& content);
  // Adds a delegation from "targets" to `name` with a fresh key.
  void delegate(const std::string& name, std::vector<std::string> paths, bool terminating);

  std::string root_bytes(std::uint64_t version) const;
  MapFetcher fetcher;

 private:
  nlohmann::json& signed_part(const std::string& role);
};

std::string iso(std::int64_t t);  // format_utc_time

}  // namespace ironseal::testing
