// Operator logins under attack (issue 12): failed logins throttled per (peer, account) and per
// peer, never per account alone, so an attacker cannot keep an operator out from elsewhere; the
// Argon2id check handed off the I/O thread to a bounded worker pool; the throttle's memory
// bounded. The service is driven with the peer address the transport would hand over; the
// transport itself is tested over TLS in tests/fleet/server_test.py (login_throttle,
// login_flood).
#include <gtest/gtest.h>

#include <atomic>
#include <condition_variable>
#include <future>
#include <mutex>
#include <thread>

#include "fleet/login_throttle.h"
#include "fleet/service.h"
#include "fleet/worker_pool.h"
#include "support/requirements.h"
#include "support/test_env.h"

namespace ironseal::fleet {
namespace {

using Json = nlohmann::json;
using ironseal::testing::TempDir;

constexpr const char* kAdminPassword = "correct horse battery staple";

std::string header(const HttpResponse& r, const std::string& name) {
  for (const auto& [k, v] : r.headers) {
    if (k == name) return v;
  }
  return "";
}

class FleetLogin : public ::testing::Test {
 protected:
  void SetUp() override {
    auto store = open_sqlite_store(dir_ / "fleet.db");
    ASSERT_TRUE(store) << store.error().message;
    service_ = std::make_unique<FleetService>(ServiceConfig{}, std::move(*store), nullptr, nullptr,
                                              metrics_, [this] { return now_.load(); });
    ASSERT_TRUE(service_->add_account("admin", "admin", kAdminPassword));
  }

  static HttpRequest login_request(const std::string& peer, const std::string& name,
                                   const std::string& password) {
    HttpRequest r;
    r.listener = Listener::kOperator;
    r.method = "POST";
    r.target = "/api/v1/login";
    r.content_type = "application/json";
    r.body = Json{{"name", name}, {"password", password}}.dump();
    r.peer = peer;
    return r;
  }

  HttpResponse login(const std::string& peer, const std::string& name,
                     const std::string& password) {
    return service_->handle(login_request(peer, name, password));
  }

  static std::string error_of(const HttpResponse& r) {
    return Json::parse(r.body, nullptr, false).value("error", "");
  }
  static std::string reason_of(const HttpResponse& r) {
    return Json::parse(r.body, nullptr, false).value("reason", "");
  }

  // The audit events (newest first), read with an admin token from `peer`.
  Json events(const std::string& peer) {
    const HttpResponse ok = login(peer, "admin", kAdminPassword);
    EXPECT_EQ(ok.status, 200) << ok.body;
    HttpRequest r;
    r.listener = Listener::kOperator;
    r.method = "GET";
    r.target = "/api/v1/events?limit=1000";
    r.authorization = "Bearer " + Json::parse(ok.body).value("token", "");
    const HttpResponse out = service_->handle(r);
    EXPECT_EQ(out.status, 200) << out.body;
    return Json::parse(out.body)["events"];
  }

