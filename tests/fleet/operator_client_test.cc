// The operator client (net/operator_client.h) against the real fleet service on loopback: the
// service and its HTTPS transport in this process, a test PKI made fresh by make_test_pki.sh.
// What `ironseal fleet` and `fleet simulate --register` rely on: each refusal keeps its reason and
// maps to the error code the CLI turns into an exit code, and a server that cannot prove itself
// is never talked to.
#include "net/operator_client.h"

#include <gtest/gtest.h>
#include <stdlib.h>

#include <cstdlib>
#include <fstream>
#include <sstream>
#include <thread>

#include "audit/log.h"
#include "audit/verify.h"
#include "crypto/key.h"
#include "fleet/http_server.h"
#include "fleet/metrics.h"
#include "fleet/service.h"
#include "net/audit_mirror.h"
#include "support/requirements.h"
#include "support/test_env.h"

namespace ironseal::net {
namespace {

using ironseal::testing::TempDir;
using Json = nlohmann::json;

class OperatorApi : public ::testing::Test {
 protected:
  // One test PKI for the suite (openssl runs take seconds); a server and store per test.
  static void SetUpTestSuite() {
    pki_dir_ = new TempDir;
    const std::string cmd = "bash " IRONSEAL_TESTS_DIR "/fleet/make_test_pki.sh " + pki().string() +
                            " plc-x1 >/dev/null 2>&1";
    ASSERT_EQ(std::system(cmd.c_str()), 0) << cmd;
  }
  static void TearDownTestSuite() {
    delete pki_dir_;
    pki_dir_ = nullptr;
  }

  void SetUp() override {
    ASSERT_NE(pki_dir_, nullptr);
    auto store = fleet::open_sqlite_store(dir_ / "fleet.db");
    ASSERT_TRUE(store) << store.error().message;
    const fleet::ServiceConfig config = service_config();
    service_ = std::make_unique<fleet::FleetService>(config, std::move(*store), nullptr, nullptr,
                                                     metrics_);
    if (!config.audit_dir.empty()) {
      ASSERT_TRUE(service_->open_audit("server.start"));
    }
    ASSERT_TRUE(service_->add_account("ops", "operator", "operator-password-1"));
    ASSERT_TRUE(service_->add_account("watcher", "viewer", "viewer-password-1"));
    fleet::ServerConfig server_config;
    server_config.device_port = 0;
    server_config.operator_port = 0;
    server_config.tls.certificate_chain = pki() / "server.pem";
    server_config.tls.private_key = pki() / "server.key";
    server_config.trust.device_ca = {pki() / "test-device-ca.pem"};
    server_config.trust.crl = {pki() / "device-ca.crl"};
    auto server = fleet::FleetServer::create(server_config, *service_, metrics_);
    ASSERT_TRUE(server) << server.error().message;
    server_ = std::move(*server);
    thread_ = std::thread([this] { server_->run(false); });
  }

  void TearDown() override {
    if (server_) server_->stop();
    if (thread_.joinable()) thread_.join();
  }

  virtual fleet::ServiceConfig service_config() { return {}; }

  static std::filesystem::path pki() { return pki_dir_->path() / "pki"; }

  OperatorEndpoint endpoint(const std::string& token = {}) const {
    return {"https://127.0.0.1:" + std::to_string(server_->operator_port()) + "/", token,
            pki() / "trust-root.pem"};
  }

  std::string token_of(const std::string& name, const std::string& password) {
    auto c = OperatorClient::create(endpoint());
    EXPECT_TRUE(c);
    auto r = c->login(name, password);
    EXPECT_TRUE(r) << r.error().message;
    return r ? (*r)["token"].get<std::string>() : std::string();
  }

