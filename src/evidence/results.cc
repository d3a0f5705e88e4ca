#include "evidence/results.h"

#include <libxml/parser.h>
#include <libxml/tree.h>

#include <algorithm>
#include <memory>

#include "core/file.h"
#include "evidence/catalogue.h"
#include "evidence/fields.h"
#include "evidence/text.h"

namespace ironseal::evidence {
namespace {

constexpr std::uint64_t kMaxResultBytes = 256 << 20;
constexpr std::size_t kMaxTestCases = 1'000'000;
constexpr std::size_t kMaxMessage = 400;

struct DocFree {
  void operator()(xmlDoc* d) const { xmlFreeDoc(d); }
};

std::string attribute(xmlNode* node, const char* name) {
  xmlChar* v = xmlGetProp(node, reinterpret_cast<const xmlChar*>(name));
  if (v == nullptr) return {};
  std::string s(reinterpret_cast<const char*>(v));
  xmlFree(v);
  return s;
}

bool named(const xmlNode* node, const char* name) {
  return node->type == XML_ELEMENT_NODE &&
         xmlStrcmp(node->name, reinterpret_cast<const xmlChar*>(name)) == 0;
}

// A message for the report: trimmed and cut to kMaxMessage.
std::string brief(std::string_view s) {
  std::string out = trim(s);
  if (out.size() > kMaxMessage) out = out.substr(0, kMaxMessage) + "...";
  return out;
}

void merge(TestResults& results, TestResult run, const std::string& file) {
  auto [it, inserted] = results.tests.try_emplace(run.name, run);
  TestResult& t = it->second;
  if (!inserted) {
    if (run.outcome > t.outcome) {
      t.outcome = run.outcome;
      t.message = run.message;
    }
    t.seconds = std::max(t.seconds, run.seconds);
    for (auto& id : run.requirements) {
      if (std::find(t.requirements.begin(), t.requirements.end(), id) == t.requirements.end())
        t.requirements.push_back(id);
    }
  }
  if (std::find(t.sources.begin(), t.sources.end(), file) == t.sources.end())
    t.sources.push_back(file);
}

Result<TestResult> read_case(xmlNode* node, const std::string& file) {
  TestResult t;
  std::string name = attribute(node, "name");
  std::string classname = attribute(node, "classname");
  if (name.empty()) {
    return fail_because(ErrorCode::kInvalidArgument, "bad_junit", file, ": line ",
                        std::to_string(xmlGetLineNo(node)), ": testcase without a name");
  }
  // ctest writes classname == name; GoogleTest writes the suite as classname.
  t.name = classname.empty() || classname == name || name.starts_with(classname + ".")
               ? name
               : classname + "." + name;
  std::string status = attribute(node, "status");
  std::string result = attribute(node, "result");
  t.outcome = (status == "notrun" || status == "disabled" || result == "skipped" ||
               result == "suppressed")
                  ? Outcome::kSkipped
                  : Outcome::kPassed;
  t.seconds = std::strtod(attribute(node, "time").c_str(), nullptr);
  for (xmlNode* c = node->children; c != nullptr; c = c->next) {
    if (named(c, "failure") || named(c, "error")) {
      t.outcome = Outcome::kFailed;
      std::string m = attribute(c, "message");
      t.message = brief(m);
    } else if (named(c, "skipped") && t.outcome != Outcome::kFailed) {
      t.outcome = Outcome::kSkipped;
      t.message = brief(attribute(c, "message"));
    } else if (named(c, "properties")) {
      for (xmlNode* p = c->children; p != nullptr; p = p->next) {
        if (named(p, "property") && attribute(p, "name") == "requirements") {
          t.requirements = split_list(attribute(p, "value"), ';');
        }
      }
    }
  }
  return t;
}

Result<void> walk(TestResults& results, xmlNode* node, const std::string& file, int depth) {
  if (depth > 64) {
    return fail_because(ErrorCode::kInvalidArgument, "bad_junit", file,
                        ": test suites nested deeper than 64 levels");
  }
  for (xmlNode* c = node; c != nullptr; c = c->next) {
    if (named(c, "testcase")) {
      if (++results.runs > kMaxTestCases) {
        return fail_because(ErrorCode::kInvalidArgument, "bad_junit", file,
                            ": more than 1,000,000 test cases");
      }
      auto t = read_case(c, file);
      if (!t) return std::unexpected(t.error());
      merge(results, std::move(*t), file);
    } else if (named(c, "testsuite") || named(c, "testsuites")) {
      if (auto ok = walk(results, c->children, file, depth + 1); !ok) return ok;
    }
  }
  return {};
}

}  // namespace

std::string_view outcome_name(Outcome o) {
  switch (o) {
    case Outcome::kPassed: return "passed";
    case Outcome::kFailed: return "failed";
    case Outcome::kSkipped: return "skipped";
  }
  return "skipped";
}

std::size_t TestResults::count(Outcome o) const {
  return static_cast<std::size_t>(std::count_if(
      tests.begin(), tests.end(), [o](const auto& kv) { return kv.second.outcome == o; }));
}

Result<void> add_junit(TestResults& results, std::string_view xml, const std::string& file) {
  if (xml.size() > kMaxResultBytes) {
    return fail_because(ErrorCode::kInvalidArgument, "bad_junit", file, ": larger than 256 MiB");
  }
  // JUnit needs no DTD: refusing one up front rules out entity expansion ("billion laughs") and
  // external entities before the parser sees the document. No network, no entity substitution.
  if (xml.find("<!DOCTYPE") != std::string_view::npos ||
      xml.find("<!ENTITY") != std::string_view::npos) {
    return fail_because(ErrorCode::kInvalidArgument, "bad_junit", file,
                        ": has a DOCTYPE or ENTITY declaration (JUnit needs none; refused)");
  }
  std::unique_ptr<xmlDoc, DocFree> doc(
      xmlReadMemory(xml.data(), static_cast<int>(xml.size()), file.c_str(), nullptr,
                    XML_PARSE_NONET | XML_PARSE_NOERROR | XML_PARSE_NOWARNING));
  if (!doc) {
    const xmlError* e = xmlGetLastError();
    std::string why = e != nullptr && e->message != nullptr ? brief(e->message) : "does not parse";
    std::string line = e != nullptr ? std::to_string(e->line) : "?";
    return fail_because(ErrorCode::kInvalidArgument, "bad_junit", file, ": line ", line,
                        ": not well-formed XML: ", why);
  }
  if (doc->intSubset != nullptr || doc->extSubset != nullptr) {
    return fail_because(ErrorCode::kInvalidArgument, "bad_junit", file, ": has a DTD (refused)");
  }
  xmlNode* root = xmlDocGetRootElement(doc.get());
  if (root == nullptr || !(named(root, "testsuite") || named(root, "testsuites"))) {
    return fail_because(ErrorCode::kInvalidArgument, "bad_junit", file,
                        ": the root element is not <testsuites> or <testsuite>");
  }
  std::size_t before = results.runs;
  if (auto ok = walk(results, root, file, 0); !ok) return ok;
  if (results.runs == before) {
    return fail_because(ErrorCode::kInvalidArgument, "bad_junit", file, ": no <testcase>");
  }
  results.files.push_back(file);
  return {};
}

Result<void> add_ctest_labels(TestResults& results, std::string_view json,
                              const std::string& file) {
  auto j = parse_json(json, file, "bad_ctest_list");
  if (!j) return std::unexpected(j.error());
  Fields top(*j, file, "", "bad_ctest_list");
  if (auto ok = top.require_object(); !ok) return ok;
  auto tests = top.array("tests", true);
  if (!tests) return std::unexpected(tests.error());
  for (std::size_t i = 0; i < (*tests)->size(); ++i) {
    Fields t((**tests)[i], file, "/tests/" + std::to_string(i), "bad_ctest_list");
    auto name = t.text("name");
    if (!name) return std::unexpected(name.error());
    auto props = t.array("properties", false);
    if (!props) return std::unexpected(props.error());
    auto found = results.tests.find(*name);
    for (const auto& p : **props) {
      if (!has_string(p, "name", "LABELS") || !p.contains("value")) continue;
      if (!p["value"].is_array()) return t.refuse("properties", "LABELS must be a list");
      for (const auto& label : p["value"]) {
        if (!label.is_string()) return t.refuse("properties", "a label must be a string");
        auto id = label.get<std::string>();
        if (found == results.tests.end() || !is_requirement_id(id)) continue;
        auto& ids = found->second.requirements;
        if (std::find(ids.begin(), ids.end(), id) == ids.end()) ids.push_back(id);
      }
    }
  }
  results.files.push_back(file);
  return {};
}

Result<TestResults> load_results(const std::vector<std::filesystem::path>& dirs) {
  TestResults results;
  std::vector<std::filesystem::path> lists;
  for (const auto& dir : dirs) {
    std::error_code ec;
    std::vector<std::filesystem::path> files;
    for (const auto& e : std::filesystem::directory_iterator(dir, ec)) {
      if (e.is_regular_file()) files.push_back(e.path());
    }
    if (ec) return fail(ErrorCode::kNotFound, "results folder ", dir.string(), ": ", ec.message());
    std::sort(files.begin(), files.end());
    std::size_t used = 0;
    for (const auto& f : files) {
      if (f.extension() == ".json") {
        lists.push_back(f);
        ++used;
        continue;
      }
      if (f.extension() != ".xml") continue;
      auto bytes = read_file(f, kMaxResultBytes);
      if (!bytes) return fail_in(bytes.error(), "results ", f.string(), ": ");
      auto ok = add_junit(results, std::string_view(reinterpret_cast<const char*>(bytes->data()),
                                                    bytes->size()),
                          f.string());
      if (!ok) return std::unexpected(ok.error());
      ++used;
    }
    if (used == 0) {
      return fail(ErrorCode::kNotFound, "results folder ", dir.string(),
                  ": no JUnit *.xml or ctest *.json file");
    }
  }
  // Labels last: they attach to tests that ran, whatever order the files came in.
  for (const auto& f : lists) {
    auto bytes = read_file(f, kMaxResultBytes);
    if (!bytes) return fail_in(bytes.error(), "results ", f.string(), ": ");
    auto ok = add_ctest_labels(
        results, std::string_view(reinterpret_cast<const char*>(bytes->data()), bytes->size()),
        f.string());
    if (!ok) return std::unexpected(ok.error());
  }
  if (results.tests.empty()) return fail(ErrorCode::kNotFound, "no test results were read");
  return results;
}

}  // namespace ironseal::evidence
