// The audit trail (issue 15; IEC 62443-4-2 CR 2.8, CR 3.9, CR 6.1): every kind of tampering is
// found at the first bad record and for the right reason; a crash mid-write loses only the
// unacknowledged record and says so.
#include <gtest/gtest.h>

#include <fstream>
#include <sstream>

#include "audit/export.h"
#include "audit/log.h"
#include "audit/verify.h"
#include "crypto/signer.h"
#include "support/requirements.h"
#include "support/test_env.h"

namespace ironseal::audit {
namespace {

namespace fs = std::filesystem;
using Json = nlohmann::json;

class Audit : public ::testing::Test {
 protected:
  void SetUp() override {
    auto k = crypto::PrivateKey::generate(crypto::KeyType::kEd25519);
    ASSERT_TRUE(k);
    signer_ = std::make_unique<crypto::KeyFileSigner>(std::move(*k));
    dir_ = tmp_ / "audit";
  }

  // n records, a checkpoint every `every`.
  void write(int n, std::uint64_t every = 4) {
    auto log = Log::open(dir_, signer_.get(), {.checkpoint_every = every});
    ASSERT_TRUE(log) << log.error().message;
    for (int i = 0; i < n; ++i) {
      ASSERT_TRUE(log->append("operator:ops", "config.change", "ok", {{"n", i}}));
    }
  }

  fs::path segment() const { return dir_ / segment_name(1); }

  std::vector<std::string> lines() const {
    std::ifstream in(segment());
    std::vector<std::string> out;
    for (std::string l; std::getline(in, l);) out.push_back(l);
    return out;
  }
  void rewrite(const std::vector<std::string>& ls) const {
    std::ofstream out(segment(), std::ios::trunc);
    for (const auto& l : ls) out << l << "\n";
  }

  VerifyReport verify() const {
    auto r = verify_log(dir_, &signer_->public_key());
    EXPECT_TRUE(r) << r.error().message;
    return *r;
  }

  void expect_problem(const std::string& reason, std::uint64_t line) {
    auto r = verify();
    ASSERT_TRUE(r.problem) << "tampering not found";
    EXPECT_EQ(r.problem->reason, reason) << r.problem->detail;
    EXPECT_EQ(r.problem->line, line) << r.problem->detail;
  }

