// Prepared statements cached per SQLite connection, for stores with a hot path (the fleet
// service's device listener). Part of the one SQLite layer (sql/sqlite.h): `sql::Database` for
// the CA index and the manufacturing record, this cache for the fleet store's connection.
// A cache and its statements belong to one connection and are used from one thread at a time.
#pragma once

#include <sqlite3.h>

#include <cstdint>
#include <string>
#include <unordered_map>

namespace ironseal::sql {

// Prepared statements are kept per connection and reused (SQLITE_PREPARE_PERSISTENT): the
// device listener's hot path (identity check, check-in) would otherwise compile the same SQL on
// every request. Keyed by the SQL text's address: every statement here is a string literal.
class StatementCache {
 public:
  explicit StatementCache(sqlite3* db) : db_(db) {}
  ~StatementCache() {
    for (auto& [sql, stmt] : idle_) sqlite3_finalize(stmt);
  }
  StatementCache(const StatementCache&) = delete;
  StatementCache& operator=(const StatementCache&) = delete;
  sqlite3* db() const { return db_; }
  // A statement for `sql`: an idle cached one, or a newly prepared one (also when the cached one
  // is in use by an enclosing CachedStatement).
  sqlite3_stmt* take(const char* sql, int* rc) {
    if (auto it = idle_.find(sql); it != idle_.end()) {
      sqlite3_stmt* stmt = it->second;
      idle_.erase(it);
      *rc = SQLITE_OK;
      return stmt;
    }
    sqlite3_stmt* stmt = nullptr;
    *rc = sqlite3_prepare_v3(db_, sql, -1, SQLITE_PREPARE_PERSISTENT, &stmt, nullptr);
    return stmt;
  }
  void give_back(const char* sql, sqlite3_stmt* stmt) {
    sqlite3_reset(stmt);
    sqlite3_clear_bindings(stmt);
    if (!idle_.emplace(sql, stmt).second) sqlite3_finalize(stmt);
  }

 private:
  sqlite3* db_;
  std::unordered_map<const char*, sqlite3_stmt*> idle_;
};

class CachedStatement {
 public:
  CachedStatement(StatementCache& cache, const char* sql) : cache_(cache), sql_(sql) {
    stmt_ = cache.take(sql, &rc_);
  }
  ~CachedStatement() {
    if (stmt_ != nullptr) cache_.give_back(sql_, stmt_);
  }
  CachedStatement(const CachedStatement&) = delete;
  CachedStatement& operator=(const CachedStatement&) = delete;
  bool ok() const { return rc_ == SQLITE_OK && stmt_ != nullptr; }
  CachedStatement& bind(int i, const std::string& v) {
    sqlite3_bind_text(stmt_, i, v.data(), static_cast<int>(v.size()), SQLITE_TRANSIENT);
    return *this;
  }
  CachedStatement& bind(int i, std::int64_t v) {
    sqlite3_bind_int64(stmt_, i, v);
    return *this;
  }
  CachedStatement& bind(int i, double v) {
    sqlite3_bind_double(stmt_, i, v);
    return *this;
  }
  // SQLITE_ROW, SQLITE_DONE, or an error code.
  int step() { return sqlite3_step(stmt_); }
  std::string text(int col) const {
    const unsigned char* t = sqlite3_column_text(stmt_, col);
    return t ? std::string(reinterpret_cast<const char*>(t)) : std::string();
  }
  const unsigned char* raw(int col) const { return sqlite3_column_text(stmt_, col); }
  std::int64_t integer(int col) const { return sqlite3_column_int64(stmt_, col); }
  double real(int col) const { return sqlite3_column_double(stmt_, col); }
  const char* error() const { return sqlite3_errmsg(cache_.db()); }

 private:
  StatementCache& cache_;
  const char* sql_;
  sqlite3_stmt* stmt_ = nullptr;
  int rc_ = SQLITE_ERROR;
};

}  // namespace ironseal::sql
