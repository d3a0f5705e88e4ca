#include "support/tpm_harness.h"

#include <sys/wait.h>
#include <unistd.h>

#include <cstdlib>
#include <fstream>
#include <iterator>

namespace ironseal::testing {
namespace {
std::filesystem::path g_dir;

std::string script() {
  return std::string(IRONSEAL_TESTS_DIR) + "/support/tpm_env.sh";
}
}  // namespace

const std::filesystem::path& TpmEnvironment::dir() {
  return g_dir;
}

void TpmEnvironment::SetUp() {
  char templ[] = "/tmp/ironseal-tpm-XXXXXX";
  ASSERT_NE(::mkdtemp(templ), nullptr);
  g_dir = templ;
  const std::string cmd =
      "bash '" + script() + "' start '" + g_dir.string() + "' " + std::to_string(::getpid());
  const int rc = std::system(cmd.c_str());
  ASSERT_EQ(rc, 0) << "could not start swtpm + tpm2-abrmd (" << cmd << ")";
  std::ifstream env(g_dir / "env");
  std::string line;
  while (std::getline(env, line)) {
    const auto eq = line.find('=');
    if (eq == std::string::npos) continue;
    ::setenv(line.substr(0, eq).c_str(), line.substr(eq + 1).c_str(), 1);
  }
  ASSERT_NE(std::getenv("TPM2OPENSSL_TCTI"), nullptr);
}

void TpmEnvironment::TearDown() {
  if (g_dir.empty()) return;
  const std::string cmd = "bash '" + script() + "' stop '" + g_dir.string() + "'";
  std::system(cmd.c_str());
  std::error_code ec;
  std::filesystem::remove_all(g_dir, ec);
}

int TpmEnvironment::run(const std::string& command, std::string* output) {
  // In the TPM's scratch directory, so commands may leave files behind.
  const auto out = g_dir / "run.out";
  const std::string line =
      "cd '" + g_dir.string() + "' && { " + command + "; } >'" + out.string() + "' 2>&1";
  const int rc = std::system(line.c_str());
  if (output != nullptr) {
    std::ifstream in(out);
    output->assign(std::istreambuf_iterator<char>(in), {});
  }
  return WIFEXITED(rc) ? WEXITSTATUS(rc) : 128;
}

}  // namespace ironseal::testing
