// report.html: one self-contained page (inline CSS, no script, no external asset), readable on
// screen and on paper, for an auditor who has nothing but the file.
#include <algorithm>
#include <sstream>

#include "evidence/report.h"

namespace ironseal::evidence {
namespace {

std::string esc(std::string_view s) {
  std::string out;
  out.reserve(s.size());
  for (char c : s) {
    switch (c) {
      case '&': out += "&amp;"; break;
      case '<': out += "&lt;"; break;
      case '>': out += "&gt;"; break;
      case '"': out += "&quot;"; break;
      case '\'': out += "&#39;"; break;
      default: out.push_back(c);
    }
  }
  return out;
}

std::string css_class(Status s) {
  switch (s) {
    case Status::kMet: return "met";
    case Status::kPartial: return "partial";
    case Status::kNotMet: return "notmet";
    case Status::kNotClaimed: return "unclaimed";
  }
  return "notmet";
}

constexpr const char* kStyle = R"(
body{font:14px/1.45 system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;color:#1d2330;margin:2em auto;max-width:1200px;padding:0 1.5em}
h1{font-size:1.7em;margin-bottom:.2em}h2{margin-top:2em;border-bottom:2px solid #d7dce5;padding-bottom:.2em}
.meta{color:#566;font-size:.92em}.meta code{font-size:.95em}
.verdict{display:inline-block;padding:.35em .9em;border-radius:4px;font-weight:700;margin:.8em 0}
.pass{background:#dcf5e3;color:#0d6b2c}.fail{background:#fde2e1;color:#9b1c1c}
table{border-collapse:collapse;width:100%;margin:.6em 0}th,td{border:1px solid #d7dce5;padding:.35em .5em;vertical-align:top;text-align:left}
th{background:#f1f4f9}td.id{white-space:nowrap;font-weight:600}
.badge{display:inline-block;padding:.05em .5em;border-radius:3px;font-size:.85em;font-weight:600;white-space:nowrap}
.met{background:#dcf5e3;color:#0d6b2c}.partial{background:#fff3cd;color:#7a5600}.notmet{background:#fde2e1;color:#9b1c1c}.unclaimed{background:#eceff4;color:#4a5160}
.tests{font-size:.82em;color:#333}.t-passed{color:#0d6b2c}.t-failed{color:#9b1c1c;font-weight:700}.t-skipped{color:#7a5600}
.counts td{text-align:right;font-variant-numeric:tabular-nums}.small{font-size:.85em;color:#566}
ul.failures li{color:#9b1c1c}
@media print{body{margin:0;max-width:none;font-size:10pt}h2{page-break-after:avoid}tr{page-break-inside:avoid}.verdict{border:1px solid #000}}
)";

void counts_table(std::ostringstream& o, const Report& r) {
  const auto& res = r.inputs->results;
  o << "<table class=\"counts\" style=\"width:auto\"><tr><th>Requirements</th><th>count</th>"
       "<th>Tests of this build</th><th>count</th></tr>"
    << "<tr><th><span class=\"badge met\">met</span></th><td>" << r.counts[0]
    << "</td><th>passed</th><td>" << res.count(Outcome::kPassed) << "</td></tr>"
    << "<tr><th><span class=\"badge partial\">partial</span></th><td>" << r.counts[1]
    << "</td><th>failed</th><td>" << res.count(Outcome::kFailed) << "</td></tr>"
    << "<tr><th><span class=\"badge notmet\">not met</span></th><td>" << r.counts[2]
    << "</td><th>skipped</th><td>" << res.count(Outcome::kSkipped) << "</td></tr>"
    << "<tr><th><span class=\"badge unclaimed\">not claimed</span></th><td>" << r.counts[3]
    << "</td><th>total</th><td>" << res.tests.size() << "</td></tr></table>\n";
}

void test_list(std::ostringstream& o, const std::vector<TestEvidence>& tests) {
  o << "<div class=\"tests\">";
  bool first = true;
  for (const auto& t : tests) {
    if (!first) o << ", ";
    first = false;
    o << "<span class=\"t-" << outcome_name(t.outcome) << "\" title=\""
      << outcome_name(t.outcome) << "\">" << esc(t.name);
    if (t.outcome != Outcome::kPassed) o << " (" << outcome_name(t.outcome) << ")";
    o << "</span>";
  }
  o << "</div>";
}

void requirement_rows(std::ostringstream& o, const Report& r, std::string_view standard) {
  o << "<table><tr><th>ID</th><th>Title</th><th>Status</th><th>Claim and evidence</th></tr>\n";
  for (const auto& rr : r.requirements) {
    const Requirement& q = *rr.requirement;
    if (q.standard != standard) continue;
    o << "<tr id=\"" << esc(q.id) << "\"><td class=\"id\">" << esc(q.id) << "</td><td>"
      << esc(q.title) << "</td><td><span class=\"badge " << css_class(rr.status) << "\">"
      << status_name(rr.status) << "</span>";
    if (q.claimed) {
      o << "<div class=\"small\">target " << (standard == "IEC 62443-4-1" ? "ML " : "SL ")
        << q.target << "</div>";
    }
    o << "</td><td>";
    if (!q.claimed) {
      o << "<div class=\"small\">" << esc(q.owner) << ": " << esc(q.reason) << "</div>";
    } else {
      o << "<div>" << esc(q.summary) << "</div><div class=\"small\"><b>Residual risk:</b> "
        << esc(q.residual_risk) << "</div><div class=\"small\"><b>Code:</b> ";
      for (const auto& c : q.code) o << "<code>" << esc(c) << "</code> ";
      o << " <b>Design:</b> ";
      for (const auto& d : q.design) o << "<code>" << esc(d) << "</code> ";
      o << "</div>";
      std::string threats;
      for (const auto& tr : r.threats) {
        const auto& ids = tr.threat->requirements;
        if (std::find(ids.begin(), ids.end(), q.id) != ids.end()) {
          threats += "<a href=\"#" + esc(tr.threat->id) + "\">" + esc(tr.threat->id) + "</a> ";
        }
      }
      if (!threats.empty()) o << "<div class=\"small\"><b>Threats:</b> " << threats << "</div>";
      for (const auto& p : rr.problems) o << "<div class=\"t-failed\">" << esc(p) << "</div>";
      o << "<div class=\"small\"><b>Tests (" << rr.tests.size() << "):</b></div>";
      test_list(o, rr.tests);
    }
    o << "</td></tr>\n";
  }
  o << "</table>\n";
}

void threat_rows(std::ostringstream& o, const Report& r) {
  o << "<table><tr><th>ID</th><th>Threat</th><th>STRIDE</th><th>Mitigation</th>"
       "<th>Requirements</th><th>Tests</th></tr>\n";
  for (const auto& tr : r.threats) {
    const Threat& t = *tr.threat;
    o << "<tr id=\"" << esc(t.id) << "\"><td class=\"id\">" << esc(t.id) << "</td><td><b>"
      << esc(t.title)
      << "</b><div class=\"small\">" << esc(t.where) << "</div><div class=\"small\">"
      << esc(t.threat) << "</div></td><td>" << esc(t.stride) << "</td><td class=\"small\">"
      << esc(t.mitigation) << "</td><td>";
    for (const auto& id : t.requirements) {
      o << "<a href=\"#" << esc(id) << "\">" << esc(id) << "</a> ";
    }
    o << "</td><td>";
    if (!t.residual.empty()) o << "<div class=\"small\">" << esc(t.residual) << "</div>";
    test_list(o, tr.tests);
    for (const auto& p : tr.problems) o << "<div class=\"t-failed\">" << esc(p) << "</div>";
    o << "</td></tr>\n";
  }
  o << "</table>\n";
}

}  // namespace

std::string report_html(const Report& r) {
  const ReportInputs& in = *r.inputs;
  std::ostringstream o;
  o << "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
       "<meta name=\"viewport\" content=\"width=device-width,initial-scale=1\">"
       "<title>ironseal certification evidence</title><style>"
    << kStyle << "</style></head><body>\n";
  o << "<h1>ironseal certification evidence</h1>\n<div class=\"meta\">IEC 62443-4-2 component "
       "requirements and IEC 62443-4-1 practices (IDs and titles only), joined with the test "
       "results of one build.<br>Commit <code>"
    << esc(in.commit) << "</code> &middot; generated " << esc(r.generated_at)
    << " &middot; catalogue <code>" << esc(in.catalogue_file) << "</code> &middot; SBOM <code>"
    << esc(in.sbom.serial) << "</code> (" << in.sbom.components.size() << " components)</div>\n";
  o << "<div class=\"verdict " << (r.ok() ? "pass\">PASS: every claimed requirement is met by "
                                            "passing tests"
                                          : "fail\">FAIL: see the failures below")
    << "</div>\n";
  counts_table(o, r);
  if (!r.ok()) {
    o << "<h2>Failures</h2><ul class=\"failures\">";
    for (const auto& f : r.failures) o << "<li>" << esc(f) << "</li>";
    o << "</ul>\n";
  }
  o << "<h2>IEC 62443-4-2 component requirements</h2>\n";
  requirement_rows(o, r, "IEC 62443-4-2");
  o << "<h2>IEC 62443-4-1 development practices</h2>\n";
  requirement_rows(o, r, "IEC 62443-4-1");
  o << "<h2>Threat model (STRIDE)</h2><div class=\"meta\">From <code>" << esc(in.threats.file)
    << "</code>: each threat, its mitigation, the requirements it traces to and the tests that "
       "prove the mitigation in this build.</div>\n";
  threat_rows(o, r);
  o << "<h2>Software bill of materials</h2><table><tr><th>Component</th><th>Version</th>"
       "<th>Type</th></tr>\n";
  for (const auto& c : in.sbom.components) {
    o << "<tr><td>" << esc(c.name) << "</td><td><code>" << esc(c.version) << "</code></td><td>"
      << esc(c.type) << "</td></tr>\n";
  }
  o << "</table>\n<h2>Inputs</h2><ul class=\"small\">";
  for (const auto& f : in.results.files) o << "<li>" << esc(f) << "</li>";
  o << "</ul>\n</body></html>\n";
  return o.str();
}

}  // namespace ironseal::evidence
