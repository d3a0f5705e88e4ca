// The embedded Store: one SQLite database file in WAL mode. synchronous=FULL makes every commit
// durable before it returns (WAL is fsynced at commit), which is what lets the service acknowledge
// a report only after the row is on disk. Each public write outside transaction() is its own
// implicit transaction, so it is durable on return as well.
#include <fcntl.h>
#include <sqlite3.h>
#include <sys/stat.h>
#include <unistd.h>

#include <charconv>
#include <memory>

#include "fleet/store.h"
#include "sql/statement_cache.h"

namespace ironseal::fleet {
namespace {

using Json = nlohmann::json;

struct DbCloser {
  void operator()(sqlite3* db) const { sqlite3_close_v2(db); }
};
struct StmtCloser {
  void operator()(sqlite3_stmt* s) const { sqlite3_finalize(s); }
};
using DbPtr = std::unique_ptr<sqlite3, DbCloser>;

#define kDeviceSelect                                                                       \
  "SELECT serial, hardware_id, grp, registered_at, version, state, last_seen, last_event, " \
  "assigned_target FROM devices"
#define kReleaseSelect "SELECT name, target, version, hardware_id, created_at FROM releases"
#define kRolloutSelect                                                                       \
  "SELECT id, release, grp, phases, max_failure_rate, state, phase, acknowledged_failures, " \
  "reason, created_at, updated_at, phase_timeout_s FROM rollouts"

constexpr const char* kSchema = R"sql(
CREATE TABLE IF NOT EXISTS devices (
  serial TEXT PRIMARY KEY, hardware_id TEXT NOT NULL, grp TEXT NOT NULL,
  registered_at INTEGER NOT NULL, version TEXT NOT NULL DEFAULT '',
  state TEXT NOT NULL DEFAULT '{}', last_seen INTEGER NOT NULL DEFAULT 0,
  last_event TEXT NOT NULL DEFAULT '', assigned_target TEXT NOT NULL DEFAULT '');
CREATE TABLE IF NOT EXISTS reports (
  id INTEGER PRIMARY KEY AUTOINCREMENT, serial TEXT NOT NULL, time INTEGER NOT NULL,
  step TEXT NOT NULL, target TEXT NOT NULL, rollout_id INTEGER NOT NULL, detail TEXT NOT NULL);
CREATE INDEX IF NOT EXISTS reports_by_serial ON reports(serial, id);
CREATE TABLE IF NOT EXISTS releases (
  name TEXT PRIMARY KEY, target TEXT NOT NULL, version TEXT NOT NULL,
  hardware_id TEXT NOT NULL, created_at INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS rollouts (
  id INTEGER PRIMARY KEY AUTOINCREMENT, release TEXT NOT NULL, grp TEXT NOT NULL,
  phases TEXT NOT NULL, max_failure_rate REAL NOT NULL, state TEXT NOT NULL,
  phase INTEGER NOT NULL, acknowledged_failures INTEGER NOT NULL, reason TEXT NOT NULL,
  created_at INTEGER NOT NULL, updated_at INTEGER NOT NULL,
  phase_timeout_s INTEGER NOT NULL DEFAULT 0);
CREATE TABLE IF NOT EXISTS rollout_members (
  rollout_id INTEGER NOT NULL, serial TEXT NOT NULL, position INTEGER NOT NULL,
  baseline_target TEXT NOT NULL, state TEXT NOT NULL, reason TEXT NOT NULL,
  updated_at INTEGER NOT NULL, PRIMARY KEY (rollout_id, serial));
CREATE INDEX IF NOT EXISTS rollout_members_by_serial ON rollout_members(serial, rollout_id);
CREATE TABLE IF NOT EXISTS accounts (
  name TEXT PRIMARY KEY, role TEXT NOT NULL, password_hash TEXT NOT NULL,
  created_at INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS tokens (
  digest TEXT PRIMARY KEY, account TEXT NOT NULL, expires_at INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS replacements (
  old_serial TEXT PRIMARY KEY, new_serial TEXT NOT NULL, archive_sha256 TEXT NOT NULL,
  replaced_at INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS events (
  id INTEGER PRIMARY KEY AUTOINCREMENT, time INTEGER NOT NULL, actor TEXT NOT NULL,
  action TEXT NOT NULL, outcome TEXT NOT NULL, detail TEXT NOT NULL);
)sql";

Json parse_json_column(const unsigned char* text) {
  if (text == nullptr) return Json::object();
  Json j = Json::parse(reinterpret_cast<const char*>(text), nullptr, false);
  return j.is_discarded() ? Json::object() : j;
}

std::string phases_to_text(const std::vector<Phase>& phases) {
  Json out = Json::array();
  for (const auto& p : phases) {
    out.push_back(p.percent ? Json(std::to_string(p.value) + "%") : Json(p.value));
  }
  return out.dump();
}

std::vector<Phase> phases_from_text(const unsigned char* text) {
  std::vector<Phase> out;
  const Json j = parse_json_column(text);
  if (!j.is_array()) return out;
  for (const auto& p : j) {
    if (p.is_number_unsigned()) {
      out.push_back({false, p.get<std::uint32_t>()});
    } else if (p.is_string()) {
      const std::string s = p.get<std::string>();
      std::uint32_t v = 0;
      std::from_chars(s.data(), s.data() + s.size(), v);
      out.push_back({true, v});
    }
  }
  return out;
}

using StatementCache = sql::StatementCache;
using Statement = sql::CachedStatement;

class SqliteStore final : public Store {
 public:
  explicit SqliteStore(DbPtr db) : db_(std::move(db)), cache_(db_.get()) {}

  Result<void> exec(const char* sql) {
    char* err = nullptr;
    if (sqlite3_exec(db_.get(), sql, nullptr, nullptr, &err) != SQLITE_OK) {
      std::string msg = err ? err : "unknown error";
      sqlite3_free(err);
      return fail(ErrorCode::kIo, "store: ", msg);
    }
    return {};
  }

  // Whether `table` has a column named `column` (for upgrading stores made by older versions).
  Result<bool> has_column(const char* table, const char* column) {
    sqlite3_stmt* raw = nullptr;
    const std::string sql = std::string("PRAGMA table_info(") + table + ")";
    if (sqlite3_prepare_v2(db_.get(), sql.c_str(), -1, &raw, nullptr) != SQLITE_OK) {
      return fail(ErrorCode::kIo, "store: ", sqlite3_errmsg(db_.get()));
    }
    std::unique_ptr<sqlite3_stmt, StmtCloser> stmt(raw);
    int rc;
    while ((rc = sqlite3_step(stmt.get())) == SQLITE_ROW) {
      const auto* name = sqlite3_column_text(stmt.get(), 1);
      if (name != nullptr && std::string_view(reinterpret_cast<const char*>(name)) == column) {
        return true;
      }
    }
    if (rc != SQLITE_DONE) return fail(ErrorCode::kIo, "store: ", sqlite3_errmsg(db_.get()));
    return false;
  }

  Result<void> transaction(const std::function<Result<void>()>& body) override {
    if (auto ok = exec("BEGIN IMMEDIATE"); !ok) return ok;
    auto r = body();
    if (!r) {
      (void)exec("ROLLBACK");
      return r;
    }
    if (auto ok = exec("COMMIT"); !ok) {
      (void)exec("ROLLBACK");
      return ok;
    }
    return {};
  }

  Result<void> add_device(const Device& d) override {
    Statement s(cache_,
                "INSERT INTO devices(serial, hardware_id, grp, registered_at, assigned_target) "
                "VALUES(?,?,?,?,?)");
    s.bind(1, d.serial).bind(2, d.hardware_id).bind(3, d.group).bind(4, d.registered_at);
    s.bind(5, d.assigned_target);
    return done(s, "add device", true);
  }

  Result<std::optional<Device>> device(const std::string& serial) override {
    Statement s(cache_, kDeviceSelect " WHERE serial = ?");
    s.bind(1, serial);
    const int rc = s.step();
    if (rc == SQLITE_DONE) return std::optional<Device>();
    if (rc != SQLITE_ROW) return fail(ErrorCode::kIo, "store: read device: ", s.error());
    return std::optional<Device>(device_row(s));
  }

  Result<std::vector<Device>> devices(const std::optional<std::string>& group) override {
    Statement s(cache_, group ? kDeviceSelect " WHERE grp = ? ORDER BY rowid"
                              : kDeviceSelect " ORDER BY rowid");
    if (group) s.bind(1, *group);
    std::vector<Device> out;
    int rc;
    while ((rc = s.step()) == SQLITE_ROW) out.push_back(device_row(s));
    if (rc != SQLITE_DONE) return fail(ErrorCode::kIo, "store: list devices: ", s.error());
    return out;
  }

  Result<void> record_checkin(const std::string& serial, const std::string& version,
                              const Json& state, std::int64_t time) override {
    Statement s(cache_,
                "UPDATE devices SET version = ?, state = ?, last_seen = ? WHERE serial = ?");
    s.bind(1, version).bind(2, state.dump()).bind(3, time).bind(4, serial);
    return done(s, "record check-in", false);
  }

  Result<void> set_assigned_target(const std::string& serial, const std::string& target) override {
    Statement s(cache_, "UPDATE devices SET assigned_target = ? WHERE serial = ?");
    s.bind(1, target).bind(2, serial);
    return done(s, "assign target", false);
  }

  Result<std::int64_t> add_report(const Report& r) override {
    Statement s(cache_,
                "INSERT INTO reports(serial, time, step, target, rollout_id, detail) "
                "VALUES(?,?,?,?,?,?)");
    s.bind(1, r.serial).bind(2, r.time).bind(3, r.step).bind(4, r.target);
    s.bind(5, r.rollout_id).bind(6, r.detail.dump());
    if (auto ok = done(s, "add report", false); !ok) return std::unexpected(ok.error());
    const std::int64_t id = sqlite3_last_insert_rowid(db_.get());
    Statement u(cache_, "UPDATE devices SET last_event = ? WHERE serial = ?");
    u.bind(1, r.step).bind(2, r.serial);
    if (auto ok = done(u, "update last event", false); !ok) return std::unexpected(ok.error());
    return id;
  }

  Result<std::vector<Report>> reports(const std::string& serial, std::size_t limit) override {
    Statement s(cache_,
                "SELECT id, serial, time, step, target, rollout_id, detail FROM reports "
                "WHERE serial = ? ORDER BY id DESC LIMIT ?");
    s.bind(1, serial).bind(2, static_cast<std::int64_t>(limit));
    std::vector<Report> out;
    int rc;
    while ((rc = s.step()) == SQLITE_ROW) {
      out.push_back({s.integer(0), s.text(1), s.integer(2), s.text(3), s.text(4), s.integer(5),
                     parse_json_column(s.raw(6))});
    }
    if (rc != SQLITE_DONE) return fail(ErrorCode::kIo, "store: list reports: ", s.error());
    return out;
  }

  Result<std::int64_t> report_count() override {
    Statement s(cache_, "SELECT COUNT(*) FROM reports");
    if (s.step() != SQLITE_ROW) return fail(ErrorCode::kIo, "store: count reports: ", s.error());
    return s.integer(0);
  }

  Result<void> trim_reports(const std::string& serial, std::size_t keep) override {
    // The (keep+1)-th newest report and all older ones; nothing when there are fewer. One walk of
    // the (serial, id) index, at most keep+1 entries long.
    Statement s(cache_,
                "DELETE FROM reports WHERE serial = ?1 AND id <= (SELECT id FROM reports "
                "WHERE serial = ?1 ORDER BY id DESC LIMIT 1 OFFSET ?2)");
    s.bind(1, serial).bind(2, static_cast<std::int64_t>(keep));
    return done(s, "trim reports", false);
  }

  Result<void> add_release(const Release& r) override {
    Statement s(cache_,
                "INSERT INTO releases(name, target, version, hardware_id, created_at) "
                "VALUES(?,?,?,?,?)");
    s.bind(1, r.name).bind(2, r.target).bind(3, r.version).bind(4, r.hardware_id);
    s.bind(5, r.created_at);
    return done(s, "add release", true);
  }

  Result<std::optional<Release>> release(const std::string& name) override {
    Statement s(cache_, kReleaseSelect " WHERE name = ?");
    s.bind(1, name);
    const int rc = s.step();
    if (rc == SQLITE_DONE) return std::optional<Release>();
    if (rc != SQLITE_ROW) return fail(ErrorCode::kIo, "store: read release: ", s.error());
    return std::optional<Release>(release_row(s));
  }

  Result<std::vector<Release>> releases() override {
    Statement s(cache_, kReleaseSelect " ORDER BY created_at, name");
    std::vector<Release> out;
    int rc;
    while ((rc = s.step()) == SQLITE_ROW) out.push_back(release_row(s));
    if (rc != SQLITE_DONE) return fail(ErrorCode::kIo, "store: list releases: ", s.error());
    return out;
  }

  Result<std::int64_t> add_rollout(const Rollout& r,
                                   const std::vector<RolloutMember>& members) override {
    Statement s(cache_,
                "INSERT INTO rollouts(release, grp, phases, max_failure_rate, state, phase, "
                "acknowledged_failures, reason, created_at, updated_at, phase_timeout_s) "
                "VALUES(?,?,?,?,?,?,?,?,?,?,?)");
    s.bind(1, r.release).bind(2, r.group).bind(3, phases_to_text(r.phases));
    s.bind(4, r.max_failure_rate).bind(5, std::string(rollout_state_name(r.state)));
    s.bind(6, static_cast<std::int64_t>(r.phase));
    s.bind(7, static_cast<std::int64_t>(r.acknowledged_failures)).bind(8, r.reason);
    s.bind(9, r.created_at).bind(10, r.updated_at).bind(11, r.phase_timeout_s);
    if (auto ok = done(s, "add rollout", false); !ok) return std::unexpected(ok.error());
    const std::int64_t id = sqlite3_last_insert_rowid(db_.get());
    for (RolloutMember m : members) {
      m.rollout_id = id;
      Statement ms(cache_,
                   "INSERT INTO rollout_members(rollout_id, serial, position, baseline_target, "
                   "state, reason, updated_at) VALUES(?,?,?,?,?,?,?)");
      ms.bind(1, m.rollout_id).bind(2, m.serial).bind(3, static_cast<std::int64_t>(m.position));
      ms.bind(4, m.baseline_target).bind(5, std::string(member_state_name(m.state)));
      ms.bind(6, m.reason).bind(7, m.updated_at);
      if (auto ok = done(ms, "add rollout member", false); !ok) return std::unexpected(ok.error());
    }
    return id;
  }

  Result<std::optional<Rollout>> rollout(std::int64_t id) override {
    Statement s(cache_, kRolloutSelect " WHERE id = ?");
    s.bind(1, id);
    const int rc = s.step();
    if (rc == SQLITE_DONE) return std::optional<Rollout>();
    if (rc != SQLITE_ROW) return fail(ErrorCode::kIo, "store: read rollout: ", s.error());
    return std::optional<Rollout>(rollout_row(s));
  }

  Result<std::vector<Rollout>> rollouts() override {
    Statement s(cache_, kRolloutSelect " ORDER BY id");
    std::vector<Rollout> out;
    int rc;
    while ((rc = s.step()) == SQLITE_ROW) out.push_back(rollout_row(s));
    if (rc != SQLITE_DONE) return fail(ErrorCode::kIo, "store: list rollouts: ", s.error());
    return out;
  }

  Result<void> update_rollout(const Rollout& r) override {
    Statement s(cache_,
                "UPDATE rollouts SET state = ?, phase = ?, acknowledged_failures = ?, reason = ?, "
                "updated_at = ? WHERE id = ?");
    s.bind(1, std::string(rollout_state_name(r.state))).bind(2, static_cast<std::int64_t>(r.phase));
    s.bind(3, static_cast<std::int64_t>(r.acknowledged_failures)).bind(4, r.reason);
    s.bind(5, r.updated_at).bind(6, r.id);
    return done(s, "update rollout", false);
  }

  Result<std::vector<RolloutMember>> members(std::int64_t rollout_id) override {
    Statement s(cache_,
                "SELECT rollout_id, serial, position, baseline_target, state, reason, updated_at "
                "FROM rollout_members WHERE rollout_id = ? ORDER BY position");
    s.bind(1, rollout_id);
    std::vector<RolloutMember> out;
    int rc;
    while ((rc = s.step()) == SQLITE_ROW) {
      RolloutMember m;
      m.rollout_id = s.integer(0);
      m.serial = s.text(1);
      m.position = static_cast<std::uint32_t>(s.integer(2));
      m.baseline_target = s.text(3);
      m.state = parse_member_state(s.text(4)).value_or(MemberState::kCancelled);
      m.reason = s.text(5);
      m.updated_at = s.integer(6);
      out.push_back(std::move(m));
    }
    if (rc != SQLITE_DONE) return fail(ErrorCode::kIo, "store: list members: ", s.error());
    return out;
  }

  Result<void> update_member(const RolloutMember& m) override {
    Statement s(cache_,
                "UPDATE rollout_members SET state = ?, reason = ?, updated_at = ? "
                "WHERE rollout_id = ? AND serial = ?");
    s.bind(1, std::string(member_state_name(m.state))).bind(2, m.reason).bind(3, m.updated_at);
    s.bind(4, m.rollout_id).bind(5, m.serial);
    return done(s, "update member", false);
  }

  Result<std::int64_t> assigning_rollout(const std::string& serial,
                                         const std::string& target) override {
    if (target.empty()) return std::int64_t{0};
    Statement s(
        cache_,
        "SELECT m.rollout_id FROM rollout_members m JOIN rollouts r ON r.id = m.rollout_id "
        "JOIN releases l ON l.name = r.release WHERE m.serial = ? AND l.target = ? AND "
        "m.state IN ('assigned', 'confirmed', 'failed') ORDER BY m.rollout_id DESC LIMIT 1");
    s.bind(1, serial).bind(2, target);
    const int rc = s.step();
    if (rc == SQLITE_DONE) return std::int64_t{0};
    if (rc != SQLITE_ROW) return fail(ErrorCode::kIo, "store: assigning rollout: ", s.error());
    return s.integer(0);
  }

  Result<void> add_account(const Account& a) override {
    Statement s(cache_,
                "INSERT INTO accounts(name, role, password_hash, created_at) VALUES(?,?,?,?)");
    s.bind(1, a.name).bind(2, a.role).bind(3, a.password_hash).bind(4, a.created_at);
    return done(s, "add account", true);
  }

  Result<std::optional<Account>> account(const std::string& name) override {
    Statement s(cache_,
                "SELECT name, role, password_hash, created_at FROM accounts WHERE name = ?");
    s.bind(1, name);
    const int rc = s.step();
    if (rc == SQLITE_DONE) return std::optional<Account>();
    if (rc != SQLITE_ROW) return fail(ErrorCode::kIo, "store: read account: ", s.error());
    return std::optional<Account>(Account{s.text(0), s.text(1), s.text(2), s.integer(3)});
  }

  Result<void> add_token(const Token& t) override {
    Statement s(cache_, "INSERT INTO tokens(digest, account, expires_at) VALUES(?,?,?)");
    s.bind(1, t.digest).bind(2, t.account).bind(3, t.expires_at);
    return done(s, "add token", false);
  }

  Result<std::optional<Token>> token(const std::string& digest) override {
    Statement s(cache_, "SELECT digest, account, expires_at FROM tokens WHERE digest = ?");
    s.bind(1, digest);
    const int rc = s.step();
    if (rc == SQLITE_DONE) return std::optional<Token>();
    if (rc != SQLITE_ROW) return fail(ErrorCode::kIo, "store: read token: ", s.error());
    return std::optional<Token>(Token{s.text(0), s.text(1), s.integer(2)});
  }

  Result<void> add_replacement(const Replacement& r) override {
    Statement s(cache_,
                "INSERT INTO replacements(old_serial, new_serial, archive_sha256, replaced_at) "
                "VALUES(?,?,?,?)");
    s.bind(1, r.old_serial).bind(2, r.new_serial).bind(3, r.archive_sha256).bind(4, r.replaced_at);
    return done(s, "add replacement", true);
  }

  Result<std::vector<Replacement>> replacements(const std::string& serial) override {
    Statement s(cache_,
                "SELECT old_serial, new_serial, archive_sha256, replaced_at FROM replacements "
                "WHERE old_serial = ? OR new_serial = ? ORDER BY replaced_at");
    s.bind(1, serial).bind(2, serial);
    std::vector<Replacement> out;
    int rc;
    while ((rc = s.step()) == SQLITE_ROW) {
      out.push_back({s.text(0), s.text(1), s.text(2), s.integer(3)});
    }
    if (rc != SQLITE_DONE) return fail(ErrorCode::kIo, "store: list replacements: ", s.error());
    return out;
  }

  Result<std::int64_t> add_event(const Event& e) override {
    Statement s(cache_,
                "INSERT INTO events(time, actor, action, outcome, detail) VALUES(?,?,?,?,?)");
    s.bind(1, e.time).bind(2, e.actor).bind(3, e.action).bind(4, e.outcome);
    s.bind(5, e.detail.dump());
    if (auto ok = done(s, "add event", false); !ok) return std::unexpected(ok.error());
    return sqlite3_last_insert_rowid(db_.get());
  }

  Result<std::vector<Event>> events(std::size_t limit) override {
    Statement s(cache_,
                "SELECT id, time, actor, action, outcome, detail FROM events "
                "ORDER BY id DESC LIMIT ?");
    s.bind(1, static_cast<std::int64_t>(limit));
    std::vector<Event> out;
    int rc;
    while ((rc = s.step()) == SQLITE_ROW) {
      out.push_back({s.integer(0), s.integer(1), s.text(2), s.text(3), s.text(4),
                     parse_json_column(s.raw(5))});
    }
    if (rc != SQLITE_DONE) return fail(ErrorCode::kIo, "store: list events: ", s.error());
    return out;
  }

 private:
  static Device device_row(const Statement& s) {
    Device d;
    d.serial = s.text(0);
    d.hardware_id = s.text(1);
    d.group = s.text(2);
    d.registered_at = s.integer(3);
    d.version = s.text(4);
    d.state = parse_json_column(s.raw(5));
    d.last_seen = s.integer(6);
    d.last_event = s.text(7);
    d.assigned_target = s.text(8);
    return d;
  }
  static Release release_row(const Statement& s) {
    return Release{s.text(0), s.text(1), s.text(2), s.text(3), s.integer(4)};
  }
  static Rollout rollout_row(const Statement& s) {
    Rollout r;
    r.id = s.integer(0);
    r.release = s.text(1);
    r.group = s.text(2);
    r.phases = phases_from_text(s.raw(3));
    r.max_failure_rate = s.real(4);
    r.state = parse_rollout_state(s.text(5)).value_or(RolloutState::kAborted);
    r.phase = static_cast<std::uint32_t>(s.integer(6));
    r.acknowledged_failures = static_cast<std::uint32_t>(s.integer(7));
    r.reason = s.text(8);
    r.created_at = s.integer(9);
    r.updated_at = s.integer(10);
    r.phase_timeout_s = s.integer(11);
    return r;
  }

  Result<void> done(Statement& s, const char* what, bool unique_is_conflict) {
    if (!s.ok()) return fail(ErrorCode::kIo, "store: ", what, ": ", s.error());
    const int rc = s.step();
    if (rc == SQLITE_DONE) return {};
    if (unique_is_conflict && rc == SQLITE_CONSTRAINT) {
      return fail(ErrorCode::kInvalidArgument, "store: ", what, ": already exists");
    }
    return fail(ErrorCode::kIo, "store: ", what, ": ", s.error());
  }

  DbPtr db_;
  StatementCache cache_;  // after db_: statements are finalized before the connection closes
};

}  // namespace

std::string_view rollout_state_name(RolloutState s) {
  switch (s) {
    case RolloutState::kActive: return "active";
    case RolloutState::kPaused: return "paused";
    case RolloutState::kAborted: return "aborted";
    case RolloutState::kCompleted: return "completed";
  }
  return "aborted";
}

std::optional<RolloutState> parse_rollout_state(std::string_view s) {
  for (auto st : {RolloutState::kActive, RolloutState::kPaused, RolloutState::kAborted,
                  RolloutState::kCompleted}) {
    if (rollout_state_name(st) == s) return st;
  }
  return std::nullopt;
}

std::string_view member_state_name(MemberState s) {
  switch (s) {
    case MemberState::kWaiting: return "waiting";
    case MemberState::kAssigned: return "assigned";
    case MemberState::kConfirmed: return "confirmed";
    case MemberState::kFailed: return "failed";
    case MemberState::kCancelled: return "cancelled";
  }
  return "cancelled";
}

std::optional<MemberState> parse_member_state(std::string_view s) {
  for (auto st : {MemberState::kWaiting, MemberState::kAssigned, MemberState::kConfirmed,
                  MemberState::kFailed, MemberState::kCancelled}) {
    if (member_state_name(st) == s) return st;
  }
  return std::nullopt;
}

Result<std::unique_ptr<Store>> open_sqlite_store(const std::filesystem::path& path) {
  // Create the file 0600 first so the database is never readable by others (it holds password
  // hashes and token digests).
  const int fd = ::open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0600);
  if (fd < 0) return fail(ErrorCode::kIo, "store: cannot open ", path.string());
  ::close(fd);
  sqlite3* raw = nullptr;
  const int rc =
      sqlite3_open_v2(path.c_str(), &raw,
                      SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX, nullptr);
  DbPtr db(raw);
  if (rc != SQLITE_OK) {
    return fail(ErrorCode::kIo, "store: open ", path.string(), ": ",
                raw ? sqlite3_errmsg(raw) : "out of memory");
  }
  sqlite3_busy_timeout(db.get(), 5000);
  auto store = std::make_unique<SqliteStore>(std::move(db));
  for (const char* sql :
       {"PRAGMA journal_mode=WAL", "PRAGMA synchronous=FULL", "PRAGMA foreign_keys=ON", kSchema}) {
    if (auto ok = store->exec(sql); !ok) {
      return fail(ErrorCode::kIo, "store: ", path.string(), ": ", ok.error().message);
    }
  }
  // Stores made before rollouts had a phase timeout gain the column (0: no timeout).
  if (auto has = store->has_column("rollouts", "phase_timeout_s"); !has) {
    return fail(ErrorCode::kIo, "store: ", path.string(), ": ", has.error().message);
  } else if (!*has) {
    if (auto ok = store->exec(
            "ALTER TABLE rollouts ADD COLUMN phase_timeout_s INTEGER NOT NULL DEFAULT 0");
        !ok) {
      return fail(ErrorCode::kIo, "store: ", path.string(), ": ", ok.error().message);
    }
  }
  return std::unique_ptr<Store>(std::move(store));
}

}  // namespace ironseal::fleet
