// core: hex, errors/exit codes, crash-safe file writes and private-file permission checks.
#include <gtest/gtest.h>
#include <sys/stat.h>

#include "core/bytes.h"
#include "core/file.h"
#include "support/requirements.h"
#include "support/test_env.h"

namespace ironseal {
namespace {

using testing::TempDir;

mode_t mode_of(const std::filesystem::path& p) {
  struct stat st {};
  EXPECT_EQ(::stat(p.c_str(), &st), 0);
  return st.st_mode & 07777;
}

TEST(Hex, RoundTripsAndRefusesMalformed) {
  const Bytes b = {0x00, 0x7f, 0x80, 0xff};
  EXPECT_EQ(to_hex(b), "007f80ff");
  EXPECT_EQ(*from_hex("007F80ff"), b);
  EXPECT_EQ(from_hex("abc").error().code, ErrorCode::kMalformed);
  EXPECT_EQ(from_hex("zz").error().code, ErrorCode::kMalformed);
}

TEST(ExitCode, FollowsTheDocumentedTable) {
  EXPECT_EQ(exit_code(ErrorCode::kNotTrusted), 1);
  EXPECT_EQ(exit_code(ErrorCode::kMalformed), 1);
  EXPECT_EQ(exit_code(ErrorCode::kInvalidArgument), 2);
  EXPECT_EQ(exit_code(ErrorCode::kIo), 3);
  EXPECT_EQ(exit_code(ErrorCode::kPermission), 3);
}

// The one error model (issue 13): the reason is a field, set where the check failed, and it
// survives every layer that adds context; the exit code follows the code alone.
TEST(ErrorModel, ReasonIsAFieldThatSurvivesContext) {
  const Error refused =
      fail_because(ErrorCode::kNotTrusted, "index_mismatch", "the index's SHA-256 differs").error();
  EXPECT_EQ(refused.reason, "index_mismatch");
  EXPECT_EQ(refused.message, "index_mismatch: the index's SHA-256 differs");
  const Error wrapped = fail_in(refused, "install of fw.img: ").error();
  EXPECT_EQ(wrapped.code, ErrorCode::kNotTrusted);
  EXPECT_EQ(wrapped.reason, "index_mismatch");
  EXPECT_EQ(wrapped.message, "install of fw.img: index_mismatch: the index's SHA-256 differs");
  // Without a finer reason, the code's name stands in, so a script always gets a token.
  const Error plain = fail(ErrorCode::kIo, "disk full").error();
  EXPECT_TRUE(plain.reason.empty());
  EXPECT_EQ(plain.reason_or_code(), "io");
  EXPECT_EQ(exit_code(ErrorCode::kConflict), 2);
  EXPECT_EQ(error_code_name(ErrorCode::kConflict), "conflict");
}

TEST(AtomicWrite, ReplacesContentAndLeavesNoTemporaryFiles) {
  TempDir dir;
  const auto path = dir / "state.bin";
  ASSERT_TRUE(write_file_atomic(path, as_bytes("first")));
  ASSERT_TRUE(write_file_atomic(path, as_bytes("second")));
  EXPECT_EQ(*read_file(path), Bytes(as_bytes("second").begin(), as_bytes("second").end()));
  int entries = 0;
  for ([[maybe_unused]] const auto& e : std::filesystem::directory_iterator(dir.path())) ++entries;
  EXPECT_EQ(entries, 1);
}

TEST(AtomicWrite, CreatesPrivateFilesWithExactMode) {
  IRONSEAL_REQUIREMENTS("CR 1.5");
  TempDir dir;
  const auto path = dir / "key.pem";
  const mode_t old = ::umask(0);  // even a permissive umask must not widen the mode
  ASSERT_TRUE(write_file_atomic(path, as_bytes("secret"), {.mode = 0600, .exclusive = true}));
  ::umask(old);
  EXPECT_EQ(mode_of(path), 0600u);
}

TEST(AtomicWrite, ExclusiveRefusesToReplaceAnExistingFile) {
  TempDir dir;
  const auto path = dir / "key.pem";
  ASSERT_TRUE(write_file_atomic(path, as_bytes("one"), {.mode = 0600, .exclusive = true}));
  auto again = write_file_atomic(path, as_bytes("two"), {.mode = 0600, .exclusive = true});
  ASSERT_FALSE(again);
  EXPECT_EQ(again.error().code, ErrorCode::kInvalidArgument);
  EXPECT_EQ(read_file(path)->size(), 3u);
}

TEST(PrivateFileMode, RefusesGroupOrWorldAccess) {
  IRONSEAL_REQUIREMENTS("CR 1.5");
  TempDir dir;
  const auto path = dir / "key.pem";
  ASSERT_TRUE(write_file_atomic(path, as_bytes("k"), {.mode = 0600}));
  EXPECT_TRUE(check_private_file_mode(path));
  for (mode_t bad : {0640, 0604, 0660, 0644, 0610, 0601}) {
    ASSERT_EQ(::chmod(path.c_str(), bad), 0);
    auto r = check_private_file_mode(path);
    ASSERT_FALSE(r) << std::oct << bad;
    EXPECT_EQ(r.error().code, ErrorCode::kPermission);
  }
}

TEST(ReadFile, MissingFileIsNotFound) {
  TempDir dir;
  EXPECT_EQ(read_file(dir / "absent").error().code, ErrorCode::kNotFound);
  // A directory is the environment failing (exit 3), not the user's input judged (issue 12).
  EXPECT_EQ(read_file(dir.path()).error().code, ErrorCode::kIo);
}

TEST(ReadFile, NonRegularFilesAreRefusedWithoutBlockingAndLargeOnesBeforeReading) {
  IRONSEAL_REQUIREMENTS("CR 3.5; CR 7.2");
  TempDir dir;
  const auto fifo = dir / "fifo";
  ASSERT_EQ(::mkfifo(fifo.c_str(), 0600), 0);
  // Opening a FIFO for reading without O_NONBLOCK waits for a writer forever; this returns.
  auto r = read_file(fifo);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, ErrorCode::kIo);
  EXPECT_NE(r.error().message.find("not_a_regular_file"), std::string::npos) << r.error().message;
  EXPECT_NE(r.error().message.find("is a FIFO"), std::string::npos);
  auto dir_read = read_file(dir.path());
  EXPECT_NE(dir_read.error().message.find("is a directory"), std::string::npos);

