// The fleet server's request target and Range parsing (src/fleet/request_parse.cc), without a
// socket: each refusal for its own reason. The same functions are fuzzed (fuzz/fleet_request_fuzz.cc).
#include "fleet/request_parse.h"

#include <gtest/gtest.h>

#include "support/requirements.h"

namespace ironseal::fleet {
namespace {

using Kind = ByteRange::Kind;

TEST(RequestParse, SplitsPathsAndRefusesTricks) {
  IRONSEAL_REQUIREMENTS("CR 3.5");
  auto p = split_path("/image/targets/abc.v2.img?group=x");
  ASSERT_TRUE(p);
  EXPECT_EQ(*p, (std::vector<std::string>{"image", "targets", "abc.v2.img"}));
  auto trailing = split_path("/fleet/devices/");
  ASSERT_TRUE(trailing);
  EXPECT_EQ(trailing->size(), 2u);
  ASSERT_TRUE(split_path("/"));
  EXPECT_TRUE(split_path("/")->empty());
  for (const char* bad : {"", "image/x", "/image//x", "/image/../keys", "/image/./x",
                          "/image/%2e%2e/keys", "/image/a b", "/image/a\\b", "//"}) {
    EXPECT_FALSE(split_path(bad)) << bad;
  }
  EXPECT_FALSE(split_path("/" + std::string(1024, 'a')));  // over 1024 bytes
  EXPECT_TRUE(split_path("/" + std::string(1023, 'a')));
}

TEST(RequestParse, QueryParameterIsTheFirstExactName) {
  IRONSEAL_REQUIREMENTS("CR 3.5");
  EXPECT_EQ(query_param("/x?group=a&limit=5", "limit"), "5");
  EXPECT_EQ(query_param("/x?groups=a&group=b", "group"), "b");
  EXPECT_EQ(query_param("/x?group=a&group=b", "group"), "a");
  EXPECT_EQ(query_param("/x?group", "group"), "");
  EXPECT_EQ(query_param("/x", "group"), "");
}

TEST(RequestParse, RangeServesOneRangeInsideTheFile) {
  IRONSEAL_REQUIREMENTS("CR 3.5");
  auto r = parse_range("bytes=100-199", 5000);
  EXPECT_EQ(r.kind, Kind::kPartial);
  EXPECT_EQ(r.first, 100u);
  EXPECT_EQ(r.last, 199u);
  r = parse_range("bytes=4096-", 5000);  // open end
  EXPECT_EQ(r.kind, Kind::kPartial);
  EXPECT_EQ(r.last, 4999u);
  r = parse_range("bytes=4000-999999", 5000);  // end clamped to the file
  EXPECT_EQ(r.kind, Kind::kPartial);
  EXPECT_EQ(r.last, 4999u);
  r = parse_range("bytes=-512", 5000);  // suffix
  EXPECT_EQ(r.kind, Kind::kPartial);
  EXPECT_EQ(r.first, 4488u);
  EXPECT_EQ(r.last, 4999u);
  r = parse_range("bytes=-9999", 5000);  // suffix longer than the file: all of it
  EXPECT_EQ(r.kind, Kind::kPartial);
  EXPECT_EQ(r.first, 0u);
}

TEST(RequestParse, RangeOutsideTheFileIsUnsatisfiable) {
  IRONSEAL_REQUIREMENTS("CR 3.5");
  EXPECT_EQ(parse_range("bytes=5000-6000", 5000).kind, Kind::kUnsatisfiable);
  EXPECT_EQ(parse_range("bytes=0-", 0).kind, Kind::kUnsatisfiable);
  EXPECT_EQ(parse_range("bytes=-0", 5000).kind, Kind::kUnsatisfiable);
  EXPECT_EQ(parse_range("bytes=-10", 0).kind, Kind::kUnsatisfiable);
}

TEST(RequestParse, OtherRangesAreIgnoredAndTheWholeFileSent) {
  IRONSEAL_REQUIREMENTS("CR 3.5");
  for (const char* other : {"", "bytes=0-1,5-6", "items=0-1", "bytes=5-3", "bytes=a-b", "bytes=5",
                            "bytes=-", "bytes= 1-2", "bytes=1-2x", "bytes=99999999999999999999-"}) {
    const ByteRange r = parse_range(other, 5000);
    EXPECT_EQ(r.kind, Kind::kWhole) << other;
    EXPECT_EQ(r.first, 0u) << other;
    EXPECT_EQ(r.last, 4999u) << other;
  }
}

}  // namespace
}  // namespace ironseal::fleet
