// GET /api/v1/audit (docs/fleet-api.md, "Audit trail"), driven through the Router with the real
// parts over a SQLite store and a real hash-chained trail, without the network. Negative cases
// first: no token is 401, a bad limit or cursor is 400, a server without a trail says so (404
// audit_not_configured). Then what an auditor relies on: paging hands over every record once and
// in order, filters select, the jsonl form is the stored bytes (a damaged trail included, so the
// receiver's verification names the damage), and the checkpoint is served as written.
#include <gtest/gtest.h>

#include <fstream>
#include <memory>
#include <sstream>

#include "audit/record.h"
#include "audit/verify.h"
#include "crypto/signer.h"
#include "fleet/auth.h"
#include "fleet/router.h"
#include "support/requirements.h"
#include "support/test_env.h"

namespace ironseal::fleet {
namespace {

using Json = nlohmann::json;
using ironseal::testing::TempDir;
namespace fs = std::filesystem;

std::string read_text(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

class FleetAuditApi : public ::testing::Test {
 protected:
  void SetUp() override {
    auto store = open_sqlite_store(dir_ / "fleet.db");
    ASSERT_TRUE(store) << store.error().message;
    shared_ = std::make_unique<SharedStore>(std::move(*store), [] { return 1000; });
    for (const char* role : {"viewer", "operator"}) {
      ASSERT_TRUE(shared_->store().add_account({std::string(role) + "1", role, "x", 0}));
      ASSERT_TRUE(shared_->store().add_token(
          {token_digest(std::string("tok-") + role), std::string(role) + "1", 2000}));
    }
    rollouts_ = std::make_unique<RolloutEngine>(*shared_, nullptr, metrics_, 0);
    sessions_ =
        std::make_unique<DeviceSessions>(*shared_, *rollouts_, metrics_, 60, DeviceLimits{});
    est_ = std::make_unique<EstEndpoint>(nullptr, *shared_, metrics_);
    accounts_ = std::make_unique<OperatorAccounts>(*shared_, metrics_, 3600, LoginPolicy{});
    api_ = std::make_unique<OperatorApi>(*shared_, *rollouts_, *sessions_, metrics_);
    router_ = std::make_unique<Router>(
        RouterConfig{}, Router::Parts{*shared_, *accounts_, *sessions_, *est_, *api_});
  }

  // The trail, checkpoints every 5 events, and `events` events after server.start: devices and
  // operators alternating.
  void open_trail(int events) {
    auto key = crypto::PrivateKey::generate(crypto::KeyType::kEd25519);
    ASSERT_TRUE(key);
    public_ = std::make_unique<crypto::PublicKey>(key->public_key());
    auto lock = shared_->lock();
    ASSERT_TRUE(shared_->open_audit_log(trail(), std::make_unique<crypto::KeyFileSigner>(*key), 5));
    ASSERT_TRUE(shared_->audit("server", "server.start", "info", Json::object()));
    for (int i = 0; i < events; ++i) {
      const bool device = i % 2 == 0;
      ASSERT_TRUE(shared_->audit(device ? "device:SN-1" : "operator:ops",
                                 device ? "device.report" : "rollout.pause", "ok", {{"i", i}}));
    }
  }

  fs::path trail() const { return dir_ / "audit"; }

  HttpResponse get(const std::string& target, const std::string& token = "tok-viewer") {
    HttpRequest r;
    r.method = "GET";
    r.target = target;
    if (!token.empty()) r.authorization = "Bearer " + token;
    return router_->handle(r);
  }

  static std::string header(const HttpResponse& r, const std::string& name) {
    for (const auto& [k, v] : r.headers) {
      if (k == name) return v;
    }
    return {};
  }

  TempDir dir_;
  Metrics metrics_;
  std::unique_ptr<SharedStore> shared_;
  std::unique_ptr<RolloutEngine> rollouts_;
  std::unique_ptr<DeviceSessions> sessions_;
  std::unique_ptr<EstEndpoint> est_;
  std::unique_ptr<OperatorAccounts> accounts_;
  std::unique_ptr<OperatorApi> api_;
  std::unique_ptr<Router> router_;
  std::unique_ptr<crypto::PublicKey> public_;
};

TEST_F(FleetAuditApi, NoOrAnUnknownTokenIsRefusedWithABearerChallenge) {
  IRONSEAL_REQUIREMENTS("CR 1.1; CR 2.1; CR 6.1");
  open_trail(3);
  for (const std::string target :
       {"/api/v1/audit", "/api/v1/audit?format=jsonl", "/api/v1/audit/checkpoint"}) {
    for (const std::string token : {"", "tok-nobody"}) {
      const HttpResponse out = get(target, token);
      EXPECT_EQ(out.status, 401) << target << " " << token;
      EXPECT_EQ(header(out, "WWW-Authenticate"), "Bearer");
      EXPECT_EQ(out.body.find("server.start"), std::string::npos) << "nothing of the trail leaks";
    }
  }
}

TEST_F(FleetAuditApi, BadLimitsCursorsFormatsAndFiltersAre400) {
  IRONSEAL_REQUIREMENTS("CR 6.1; CR 3.5");
  open_trail(3);
  for (const std::string& query : std::vector<std::string>{
           "limit=0", "limit=10001", "limit=abc", "limit=-1", "after_seq=-1", "after_seq=1x",
           "format=xml", "format=jsonl&event=auth.", "format=jsonl&actor=system", "event=%G1",
           "actor=%4", "event=" + std::string(257, 'a')}) {
    const HttpResponse out = get("/api/v1/audit?" + query);
    EXPECT_EQ(out.status, 400) << query;
    EXPECT_EQ(Json::parse(out.body)["error"], "bad_field") << query;
  }
  EXPECT_EQ(get("/api/v1/audit?limit=10000").status, 200);
  EXPECT_EQ(get("/api/v1/audit/nothing").status, 404);
  HttpRequest post;
  post.method = "POST";
  post.target = "/api/v1/audit";
  post.authorization = "Bearer tok-operator";
  EXPECT_EQ(router_->handle(post).status, 405);
}

TEST_F(FleetAuditApi, WithoutATrailTheAnswerSaysSo) {
  IRONSEAL_REQUIREMENTS("CR 6.1");
  for (const std::string target :
       {"/api/v1/audit", "/api/v1/audit?format=jsonl", "/api/v1/audit/checkpoint"}) {
    const HttpResponse out = get(target);
    EXPECT_EQ(out.status, 404) << target;
    EXPECT_EQ(Json::parse(out.body)["error"], "audit_not_configured") << target;
  }
}

TEST_F(FleetAuditApi, APageIsWorkForAWorkerWhileRefusalsAreAnsweredAtOnce) {
  IRONSEAL_REQUIREMENTS("CR 7.1; CR 6.1");
  auto dispatch = [&](const std::string& target, const std::string& token) {
    HttpRequest r;
    r.listener = Listener::kOperator;
    r.method = "GET";
    r.target = target;
    if (!token.empty()) r.authorization = "Bearer " + token;
    return router_->dispatch(r);
  };
  Dispatch none = dispatch("/api/v1/audit", "tok-viewer");
  EXPECT_FALSE(none.work);
  EXPECT_EQ(none.response.status, 404) << "no trail: answered at once";
  open_trail(3);
  Dispatch refused = dispatch("/api/v1/audit", "");
  EXPECT_FALSE(refused.work);
  EXPECT_EQ(refused.response.status, 401);
  Dispatch bad = dispatch("/api/v1/audit?limit=0", "tok-viewer");
  EXPECT_FALSE(bad.work);
  EXPECT_EQ(bad.response.status, 400);
  Dispatch page = dispatch("/api/v1/audit?format=jsonl", "tok-viewer");
  ASSERT_TRUE(page.work) << "reading the page is off the I/O thread";
  EXPECT_EQ(page.response.status, 503) << "what to answer when no worker can take it";
  EXPECT_EQ(Json::parse(page.response.body)["error"], "audit_busy");
  {
    auto lock = shared_->lock();  // appended after the request was taken: not in its page
    ASSERT_TRUE(shared_->audit("system", "late", "info", Json::object()));
  }
  const HttpResponse out = page.work();
  EXPECT_EQ(out.status, 200);
  EXPECT_EQ(header(out, "Ironseal-Audit-Next-After-Seq"), "4");
  EXPECT_EQ(out.body.find("\"late\""), std::string::npos);
}

TEST_F(FleetAuditApi, AViewerPagesThroughEveryRecordOnceAndInOrder) {
  IRONSEAL_REQUIREMENTS("CR 2.8; CR 6.1");
  open_trail(23);  // 24 events and 4 checkpoints
  std::vector<std::uint64_t> seqs;
  std::uint64_t after = 0;
  for (int pages = 0; pages < 20; ++pages) {
    const HttpResponse out = get("/api/v1/audit?limit=7&after_seq=" + std::to_string(after));
    ASSERT_EQ(out.status, 200) << out.body;
    const Json page = Json::parse(out.body);
    for (const auto& r : page["records"]) {
      // As stored: the record's own fields, its hash still its hash.
      auto rec = audit::decode(r.dump());
      ASSERT_TRUE(rec) << r.dump();
      EXPECT_EQ(audit::record_hash(*rec), rec->hash);
      seqs.push_back(rec->seq);
    }
    EXPECT_EQ(page["checkpoint"]["seq"], 24u) << "the latest checkpoint comes with every page";
    after = page["next_after_seq"].get<std::uint64_t>();
    if (!page["more"].get<bool>()) break;
  }
  ASSERT_EQ(seqs.size(), 28u);
  for (std::size_t i = 0; i < seqs.size(); ++i) EXPECT_EQ(seqs[i], i + 1);
  EXPECT_EQ(after, 28u);
  const Json past = Json::parse(get("/api/v1/audit?after_seq=28").body);
  EXPECT_TRUE(past["records"].empty());
  EXPECT_FALSE(past["more"].get<bool>());
}

TEST_F(FleetAuditApi, FiltersByEventPrefixAndActor) {
  IRONSEAL_REQUIREMENTS("CR 2.8; CR 6.1");
  open_trail(10);
  const Json ops = Json::parse(get("/api/v1/audit?actor=operator%3Aops").body);
  ASSERT_EQ(ops["records"].size(), 5u);
  for (const auto& r : ops["records"]) EXPECT_EQ(r["actor"], "operator:ops");
  const Json reports = Json::parse(get("/api/v1/audit?event=device.&actor=device:SN-1").body);
  ASSERT_EQ(reports["records"].size(), 5u);
  for (const auto& r : reports["records"]) EXPECT_EQ(r["event"], "device.report");
  const Json checkpoints = Json::parse(get("/api/v1/audit?event=audit.checkpoint").body);
  ASSERT_EQ(checkpoints["records"].size(), 2u);
  EXPECT_EQ(checkpoints["records"][1]["seq"], checkpoints["checkpoint"]["seq"]);
  const Json none = Json::parse(get("/api/v1/audit?event=nothing.").body);
  EXPECT_TRUE(none["records"].empty());
  EXPECT_EQ(none["next_after_seq"], 13u) << "the cursor moves past what was examined";
}

TEST_F(FleetAuditApi, JsonlPagesAreTheStoredBytesAndTheCheckpointAsWritten) {
  IRONSEAL_REQUIREMENTS("CR 3.9; CR 6.1");
  open_trail(12);
  std::string served;
  std::uint64_t after = 0;
  for (;;) {
    const HttpResponse out =
        get("/api/v1/audit?format=jsonl&limit=4&after_seq=" + std::to_string(after));
    ASSERT_EQ(out.status, 200);
    EXPECT_EQ(out.content_type, "application/x-ndjson");
    EXPECT_TRUE(
        header(out, "Ironseal-Audit-Segments").starts_with("audit-0000000000000001.jsonl "));
    served += out.body;
    after = std::stoull(header(out, "Ironseal-Audit-Next-After-Seq"));
    if (header(out, "Ironseal-Audit-More") != "true") break;
  }
  EXPECT_EQ(served, read_text(trail() / "audit-0000000000000001.jsonl"));
  const HttpResponse cp = get("/api/v1/audit/checkpoint");
  ASSERT_EQ(cp.status, 200);
  EXPECT_EQ(cp.body, read_text(trail() / "checkpoint.json"));
}

TEST_F(FleetAuditApi, ADamagedTrailIsServedAsStoredForTheReceiverToFind) {
  IRONSEAL_REQUIREMENTS("CR 3.9; CR 6.1");
  open_trail(8);
  {
    auto lock = shared_->lock();
    ASSERT_TRUE(shared_->flush_audit());
  }
  const fs::path seg = trail() / "audit-0000000000000001.jsonl";
  std::string text = read_text(seg);
  // An insider edits record 3's details and cuts record 6 in half.
  const auto edit = text.find("\"i\":1}");
  ASSERT_NE(edit, std::string::npos);
  text.replace(edit, 6, "\"i\":7}");
  std::vector<std::string> lines;
  std::stringstream ss(text);
  for (std::string l; std::getline(ss, l);) lines.push_back(l + "\n");
  lines[5] = lines[5].substr(0, 40) + "\n";
  std::string damaged;
  for (const auto& l : lines) damaged += l;
  std::ofstream(seg, std::ios::binary | std::ios::trunc) << damaged;

  const HttpResponse raw = get("/api/v1/audit?format=jsonl&limit=10000");
  ASSERT_EQ(raw.status, 200);
  EXPECT_EQ(raw.body, damaged) << "served byte for byte, damage included";
  const Json page = Json::parse(get("/api/v1/audit").body);
  ASSERT_EQ(page["malformed"].size(), 1u);
  EXPECT_EQ(page["malformed"][0]["line"], 6u);
  EXPECT_EQ(page["records"].size(), lines.size() - 1);
  // What a receiver of the lines finds: the first damage, with its reason.
  TempDir copy;
  std::ofstream(copy / "audit-0000000000000001.jsonl", std::ios::binary) << raw.body;
  auto v = audit::verify_log(copy.path(), public_.get());
  ASSERT_TRUE(v);
  ASSERT_TRUE(v->problem);
  EXPECT_EQ(v->problem->reason, "modified");
  EXPECT_EQ(v->problem->seq, 3u);
}

TEST_F(FleetAuditApi, ASegmentNamedToBreakTheAnswerDoesNot) {
  IRONSEAL_REQUIREMENTS("CR 3.9; CR 7.2");
  open_trail(2);
  // Whoever can write the directory adds a segment whose name holds a line break and a byte that
  // is not UTF-8, with an undecodable line in it.
  const std::string name = std::string("audit-9\r\nX-Injected: 1\xff") + ".jsonl";
  std::ofstream(trail() / name, std::ios::binary) << "not json\n";
  const HttpResponse raw = get("/api/v1/audit?format=jsonl");
  ASSERT_EQ(raw.status, 200);
  const std::string segments = header(raw, "Ironseal-Audit-Segments");
  EXPECT_EQ(segments.find('\n'), std::string::npos) << segments;
  EXPECT_EQ(segments.find('\r'), std::string::npos) << segments;
  EXPECT_TRUE(header(raw, "X-Injected").empty());
  EXPECT_NE(raw.body.find("not json\n"), std::string::npos) << "served as stored";
  const HttpResponse page = get("/api/v1/audit");
  ASSERT_EQ(page.status, 200);
  const Json j = Json::parse(page.body);
  ASSERT_EQ(j["malformed"].size(), 1u);
  EXPECT_EQ(j["malformed"][0]["line"], 1u);
}

}  // namespace
}  // namespace ironseal::fleet
