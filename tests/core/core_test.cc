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
  EXPECT_EQ(read_file(dir.path()).error().code, ErrorCode::kInvalidArgument);  // a directory
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