  static inline TempDir* pki_dir_ = nullptr;
  TempDir dir_;
  fleet::Metrics metrics_;
  std::unique_ptr<fleet::FleetService> service_;
  std::unique_ptr<fleet::FleetServer> server_;
  std::thread thread_;
};

TEST_F(OperatorApi, RegistersListsAndRegistersAgainIdempotently) {
  IRONSEAL_REQUIREMENTS("CR 1.1;CR 2.1;CR 3.1");
  auto c = OperatorClient::create(endpoint(token_of("ops", "operator-password-1")));
  ASSERT_TRUE(c) << c.error().message;
  EXPECT_NE(c->url().back(), '/');  // the trailing slash is dropped
  auto first = c->ensure_registered("SN-1", "plc-x1", "line-1");
  ASSERT_TRUE(first) << first.error().message;
  EXPECT_TRUE(*first);
  auto again = c->ensure_registered("SN-1", "plc-x1", "line-1");
  ASSERT_TRUE(again) << again.error().message;
  EXPECT_FALSE(*again) << "a serial the server knows is not registered twice";
  auto listed = c->list_devices("line-1");
  ASSERT_TRUE(listed) << listed.error().message;
  ASSERT_EQ((*listed)["devices"].size(), 1u);
  EXPECT_EQ((*listed)["devices"][0]["serial"], "SN-1");
}

TEST_F(OperatorApi, RefusalsKeepTheServersReasonAndMapToWhy) {
  IRONSEAL_REQUIREMENTS("CR 1.1;CR 2.1");
  auto anonymous = OperatorClient::create(endpoint());
  ASSERT_TRUE(anonymous);
  // A wrong password: not trusted (exit 1), with the status.
  auto login = anonymous->login("ops", "not-the-password");
  ASSERT_FALSE(login);
  EXPECT_EQ(login.error().code, ErrorCode::kNotTrusted);
  EXPECT_TRUE(login.error().message.starts_with("server refused (401): ")) << login.error().message;
  // No token at all.
  auto list = anonymous->list_devices("");
  ASSERT_FALSE(list);
  EXPECT_EQ(list.error().code, ErrorCode::kNotTrusted);
  // A viewer may not register devices: forbidden, and the token is not in the message.
  const std::string viewer_token = token_of("watcher", "viewer-password-1");
  auto viewer = OperatorClient::create(endpoint(viewer_token));
  ASSERT_TRUE(viewer);
  auto reg = viewer->register_device("SN-2", "plc-x1", "default");
  ASSERT_FALSE(reg);
  EXPECT_EQ(reg.error().code, ErrorCode::kNotTrusted);
  EXPECT_TRUE(reg.error().message.starts_with("server refused (403): ")) << reg.error().message;
  EXPECT_EQ(reg.error().message.find(viewer_token), std::string::npos);
  auto idempotent = viewer->ensure_registered("SN-2", "plc-x1", "default");
  ASSERT_FALSE(idempotent);
  EXPECT_EQ(idempotent.error().code, ErrorCode::kNotTrusted);
  EXPECT_TRUE(idempotent.error().message.starts_with("registering SN-2: server refused (403)"))
      << idempotent.error().message;
  // A conflict is a usage error (exit 2) that says what conflicts.
  auto ops = OperatorClient::create(endpoint(token_of("ops", "operator-password-1")));
  ASSERT_TRUE(ops);
  ASSERT_TRUE(ops->register_device("SN-3", "plc-x1", "default"));
  auto twice = ops->register_device("SN-3", "plc-x1", "default");
  ASSERT_FALSE(twice);
  EXPECT_EQ(twice.error().code, ErrorCode::kInvalidArgument);
  EXPECT_TRUE(twice.error().message.starts_with("server refused (409): ")) << twice.error().message;
  EXPECT_NE(twice.error().message.find("already registered"), std::string::npos)
      << twice.error().message;
}

TEST_F(OperatorApi, NeverTalksToAServerItCannotAuthenticate) {
  IRONSEAL_REQUIREMENTS("CR 3.1");
  // The server's certificate does not chain to these anchors: the TLS handshake fails.
  OperatorEndpoint foreign = endpoint();
  foreign.ca_file = pki() / "test-foreign-ca.pem";
  auto c = OperatorClient::create(foreign);
  ASSERT_TRUE(c);
  auto r = c->login("ops", "operator-password-1");
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, ErrorCode::kIo);
  EXPECT_TRUE(r.error().message.starts_with("POST https://127.0.0.1:")) << r.error().message;
  // Plain HTTP is not spoken at all, whatever the URL says.
  OperatorEndpoint plain = endpoint();
  plain.url = "http://127.0.0.1:" + std::to_string(server_->operator_port());
  auto h = OperatorClient::create(plain);
  ASSERT_TRUE(h);
  auto hr = h->login("ops", "operator-password-1");
  ASSERT_FALSE(hr);
  EXPECT_EQ(hr.error().code, ErrorCode::kIo);
  // And without a URL there is no client.
  auto none = OperatorClient::create({"", "", ""});
  ASSERT_FALSE(none);
  EXPECT_EQ(none.error().code, ErrorCode::kInvalidArgument);
}

// The same server keeping a hash-chained audit trail, checkpoints every 3 events.
class OperatorApiAudit : public OperatorApi {
 protected:
  fleet::ServiceConfig service_config() override {
    auto key = crypto::PrivateKey::generate(crypto::KeyType::kEd25519);
    EXPECT_TRUE(key);
    EXPECT_TRUE(key->save(dir_ / "audit.pem"));
    public_ = std::make_unique<crypto::PublicKey>(key->public_key());
    fleet::ServiceConfig c;
    c.audit_dir = dir_ / "audit";
    c.audit_key = (dir_ / "audit.pem").string();
    c.audit_checkpoint_every = 3;
    return c;
  }
  std::unique_ptr<crypto::PublicKey> public_;
};

TEST_F(OperatorApi, WithoutATrailTheAuditRequestIsRefusedWithTheReason) {
  IRONSEAL_REQUIREMENTS("CR 6.1");
  auto c = OperatorClient::create(endpoint(token_of("watcher", "viewer-password-1")));
  ASSERT_TRUE(c);
  TempDir copy;
  auto r = mirror_audit_trail(*c, copy.path());
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, ErrorCode::kInvalidArgument);  // 404: exit 2
  EXPECT_NE(r.error().message.find("no audit trail"), std::string::npos) << r.error().message;
}

