// The test results of one build: JUnit XML as ctest (--output-junit) and GoogleTest
// (--gtest_output=xml) write it, and ctest's test list (--show-only=json-v1) for the LABELS that
// carry requirement IDs. A test that ran more than once (ctest runs each gtest case alone, the
// suite binary runs them again together) keeps its worst outcome: failed anywhere is failed.
#pragma once

#include <filesystem>
#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "core/result.h"

namespace ironseal::evidence {

enum class Outcome { kSkipped, kPassed, kFailed };  // ordered: a merge keeps the greatest
std::string_view outcome_name(Outcome o);

struct TestResult {
  std::string name;  // "Suite.Case", "Prefix/Suite.Case/0", or a ctest name ("cli.behaviour")
  Outcome outcome = Outcome::kSkipped;
  double seconds = 0;
  std::vector<std::string> requirements;  // IDs the test declares (gtest property, ctest label)
  std::vector<std::string> sources;       // result files it appears in
  std::string message;                    // first failure or skip message, trimmed
};

struct TestResults {
  std::map<std::string, TestResult> tests;
  std::vector<std::string> files;  // every file read
  std::size_t runs = 0;            // test cases read across files

  std::size_t count(Outcome o) const;
};

// One JUnit XML document. `file` names it in refusals (reason "bad_junit").
Result<void> add_junit(TestResults& results, std::string_view xml, const std::string& file);
// ctest --show-only=json-v1: requirement IDs among each test's LABELS join the tests that ran;
// labels of tests not in the results are not evidence and are ignored (reason "bad_ctest_list").
Result<void> add_ctest_labels(TestResults& results, std::string_view json, const std::string& file);
// Every *.xml (JUnit) and *.json (ctest test list) file directly in each folder; a folder with no
// result file is refused (kNotFound), as is an empty set of results.
Result<TestResults> load_results(const std::vector<std::filesystem::path>& dirs);

}  // namespace ironseal::evidence