  testing::TempDir tmp_;
  fs::path dir_;
  std::unique_ptr<crypto::Signer> signer_;
};

TEST_F(Audit, AnIntactLogVerifiesWithItsCheckpoints) {
  IRONSEAL_REQUIREMENTS("CR 2.8; CR 3.9; CR 6.1");
  write(10);
  auto r = verify();
  EXPECT_FALSE(r.problem) << r.problem->detail;
  EXPECT_EQ(r.records, 12u);  // 10 records and 2 checkpoints (after 4 and 8)
  EXPECT_EQ(r.checkpoints, 2u);
  EXPECT_EQ(r.signed_through, 10u);  // the second checkpoint is record 10
  EXPECT_EQ(r.last_seq, 12u);
  EXPECT_TRUE(r.signatures_checked);
  // Reopening continues the chain.
  write(1);
  EXPECT_EQ(verify().last_seq, 13u);
  EXPECT_FALSE(verify().problem);
}

TEST_F(Audit, AChangedRecordIsFoundAsModified) {
  IRONSEAL_REQUIREMENTS("CR 3.9");
  write(6);
  auto ls = lines();
  auto pos = ls[2].find("config.change");
  ls[2].replace(pos, 13, "config.chanGe");
  rewrite(ls);
  expect_problem("modified", 3);
}

TEST_F(Audit, ARecordRewrittenWithAFreshHashBreaksTheChainAfterIt) {
  IRONSEAL_REQUIREMENTS("CR 3.9");
  write(6);
  auto ls = lines();
  auto r = decode(ls[1]);
  ASSERT_TRUE(r);
  r->outcome = "refused";
  r->hash = record_hash(*r);  // a consistent forgery of record 2 ...
  ls[1] = encode(*r);
  rewrite(ls);
  expect_problem("broken_chain", 3);  // ... is caught by record 3, which vouches for the original
}

TEST_F(Audit, DeletedInsertedAndReorderedRecordsAreFound) {
  IRONSEAL_REQUIREMENTS("CR 3.9");
  write(6);
  const auto original = lines();
  auto ls = original;
  ls.erase(ls.begin() + 2);  // delete record 3
  rewrite(ls);
  expect_problem("sequence_gap", 3);

  ls = original;
  std::swap(ls[1], ls[2]);  // reorder 2 and 3
  rewrite(ls);
  expect_problem("sequence_gap", 2);

  ls = original;
  ls.insert(ls.begin() + 1, ls[0]);  // insert a copy
  rewrite(ls);
  expect_problem("sequence_gap", 2);
}

TEST_F(Audit, CuttingTheTailBelowTheLastCheckpointIsFound) {
  IRONSEAL_REQUIREMENTS("CR 3.9");
  write(9);  // checkpoints at 5 and 10; records 11, 12 unsigned
  auto ls = lines();
  ASSERT_EQ(ls.size(), 11u);
  ls.resize(7);  // ends at record 7, below the checkpoint at 10
  rewrite(ls);
  auto r = verify();
  ASSERT_TRUE(r.problem);
  EXPECT_EQ(r.problem->reason, "truncated");
  EXPECT_EQ(r.problem->seq, 10u);
}

TEST_F(Audit, ACheckpointByAnotherKeyOrWithABadSignatureIsRefused) {
  IRONSEAL_REQUIREMENTS("CR 3.9");
  write(5);
  auto other = crypto::PrivateKey::generate(crypto::KeyType::kEd25519);
  ASSERT_TRUE(other);
  const crypto::PublicKey other_public = other->public_key();
  auto r = verify_log(dir_, &other_public);
  ASSERT_TRUE(r);
  ASSERT_TRUE(r->problem);
  EXPECT_EQ(r->problem->reason, "bad_checkpoint");
  EXPECT_NE(r->problem->detail.find("not by the given key"), std::string::npos);

  // A checkpoint whose signature was swapped for another's (and rehashed) does not verify.
  auto ls = lines();
  auto cp = decode(ls[4]);
  ASSERT_TRUE(cp && cp->is_checkpoint());
  auto sig = cp->details["signature"].get<std::string>();
  sig[3] = sig[3] == 'A' ? 'B' : 'A';
  cp->details["signature"] = sig;
  cp->hash = record_hash(*cp);
  ls[4] = encode(*cp);
  rewrite(ls);
  expect_problem("bad_checkpoint", 5);
}

TEST_F(Audit, ATornLastLineIsCutOffAndRecorded) {
  IRONSEAL_REQUIREMENTS("CR 2.8; CR 3.9");
  write(3, 0);
  {
    std::ofstream out(segment(), std::ios::app);
    out << R"({"actor":"operator:ops","details":{},"ev)";  // a crash mid-write
  }
  auto before = verify();
  ASSERT_TRUE(before.problem);
  EXPECT_EQ(before.problem->reason, "malformed_record");
  write(1, 0);
  auto r = verify();
  EXPECT_FALSE(r.problem) << r.problem->detail;
  EXPECT_EQ(r.last_seq, 5u);
  auto ls = lines();
  EXPECT_NE(ls[3].find("audit.torn_tail_discarded"), std::string::npos) << ls[3];
}

TEST_F(Audit, ALogWhoseLastRecordIsDamagedIsNotAppendedTo) {
  IRONSEAL_REQUIREMENTS("CR 3.9");
  write(3, 0);
  auto ls = lines();
  ls[2].replace(ls[2].find("config"), 6, "CONFIG");
  rewrite(ls);
  auto log = Log::open(dir_, signer_.get());
  ASSERT_FALSE(log);
  EXPECT_EQ(log.error().reason, "damaged_log");
}

TEST_F(Audit, SegmentsRotateAndTheChainRunsAcrossThem) {
  IRONSEAL_REQUIREMENTS("CR 2.9; CR 3.9");
  {
    auto log = Log::open(dir_, signer_.get(), {.checkpoint_every = 10, .rotate_bytes = 600});
    ASSERT_TRUE(log);
    for (int i = 0; i < 30; ++i) ASSERT_TRUE(log->append("system", "boot.ok", "ok", {{"i", i}}));
  }
  auto r = verify();
  EXPECT_FALSE(r.problem) << r.problem->detail;
  EXPECT_GT(r.files.size(), 3u);
  EXPECT_EQ(r.last_seq, 33u);
  // Deleting a whole middle segment is found.
  fs::remove(r.files[1]);
  auto cut = verify();
  ASSERT_TRUE(cut.problem);
  EXPECT_EQ(cut.problem->reason, "sequence_gap");
}

TEST_F(Audit, DetailsAreRefusedWhenTheirTextIsNotCanonical) {
  IRONSEAL_REQUIREMENTS("CR 3.5");
  auto log = Log::open(dir_, nullptr);
  ASSERT_TRUE(log);
  auto r = log->append("a", "e", "ok", {{"ratio", 0.5}});
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, ErrorCode::kInvalidArgument);
  EXPECT_FALSE(log->checkpoint());  // no signer: no checkpoints
}

TEST_F(Audit, SyslogLinesFollowRfc5424) {
  IRONSEAL_REQUIREMENTS("CR 6.1");
  Record r;
  r.seq = 7;
  r.time = "2026-12-07T10:00:00.123Z";
  r.actor = "operator:o\"ps]";
  r.event = "auth.login";
  r.outcome = "refused";
  r.details = {{"why", "bad password"}};
  r.prev = std::string(kGenesis);
  r.hash = record_hash(r);
  const auto line = to_syslog(r, "fleet 1");
  EXPECT_EQ(line.rfind("<108>1 2026-12-07T10:00:00.123Z fleet_1 ironseal - auth.login "
                       "[ironseal@32473 seq=\"7\" actor=\"operator:o\\\"ps\\]\" outcome=\"refused\"",
                       0),
            0u)
      << line;
  EXPECT_NE(line.find(R"({"why":"bad password"})"), std::string::npos);
}

TEST_F(Audit, JournalEntriesUseTheNativeProtocolAndLengthPrefixMultilineValues) {
  IRONSEAL_REQUIREMENTS("CR 6.1");
  Record r;
  r.seq = 3;
  r.time = "2026-12-08T10:00:00.000Z";
  r.actor = "operator:two\nlines";  // a newline in a value: the length-prefixed form
  r.event = "config.change";
  r.outcome = "ok";
  r.prev = std::string(kGenesis);
  r.hash = record_hash(r);
  const std::string e = to_journal(r);
  EXPECT_NE(e.find("PRIORITY=5\n"), std::string::npos);
  EXPECT_NE(e.find("IRONSEAL_SEQ=3\n"), std::string::npos);
  EXPECT_NE(e.find("IRONSEAL_RECORD=" + encode(r) + "\n"), std::string::npos);
  const std::string actor = "operator:two\nlines";
  std::string prefixed = "IRONSEAL_ACTOR\n";
  for (int i = 0; i < 8; ++i) prefixed.push_back(static_cast<char>(i == 0 ? actor.size() : 0));
  EXPECT_NE(e.find(prefixed + actor + "\n"), std::string::npos);
  EXPECT_EQ(e.find("IRONSEAL_ACTOR="), std::string::npos);
}

}  // namespace
}  // namespace ironseal::audit
