// Mutual TLS for the device's transfers (src/net), against `openssl s_server` demanding a client
// certificate: the device's identity opens the door; no identity, a foreign CA or a certificate
// that is not the key's are refused, each for its own reason.
#include <gtest/gtest.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <fstream>
#include <thread>

#include "core/file.h"
#include "net/tls_client.h"
#include "repo/fetcher.h"
#include "support/requirements.h"
#include "support/test_env.h"

namespace ironseal::net {
namespace {

int free_port() {
  const int s = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t len = sizeof a;
  ::bind(s, reinterpret_cast<sockaddr*>(&a), sizeof a);
  ::getsockname(s, reinterpret_cast<sockaddr*>(&a), &len);
  ::close(s);
  return ntohs(a.sin_port);
}

void run(const std::string& cmd) { ASSERT_EQ(std::system((cmd + " >/dev/null 2>&1").c_str()), 0) << cmd; }

// A test CA, a server certificate for 127.0.0.1 and a client certificate (all test keys, made
// fresh for each run), and s_server serving this directory to clients with a certificate only.
class MutualTls : public ::testing::Test {
 protected:
  void SetUp() override {
    const std::string d = dir_.path().string();
    auto ca = [&](const std::string& name) {
      run("openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 2 -subj "
          "/CN=ironseal-test-" + name + " -keyout " + d + "/" + name + ".key -out " + d + "/" +
          name + ".pem");
    };
    ca("ca");
    ca("foreign-ca");
    auto leaf = [&](const std::string& name, const std::string& signer, const std::string& ext) {
      run("openssl req -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -subj /CN=" + name +
          " -keyout " + d + "/" + name + ".key -out " + d + "/" + name + ".csr");
      std::ofstream(d + "/" + name + ".ext") << ext << "\n";
      run("openssl x509 -req -in " + d + "/" + name + ".csr -CA " + d + "/" + signer + ".pem -CAkey " +
          d + "/" + signer + ".key -CAcreateserial -days 1 -extfile " + d + "/" + name + ".ext -out " +
          d + "/" + name + ".pem");
      run("chmod 600 " + d + "/" + name + ".key");
    };
    leaf("server", "ca", "subjectAltName=IP:127.0.0.1\nextendedKeyUsage=serverAuth");
    leaf("device", "ca", "extendedKeyUsage=clientAuth");
    leaf("stranger", "foreign-ca", "extendedKeyUsage=clientAuth");
    std::ofstream(d + "/hello.txt") << "hello over mutual TLS\n";
    port_ = free_port();
    pid_ = ::fork();
    if (pid_ == 0) {
      if (::chdir(d.c_str()) != 0) ::_exit(126);
      const int null = ::open("/dev/null", O_WRONLY);
      ::dup2(null, 1);
      ::dup2(null, 2);
      const std::string accept = std::to_string(port_);
      ::execlp("openssl", "openssl", "s_server", "-quiet", "-accept", accept.c_str(), "-WWW",
               "-cert", "server.pem", "-key", "server.key", "-CAfile", "ca.pem", "-Verify", "1",
               "-verify_return_error", static_cast<char*>(nullptr));
      ::_exit(127);
    }
    // Ready when it accepts connections (bounded wait).
    for (int i = 0; i < 100; ++i) {
      const int s = ::socket(AF_INET, SOCK_STREAM, 0);
      sockaddr_in a{};
      a.sin_family = AF_INET;
      a.sin_port = htons(static_cast<std::uint16_t>(port_));
      a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
      const bool up = ::connect(s, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0;
      ::close(s);
      if (up) return;
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
    FAIL() << "openssl s_server did not start";
  }
  void TearDown() override {
    if (pid_ > 0) {
      ::kill(pid_, SIGTERM);
      ::waitpid(pid_, nullptr, 0);
    }
  }
  std::string url() const { return "https://127.0.0.1:" + std::to_string(port_) + "/hello.txt"; }
  std::filesystem::path file(const std::string& name) const { return dir_.path() / name; }

  repo::TufResult<Bytes> get(const TlsClient& tls) {
    repo::FetchLimits limits;
    limits.total_timeout_s = 10;
    limits.tls = tls;
    auto f = repo::CurlFetcher::create(limits);
    if (!f) return std::unexpected(f.error());
    return (*f)->fetch(url(), 1024);
  }
  TlsClient with(const std::string& who, const std::string& ca = "ca.pem") {
    TlsClient tls;
    tls.ca_file = file(ca);
    if (!who.empty()) {
      auto id = ClientIdentity::load(file(who + ".pem"), file(who + ".key"));
      EXPECT_TRUE(id) << id.error().message;
      if (id) tls.identity = std::make_shared<const ClientIdentity>(std::move(*id));
    }
    return tls;
  }

  ironseal::testing::TempDir dir_;
  int port_ = 0;
  pid_t pid_ = -1;
};

TEST_F(MutualTls, TheDeviceCertificateOpensTheDoor) {
  IRONSEAL_REQUIREMENTS("CR 1.2; CR 1.8; CR 3.1");
  auto body = get(with("device"));
  ASSERT_TRUE(body) << body.error().message;
  const std::string text(body->begin(), body->end());
  EXPECT_NE(text.find("hello over mutual TLS"), std::string::npos) << text;
}

TEST_F(MutualTls, NoClientCertificateIsRefusedByTheServer) {
  IRONSEAL_REQUIREMENTS("CR 1.2; CR 3.1");
  auto body = get(with(""));
  ASSERT_FALSE(body);
  EXPECT_EQ(body.error().reason, repo::Reason::kNetwork) << body.error().message;
}

TEST_F(MutualTls, ACertificateFromAForeignCaIsRefusedByTheServer) {
  IRONSEAL_REQUIREMENTS("CR 1.2; CR 1.8");
  auto body = get(with("stranger"));
  ASSERT_FALSE(body);
  EXPECT_EQ(body.error().reason, repo::Reason::kNetwork) << body.error().message;
}

TEST_F(MutualTls, AServerTheDeviceDoesNotTrustIsRefusedByTheDevice) {
  IRONSEAL_REQUIREMENTS("CR 1.2; CR 3.1");
  auto body = get(with("device", "foreign-ca.pem"));
  ASSERT_FALSE(body);
  EXPECT_NE(body.error().message.find("certificate"), std::string::npos) << body.error().message;
}

TEST_F(MutualTls, ACertificateThatIsNotTheKeysIsRefusedBeforeAnyConnection) {
  IRONSEAL_REQUIREMENTS("CR 1.2");
  auto id = ClientIdentity::load(file("stranger.pem"), file("device.key"));
  ASSERT_FALSE(id);
  EXPECT_EQ(id.error().code, ErrorCode::kNotTrusted) << id.error().message;
}

TEST_F(MutualTls, AKeyFileOthersCanReadIsRefused) {
  IRONSEAL_REQUIREMENTS("CR 1.2; CR 4.1");
  ASSERT_EQ(::chmod(file("device.key").c_str(), 0644), 0);
  auto id = ClientIdentity::load(file("device.pem"), file("device.key"));
  ASSERT_FALSE(id);
  EXPECT_EQ(id.error().code, ErrorCode::kPermission) << id.error().message;
}

}  // namespace
}  // namespace ironseal::net
