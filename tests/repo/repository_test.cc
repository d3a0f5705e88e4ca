// The publishing side (publish/repository.h, publish/director.h) judged by the real client: every
// test writes a repository on disk with the library and runs repo::Updater over file:// URLs
// against it, so what is proven is that devices accept (or refuse) what the repository publishes.
#include "publish/repository.h"

#include <gtest/gtest.h>

#include <fstream>

#include "core/file.h"
#include "crypto/hash.h"
#include "crypto/signer.h"
#include "image/chunk_index.h"
#include "image/sign.h"
#include "publish/director.h"
#include "repo/updater.h"
#include "support/requirements.h"
#include "support/test_env.h"

namespace ironseal::repo {
namespace {

using Json = nlohmann::json;
namespace fs = std::filesystem;

constexpr std::int64_t kNow = 1'750'000'000;  // June 2025
constexpr std::int64_t kDaySeconds = 86400;

Clock fixed(std::int64_t t) {
  return [t] { return t; };
}

Json read_json_file(const fs::path& path) {
  const Bytes bytes = *read_file(path);
  return Json::parse(bytes.begin(), bytes.end());
}

std::string file_url(const fs::path& dir) {
  return "file://" + fs::absolute(dir).string();
}

// A signed boot image with a recognisable body.
fs::path make_image(const fs::path& dir, const std::string& name, const std::string& version,
                    std::uint32_t counter, std::size_t size = 150'000) {
  auto key = *crypto::PrivateKey::generate(crypto::KeyType::kEd25519);
  crypto::KeyFileSigner signer(key);
  Bytes body(size);
  for (std::size_t i = 0; i < size; ++i) body[i] = static_cast<std::uint8_t>(i * 7 + counter);
  image::SignOptions opt;
  opt.version = *image::parse_version(version);
  opt.security_counter = counter;
  auto img = image::sign_image(body, opt, signer);
  EXPECT_TRUE(img.has_value());
  const fs::path path = dir / name;
  EXPECT_TRUE(write_file_atomic(path, *img).has_value());
  return path;
}

// One device's client session: a fresh Updater over the repository's files.
class Client {
 public:
  Client(const fs::path& state, const fs::path& trusted_root, const fs::path& metadata,
         const fs::path& targets, std::int64_t now = kNow)
      : state_(state), metadata_(metadata), targets_(targets), now_(now) {
    fetcher_ = std::move(*CurlFetcher::create());
    if (!fs::exists(state / "root.json")) {
      EXPECT_TRUE(init_metadata_dir(state, *read_file(trusted_root)).has_value());
    }
    updater_.emplace(state, file_url(metadata), *fetcher_, UpdaterConfig{}, fixed(now_));
  }
  Updater& updater() { return *updater_; }
  TufResult<fs::path> download(const std::string& name, const fs::path& into) {
    auto target = updater_->find_target(name);
    if (!target) return std::unexpected(target.error());
    fs::create_directories(into);
    return updater_->download_target(*target, file_url(targets_), into);
  }

