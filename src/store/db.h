// The SQLite layer under kforge's stores: a connection and prepared statements whose every
// failure (open, prepare, bind, step) comes back as a Status naming the database and the
// cause. Only src/store/ uses it; the rest of kforge sees typed records and queries.
#pragma once

#include <cstdint>
#include <filesystem>
#include <memory>
#include <string>

#include "util/status.h"

struct sqlite3;
struct sqlite3_stmt;

namespace kf::store {

class Db {
 public:
  enum class Mode { kReadWrite, kReadOnly };

  // Read-write opens create the file (and its directory); read-only ones need it to exist.
  // `busy_ms`: how long a statement waits for another connection's lock.
  static Result<std::unique_ptr<Db>> Open(const std::filesystem::path& path, Mode mode,
                                          int busy_ms);
  ~Db();
  Db(const Db&) = delete;
  Db& operator=(const Db&) = delete;

  const std::filesystem::path& path() const { return path_; }
  sqlite3* handle() { return db_; }
  // SQLite's message for the connection's last error.
  std::string LastError() const;
  int64_t LastInsertId() const;

  // Runs one or more statements that return no rows.
  [[nodiscard]] Status Exec(const std::string& sql);
  // PRAGMA user_version.
  Result<int> UserVersion();
  [[nodiscard]] Status SetUserVersion(int version);
  Result<bool> HasTable(const std::string& name);

 private:
  Db(sqlite3* db, std::filesystem::path path) : db_(db), path_(std::move(path)) {}
  sqlite3* db_;
  std::filesystem::path path_;
};

// A prepared statement. Prepare and bind errors are kept and returned by the first Step or
// Run, so a statement is written as one chain and checked once.
class Stmt {
 public:
  Stmt(Db& db, const std::string& sql);
  ~Stmt();
  Stmt(const Stmt&) = delete;
  Stmt& operator=(const Stmt&) = delete;

  Stmt& Bind(int i, int64_t v);
  Stmt& Bind(int i, int v) { return Bind(i, static_cast<int64_t>(v)); }
  Stmt& Bind(int i, double v);
  Stmt& Bind(int i, const std::string& v);
  Stmt& BindNull(int i);

  // True with a row to read, false when the statement is done.
  Result<bool> Step();
  // Steps a statement that returns no row to its end.
  [[nodiscard]] Status Run();

  int64_t Int(int col);
  double Double(int col);
  std::string Text(int col);  // "" for NULL
  bool IsNull(int col);

 private:
  Status Failed(const std::string& what);
  Db& db_;
  sqlite3_stmt* s_ = nullptr;
  std::string sql_;
  std::string error_;  // the first prepare or bind error
};

// A transaction: BEGIN on construction (IMMEDIATE takes the write lock at once), ROLLBACK on
// destruction unless Commit succeeded.
class Transaction {
 public:
  enum class Kind { kRead, kWrite };
  static Result<std::unique_ptr<Transaction>> Begin(Db& db, Kind kind);
  ~Transaction();
  [[nodiscard]] Status Commit();

 private:
  explicit Transaction(Db& db) : db_(db) {}
  Db& db_;
  bool open_ = true;
};

}  // namespace kf::store
