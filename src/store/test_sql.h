// For the store's tests only: raw SQL on a database file, to build stores as older kforge
// builds wrote them and to break writes on purpose.
#pragma once

#include <sqlite3.h>

#include <filesystem>
#include <string>

namespace kf::store::testing {

// Runs `sql` on the database at `path` (created if needed); "" or SQLite's error.
inline std::string ExecSql(const std::filesystem::path& path, const std::string& sql) {
  sqlite3* db = nullptr;
  std::string error;
  if (sqlite3_open(path.c_str(), &db) != SQLITE_OK) {
    error = db ? sqlite3_errmsg(db) : "out of memory";
  } else {
    char* err = nullptr;
    if (sqlite3_exec(db, sql.c_str(), nullptr, nullptr, &err) != SQLITE_OK) {
      error = err ? err : "?";
    }
    sqlite3_free(err);
  }
  sqlite3_close(db);
  return error;
}

// The first column of the first row of `sql`, as text ("" when there is none).
inline std::string QueryText(const std::filesystem::path& path, const std::string& sql) {
  sqlite3* db = nullptr;
  std::string out;
  if (sqlite3_open_v2(path.c_str(), &db, SQLITE_OPEN_READONLY, nullptr) == SQLITE_OK) {
    sqlite3_stmt* q = nullptr;
    if (sqlite3_prepare_v2(db, sql.c_str(), -1, &q, nullptr) == SQLITE_OK &&
        sqlite3_step(q) == SQLITE_ROW && sqlite3_column_text(q, 0)) {
      out = reinterpret_cast<const char*>(sqlite3_column_text(q, 0));
    }
    sqlite3_finalize(q);
  }
  sqlite3_close(db);
  return out;
}

// A trigger that makes every insert into `table` fail, as a full disk or a broken file would.
inline std::string FailInserts(const std::filesystem::path& path, const std::string& table) {
  return ExecSql(path, "CREATE TRIGGER fail_" + table + " BEFORE INSERT ON " + table +
                           " BEGIN SELECT RAISE(ABORT, 'the disk is full (test)'); END;");
}

}  // namespace kf::store::testing
