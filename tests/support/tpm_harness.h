// A private swtpm + tpm2-abrmd for one gtest process (tests/support/tpm_env.sh does the work).
// Register TpmEnvironment before RUN_ALL_TESTS: it starts the TPM, exports the TCTI variables the
// tpm2 provider and libtss2 read (before either is loaded), and stops it at the end; a watchdog
// stops it too if the test process dies first. Tests that need a TPM fail (not skip) without one.
#pragma once

#include <gtest/gtest.h>

#include <filesystem>
#include <string>

namespace ironseal::testing {

class TpmEnvironment : public ::testing::Environment {
 public:
  void SetUp() override;
  void TearDown() override;
  // Runs a tpm2-tools (or other) shell command against the test TPM; returns its exit status.
  // With `output`, its stdout and stderr land there.
  static int run(const std::string& command, std::string* output = nullptr);
  static const std::filesystem::path& dir();
};

}  // namespace ironseal::testing
