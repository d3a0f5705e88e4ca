#include "evidence/vex.h"

#include <algorithm>
#include <cctype>

#include "evidence/fields.h"

namespace ironseal::evidence {
namespace {

using Json = nlohmann::json;

int order(int c) {
  if (std::isdigit(c)) return 0;
  if (std::isalpha(c)) return c;
  if (c == '~') return -1;
  if (c != 0) return c + 256;
  return 0;
}

int compare_part(std::string_view a, std::string_view b) {
  std::size_t i = 0, j = 0;
  auto at = [](std::string_view s, std::size_t k) -> int {
    return k < s.size() ? static_cast<unsigned char>(s[k]) : 0;
  };
  while (i < a.size() || j < b.size()) {
    int first_diff = 0;
    while ((i < a.size() && !std::isdigit(at(a, i))) || (j < b.size() && !std::isdigit(at(b, j)))) {
      int ac = order(at(a, i)), bc = order(at(b, j));
      if (ac != bc) return ac - bc;
      ++i;
      ++j;
    }
    while (at(a, i) == '0') ++i;
    while (at(b, j) == '0') ++j;
    while (std::isdigit(at(a, i)) && std::isdigit(at(b, j))) {
      if (first_diff == 0) first_diff = at(a, i) - at(b, j);
      ++i;
      ++j;
    }
    if (std::isdigit(at(a, i))) return 1;
    if (std::isdigit(at(b, j))) return -1;
    if (first_diff != 0) return first_diff;
  }
  return 0;
}

struct Version {
  long epoch = 0;
  std::string_view upstream, revision;
};

Version split(std::string_view v) {
  Version out;
  if (auto colon = v.find(':'); colon != std::string_view::npos) {
    out.epoch = std::strtol(std::string(v.substr(0, colon)).c_str(), nullptr, 10);
    v = v.substr(colon + 1);
  }
  if (auto dash = v.rfind('-'); dash != std::string_view::npos) {
    out.upstream = v.substr(0, dash);
    out.revision = v.substr(dash + 1);
  } else {
    out.upstream = v;
  }
  return out;
}

}  // namespace

int compare_debian_versions(std::string_view a, std::string_view b) {
  Version x = split(a), y = split(b);
  if (x.epoch != y.epoch) return x.epoch < y.epoch ? -1 : 1;
  if (int c = compare_part(x.upstream, y.upstream); c != 0) return c < 0 ? -1 : 1;
  int c = compare_part(x.revision, y.revision);
  return c < 0 ? -1 : c > 0 ? 1 : 0;
}

namespace {

constexpr std::string_view kFeed = "bad_feed";

Result<OsvAffected> read_affected(const Json& j, const std::string& file, const std::string& ptr) {
  Fields f(j, file, ptr, std::string(kFeed));
  if (auto ok = f.require_object(); !ok) return std::unexpected(ok.error());
  OsvAffected a;
  if (!f.has("package")) return f.refuse("package", "is required");
  Fields pkg(j["package"], file, ptr + "/package", std::string(kFeed));
  auto eco = pkg.optional_text("ecosystem");
  auto name = pkg.optional_text("name");
  auto purl = pkg.optional_text("purl");
  if (!eco) return std::unexpected(eco.error());
  if (!name) return std::unexpected(name.error());
  if (!purl) return std::unexpected(purl.error());
  if (name->empty() && purl->empty()) return pkg.refuse("name", "a package needs a name or purl");
  a.ecosystem = *eco;
  a.name = *name;
  a.purl = *purl;
  auto ranges = f.array("ranges", false);
  if (!ranges) return std::unexpected(ranges.error());
  for (std::size_t i = 0; i < (*ranges)->size(); ++i) {
    const std::string rp = ptr + "/ranges/" + std::to_string(i);
    Fields r((**ranges)[i], file, rp, std::string(kFeed));
    auto events = r.array("events", true);
    if (!events) return std::unexpected(events.error());
    OsvRange range;
    for (std::size_t e = 0; e < (*events)->size(); ++e) {
      const Json& ev = (**events)[e];
      if (!ev.is_object() || ev.size() != 1 || !ev.begin()->is_string()) {
        return r.refuse("events/" + std::to_string(e),
                        "an event is one of {introduced|fixed|last_affected|limit: version}");
      }
      const std::string kind = ev.begin().key();
      if (kind != "introduced" && kind != "fixed" && kind != "last_affected" && kind != "limit") {
        return r.refuse("events/" + std::to_string(e), "unknown event '" + kind + "'");
      }
      range.events.emplace_back(kind, ev.begin()->get<std::string>());
    }
    a.ranges.push_back(std::move(range));
  }
  auto versions = f.texts("versions", false);
  if (!versions) return std::unexpected(versions.error());
  a.versions = *versions;
  if (a.ranges.empty() && a.versions.empty()) {
    return f.refuse("ranges", "an affected package needs ranges or versions");
  }
  return a;
}

Result<OsvEntry> read_entry(const Json& j, const std::string& file, const std::string& ptr) {
  Fields f(j, file, ptr, std::string(kFeed));
  if (auto ok = f.require_object(); !ok) return std::unexpected(ok.error());
  OsvEntry e;
  auto id = f.text("id");
  auto modified = f.text("modified");
  if (!id) return std::unexpected(id.error());
  if (!modified) return std::unexpected(modified.error());
  e.id = *id;
  e.modified = *modified;
  for (auto [key, out] : {std::pair{"summary", &e.summary}, {"details", &e.details},
                          {"published", &e.published}}) {
    auto v = f.optional_text(key);
    if (!v) return std::unexpected(v.error());
    *out = *v;
  }
  auto aliases = f.texts("aliases", false);
  if (!aliases) return std::unexpected(aliases.error());
  e.aliases = *aliases;
  auto severity = f.array("severity", false);
  if (!severity) return std::unexpected(severity.error());
  for (const auto& s : **severity) {
    // Severity entries are informative: one of an unknown shape is skipped, never trusted.
    if (!s.is_object() || !s.contains("type") || !s["type"].is_string()) continue;
    if (s["type"].get_ref<const std::string&>().starts_with("CVSS_") && s.contains("score") &&
        s["score"].is_string())
      e.cvss_vectors.push_back(s["score"].get<std::string>());
  }
  auto affected = f.array("affected", true);
  if (!affected) return std::unexpected(affected.error());
  for (std::size_t i = 0; i < (*affected)->size(); ++i) {
    auto a = read_affected((**affected)[i], file, ptr + "/affected/" + std::to_string(i));
    if (!a) return std::unexpected(a.error());
    e.affected.push_back(std::move(*a));
  }
  return e;
}

}  // namespace

Result<std::vector<OsvEntry>> parse_osv_feed(std::string_view text, const std::string& file) {
  auto j = parse_json(text, file, kFeed);
  if (!j) return std::unexpected(j.error());
  const Json* list = &*j;
  std::string base;
  Json single = Json::array();
  if (j->is_object() && j->contains("vulns")) {
    list = &(*j)["vulns"];
    base = "/vulns";
  } else if (j->is_object()) {
    single.push_back(*j);
    list = &single;
  }
  if (!list->is_array()) {
    return fail_because(ErrorCode::kInvalidArgument, kFeed, file, ": ", base.empty() ? "/" : base,
                        ": must be an OSV entry, a list of them, or {\"vulns\": [...]}");
  }
  std::vector<OsvEntry> out;
  for (std::size_t i = 0; i < list->size(); ++i) {
    auto e = read_entry((*list)[i], file, list == &single ? "" : base + "/" + std::to_string(i));
    if (!e) return std::unexpected(e.error());
    out.push_back(std::move(*e));
  }
  return out;
}

Result<std::vector<TriageEntry>> parse_triage(std::string_view text, const std::string& file) {
  auto j = parse_json(text, file, "bad_triage");
  if (!j) return std::unexpected(j.error());
  Fields top(*j, file, "", "bad_triage");
  if (auto ok = top.only({"about", "triage"}); !ok) return std::unexpected(ok.error());
  auto list = top.array("triage", true);
  if (!list) return std::unexpected(list.error());
  static const char* kJustifications[] = {
      "code_not_present", "code_not_reachable", "requires_configuration", "requires_dependency",
      "requires_environment", "protected_by_compiler", "protected_at_runtime",
      "protected_at_perimeter", "protected_by_mitigating_control"};
  std::vector<TriageEntry> out;
  for (std::size_t i = 0; i < (*list)->size(); ++i) {
    Fields f((**list)[i], file, "/triage/" + std::to_string(i), "bad_triage");
    if (auto ok = f.only({"vulnerability", "component", "state", "justification", "detail"}); !ok)
      return std::unexpected(ok.error());
    TriageEntry t;
    auto v = f.text("vulnerability");
    auto c = f.optional_text("component");
    auto s = f.text("state");
    auto just = f.optional_text("justification");
    auto d = f.optional_text("detail");
    for (auto* r : {&v, &c, &s, &just, &d}) {
      if (!*r) return std::unexpected(r->error());
    }
    t = {*v, *c, *s, *just, *d};
    if (t.state != "affected" && t.state != "not_affected" && t.state != "under_investigation") {
      return f.refuse("state", "must be affected, not_affected or under_investigation");
    }
    if (t.state == "not_affected") {
      if (std::find(std::begin(kJustifications), std::end(kJustifications), t.justification) ==
          std::end(kJustifications)) {
        return f.refuse("justification",
                        "not_affected needs a CycloneDX justification (code_not_present, "
                        "code_not_reachable, requires_configuration, ...)");
      }
      if (t.detail.empty()) return f.refuse("detail", "not_affected needs the reasoning");
    } else if (!t.justification.empty()) {
      return f.refuse("justification", "only not_affected takes a justification");
    }
    out.push_back(std::move(t));
  }
  return out;
}

}  // namespace ironseal::evidence
