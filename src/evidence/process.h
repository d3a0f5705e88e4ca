// Runs a local tool (dpkg-query, the dynamic loader's --list) and captures what it prints.
// Internal to src/evidence. No shell: arguments go to the program as they are.
#pragma once

#include <string>
#include <vector>

#include "core/result.h"

namespace ironseal::evidence {

struct Captured {
  std::string out;
  int status = -1;  // exit status; -1 when killed by a signal
};

// Refuses (kIo) when the program cannot be started; a non-zero exit is the caller's to judge.
// Output beyond 64 MiB is refused.
Result<Captured> run_capture(const std::vector<std::string>& argv);

}  // namespace ironseal::evidence
