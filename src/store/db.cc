#include "store/db.h"

#include <sqlite3.h>

#include <algorithm>

namespace kf::store {
namespace fs = std::filesystem;

Result<std::unique_ptr<Db>> Db::Open(const fs::path& path, Mode mode, int busy_ms) {
  const bool write = mode == Mode::kReadWrite;
  if (write && path.has_parent_path()) {
    std::error_code ec;
    fs::create_directories(path.parent_path(), ec);
  }
  sqlite3* db = nullptr;
  const int flags = write ? SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE : SQLITE_OPEN_READONLY;
  if (sqlite3_open_v2(path.c_str(), &db, flags, nullptr) != SQLITE_OK) {
    std::string why = db ? sqlite3_errmsg(db) : "out of memory";
    sqlite3_close(db);
    return Status::Error("cannot open " + path.string() + ": " + why);
  }
  sqlite3_busy_timeout(db, busy_ms);
  return std::unique_ptr<Db>(new Db(db, path));
}

Db::~Db() { sqlite3_close(db_); }

std::string Db::LastError() const { return sqlite3_errmsg(db_); }

int64_t Db::LastInsertId() const { return sqlite3_last_insert_rowid(db_); }

Status Db::Exec(const std::string& sql) {
  char* err = nullptr;
  if (sqlite3_exec(db_, sql.c_str(), nullptr, nullptr, &err) != SQLITE_OK) {
    std::string why = err ? err : LastError();
    sqlite3_free(err);
    return Status::Error(path_.string() + ": " + why);
  }
  return Status::Ok();
}

Result<int> Db::UserVersion() {
  Stmt q(*this, "PRAGMA user_version");
  auto row = q.Step();
  if (!row.ok()) return row.status();
  return *row ? static_cast<int>(q.Int(0)) : 0;
}

Status Db::SetUserVersion(int version) {
  return Exec("PRAGMA user_version = " + std::to_string(version));
}

Result<bool> Db::HasTable(const std::string& name) {
  Stmt q(*this, "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = ?");
  q.Bind(1, name);
  return q.Step();
}

Stmt::Stmt(Db& db, const std::string& sql) : db_(db), sql_(sql) {
  if (sqlite3_prepare_v2(db.handle(), sql.c_str(), -1, &s_, nullptr) != SQLITE_OK) {
    error_ = db.LastError();
  }
}

Stmt::~Stmt() { sqlite3_finalize(s_); }

Stmt& Stmt::Bind(int i, int64_t v) {
  if (error_.empty() && sqlite3_bind_int64(s_, i, v) != SQLITE_OK) error_ = db_.LastError();
  return *this;
}

Stmt& Stmt::Bind(int i, double v) {
  if (error_.empty() && sqlite3_bind_double(s_, i, v) != SQLITE_OK) error_ = db_.LastError();
  return *this;
}

Stmt& Stmt::Bind(int i, const std::string& v) {
  if (error_.empty() && sqlite3_bind_text(s_, i, v.data(), static_cast<int>(v.size()),
                                          SQLITE_TRANSIENT) != SQLITE_OK) {
    error_ = db_.LastError();
  }
  return *this;
}

Stmt& Stmt::BindNull(int i) {
  if (error_.empty() && sqlite3_bind_null(s_, i) != SQLITE_OK) error_ = db_.LastError();
  return *this;
}

Status Stmt::Failed(const std::string& what) {
  // The statement's first words say which query failed without repeating its whole text.
  const std::string head = sql_.substr(0, std::min<size_t>(sql_.size(), 60));
  return Status::Error(db_.path().string() + ": " + what + " (in \"" + head +
                       (head.size() < sql_.size() ? "...\")" : "\")"));
}

Result<bool> Stmt::Step() {
  if (!error_.empty()) return Failed(error_);
  const int rc = sqlite3_step(s_);
  if (rc == SQLITE_ROW) return true;
  if (rc == SQLITE_DONE) return false;
  return Failed(db_.LastError());
}

Status Stmt::Run() {
  auto row = Step();
  if (!row.ok()) return row.status();
  if (*row) return Failed("a statement that should return no row returned one");
  return Status::Ok();
}

int64_t Stmt::Int(int col) { return sqlite3_column_int64(s_, col); }

double Stmt::Double(int col) { return sqlite3_column_double(s_, col); }

std::string Stmt::Text(int col) {
  const auto* p = sqlite3_column_text(s_, col);
  return p ? std::string(reinterpret_cast<const char*>(p),
                         static_cast<size_t>(sqlite3_column_bytes(s_, col)))
           : std::string();
}

bool Stmt::IsNull(int col) { return sqlite3_column_type(s_, col) == SQLITE_NULL; }

Result<std::unique_ptr<Transaction>> Transaction::Begin(Db& db, Kind kind) {
  Status st = db.Exec(kind == Kind::kWrite ? "BEGIN IMMEDIATE" : "BEGIN");
  if (!st.ok()) return st;
  return std::unique_ptr<Transaction>(new Transaction(db));
}

Transaction::~Transaction() {
  if (open_) (void)db_.Exec("ROLLBACK");
}

Status Transaction::Commit() {
  Status st = db_.Exec("COMMIT");
  if (st.ok()) open_ = false;
  return st;
}

}  // namespace kf::store
