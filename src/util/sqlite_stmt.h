// A prepared SQLite statement that finalises itself, with the two helpers kforge's stores use.
// Include <sqlite3.h> before this header.
#pragma once

#include <sqlite3.h>

#include <string>

namespace kf {

struct SqliteStmt {
  sqlite3_stmt* s = nullptr;
  SqliteStmt(sqlite3* db, const char* sql) { sqlite3_prepare_v2(db, sql, -1, &s, nullptr); }
  ~SqliteStmt() { sqlite3_finalize(s); }
  SqliteStmt(const SqliteStmt&) = delete;
  SqliteStmt& operator=(const SqliteStmt&) = delete;
  void Text(int i, const std::string& v) {
    sqlite3_bind_text(s, i, v.data(), static_cast<int>(v.size()), SQLITE_TRANSIENT);
  }
  std::string Col(int i) {
    const auto* p = sqlite3_column_text(s, i);
    return p ? reinterpret_cast<const char*>(p) : "";
  }
};

}  // namespace kf