  ASSERT_TRUE(write_file_atomic(dir / "big", Bytes(5000, 1)));
  auto big = read_file(dir / "big", 4096);
  ASSERT_FALSE(big);
  EXPECT_EQ(big.error().code, ErrorCode::kInvalidArgument);
  EXPECT_NE(big.error().message.find("too_large"), std::string::npos);
  EXPECT_TRUE(read_file(dir / "big", 5000));
}

TEST(AtomicFileWriter, NothingReplacesThePathUntilCommitAndAnAbandonedWriteLeavesNoTrace) {
  IRONSEAL_REQUIREMENTS("CR 7.4");
  TempDir dir;
  const auto path = dir / "out";
  ASSERT_TRUE(write_file_atomic(path, Bytes{'o', 'l', 'd'}));
  {
    auto w = AtomicFileWriter::create(path);
    ASSERT_TRUE(w);
    ASSERT_TRUE(w->write(Bytes{'n', 'e'}));
    ASSERT_TRUE(w->write(Bytes{'w'}));
    EXPECT_EQ(*read_file(path), (Bytes{'o', 'l', 'd'}));  // not yet
    EXPECT_TRUE(std::filesystem::exists(w->temp_path()));
    // dropped without commit()
  }
  EXPECT_EQ(*read_file(path), (Bytes{'o', 'l', 'd'}));
  EXPECT_EQ(std::distance(std::filesystem::directory_iterator(dir.path()),
                          std::filesystem::directory_iterator()),
            1);
  auto w = AtomicFileWriter::create(path);
  ASSERT_TRUE(w);
  ASSERT_TRUE(w->write(Bytes{'n', 'e', 'w'}));
  ASSERT_TRUE(w->commit());
  EXPECT_EQ(*read_file(path), (Bytes{'n', 'e', 'w'}));
  EXPECT_FALSE(w->write(Bytes{'x'}));  // closed
}

TEST(ReadOnlyFile, ShortReadPastTheEndFails) {
  TempDir dir;
  const auto path = dir / "f";
  ASSERT_TRUE(write_file_atomic(path, as_bytes("abcd")));
  auto f = ReadOnlyFile::open(path);
  ASSERT_TRUE(f);
  std::uint8_t buf[4];
  EXPECT_TRUE(f->read_at(0, buf));
  EXPECT_FALSE(f->read_at(1, buf));
}

}  // namespace
}  // namespace ironseal
