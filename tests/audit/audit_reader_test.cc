// Reading an audit log in pages to serve it (audit/reader.h). What the fleet server's
// GET /api/v1/audit relies on: pages of a rotated log hand over every line once, in order and
// byte for byte, across segment boundaries; a page after N starts right after the line that names
// N even in a log whose lines were moved, so a receiver sees them in the order stored; a filter
// that matches nothing examines at most its budget and says where to go on; the snapshot's extent
// holds, whatever is appended after it.
#include <gtest/gtest.h>

#include <fstream>
#include <sstream>

#include "audit/log.h"
#include "audit/reader.h"
#include "crypto/signer.h"
#include "support/requirements.h"
#include "support/test_env.h"

namespace ironseal::audit {
namespace {

namespace fs = std::filesystem;
using ironseal::testing::TempDir;

std::string read_text(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

class AuditReader : public ::testing::Test {
 protected:
  void SetUp() override {
    auto k = crypto::PrivateKey::generate(crypto::KeyType::kEd25519);
    ASSERT_TRUE(k);
    signer_ = std::make_unique<crypto::KeyFileSigner>(std::move(*k));
  }

  // n records in segments of about 1 KiB, a checkpoint every 4.
  Log write(int n) {
    auto log = Log::open(tmp_.path(), signer_.get(), {.checkpoint_every = 4, .rotate_bytes = 1024});
    EXPECT_TRUE(log) << log.error().message;
    for (int i = 0; i < n; ++i) {
      EXPECT_TRUE(log->append(i % 3 == 0 ? "device:SN-1" : "operator:ops",
                              i % 3 == 0 ? "device.report" : "config.change", "ok", {{"n", i}}));
    }
    return std::move(*log);
  }

  std::string all_segments() const {
    std::string out;
    for (const auto& f : segment_files(tmp_.path())) out += read_text(f);
    return out;
  }

  TempDir tmp_;
  std::unique_ptr<crypto::KeyFileSigner> signer_;
};

TEST_F(AuditReader, PagesOfARotatedLogAreEveryLineOnceInOrderByteForByte) {
  IRONSEAL_REQUIREMENTS("CR 2.9; CR 6.1");
  write(40);
  ASSERT_GE(segment_files(tmp_.path()).size(), 4u) << "the test needs several segments";
  auto snap = snapshot(tmp_.path());
  ASSERT_TRUE(snap) << snap.error().message;
  std::string served;
  std::uint64_t after = 0;
  std::size_t pieces_across_segments = 0;
  for (int pages = 0; pages < 100; ++pages) {
    auto page = read_lines(*snap, after, 3);
    ASSERT_TRUE(page) << page.error().message;
    std::uint64_t bytes = 0;
    for (const auto& p : page->pieces) bytes += p.bytes;
    EXPECT_EQ(bytes, page->text.size());
    pieces_across_segments += page->pieces.size() > 1;
    served += page->text;
    after = page->next_after_seq;
    if (!page->more) break;
  }
  EXPECT_EQ(served, all_segments());
  EXPECT_GT(pieces_across_segments, 0u) << "some page spans two segments";
}

TEST_F(AuditReader, AppendsAfterTheSnapshotAreNotInIt) {
  IRONSEAL_REQUIREMENTS("CR 6.1");
  Log log = write(5);
  auto snap = snapshot(tmp_.path());
  ASSERT_TRUE(snap);
  const std::string before = all_segments();
  ASSERT_TRUE(log.append("system", "late", "info"));
  auto page = read_lines(*snap, 0, 10000);
  ASSERT_TRUE(page);
  EXPECT_EQ(page->text, before);
  EXPECT_FALSE(page->more);
}

TEST_F(AuditReader, APageAfterNStartsAfterTheLineThatNamesNEvenWhenLinesWereMoved) {
  IRONSEAL_REQUIREMENTS("CR 3.9; CR 6.1");
  {
    auto log = Log::open(tmp_.path(), signer_.get(), {.checkpoint_every = 0});
    ASSERT_TRUE(log);
    for (int i = 0; i < 6; ++i) ASSERT_TRUE(log->append("system", "e", "info"));
  }
  const fs::path seg = tmp_.path() / segment_name(1);
  std::vector<std::string> lines;
  {
    std::stringstream ss(read_text(seg));
    for (std::string l; std::getline(ss, l);) lines.push_back(l + "\n");
  }
  std::swap(lines[2], lines[3]);  // records 3 and 4 swapped: 1 2 4 3 5 6
  std::string moved;
  for (const auto& l : lines) moved += l;
  std::ofstream(seg, std::ios::binary | std::ios::trunc) << moved;
  auto snap = snapshot(tmp_.path());
  ASSERT_TRUE(snap);
  std::string served;
  std::uint64_t after = 0;
  std::vector<std::uint64_t> cursors;
  for (int pages = 0; pages < 20; ++pages) {
    auto page = read_lines(*snap, after, 1);
    ASSERT_TRUE(page);
    served += page->text;
    after = page->next_after_seq;
    cursors.push_back(after);
    if (!page->more) break;
  }
  EXPECT_EQ(served, moved) << "the receiver gets the lines in the order stored";
  EXPECT_EQ(cursors, (std::vector<std::uint64_t>{1, 2, 4, 3, 5, 6}));
}

TEST_F(AuditReader, AFilterThatMatchesLittleExaminesItsBudgetAndSaysWhereToGoOn) {
  IRONSEAL_REQUIREMENTS("CR 6.1; CR 7.1");
  write(30);
  auto snap = snapshot(tmp_.path());
  ASSERT_TRUE(snap);
  RecordQuery q;
  q.event_prefix = "nothing.";
  q.scan_lines = 7;
  auto first = read_records(*snap, q);
  ASSERT_TRUE(first);
  EXPECT_TRUE(first->records.empty());
  EXPECT_EQ(first->examined, 7u);
  EXPECT_EQ(first->next_after_seq, 7u);
  EXPECT_TRUE(first->more);
  q.event_prefix = "device.";
  q.actor = "device:SN-1";
  q.after_seq = first->next_after_seq;
  q.scan_lines = 0;
  q.limit = 2;
  auto devices = read_records(*snap, q);
  ASSERT_TRUE(devices);
  ASSERT_EQ(devices->records.size(), 2u);
  for (const auto& line : devices->records) {
    EXPECT_NE(line.find("\"event\":\"device.report\""), std::string::npos) << line;
    EXPECT_GT(line_seq(line).value_or(0), 7u);
  }
}

TEST(AuditLineSeq, ReadsTheTopLevelSeqOnly) {
  IRONSEAL_REQUIREMENTS("CR 6.1");
  EXPECT_EQ(line_seq(R"({"actor":"a","details":{"seq":99},"event":"e","seq":12,"time":"t"})"), 12u);
  EXPECT_EQ(line_seq(R"({"details":{"note":"\"seq\":5"},"seq":3,"time":"t"})"), 3u);
  EXPECT_FALSE(line_seq(R"({"actor":"a"})"));
  EXPECT_FALSE(line_seq(R"({"seq":"x"})"));
  EXPECT_FALSE(line_seq(""));
}

}  // namespace
}  // namespace ironseal::audit
