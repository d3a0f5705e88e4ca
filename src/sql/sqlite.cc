#include "sql/sqlite.h"

#include <fcntl.h>
#include <unistd.h>

namespace ironseal::sql {

Result<Database> Database::open(const std::filesystem::path& path, bool create) {
  if (create && !std::filesystem::exists(path)) {
    // Create the file 0600 ourselves: SQLite would use the umask (the index names every device).
    const int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
    if (fd < 0) return fail(ErrorCode::kIo, "cannot create ", path.string());
    ::close(fd);
  }
  sqlite3* raw = nullptr;
  const int rc =
      sqlite3_open_v2(path.c_str(), &raw, SQLITE_OPEN_READWRITE | SQLITE_OPEN_FULLMUTEX, nullptr);
  Database db(raw);
  if (rc != SQLITE_OK) {
    return fail(rc == SQLITE_CANTOPEN ? ErrorCode::kNotFound : ErrorCode::kIo, "cannot open ",
                path.string(), ": ", raw ? sqlite3_errmsg(raw) : "out of memory");
  }
  db.path_ = path.string();
  sqlite3_busy_timeout(raw, 5000);
  if (auto r = db.exec("PRAGMA journal_mode=WAL; PRAGMA synchronous=FULL; PRAGMA foreign_keys=ON;");
      !r) {
    return std::unexpected(r.error());
  }
  return db;
}

Result<void> Database::snapshot_to(const std::filesystem::path& out) {
  const int fd = ::open(out.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
  if (fd < 0) return fail(ErrorCode::kIo, "cannot create ", out.string());
  ::close(fd);
  sqlite3* raw = nullptr;
  const int rc = sqlite3_open_v2(out.c_str(), &raw, SQLITE_OPEN_READWRITE, nullptr);
  std::unique_ptr<sqlite3, Close> dest(raw);
  if (rc != SQLITE_OK) return fail(ErrorCode::kIo, "cannot open ", out.string());
  sqlite3_backup* b = sqlite3_backup_init(dest.get(), "main", db_.get(), "main");
  if (!b) return fail(ErrorCode::kIo, "cannot start a backup of ", path_, ": ", sqlite3_errmsg(dest.get()));
  // All pages in one step: one read transaction, so the copy is one consistent snapshot.
  int step = SQLITE_OK;
  for (int tries = 0; tries < 100; ++tries) {
    step = sqlite3_backup_step(b, -1);
    if (step != SQLITE_BUSY && step != SQLITE_LOCKED) break;
    sqlite3_sleep(50);
  }
  const int done = sqlite3_backup_finish(b);
  if (step != SQLITE_DONE || done != SQLITE_OK) {
    return fail(ErrorCode::kIo, "backup of ", path_, " failed: ", sqlite3_errmsg(dest.get()));
  }
  return {};
}

std::string Database::error() const {
  return sqlite3_errmsg(db_.get());
}

Result<void> Database::exec(std::string_view sql) {
  char* msg = nullptr;
  const std::string text(sql);
  if (sqlite3_exec(db_.get(), text.c_str(), nullptr, nullptr, &msg) != SQLITE_OK) {
    std::string m = msg ? msg : "unknown error";
    sqlite3_free(msg);
    return fail(ErrorCode::kIo, path_, ": ", m);
  }
  return {};
}

Result<Statement> Database::prepare(std::string_view sql) {
  sqlite3_stmt* s = nullptr;
  if (sqlite3_prepare_v2(db_.get(), sql.data(), static_cast<int>(sql.size()), &s, nullptr) !=
      SQLITE_OK) {
    return fail(ErrorCode::kIo, path_, ": ", error());
  }
  return Statement(s);
}

Result<Database::Transaction> Database::begin() {
  if (auto r = exec("BEGIN IMMEDIATE"); !r) return std::unexpected(r.error());
  return Transaction(this);
}

Database::Transaction::~Transaction() {
  if (!done_) (void)db_->exec("ROLLBACK");
}

Result<void> Database::Transaction::commit() {
  done_ = true;
  if (auto r = db_->exec("COMMIT"); !r) {
    (void)db_->exec("ROLLBACK");
    return r;
  }
  return {};
}

Statement& Statement::bind(int index, std::string_view text) {
  sqlite3_bind_text(stmt_.get(), index, text.data(), static_cast<int>(text.size()),
                    SQLITE_TRANSIENT);
  return *this;
}

Statement& Statement::bind(int index, std::int64_t value) {
  sqlite3_bind_int64(stmt_.get(), index, value);
  return *this;
}

Statement& Statement::bind_null(int index) {
  sqlite3_bind_null(stmt_.get(), index);
  return *this;
}

Result<bool> Statement::step() {
  const int rc = sqlite3_step(stmt_.get());
  if (rc == SQLITE_ROW) return true;
  if (rc == SQLITE_DONE) return false;
  sqlite3* db = sqlite3_db_handle(stmt_.get());
  return fail(rc == SQLITE_CONSTRAINT ? ErrorCode::kInvalidArgument : ErrorCode::kIo,
              "database: ", sqlite3_errmsg(db));
}

Result<void> Statement::run() {
  for (;;) {
    auto r = step();
    if (!r) return std::unexpected(r.error());
    if (!*r) return {};
  }
}

std::string Statement::text(int column) const {
  const unsigned char* t = sqlite3_column_text(stmt_.get(), column);
  return t ? std::string(reinterpret_cast<const char*>(t),
                         static_cast<std::size_t>(sqlite3_column_bytes(stmt_.get(), column)))
           : std::string();
}

std::int64_t Statement::integer(int column) const {
  return sqlite3_column_int64(stmt_.get(), column);
}

bool Statement::is_null(int column) const {
  return sqlite3_column_type(stmt_.get(), column) == SQLITE_NULL;
}

}  // namespace ironseal::sql