  TempDir dir_;
  Metrics metrics_;
  std::atomic<std::int64_t> now_{1'800'000'000};
  std::unique_ptr<FleetService> service_;
};

// Issue 12 item 7: five wrong passwords from one address used to lock the account for everyone.
TEST_F(FleetLogin, AttackerPeerIsThrottledWhileTheRightPasswordFromAnotherPeerLogsIn) {
  IRONSEAL_REQUIREMENTS("CR 1.11; CR 7.1");
  for (int i = 0; i < 5; ++i) {
    const HttpResponse r = login("192.0.2.66", "admin", "wrong password " + std::to_string(i));
    ASSERT_EQ(r.status, 401) << r.body;
    EXPECT_EQ(error_of(r), "unauthorized");
  }
  const HttpResponse locked = login("192.0.2.66", "admin", "another wrong one");
  EXPECT_EQ(locked.status, 429) << locked.body;
  EXPECT_EQ(error_of(locked), "too_many_attempts");
  EXPECT_EQ(reason_of(locked), "account_locked_for_peer");
  EXPECT_EQ(header(locked, "Retry-After"), "30");
  // The attacker's address waits, even with the right password...
  const HttpResponse still = login("192.0.2.66", "admin", kAdminPassword);
  EXPECT_EQ(still.status, 429);
  EXPECT_EQ(reason_of(still), "account_locked_for_peer");
  // ...the operator at another address does not.
  const HttpResponse ok = login("192.0.2.10", "admin", kAdminPassword);
  ASSERT_EQ(ok.status, 200) << ok.body;
  EXPECT_TRUE(Json::parse(ok.body).value("token", "").starts_with("isk_"));
  // And the lock ends on time for the attacker's address too.
  now_ += 30;
  EXPECT_EQ(login("192.0.2.66", "admin", kAdminPassword).status, 200);
}

// Password spraying: a new account name each time never reaches a per-account limit.
TEST_F(FleetLogin, PeerTryingManyAccountNamesIsLockedWhateverTheName) {
  IRONSEAL_REQUIREMENTS("CR 1.11");
  for (int i = 0; i < 20; ++i) {
    const HttpResponse r = login("192.0.2.77", "guess-" + std::to_string(i), "wrong password");
    ASSERT_EQ(r.status, 401) << i << " " << r.body;
  }
  const HttpResponse r = login("192.0.2.77", "admin", kAdminPassword);
  EXPECT_EQ(r.status, 429) << r.body;
  EXPECT_EQ(reason_of(r), "peer_locked");
  EXPECT_EQ(header(r, "Retry-After"), "60");
  EXPECT_EQ(login("192.0.2.10", "admin", kAdminPassword).status, 200);
  // Addresses in one IPv6 /64 count as one peer; another /64 is another peer.
  for (int i = 0; i < 20; ++i) {
    login("2001:db8:0:1::" + std::to_string(i + 1), "guess-" + std::to_string(i), "wrong pass");
  }
  EXPECT_EQ(reason_of(login("2001:db8:0:1:ffff::9", "admin", kAdminPassword)), "peer_locked");
  EXPECT_EQ(login("2001:db8:0:2::1", "admin", kAdminPassword).status, 200);
}

// A flood of refused attempts must not become a flood of synchronous database writes.
TEST_F(FleetLogin, ThrottledAttemptsAreAuditedOncePerLock) {
  IRONSEAL_REQUIREMENTS("CR 1.11; CR 7.1; CR 2.8");
  for (int i = 0; i < 5; ++i) login("192.0.2.66", "admin", "wrong password");
  for (int i = 0; i < 200; ++i) {
    ASSERT_EQ(login("192.0.2.66", "admin", "wrong password").status, 429);
  }
  const Json ev = events("192.0.2.10");
  int throttled = 0;
  int refused = 0;
  for (const auto& e : ev) {
    if (e["action"] != "auth.login") continue;
    throttled += e["outcome"] == "throttled";
    refused += e["outcome"] == "refused";
  }
  EXPECT_EQ(refused, 5);
  EXPECT_EQ(throttled, 1);
  EXPECT_EQ(metrics_.login_throttled.load(), 200u);
}

// Issue 12 item 6: the transport gets the Argon2id check as work to run elsewhere, with the
// answer to give at once if it cannot be run now.
TEST_F(FleetLogin, DispatchHandsThePasswordCheckOffAndCapsChecksPerPeer) {
  IRONSEAL_REQUIREMENTS("CR 7.1; CR 7.2");
  auto first = service_->dispatch(login_request("192.0.2.5", "admin", kAdminPassword));
  ASSERT_TRUE(first.work) << first.response.body;
  EXPECT_EQ(first.response.status, 503);  // the answer if no worker can take it
  EXPECT_EQ(error_of(first.response), "login_busy");
  EXPECT_EQ(header(first.response, "Retry-After"), "1");
  auto second = service_->dispatch(login_request("192.0.2.5", "admin", "wrong password"));
  ASSERT_TRUE(second.work);
  // A third check from the same address while two are pending: refused at once, no work.
  auto third = service_->dispatch(login_request("192.0.2.5", "admin", "wrong password"));
  EXPECT_FALSE(third.work);
  EXPECT_EQ(third.response.status, 429);
  EXPECT_EQ(reason_of(third.response), "peer_busy");
  EXPECT_EQ(header(third.response, "Retry-After"), "1");
  // Other addresses are not held up by it.
  auto other = service_->dispatch(login_request("192.0.2.6", "admin", kAdminPassword));
  ASSERT_TRUE(other.work);
  EXPECT_EQ(other.work().status, 200);
  // Work dropped unrun (a full pool) gives its place back; work run gives its answer.
  second.work = {};
  const HttpResponse ran = first.work();
  EXPECT_EQ(ran.status, 200) << ran.body;
  auto again = service_->dispatch(login_request("192.0.2.5", "admin", kAdminPassword));
  ASSERT_TRUE(again.work);
  EXPECT_EQ(again.work().status, 200);
  // Everything else is answered without deferred work.
  HttpRequest txt;
  txt.listener = Listener::kOperator;
  txt.method = "GET";
  txt.target = "/.well-known/security.txt";
  EXPECT_FALSE(service_->dispatch(txt).work);
}

TEST(LoginThrottle, MemoryStaysBoundedUnderAFloodOfDistinctPeers) {
  IRONSEAL_REQUIREMENTS("CR 7.1; CR 7.2; CR 1.11");
  LoginPolicy policy;
  policy.max_peers = 64;
  policy.max_pairs = 128;
  LoginThrottle throttle(policy);
  const std::int64_t t = 1000;
  // A peer locks itself and keeps trying while 20000 other addresses fail once each.
  for (int i = 0; i < 20; ++i) {
    auto d = throttle.admit("198.51.100.1", "guess-" + std::to_string(i), t);
    ASSERT_TRUE(d.ticket);
    throttle.record(std::move(*d.ticket), false, t);
  }
  for (int i = 0; i < 20000; ++i) {
    const std::string peer = "10." + std::to_string(i / 65536) + "." +
                             std::to_string((i / 256) % 256) + "." + std::to_string(i % 256);
    auto d = throttle.admit(peer, "admin", t);
    ASSERT_TRUE(d.ticket);
    throttle.record(std::move(*d.ticket), false, t);
    ASSERT_LE(throttle.peer_entries(), 64u);
    ASSERT_LE(throttle.pair_entries(), 128u);
    if (i % 32 == 0) {  // the locked peer keeps trying: it stays the most recently used
      EXPECT_EQ(throttle.admit("198.51.100.1", "admin", t).refusal, LoginRefusal::kPeerLocked);
    }
  }
}

TEST(LoginThrottle, PeerKeysGroupIpv6By64AndUnmapIpv4) {
  IRONSEAL_REQUIREMENTS("CR 1.11");
  EXPECT_EQ(LoginThrottle::peer_key("127.0.0.2"), "127.0.0.2");
  EXPECT_EQ(LoginThrottle::peer_key("::ffff:192.0.2.7"), "192.0.2.7");
  EXPECT_EQ(LoginThrottle::peer_key("2001:db8:a:b:1::1"),
            LoginThrottle::peer_key("2001:db8:a:b::2"));
  EXPECT_EQ(LoginThrottle::peer_key("2001:db8:a:b:1::1"), "2001:0db8:000a:000b::/64");
  EXPECT_NE(LoginThrottle::peer_key("2001:db8:a:c::1"), LoginThrottle::peer_key("2001:db8:a:b::1"));
}

TEST(LoginThrottle, FailuresAreForgottenAfterIdleTime) {
  IRONSEAL_REQUIREMENTS("CR 1.11");
  LoginThrottle throttle;
  auto fail_once = [&](std::int64_t t) {
    auto d = throttle.admit("192.0.2.1", "admin", t);
    EXPECT_TRUE(d.ticket);
    if (d.ticket) return throttle.record(std::move(*d.ticket), false, t);
    return LoginRefusal::kNone;
  };
  for (int i = 0; i < 4; ++i) EXPECT_EQ(fail_once(100), LoginRefusal::kNone);
  EXPECT_EQ(fail_once(100 + 901), LoginRefusal::kNone);  // the count started again
  for (int i = 0; i < 3; ++i) EXPECT_EQ(fail_once(1001), LoginRefusal::kNone);
  EXPECT_EQ(fail_once(1001), LoginRefusal::kAccountLocked);
}

TEST(WorkerPool, RunsJobsOffTheCallerAndRefusesAtOnceWhenTheQueueIsFull) {
  IRONSEAL_REQUIREMENTS("CR 7.1; CR 7.2");
  std::mutex m;
  std::condition_variable cv;
  bool release = false;
  std::promise<std::thread::id> started;
  std::atomic<int> ran{0};
  std::atomic<int> refused{0};
  {
    WorkerPool pool(1, 2);
    // The one worker is held busy; two jobs wait; the fourth is refused on this thread.
    ASSERT_TRUE(pool.submit([&](bool run) {
      EXPECT_TRUE(run);
      started.set_value(std::this_thread::get_id());
      std::unique_lock lock(m);
      cv.wait(lock, [&] { return release; });
      ++ran;
    }));
    EXPECT_NE(started.get_future().get(), std::this_thread::get_id());
    auto count = [&](bool run) { ++(run ? ran : refused); };
    EXPECT_TRUE(pool.submit(count));
    EXPECT_TRUE(pool.submit(count));
    EXPECT_EQ(pool.queued(), 2u);
    bool answered_now = false;
    EXPECT_FALSE(pool.submit([&](bool run) { answered_now = !run; }));
    EXPECT_TRUE(answered_now);
    {
      std::lock_guard lock(m);
      release = true;
    }
    cv.notify_all();
  }
  // Jobs still queued at destruction are answered too: none is lost unanswered.
  EXPECT_EQ(ran.load() + refused.load(), 3);
  EXPECT_GE(ran.load(), 1);
}

}  // namespace
}  // namespace ironseal::fleet