 private:
  fs::path state_, metadata_, targets_;
  std::int64_t now_;
  std::unique_ptr<CurlFetcher> fetcher_;
  std::optional<Updater> updater_;
};

class RepositoryTest : public ::testing::Test {
 protected:
  fs::path repo_dir() const { return tmp_ / "R"; }
  Repository init_repo(RepositoryOptions options = {}) {
    auto repo = Repository::init(repo_dir(), options, fixed(kNow));
    EXPECT_TRUE(repo.has_value()) << (repo ? "" : repo.error().message);
    return std::move(*repo);
  }
  ImageTargetOptions target(const std::string& hw = "plc-x1") {
    ImageTargetOptions o;
    o.hardware_id = hw;
    return o;
  }
  Client client(const std::string& name, std::int64_t now = kNow) {
    return Client(tmp_ / ("client-" + name), repo_dir() / "metadata" / "1.root.json",
                  repo_dir() / "metadata", repo_dir() / "targets", now);
  }
  testing::TempDir tmp_;
};

TEST_F(RepositoryTest, PublishedImageAndChunkIndexDownloadWithCustomFields) {
  IRONSEAL_REQUIREMENTS("SUM-4; CR 3.4");
  Repository repo = init_repo();
  const fs::path img = make_image(tmp_.path(), "app.img", "1.2.3+4", 3);
  ImageTargetOptions o = target();
  o.custom = Json{{"release_notes", "https://example.com/1.2.3"}};
  o.chunk_size = 16 * 1024;
  ASSERT_EQ(*repo.add_image_target(img, o), "app.img");

  // Staged only: a client sees nothing yet.
  {
    Client c = client("before");
    auto t = c.updater().find_target("app.img");
    ASSERT_FALSE(t.has_value());
    EXPECT_EQ(t.error().reason, Reason::kTargetNotFound);
  }
  auto report = repo.publish();
  ASSERT_TRUE(report.has_value()) << report.error().message;
  EXPECT_EQ(report->targets_version, 2u);

  Client c = client("after");
  ASSERT_TRUE(c.updater().refresh().has_value());
  auto t = c.updater().find_target("app.img");
  ASSERT_TRUE(t.has_value());
  const Json custom = Json::parse(t->custom);
  EXPECT_EQ(custom["hardware_id"], "plc-x1");
  EXPECT_EQ(custom["release_notes"], "https://example.com/1.2.3");
  EXPECT_EQ(custom["ironseal"]["version"], "1.2.3+4");
  EXPECT_EQ(custom["ironseal"]["security_counter"], 3);
  EXPECT_EQ(custom["ironseal"]["chunk_index"]["target"], "app.img.chunks");
  EXPECT_EQ(custom["ironseal"]["chunk_index"]["chunk_size"], 16 * 1024);

  auto image_path = c.download("app.img", tmp_ / "dl");
  ASSERT_TRUE(image_path.has_value()) << describe(image_path.error());
  EXPECT_EQ(*read_file(*image_path), *read_file(img));
  auto index_path = c.download("app.img.chunks", tmp_ / "dl");
  ASSERT_TRUE(index_path.has_value()) << describe(index_path.error());
  const Bytes index_bytes = *read_file(*index_path);
  EXPECT_EQ(to_hex(crypto::sha256(index_bytes)), custom["ironseal"]["chunk_index"]["sha256"]);
  EXPECT_EQ(index_bytes.size(), custom["ironseal"]["chunk_index"]["length"].get<std::size_t>());
  auto index = image::parse_chunk_index(index_bytes);
  ASSERT_TRUE(index.has_value());
  EXPECT_EQ(index->image_size, fs::file_size(img));
  EXPECT_EQ(index->chunk_size, 16u * 1024);
  auto chunk_target = c.updater().find_target("app.img.chunks");
  EXPECT_EQ(Json::parse(chunk_target->custom)["ironseal"]["chunk_index_of"], "app.img");
}

TEST_F(RepositoryTest, RefusesWhatIsNotABootImageAndBadCustom) {
  IRONSEAL_REQUIREMENTS("CR 3.4");
  Repository repo = init_repo();
  const fs::path raw = tmp_ / "raw.bin";
  ASSERT_TRUE(write_file_atomic(raw, Bytes(5000, 0x42)).has_value());
  auto r = repo.add_image_target(raw, target());
  ASSERT_FALSE(r.has_value());
  EXPECT_EQ(r.error().code, ErrorCode::kMalformed);

  const fs::path img = make_image(tmp_.path(), "app.img", "1.0.0", 1);
  ImageTargetOptions o = target();
  o.custom = Json::array({1, 2});
  EXPECT_EQ(repo.add_image_target(img, o).error().code, ErrorCode::kInvalidArgument);
  o.custom = Json{{"ratio", 0.5}};  // a float has no canonical JSON form
  EXPECT_EQ(repo.add_image_target(img, o).error().code, ErrorCode::kInvalidArgument);
  o.custom = Json{{"hardware_id", "other"}};
  EXPECT_EQ(repo.add_image_target(img, o).error().code, ErrorCode::kInvalidArgument);
  EXPECT_EQ(repo.add_image_target(img, ImageTargetOptions{}).error().code,
            ErrorCode::kInvalidArgument);  // no hardware id
  // Slot padding behind the TLVs: devices compare exactly `length` bytes, so it is refused.
  Bytes padded = *read_file(img);
  padded.resize(padded.size() + 4096, 0xff);
  ASSERT_TRUE(write_file_atomic(tmp_ / "padded.img", padded).has_value());
  EXPECT_EQ(repo.add_image_target(tmp_ / "padded.img", target()).error().code,
            ErrorCode::kMalformed);
  // An existing repository is never initialised over.
  auto again = Repository::init(repo_dir(), {}, fixed(kNow));
  ASSERT_FALSE(again.has_value());
}

TEST_F(RepositoryTest, SecondPublishShowsBothTargetsWithVersionsBumped) {
  IRONSEAL_REQUIREMENTS("SUM-4; CR 3.4");
  Repository repo = init_repo();
  ASSERT_TRUE(repo.add_image_target(make_image(tmp_.path(), "v1.img", "1.0.0", 1), target()));
  auto first = repo.publish();
  ASSERT_TRUE(first.has_value());
  {
    Client c = client("a");
    ASSERT_TRUE(c.download("v1.img", tmp_ / "dl").has_value());
  }
  ASSERT_TRUE(repo.add_image_target(make_image(tmp_.path(), "v2.img", "2.0.0", 2), target()));
  auto second = repo.publish();
  ASSERT_TRUE(second.has_value());
  EXPECT_EQ(second->targets_version, first->targets_version + 1);
  EXPECT_EQ(second->snapshot_version, first->snapshot_version + 1);
  EXPECT_EQ(second->timestamp_version, first->timestamp_version + 1);

  // The same client state (it trusted the first publication) moves forward.
  Client c = client("a");
  ASSERT_TRUE(c.updater().refresh().has_value());
  EXPECT_EQ(c.updater().trusted()->targets("targets")->version, second->targets_version);
  EXPECT_TRUE(c.download("v1.img", tmp_ / "dl2").has_value());
  EXPECT_TRUE(c.download("v2.img", tmp_ / "dl2").has_value());

  // Nothing changed: only the timestamp is re-signed.
  auto third = repo.publish();
  ASSERT_TRUE(third.has_value());
  EXPECT_FALSE(third->targets_signed);
  EXPECT_FALSE(third->snapshot_signed);
  EXPECT_EQ(third->timestamp_version, second->timestamp_version + 1);
}

TEST_F(RepositoryTest, ClientFollowsRootRotationSignedByOldAndNewKeys) {
  IRONSEAL_REQUIREMENTS("SUM-4; CR 3.4; CR 1.9");
  RepositoryOptions options;
  options.thresholds["root"] = 2;
  Repository repo = init_repo(options);
  ASSERT_TRUE(repo.add_image_target(make_image(tmp_.path(), "app.img", "1.0.0", 1), target()));
  ASSERT_TRUE(repo.publish());
  { ASSERT_TRUE(client("c").updater().refresh().has_value()); }

  auto rotated = repo.rotate("root", 3, 2);
  ASSERT_TRUE(rotated.has_value()) << rotated.error().message;
  const Json v2 = read_json_file(repo_dir() / "metadata" / "2.root.json");
  EXPECT_EQ(v2["signatures"].size(), 5u);  // 2 outgoing + 3 incoming
  EXPECT_TRUE(fs::exists(repo_dir() / "keys" / "retired"));
  EXPECT_EQ(std::distance(fs::directory_iterator(repo_dir() / "keys" / "retired"),
                          fs::directory_iterator{}),
            2);

  // A client that trusted root v1 walks to v2; a new client starting at v1 too.
  for (const char* name : {"c", "fresh"}) {
    Client c = client(name);
    ASSERT_TRUE(c.updater().refresh().has_value()) << name;
    EXPECT_EQ(c.updater().trusted()->root().version, 2u);
    EXPECT_TRUE(c.download("app.img", tmp_ / name).has_value());
  }
  // Root v2 alone (without the old keys' signatures) would not be accepted from v1.
  auto v1 = *read_file(repo_dir() / "metadata" / "1.root.json");
  auto trusted = TrustedMetadata::from_root(v1, fixed(kNow));
  Json stripped = v2;
  stripped["signatures"] = Json::array();
  auto own_keys = v2["signed"]["roles"]["root"]["keyids"];
  for (const auto& sig : v2["signatures"]) {
    if (std::find(own_keys.begin(), own_keys.end(), sig["keyid"]) != own_keys.end()) {
      stripped["signatures"].push_back(sig);
    }
  }
  const std::string text = stripped.dump();
  auto update = trusted->update_root(as_bytes(text));
  ASSERT_FALSE(update.has_value());
  EXPECT_EQ(update.error().reason, Reason::kThresholdNotMet);
}

TEST_F(RepositoryTest, ClientAcceptsRotatedTimestampAndTargetsKeys) {
  IRONSEAL_REQUIREMENTS("SUM-4; CR 3.4; CR 1.9");
  Repository repo = init_repo();
  ASSERT_TRUE(repo.add_image_target(make_image(tmp_.path(), "app.img", "1.0.0", 1), target()));
  ASSERT_TRUE(repo.publish());
  { ASSERT_TRUE(client("c").updater().refresh().has_value()); }

  auto ts = repo.rotate("timestamp", 1, 1);
  ASSERT_TRUE(ts.has_value()) << ts.error().message;
  {
    Client c = client("c");
    ASSERT_TRUE(c.updater().refresh().has_value());
    EXPECT_EQ(c.updater().trusted()->root().version, 2u);
  }
  auto tg = repo.rotate("targets", 2, 2);
  ASSERT_TRUE(tg.has_value()) << tg.error().message;
  ASSERT_EQ(tg->size(), 1u);
  EXPECT_TRUE((*tg)[0].targets_signed);
  Client c = client("c");
  ASSERT_TRUE(c.updater().refresh().has_value());
  EXPECT_EQ(c.updater().trusted()->root().role("targets").threshold, 2u);
  EXPECT_TRUE(c.download("app.img", tmp_ / "dl").has_value());
}

TEST_F(RepositoryTest, ClientRefusesExpiredTimestamp) {
  IRONSEAL_REQUIREMENTS("SUM-4; CR 3.4");
  RepositoryOptions options;
  options.expires_days["timestamp"] = 0;  // expires the moment it is signed
  init_repo(options);
  auto refreshed = client("c").updater().refresh();
  ASSERT_FALSE(refreshed.has_value());
  EXPECT_EQ(refreshed.error().reason, Reason::kExpired);

  // With the default lifetime, the same repository is refused a day and a bit later.
  testing::TempDir other;
  ASSERT_TRUE(Repository::init(other / "R", {}, fixed(kNow)).has_value());
  Client late(other / "late", other / "R" / "metadata" / "root.json", other / "R" / "metadata",
              other / "R" / "targets", kNow + kDaySeconds + 1);
  auto stale = late.updater().refresh();
  ASSERT_FALSE(stale.has_value());
  EXPECT_EQ(stale.error().reason, Reason::kExpired);
}

TEST_F(RepositoryTest, TamperedTargetFileIsRefused) {
  IRONSEAL_REQUIREMENTS("SUM-4; CR 3.4");
  Repository repo = init_repo();
  const fs::path img = make_image(tmp_.path(), "app.img", "1.0.0", 1);
  ASSERT_TRUE(repo.add_image_target(img, target()));
  ASSERT_TRUE(repo.publish());
  const std::string sha = to_hex(crypto::sha256(*read_file(img)));
  const fs::path served = repo_dir() / "targets" / (sha + ".app.img");
  Bytes bytes = *read_file(served);
  bytes[bytes.size() / 2] ^= 0x01;
  fs::remove(served);
  ASSERT_TRUE(write_file_atomic(served, bytes).has_value());
  auto got = client("c").download("app.img", tmp_ / "dl");
  ASSERT_FALSE(got.has_value());
  EXPECT_EQ(got.error().reason, Reason::kHashMismatch);
  EXPECT_FALSE(fs::exists(tmp_ / "dl" / "app.img"));
}

TEST_F(RepositoryTest, DirectorAssignmentListsExactlyTheImageRepositoryEntry) {
  IRONSEAL_REQUIREMENTS("SUM-4; CR 3.4");
  Repository repo = init_repo();
  ASSERT_TRUE(repo.add_image_target(make_image(tmp_.path(), "v1.img", "1.0.0", 1), target()));
  ASSERT_TRUE(repo.add_image_target(make_image(tmp_.path(), "v2.img", "2.0.0", 2), target()));
  ASSERT_TRUE(repo.publish());

  auto director = Director::init(tmp_ / "D", {}, fixed(kNow));
  ASSERT_TRUE(director.has_value()) << director.error().message;
  auto unknown = director->assign("SN-1", repo_dir(), {"nope.img"});
  ASSERT_FALSE(unknown.has_value());
  auto assigned = director->assign("SN-1", repo_dir(), {"v2.img"});
  ASSERT_TRUE(assigned.has_value()) << assigned.error().message;
  EXPECT_EQ(assigned->targets, (std::vector<std::string>{"v2.img", "v2.img.chunks"}));

  // The device: director metadata under the director's root, image bytes from the image repo.
  Client device(tmp_ / "device", tmp_ / "D" / "metadata" / "1.root.json",
                tmp_ / "D" / "devices" / "SN-1" / "metadata", repo_dir() / "targets");
  ASSERT_TRUE(device.updater().refresh().has_value());
  const Targets* listed = device.updater().trusted()->targets("targets");
  ASSERT_NE(listed, nullptr);
  EXPECT_EQ(listed->targets.size(), 2u);
  EXPECT_FALSE(listed->targets.contains("v1.img"));
  Client image_client = client("image");
  auto from_image = image_client.updater().find_target("v2.img");
  auto from_director = device.updater().find_target("v2.img");
  ASSERT_TRUE(from_image.has_value());
  ASSERT_TRUE(from_director.has_value());
  EXPECT_EQ(from_director->hashes, from_image->hashes);
  EXPECT_EQ(from_director->length, from_image->length);
  EXPECT_EQ(Json::parse(from_director->custom), Json::parse(from_image->custom));
  EXPECT_EQ(Json::parse(from_director->custom)["hardware_id"], "plc-x1");
  EXPECT_TRUE(device.download("v2.img", tmp_ / "dev-dl").has_value());

  // Re-assigning bumps the device's versions; its client follows.
  auto again = director->assign("SN-1", repo_dir(), {"v1.img"});
  ASSERT_TRUE(again.has_value());
  EXPECT_EQ(again->chain.targets_version, assigned->chain.targets_version + 1);
  EXPECT_EQ(again->chain.timestamp_version, assigned->chain.timestamp_version + 1);
  Client device2(tmp_ / "device", tmp_ / "D" / "metadata" / "1.root.json",
                 tmp_ / "D" / "devices" / "SN-1" / "metadata", repo_dir() / "targets");
  ASSERT_TRUE(device2.updater().refresh().has_value());
  EXPECT_TRUE(device2.updater().find_target("v1.img").has_value());
  EXPECT_FALSE(device2.updater().find_target("v2.img").has_value());

  // A director root rotation reaches every device directory.
  ASSERT_TRUE(director->repository().rotate("root", 1, 1).has_value());
  EXPECT_TRUE(fs::exists(tmp_ / "D" / "devices" / "SN-1" / "metadata" / "2.root.json"));
  Client device3(tmp_ / "device", tmp_ / "D" / "metadata" / "1.root.json",
                 tmp_ / "D" / "devices" / "SN-1" / "metadata", repo_dir() / "targets");
  ASSERT_TRUE(device3.updater().refresh().has_value());
  EXPECT_EQ(device3.updater().trusted()->root().version, 2u);
}

TEST_F(RepositoryTest, DirectorRefusesAnImageRepositoryWhoseTargetsDoNotVerify) {
  IRONSEAL_REQUIREMENTS("SUM-4; CR 3.4");
  Repository repo = init_repo();
  ASSERT_TRUE(repo.add_image_target(make_image(tmp_.path(), "app.img", "1.0.0", 1), target()));
  auto published = repo.publish();
  ASSERT_TRUE(published.has_value());
  // Someone with write access to the image repository's files (but not its targets key) edits
  // the published targets: the director must not copy the edit.
  const fs::path path =
      repo_dir() / "metadata" / (std::to_string(published->targets_version) + ".targets.json");
  Json doc = read_json_file(path);
  doc["signed"]["targets"]["app.img"]["custom"]["hardware_id"] = "other-hw";
  const std::string text = doc.dump();
  fs::remove(path);
  ASSERT_TRUE(write_file_atomic(path, as_bytes(text)).has_value());
  auto director = Director::init(tmp_ / "D", {}, fixed(kNow));
  ASSERT_TRUE(director.has_value());
  auto assigned = director->assign("SN-1", repo_dir(), {"app.img"});
  ASSERT_FALSE(assigned.has_value());
  EXPECT_EQ(assigned.error().code, ErrorCode::kNotTrusted);
}

}  // namespace
}  // namespace ironseal::repo
