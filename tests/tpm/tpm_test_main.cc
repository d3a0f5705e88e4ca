// gtest main for the TPM tests: every test process gets its own swtpm + tpm2-abrmd, and every test
// starts from a cleared TPM (owner hierarchy: no NV indexes, no persistent keys, new seeds), so
// tests do not see each other's counters or keys whether ctest runs them one by one or not.
#include <gtest/gtest.h>

#include <cstdlib>

#include "support/tpm_harness.h"

namespace {
class ClearTpmBeforeEachTest : public ::testing::EmptyTestEventListener {
  void OnTestStart(const ::testing::TestInfo&) override {
    if (ironseal::testing::TpmEnvironment::dir().empty()) return;
    if (ironseal::testing::TpmEnvironment::run("tpm2_clear -c p") != 0) {
      std::fprintf(stderr, "tpm2_clear failed: the TPM keeps the previous test's state\n");
      std::abort();
    }
  }
};
}  // namespace

int main(int argc, char** argv) {
  ::testing::InitGoogleTest(&argc, argv);
  ::testing::AddGlobalTestEnvironment(new ironseal::testing::TpmEnvironment);
  ::testing::UnitTest::GetInstance()->listeners().Append(new ClearTpmBeforeEachTest);
  return RUN_ALL_TESTS();
}
