// The TUF client workflow against an in-memory repository: each attack the spec names is
// staged and must be refused for the right reason, leaving the trusted metadata untouched.
#include <gtest/gtest.h>

#include "core/file.h"
#include "repo/tuf_test_repo.h"
#include "repo/updater.h"
#include "support/requirements.h"
#include "support/test_env.h"

namespace ironseal::repo {
namespace {

using nlohmann::json;
using testing::kNow;
using testing::TestRepo;

class TufClient : public ::testing::Test {
 protected:
  void SetUp() override {
    const std::string root = repo_.root_bytes(1);
    ASSERT_TRUE(init_metadata_dir(dir_.path(), as_bytes(root)));
  }
  // One client session (as one CLI invocation) at time `now_`.
  TufResult<void> refresh() {
    Updater updater(dir_.path(), TestRepo::kBase, repo_.fetcher, {}, [this] { return now_; });
    return updater.refresh();
  }
  std::uint64_t stored_version(const std::string& role) {
    auto bytes = read_file(dir_ / (role + ".json"));
    if (!bytes) return 0;
    return json::parse(*bytes)["signed"]["version"].get<std::uint64_t>();
  }
  void expect_refused(Reason reason) {
    auto r = refresh();
    ASSERT_FALSE(r) << "refresh succeeded";
    EXPECT_EQ(r.error().reason, reason) << describe(r.error());
  }

