#include "evidence/catalogue.h"

#include <regex>
#include <set>

#include "core/file.h"
#include "evidence/fields.h"

namespace ironseal::evidence {
namespace {

constexpr std::string_view kReason = "bad_catalogue";
constexpr std::uint64_t kMaxCatalogueBytes = 16 << 20;

bool is_42(std::string_view id) {
  static const std::regex re(R"((CR|EDR|HDR|NDR|SAR) [1-7]\.[0-9]{1,2})");
  return std::regex_match(id.begin(), id.end(), re);
}

bool is_41(std::string_view id) {
  static const std::regex re(R"((SM|SR|SD|SI|SVV|DM|SUM|SG)-[0-9]{1,2})");
  return std::regex_match(id.begin(), id.end(), re);
}

Result<void> read_claim(const Fields& f, Requirement& r) {
  if (auto ok = f.only({"id", "standard", "title", "claimed", "target", "extent", "summary",
                        "design", "code", "residual_risk", "tests"});
      !ok)
    return ok;
  auto target = f.integer("target", 1, 4);
  if (!target) return std::unexpected(target.error());
  r.target = static_cast<int>(*target);
  auto extent = f.text("extent");
  if (!extent) return std::unexpected(extent.error());
  if (*extent != "full" && *extent != "partial") {
    return f.refuse("extent", "must be \"full\" or \"partial\"");
  }
  r.partial = *extent == "partial";
  auto summary = f.text("summary");
  if (!summary) return std::unexpected(summary.error());
  auto design = f.texts("design", true);
  if (!design) return std::unexpected(design.error());
  auto code = f.texts("code", true);
  if (!code) return std::unexpected(code.error());
  auto risk = f.text("residual_risk");
  if (!risk) return std::unexpected(risk.error());
  auto tests = f.texts("tests", true);
  if (!tests) return std::unexpected(tests.error());
  r.summary = *summary;
  r.design = *design;
  r.code = *code;
  r.residual_risk = *risk;
  r.tests = *tests;
  for (const auto* key : {"design", "code"}) {
    for (const auto& p : std::string_view(key) == "design" ? r.design : r.code) {
      if (p.starts_with("/") || p.find("..") != std::string::npos) {
        return f.refuse(key, "paths are relative to the source root, without '..': " + p);
      }
    }
  }
  return {};
}

Result<void> read_non_claim(const Fields& f, Requirement& r) {
  if (auto ok = f.only({"id", "standard", "title", "claimed", "owner", "reason"}); !ok) return ok;
  auto owner = f.text("owner");
  if (!owner) return std::unexpected(owner.error());
  if (*owner != "integrator" && *owner != "asset_owner" && *owner != "out_of_scope") {
    return f.refuse("owner", "must be \"integrator\", \"asset_owner\" or \"out_of_scope\"");
  }
  auto reason = f.text("reason");
  if (!reason) return std::unexpected(reason.error());
  r.owner = *owner;
  r.reason = *reason;
  return {};
}

Result<Requirement> read_requirement(const Json& j, const std::string& file, std::size_t index) {
  Fields f(j, file, "/requirements/" + std::to_string(index), std::string(kReason));
  if (auto ok = f.require_object(); !ok) return std::unexpected(ok.error());
  Requirement r;
  auto id = f.text("id");
  auto standard = f.text("standard");
  auto title = f.text("title");
  auto claimed = f.boolean("claimed");
  if (!id) return std::unexpected(id.error());
  if (!standard) return std::unexpected(standard.error());
  if (!title) return std::unexpected(title.error());
  if (!claimed) return std::unexpected(claimed.error());
  r.id = *id;
  r.standard = *standard;
  r.title = *title;
  r.claimed = *claimed;
  if (r.standard == "IEC 62443-4-2") {
    if (!is_42(r.id)) return f.refuse("id", "not a 62443-4-2 ID (CR/EDR/HDR/NDR/SAR n.m): " + r.id);
  } else if (r.standard == "IEC 62443-4-1") {
    if (!is_41(r.id)) return f.refuse("id", "not a 62443-4-1 practice ID (e.g. SUM-4): " + r.id);
  } else {
    return f.refuse("standard", "must be \"IEC 62443-4-2\" or \"IEC 62443-4-1\"");
  }
  auto ok = r.claimed ? read_claim(f, r) : read_non_claim(f, r);
  if (!ok) return std::unexpected(ok.error());
  return r;
}

}  // namespace

bool is_requirement_id(std::string_view id) { return is_42(id) || is_41(id); }

const Requirement* Catalogue::find(std::string_view id) const {
  for (const auto& r : requirements) {
    if (r.id == id) return &r;
  }
  return nullptr;
}

Result<Catalogue> parse_catalogue(std::string_view text, const std::string& file) {
  auto j = parse_json(text, file, kReason);
  if (!j) return std::unexpected(j.error());
  Fields top(*j, file, "", std::string(kReason));
  if (auto ok = top.only({"about", "product", "requirements"}); !ok) {
    return std::unexpected(ok.error());
  }
  Catalogue c;
  auto about = top.optional_text("about");
  auto product = top.text("product");
  auto list = top.array("requirements", true);
  if (!about) return std::unexpected(about.error());
  if (!product) return std::unexpected(product.error());
  if (!list) return std::unexpected(list.error());
  c.about = *about;
  c.product = *product;
  if ((*list)->empty()) return top.refuse("requirements", "must list at least one requirement");
  std::set<std::string> seen;
  for (std::size_t i = 0; i < (*list)->size(); ++i) {
    auto r = read_requirement((**list)[i], file, i);
    if (!r) return std::unexpected(r.error());
    if (!seen.insert(r->id).second) {
      return top.refuse("requirements/" + std::to_string(i) + "/id", "duplicate ID " + r->id);
    }
    c.requirements.push_back(std::move(*r));
  }
  return c;
}

Result<Catalogue> load_catalogue(const std::filesystem::path& path) {
  auto bytes = read_file(path, kMaxCatalogueBytes);
  if (!bytes) return fail_in(bytes.error(), "catalogue ", path.string(), ": ");
  return parse_catalogue(std::string_view(reinterpret_cast<const char*>(bytes->data()),
                                          bytes->size()),
                         path.string());
}

bool matches_pattern(std::string_view pattern, std::string_view name) {
  // Iterative glob with backtracking to the last '*': linear in practice, no recursion.
  std::size_t p = 0, n = 0, star = std::string_view::npos, mark = 0;
  while (n < name.size()) {
    if (p < pattern.size() && pattern[p] == '*') {
      star = p++;
      mark = n;
    } else if (p < pattern.size() && pattern[p] == name[n]) {
      ++p;
      ++n;
    } else if (star != std::string_view::npos) {
      p = star + 1;
      n = ++mark;
    } else {
      return false;
    }
  }
  while (p < pattern.size() && pattern[p] == '*') ++p;
  return p == pattern.size();
}

}  // namespace ironseal::evidence
