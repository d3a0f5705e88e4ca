// The one RAII layer over SQLite (the CA index, the factory's manufacturing record; the fleet
// store is to move onto it): one connection, prepared statements, transactions. Durability: WAL
// journal with synchronous=FULL, so a committed transaction survives a power cut and an
// interrupted one leaves the last committed state. A Database is used from one thread at a time.
#pragma once

#include <sqlite3.h>

#include <cstdint>
#include <filesystem>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "core/result.h"

namespace ironseal::sql {

class Statement;

class Database {
 public:
  // Opens (and with `create`, creates, mode 0600) the database file.
  static Result<Database> open(const std::filesystem::path& path, bool create);

  Result<void> exec(std::string_view sql);
  Result<Statement> prepare(std::string_view sql);
  std::string error() const;

  // BEGIN IMMEDIATE: takes the write lock at once, so a check-then-insert cannot race another
  // process. Rolls back on destruction unless committed.
  class Transaction {
   public:
    ~Transaction();
    Transaction(Transaction&& o) noexcept : db_(o.db_), done_(o.done_) { o.done_ = true; }
    Transaction(const Transaction&) = delete;
    Transaction& operator=(const Transaction&) = delete;
    Transaction& operator=(Transaction&&) = delete;
    Result<void> commit();

   private:
    friend class Database;
    explicit Transaction(Database* db) : db_(db) {}
    Database* db_;
    bool done_ = false;
  };
  Result<Transaction> begin();

  // SQLite's online backup: a consistent snapshot of this database written to `out` (created
  // 0600, never over an existing file), while other connections and processes keep writing (WAL:
  // the copy reads one snapshot and blocks no writer).
  Result<void> snapshot_to(const std::filesystem::path& out);

 private:
  struct Close {
    void operator()(sqlite3* db) const { sqlite3_close_v2(db); }
  };
  explicit Database(sqlite3* db) : db_(db) {}
  std::unique_ptr<sqlite3, Close> db_;
  std::string path_;
};

class Statement {
 public:
  Statement& bind(int index, std::string_view text);
  Statement& bind(int index, std::int64_t value);
  Statement& bind_null(int index);
  // Steps once: true when a row is available, false when done; an error otherwise.
  Result<bool> step();
  Result<void> run();  // steps to completion
  std::string text(int column) const;
  std::int64_t integer(int column) const;
  bool is_null(int column) const;

 private:
  friend class Database;
  struct Finalize {
    void operator()(sqlite3_stmt* s) const { sqlite3_finalize(s); }
  };
  explicit Statement(sqlite3_stmt* s) : stmt_(s) {}
  std::unique_ptr<sqlite3_stmt, Finalize> stmt_;
};

}  // namespace ironseal::sql
