// The operator endpoint that serves the server's hash-chained audit trail (docs/fleet-api.md,
// "Audit trail"): OperatorApi::audit(). The trail is flushed and its extent taken under the store's
// lock; the page is read after the lock is released, on a worker thread (like a login's password
// check), bounded by `limit` and by a scan budget: a reader of the trail holds up neither the
// devices on the I/O threads nor the store, and no request does unbounded work.
#include <charconv>

#include "audit/reader.h"
#include "fleet/answers.h"
#include "fleet/operator_api.h"
#include "fleet/request_parse.h"

namespace ironseal::fleet {
namespace {

using Json = nlohmann::json;

constexpr std::size_t kMaxLimit = 10000;
constexpr std::size_t kMaxFilter = 256;

std::optional<std::uint64_t> number(const std::string& s) {
  std::uint64_t v = 0;
  auto [ptr, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  if (s.empty() || ec != std::errc() || ptr != s.data() + s.size()) return std::nullopt;
  return v;
}

// A query value with its %XX escapes decoded (operator%3Aops); nullopt for a broken escape.
std::optional<std::string> unescaped(const std::string& s) {
  std::string out;
  for (std::size_t i = 0; i < s.size(); ++i) {
    if (s[i] != '%') {
      out.push_back(s[i]);
      continue;
    }
    unsigned v = 0;
    if (i + 2 >= s.size()) return std::nullopt;
    auto [ptr, ec] = std::from_chars(s.data() + i + 1, s.data() + i + 3, v, 16);
    if (ec != std::errc() || ptr != s.data() + i + 3) return std::nullopt;
    out.push_back(static_cast<char>(v));
    i += 2;
  }
  return out;
}

// A segment's file name as it may go into a header: whoever can write the audit directory chooses
// names, and a control character there must not end the header. Verification refuses such a name
// anyway (net/audit_mirror.h); the point is only that the answer stays well-formed.
std::string header_safe(std::string name) {
  for (char& ch : name) {
    const auto c = static_cast<unsigned char>(ch);
    if (c < 0x20 || c >= 0x7f) ch = '?';
  }
  return name;
}

struct AuditQuery {
  bool lines = false;  // format=jsonl
  audit::RecordQuery records;
};

// The query, or the 400 answer for it in *error.
std::optional<AuditQuery> parse_query(const std::string& target, HttpResponse* error) {
  AuditQuery q;
  if (const auto after = query_param(target, "after_seq"); !after.empty()) {
    auto v = number(after);
    if (!v) {
      *error = error_response(400, "bad_field", "after_seq must be a sequence number (0 or more)");
      return std::nullopt;
    }
    q.records.after_seq = *v;
  }
  if (const auto l = query_param(target, "limit"); !l.empty()) {
    auto v = number(l);
    if (!v || *v == 0 || *v > kMaxLimit) {
      *error = error_response(400, "bad_field", "limit must be 1..10000");
      return std::nullopt;
    }
    q.records.limit = static_cast<std::size_t>(*v);
  }
  const std::string format = query_param(target, "format");
  if (!format.empty() && format != "json" && format != "jsonl") {
    *error = error_response(400, "bad_field", "format must be json or jsonl");
    return std::nullopt;
  }
  q.lines = format == "jsonl";
  auto event = unescaped(query_param(target, "event"));
  auto actor = unescaped(query_param(target, "actor"));
  if (!event || !actor || event->size() > kMaxFilter || actor->size() > kMaxFilter) {
    *error =
        error_response(400, "bad_field", "event and actor: at most 256 characters, %XX escapes");
    return std::nullopt;
  }
  if (q.lines && (!event->empty() || !actor->empty())) {
    *error = error_response(400, "bad_field",
                            "format=jsonl serves the lines unfiltered (for verification); filter "
                            "with format=json");
    return std::nullopt;
  }
  q.records.event_prefix = std::move(*event);
  q.records.actor = std::move(*actor);
  return q;
}

// format=jsonl: the stored lines, byte for byte, and where they come from in headers.
HttpResponse lines_page(const audit::LogSnapshot& log, const audit::RecordQuery& q) {
  auto page = audit::read_lines(log, q.after_seq, q.limit);
  if (!page) return from_error(Error(ErrorCode::kIo, "audit trail: " + page.error().message));
  HttpResponse out;
  out.content_type = "application/x-ndjson";
  out.body = std::move(page->text);
  std::string segments;
  for (const auto& p : page->pieces) {
    segments += (segments.empty() ? "" : ", ") + header_safe(p.segment) + " " +
                std::to_string(p.first_line) + " " + std::to_string(p.lines) + " " +
                std::to_string(p.bytes);
  }
  out.headers.emplace_back("Ironseal-Audit-Segments", segments);
  out.headers.emplace_back("Ironseal-Audit-Next-After-Seq", std::to_string(page->next_after_seq));
  out.headers.emplace_back("Ironseal-Audit-More", page->more ? "true" : "false");
  return out;
}

// format=json: the matching records as stored, decoded into the answer, and the checkpoint.
HttpResponse records_page(const audit::LogSnapshot& log, const audit::RecordQuery& q) {
  auto page = audit::read_records(log, q);
  if (!page) return from_error(Error(ErrorCode::kIo, "audit trail: " + page.error().message));
  Json records = Json::array();
  for (const auto& line : page->records) records.push_back(Json::parse(line, nullptr, false));
  Json malformed = Json::array();
  for (const auto& m : page->malformed) {
    malformed.push_back({{"segment", m.segment}, {"line", m.line}});
  }
  Json checkpoint = Json::parse(log.checkpoint, nullptr, false);
  if (checkpoint.is_discarded() || !checkpoint.is_object()) checkpoint = nullptr;
  const Json body{{"records", std::move(records)},
                  {"next_after_seq", page->next_after_seq},
                  {"more", page->more},
                  {"examined", page->examined},
                  {"malformed", std::move(malformed)},
                  {"checkpoint", std::move(checkpoint)}};
  HttpResponse out;
  // A segment name that is not UTF-8 (chosen by whoever can write the directory) must not make the
  // answer throw: it is replaced, not refused.
  out.body = body.dump(-1, ' ', false, Json::error_handler_t::replace) + "\n";
  return out;
}

}  // namespace

Dispatch OperatorApi::audit(const HttpRequest& r, const std::vector<std::string>& p) {
  const bool checkpoint_only = p.size() == 4 && p[3] == "checkpoint";
  if (p.size() != 3 && !checkpoint_only) {
    return {error_response(404, "not_found", "no such endpoint"), {}};
  }
  if (r.method != "GET") return {method_not_allowed("GET"), {}};
  HttpResponse err;
  auto q = parse_query(r.target, &err);
  if (!q) return {std::move(err), {}};
  std::optional<audit::LogSnapshot> log;
  {
    auto lock = shared_.lock();
    auto s = shared_.audit_snapshot();
    if (!s) return {from_error(Error(ErrorCode::kIo, "audit trail: " + s.error().message)), {}};
    log = std::move(*s);
  }
  if (!log) {
    return {error_response(404, "audit_not_configured",
                           "this server keeps no audit trail (configuration: audit {dir, key})"),
            {}};
  }
  if (checkpoint_only) {
    if (log->checkpoint.empty()) {
      return {error_response(404, "no_checkpoint", "the audit trail has no signed checkpoint yet"),
              {}};
    }
    HttpResponse out;
    out.body = std::move(log->checkpoint);
    return {std::move(out), {}};
  }
  HttpResponse busy =
      error_response(503, "audit_busy", "the server is busy; read the audit trail again shortly");
  busy.headers.emplace_back("Retry-After", "1");
  return {std::move(busy),
          [log = std::move(*log), q = std::move(*q)]() {
            return q.lines ? lines_page(log, q.records) : records_page(log, q.records);
          },
          /*login=*/false};
}

}  // namespace ironseal::fleet