TEST_F(OperatorApiAudit, AViewersCopyOfTheTrailVerifiesAndAnEditOnTheServerIsFound) {
  IRONSEAL_REQUIREMENTS("CR 2.8; CR 3.9; CR 6.1");
  auto anonymous = OperatorClient::create(endpoint());
  ASSERT_TRUE(anonymous);
  TempDir refused;
  auto none = mirror_audit_trail(*anonymous, refused.path());
  ASSERT_FALSE(none);
  EXPECT_EQ(none.error().code, ErrorCode::kNotTrusted);  // 401: exit 1
  const std::string viewer = token_of("watcher", "viewer-password-1");
  for (int i = 0; i < 4; ++i) ASSERT_FALSE(anonymous->login("ops", "wrong-password"));
  auto c = OperatorClient::create(endpoint(viewer));
  ASSERT_TRUE(c);
  TempDir copy;
  auto mirrored = mirror_audit_trail(*c, copy.path(), 2);
  ASSERT_TRUE(mirrored) << mirrored.error().message;
  EXPECT_TRUE(mirrored->checkpoint);
  EXPECT_TRUE(mirrored->complete);
  EXPECT_GE(mirrored->pages, 4u);
  auto ok = audit::verify_log(copy.path(), public_.get());
  ASSERT_TRUE(ok) << ok.error().message;
  EXPECT_FALSE(ok->problem) << ok->problem->reason << ": " << ok->problem->detail;
  EXPECT_GE(ok->checkpoints, 2u);
  EXPECT_EQ(ok->records, mirrored->lines);
  // An insider edits a refused login into an accepted one in the server's files.
  const auto seg = dir_ / "audit" / audit::segment_name(1);
  std::string text;
  {
    std::ifstream in(seg, std::ios::binary);
    std::stringstream ss;
    ss << in.rdbuf();
    text = ss.str();
  }
  const auto at = text.find("\"outcome\":\"refused\"");
  ASSERT_NE(at, std::string::npos);
  text.replace(at, 19, "\"outcome\":\"ok\"");
  std::ofstream(seg, std::ios::binary | std::ios::trunc) << text;
  TempDir again;
  ASSERT_TRUE(mirror_audit_trail(*c, again.path(), 2));
  auto found = audit::verify_log(again.path(), public_.get());
  ASSERT_TRUE(found);
  ASSERT_TRUE(found->problem);
  EXPECT_EQ(found->problem->reason, "modified");
}

TEST(OperatorEndpoint, TheEnvironmentFillsInWhatTheOptionsLeaveOpen) {
  IRONSEAL_REQUIREMENTS("CR 1.1");
  ::setenv("IRONSEAL_FLEET_URL", "https://env:1", 1);
  ::setenv("IRONSEAL_FLEET_TOKEN", "env-token", 1);
  ::setenv("IRONSEAL_FLEET_CACERT", "env-ca.pem", 1);
  const auto given = endpoint_with_environment({"https://option:2", "option-token", ""});
  EXPECT_EQ(given.url, "https://env:1");  // the documented precedence of IRONSEAL_FLEET_URL
  EXPECT_EQ(given.token, "option-token");
  EXPECT_EQ(given.ca_file, "env-ca.pem");
  ::unsetenv("IRONSEAL_FLEET_URL");
  ::unsetenv("IRONSEAL_FLEET_TOKEN");
  ::unsetenv("IRONSEAL_FLEET_CACERT");
  const auto bare = endpoint_with_environment({"https://option:2", "", ""});
  EXPECT_EQ(bare.url, "https://option:2");
  EXPECT_TRUE(bare.token.empty());
  EXPECT_EQ(refusal_code(401), ErrorCode::kNotTrusted);
  EXPECT_EQ(refusal_code(403), ErrorCode::kNotTrusted);
  EXPECT_EQ(refusal_code(404), ErrorCode::kInvalidArgument);
  EXPECT_EQ(refusal_code(503), ErrorCode::kIo);
}

}  // namespace
}  // namespace ironseal::net
