// Paths and small helpers shared by tests: the fixture directory and scratch directories.
#pragma once

#include <filesystem>
#include <string>

#include "core/bytes.h"

namespace ironseal::testing {

// tests/fixtures in the source tree (set by CMake).
inline std::filesystem::path fixture(const std::string& relative) {
  return std::filesystem::path(IRONSEAL_FIXTURES_DIR) / relative;
}

// A fresh, empty directory under the build tree, removed when the object dies.
class TempDir {
 public:
  TempDir();
  ~TempDir();
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
  const std::filesystem::path& path() const { return path_; }
  std::filesystem::path operator/(const std::string& name) const { return path_ / name; }

 private:
  std::filesystem::path path_;
};

Bytes read_fixture(const std::string& relative);

}  // namespace ironseal::testing
