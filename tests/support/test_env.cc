#include "support/test_env.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <atomic>

#include "core/file.h"

namespace ironseal::testing {

TempDir::TempDir() {
  static std::atomic<int> counter{0};
  const auto* info = ::testing::UnitTest::GetInstance()->current_test_info();
  std::string name = info ? std::string(info->test_suite_name()) + "." + info->name() : "tmp";
  for (char& c : name) {
    if (c == '/') c = '_';
  }
  path_ = std::filesystem::temp_directory_path() / ("ironseal-test-" + std::to_string(::getpid()) +
                                                    "-" + std::to_string(counter++) + "-" + name);
  std::filesystem::remove_all(path_);
  std::filesystem::create_directories(path_);
}

TempDir::~TempDir() {
  std::error_code ec;
  std::filesystem::remove_all(path_, ec);
}

Bytes read_fixture(const std::string& relative) {
  auto bytes = read_file(fixture(relative));
  if (!bytes) {
    ADD_FAILURE() << "cannot read fixture " << relative << ": " << bytes.error().message;
    return {};
  }
  return *bytes;
}

}  // namespace ironseal::testing
