// Chunks over HTTP: Range requests against a loopback server, and servers that misbehave.
#include "delivery/http_source.h"

#include <gtest/gtest.h>

#include "boot/boot_test_util.h"
#include "crypto/hash.h"
#include "support/http_server.h"
#include "support/requirements.h"
#include "support/test_env.h"

namespace ironseal::delivery {
namespace {

// The chunk index format lives in src/image (issue 13); these tests use it unqualified.
using image::authenticate_chunk_index;
using image::build_chunk_index;
using image::encode_chunk_index;
using image::Sha256;

using ::ironseal::testing::HttpServer;
using ::ironseal::testing::TempDir;

Bytes pattern(std::size_t n) {
  Bytes b(n);
  for (std::size_t i = 0; i < n; ++i) b[i] = static_cast<std::uint8_t>(i * 7 + i / 251);
  return b;
}

TEST(HttpChunks, FetchesExactlyTheRangeAsked) {
  TempDir dir;
  const Bytes file = pattern(100000);
  ASSERT_TRUE(write_file_atomic(dir / "img", file));
  HttpServer server(dir.path());
  auto src = HttpChunkSource::create(server.url("img"));
  ASSERT_TRUE(src);
  Bytes out(5000);
  ASSERT_TRUE((*src)->fetch(12345, out));
  EXPECT_TRUE(std::equal(out.begin(), out.end(), file.begin() + 12345));
  ASSERT_TRUE((*src)->fetch(95000, out));  // the tail
  EXPECT_TRUE(std::equal(out.begin(), out.end(), file.begin() + 95000));
  EXPECT_FALSE((*src)->fetch(99000, out));  // past the end: short response refused
}

TEST(HttpChunks, ServerIgnoringRangeIsRefused) {
  IRONSEAL_REQUIREMENTS("CR 3.5");
  TempDir dir;
  ASSERT_TRUE(write_file_atomic(dir / "img", pattern(100000)));
  HttpServer server(dir.path(), HttpServer::Mode::kIgnoreRange);
  auto src = HttpChunkSource::create(server.url("img"));
  Bytes out(4096);
  auto r = (*src)->fetch(8192, out);
  ASSERT_FALSE(r);
  EXPECT_NE(r.error().message.find("more than the range"), std::string::npos) << r.error().message;
}

TEST(HttpChunks, TricklingServerIsCutOff) {
  IRONSEAL_REQUIREMENTS("CR 3.5; CR 7.1");
  TempDir dir;
  ASSERT_TRUE(write_file_atomic(dir / "img", pattern(10000)));
  HttpServer server(dir.path(), HttpServer::Mode::kTrickle);
  HttpLimits limits;
  limits.low_speed_bytes_per_s = 100;
  limits.low_speed_window_s = 1;
  auto src = HttpChunkSource::create(server.url("img"), limits);
  Bytes out(4096);
  const auto start = std::chrono::steady_clock::now();
  auto r = (*src)->fetch(0, out);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, ErrorCode::kIo);
  EXPECT_LT(std::chrono::steady_clock::now() - start, std::chrono::seconds(5));
}

TEST(HttpChunks, MissingFileIsAnError) {
  TempDir dir;
  HttpServer server(dir.path());
  auto src = HttpChunkSource::create(server.url("absent"));
  Bytes out(10);
  auto r = (*src)->fetch(0, out);
  ASSERT_FALSE(r);
  EXPECT_NE(r.error().message.find("404"), std::string::npos) << r.error().message;
}

class HttpInstall : public boot::testing::BootTest {};

TEST_F(HttpInstall, ChunkedInstallOverHttpBootsTheTrial) {
  IRONSEAL_REQUIREMENTS("SUM-4; CR 3.4");
  boot::DeviceConfig c = boot::testing::small_config();
  c.slot_size = 256 * 1024;
  auto d = make_device(c);
  Bytes body = pattern(150000);
  const Bytes v2 = firmware_with_body("2.0.0", 2, body);
  TempDir dir;
  ASSERT_TRUE(write_file_atomic(dir / "v2.img", v2));
  auto idx = build_chunk_index(dir / "v2.img", 4096);
  ASSERT_TRUE(idx);
  const Bytes encoded = encode_chunk_index(*idx);
  const Bytes digest = crypto::sha256(encoded);
  Sha256 d32;
  std::copy(digest.begin(), digest.end(), d32.begin());
  auto authenticated = authenticate_chunk_index(encoded, d32, "the test's signed metadata");
  ASSERT_TRUE(authenticated);
  HttpServer server(dir.path());
  auto src = HttpChunkSource::create(server.url("v2.img"));
  auto r = install_chunked(*d, *authenticated, **src, {});
  ASSERT_TRUE(r) << r.error().message;
  EXPECT_EQ(r->totals.downloaded + r->totals.local, v2.size());
  EXPECT_EQ((*src)->requests(),
            r->totals.downloaded / 4096 + (r->totals.downloaded % 4096 ? 1 : 0));
  EXPECT_TRUE(boot::testing::boot_and_run(*d).confirmed_now);
}

}  // namespace
}  // namespace ironseal::delivery