  TestRepo repo_;
  testing::TempDir dir_;
  std::int64_t now_ = kNow;
};

TEST_F(TufClient, RefreshTrustsAndStoresTopLevelMetadata) {
  IRONSEAL_REQUIREMENTS("SUM-4; CR 3.4");
  ASSERT_TRUE(refresh());
  for (const char* role : {"root", "timestamp", "snapshot", "targets"}) {
    EXPECT_EQ(stored_version(role), 1u) << role;
  }
  // The stored bytes are the repository's bytes, not a re-serialization.
  EXPECT_EQ(*read_file(dir_ / "timestamp.json"),
            repo_.fetcher.files.at(std::string(TestRepo::kBase) + "timestamp.json"));
}

TEST_F(TufClient, RotatesRootSignedByOldAndNewKeys) {
  IRONSEAL_REQUIREMENTS("SUM-4; CR 3.4; CR 1.9");
  auto new_key = *crypto::PrivateKey::generate(crypto::KeyType::kEcdsaP256);
  const std::string id = testing::tuf_keyid(new_key.public_key());
  repo_.root["keys"][id] = testing::tuf_key_json(new_key.public_key());
  repo_.root["roles"]["root"]["keyids"] = {id};
  repo_.signers["root"].push_back(std::move(new_key));  // old + new sign v2
  repo_.bump("root");
  ASSERT_TRUE(refresh());
  EXPECT_EQ(stored_version("root"), 2u);

  // v3 signed by the new key only: fine. v4 signed by neither key of v3: refused.
  repo_.signers["root"].erase(repo_.signers["root"].begin());
  repo_.bump("root");
  repo_.signers["root"] = {};
  repo_.signers["root"].push_back(*crypto::PrivateKey::generate(crypto::KeyType::kEd25519));
  repo_.bump("root");
  expect_refused(Reason::kThresholdNotMet);
  EXPECT_EQ(stored_version("root"), 3u);
}

TEST_F(TufClient, RefusesRootThatSkipsAVersion) {
  IRONSEAL_REQUIREMENTS("SUM-4; CR 3.4");
  repo_.root["version"] = 3;  // served as 2.root.json
  repo_.publish("root");
  repo_.fetcher.files[std::string(TestRepo::kBase) + "2.root.json"] =
      repo_.fetcher.files.at(std::string(TestRepo::kBase) + "3.root.json");
  expect_refused(Reason::kVersionMismatch);
  EXPECT_EQ(stored_version("root"), 1u);
}

TEST_F(TufClient, RefusesExpiredTimestamp) {
  IRONSEAL_REQUIREMENTS("SUM-4; CR 3.4");
  ASSERT_TRUE(refresh());
  repo_.timestamp["expires"] = testing::iso(kNow - 86400);
  repo_.bump("timestamp");
  expect_refused(Reason::kExpired);
  EXPECT_EQ(stored_version("timestamp"), 1u);
}

TEST_F(TufClient, RefusesTimestampVersionRollback) {
  IRONSEAL_REQUIREMENTS("SUM-4; CR 3.4");
  repo_.bump("timestamp");
  ASSERT_TRUE(refresh());
  ASSERT_EQ(stored_version("timestamp"), 2u);
  repo_.timestamp["version"] = 1;
  repo_.publish("timestamp");
  expect_refused(Reason::kRollback);
  EXPECT_EQ(stored_version("timestamp"), 2u);
}

TEST_F(TufClient, RefusesSnapshotVersionRollback) {
  IRONSEAL_REQUIREMENTS("SUM-4; CR 3.4");
  repo_.bump("snapshot");
  repo_.bump("timestamp");
  ASSERT_TRUE(refresh());
  ASSERT_EQ(stored_version("snapshot"), 2u);
  // A new timestamp that points back at snapshot v1.
  repo_.snapshot["version"] = 1;
  repo_.publish("snapshot");
  repo_.bump("timestamp");
  expect_refused(Reason::kRollback);
  EXPECT_EQ(stored_version("snapshot"), 2u);
  EXPECT_EQ(stored_version("timestamp"), 2u);
}

TEST_F(TufClient, RefusesTargetsRollbackInNewSnapshot) {
  IRONSEAL_REQUIREMENTS("SUM-4; CR 3.4");
  repo_.bump("targets");
  repo_.bump("snapshot");
  repo_.bump("timestamp");
  ASSERT_TRUE(refresh());
  repo_.snapshot["meta"]["targets.json"]["version"] = 1;
  repo_.bump("snapshot");
  repo_.bump("timestamp");
  expect_refused(Reason::kRollback);
  EXPECT_EQ(stored_version("snapshot"), 2u);
}

TEST_F(TufClient, RefusesMixAndMatchTargetsVersion) {
  IRONSEAL_REQUIREMENTS("SUM-4; CR 3.4");
  ASSERT_TRUE(refresh());
  // The repository serves targets v2 where snapshot v2 promises v3 (an old/new mix).
  repo_.bump("targets");
  repo_.fetcher.files[std::string(TestRepo::kBase) + "3.targets.json"] =
      repo_.fetcher.files.at(std::string(TestRepo::kBase) + "2.targets.json");
  repo_.snapshot["meta"]["targets.json"]["version"] = 3;
  repo_.bump("snapshot");
  repo_.bump("timestamp");
  expect_refused(Reason::kVersionMismatch);
  EXPECT_EQ(stored_version("targets"), 1u);
  EXPECT_EQ(stored_version("snapshot"), 2u);
}

TEST_F(TufClient, FreezeAttackFailsOnceTimestampExpires) {
  IRONSEAL_REQUIREMENTS("SUM-4; CR 3.4");
  repo_.timestamp["expires"] = testing::iso(kNow + 86400);
  repo_.bump("timestamp");
  ASSERT_TRUE(refresh());
  // The attacker keeps serving the same (validly signed) timestamp forever.
  now_ = kNow + 86400 - 1;
  EXPECT_TRUE(refresh());
  now_ = kNow + 86400;
  expect_refused(Reason::kExpired);
}

TEST_F(TufClient, RefusesSnapshotWithWrongHashFromTimestamp) {
  IRONSEAL_REQUIREMENTS("SUM-4; CR 3.4");
  repo_.bump("snapshot");
  repo_.timestamp["meta"]["snapshot.json"]["hashes"] = {{"sha256", std::string(64, '0')}};
  repo_.bump("timestamp");
  expect_refused(Reason::kHashMismatch);
  EXPECT_EQ(stored_version("snapshot"), 0u);
}

TEST_F(TufClient, RefusesSnapshotNotSignedByThreshold) {
  IRONSEAL_REQUIREMENTS("SUM-4; CR 3.4");
  repo_.signers["snapshot"] = {};
  repo_.signers["snapshot"].push_back(*crypto::PrivateKey::generate(crypto::KeyType::kEd25519));
  repo_.bump("snapshot");
  repo_.bump("timestamp");
  expect_refused(Reason::kThresholdNotMet);
  EXPECT_EQ(stored_version("timestamp"), 2u);
  EXPECT_EQ(stored_version("snapshot"), 0u);
}

TEST_F(TufClient, FindsDelegatedTargetAndHonoursTerminatingDelegation) {
  IRONSEAL_REQUIREMENTS("SUM-4; CR 3.4");
  repo_.delegate("A", {"apps/*"}, /*terminating=*/true);
  repo_.delegate("B", {"apps/*"}, false);
  repo_.add_target("A", "apps/plc.img", "firmware by A");
  repo_.add_target("B", "apps/other.img", "firmware by B");
  repo_.bump("targets");
  repo_.publish_all();

  Updater updater(dir_.path(), TestRepo::kBase, repo_.fetcher, {}, [this] { return now_; });
  auto found = updater.find_target("apps/plc.img");
  ASSERT_TRUE(found) << describe(found.error());
  testing::TempDir targets;
  auto path = updater.download_target(*found, TestRepo::kTargetsBase, targets.path());
  ASSERT_TRUE(path) << describe(path.error());
  const std::string content = "firmware by A";
  EXPECT_EQ(*read_file(*path), Bytes(content.begin(), content.end()));
  EXPECT_TRUE(Updater::is_cached(targets.path(), *found));
  // B also lists apps/*, but A's delegation is terminating: B is never consulted.
  auto hidden = updater.find_target("apps/other.img");
  ASSERT_FALSE(hidden);
  EXPECT_EQ(hidden.error().reason, Reason::kTargetNotFound);
  EXPECT_TRUE(std::filesystem::exists(dir_ / "A.json"));
  EXPECT_FALSE(std::filesystem::exists(dir_ / "B.json"));
}

TEST_F(TufClient, RefusesSubstitutedTargetBytes) {
  IRONSEAL_REQUIREMENTS("SUM-4; CR 3.4");
  repo_.add_target("targets", "fw.img", "genuine");
  repo_.bump("targets");
  repo_.publish_all();
  for (auto& [url, bytes] : repo_.fetcher.files) {
    if (url.starts_with(TestRepo::kTargetsBase)) bytes = Bytes{'e', 'v', 'i', 'l', '!', '!', '!'};
  }
  Updater updater(dir_.path(), TestRepo::kBase, repo_.fetcher, {}, [this] { return now_; });
  auto found = updater.find_target("fw.img");
  ASSERT_TRUE(found);
  testing::TempDir targets;
  auto path = updater.download_target(*found, TestRepo::kTargetsBase, targets.path());
  ASSERT_FALSE(path);
  EXPECT_EQ(path.error().reason, Reason::kHashMismatch);
  EXPECT_TRUE(std::filesystem::is_empty(targets.path()));
}

}  // namespace
}  // namespace ironseal::repo
