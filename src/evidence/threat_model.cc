#include "evidence/threat_model.h"

#include <set>

#include "core/file.h"
#include "evidence/text.h"

namespace ironseal::evidence {
namespace {

constexpr std::string_view kReason = "bad_threat_model";

std::unexpected<Error> refuse(const std::string& file, int line, std::string_view what) {
  return fail_because(ErrorCode::kInvalidArgument, kReason, file, ": line ", std::to_string(line),
                      ": ", what);
}

Result<void> read_tests(Threat& t, std::string_view value, const std::string& file, int line) {
  auto v = trim(value);
  if (v.starts_with("none")) {
    t.residual = v;
    if (v.find('(') == std::string::npos) {
      return refuse(file, line, t.id + ": 'none' must say why in parentheses");
    }
    return {};
  }
  std::size_t pos = 0;
  while ((pos = v.find('`', pos)) != std::string::npos) {
    auto end = v.find('`', pos + 1);
    if (end == std::string::npos) return refuse(file, line, t.id + ": unbalanced backtick");
    auto name = v.substr(pos + 1, end - pos - 1);
    if (name.empty()) return refuse(file, line, t.id + ": empty test name");
    t.tests.push_back(name);
    pos = end + 1;
  }
  if (t.tests.empty()) {
    return refuse(file, line, t.id + ": Tests: lists no `test` (write 'none (residual: ...)')");
  }
  return {};
}

Result<void> check_stride(const Threat& t, const std::string& file) {
  static const std::set<std::string> kCategories = {
      "Spoofing", "Tampering", "Repudiation", "Information disclosure", "Denial of service",
      "Elevation of privilege"};
  std::string s = t.stride;
  for (char& c : s) {
    if (c == '/') c = ',';
  }
  auto words = split_list(s, ',');
  if (words.empty()) return refuse(file, t.line, t.id + ": no STRIDE category");
  for (const auto& w : words) {
    if (!kCategories.count(w)) {
      return refuse(file, t.line, t.id + ": unknown STRIDE category '" + w + "'");
    }
  }
  return {};
}

Result<void> finish(const Threat& t, const std::string& file) {
  if (t.stride.empty()) return refuse(file, t.line, t.id + ": no '- STRIDE:' line");
  if (auto ok = check_stride(t, file); !ok) return ok;
  if (t.mitigation.empty()) return refuse(file, t.line, t.id + ": no '- Mitigation:' line");
  if (t.requirements.empty()) return refuse(file, t.line, t.id + ": no '- Requirements:' line");
  if (t.tests.empty() && t.residual.empty()) {
    return refuse(file, t.line, t.id + ": no '- Tests:' line");
  }
  return {};
}

}  // namespace

Result<ThreatModel> parse_threat_model(std::string_view markdown, const std::string& file) {
  ThreatModel model{file, {}};
  std::set<std::string> ids;
  Threat* current = nullptr;
  int line_no = 0;
  for (std::string_view line : lines_of(markdown)) {
    ++line_no;
    if (line.starts_with("#")) {
      if (current != nullptr) {
        if (auto ok = finish(*current, file); !ok) return std::unexpected(ok.error());
        current = nullptr;
      }
      if (!line.starts_with("### T-")) continue;
      auto colon = line.find(':');
      if (colon == std::string_view::npos) {
        return refuse(file, line_no, "a threat heading reads '### T-NN: title'");
      }
      Threat t;
      t.id = trim(line.substr(4, colon - 4));
      t.title = trim(line.substr(colon + 1));
      t.line = line_no;
      if (t.title.empty()) return refuse(file, line_no, t.id + ": no title");
      if (!ids.insert(t.id).second) return refuse(file, line_no, "duplicate threat " + t.id);
      model.threats.push_back(std::move(t));
      current = &model.threats.back();
      continue;
    }
    if (current == nullptr || !line.starts_with("- ")) continue;
    auto colon = line.find(':');
    if (colon == std::string_view::npos) continue;
    auto key = trim(line.substr(2, colon - 2));
    auto value = line.substr(colon + 1);
    if (key == "STRIDE") current->stride = trim(value);
    else if (key == "Where") current->where = trim(value);
    else if (key == "Threat") current->threat = trim(value);
    else if (key == "Mitigation") current->mitigation = trim(value);
    else if (key == "Requirements") current->requirements = split_list(value, ',');
    else if (key == "Tests") {
      if (auto ok = read_tests(*current, value, file, line_no); !ok) {
        return std::unexpected(ok.error());
      }
    }
  }
  if (current != nullptr) {
    if (auto ok = finish(*current, file); !ok) return std::unexpected(ok.error());
  }
  if (model.threats.empty()) return refuse(file, line_no, "no '### T-NN: title' threat");
  return model;
}

Result<ThreatModel> load_threat_model(const std::string& path) {
  auto bytes = read_file(path, 16 << 20);
  if (!bytes) return fail_in(bytes.error(), "threat model ", path, ": ");
  return parse_threat_model(
      std::string_view(reinterpret_cast<const char*>(bytes->data()), bytes->size()), path);
}

}  // namespace ironseal::evidence
