#pragma once
// One prepared SQLite statement, finalized on scope exit; shared by the coordinator's stores
// (jobs, tokens) that live in the same database file. Bind indices are 1-based, as SQLite's.
#include <sqlite3.h>

#include <cstdint>
#include <string>

#include "common/util/error.h"

namespace bertfleet::coordinator {

class Statement {
 public:
  Statement(sqlite3* db, const char* sql) : db_(db) {
    if (sqlite3_prepare_v2(db, sql, -1, &stmt_, nullptr) != SQLITE_OK) {
      throw Error(std::string("sqlite: ") + sqlite3_errmsg(db) + " in: " + sql);
    }
  }
  ~Statement() { sqlite3_finalize(stmt_); }
  Statement(const Statement&) = delete;
  Statement& operator=(const Statement&) = delete;
  Statement& Bind(int i, int64_t v) { return Check(sqlite3_bind_int64(stmt_, i, v)); }
  Statement& Bind(int i, const std::string& v) {
    return Check(sqlite3_bind_text(stmt_, i, v.data(), static_cast<int>(v.size()), SQLITE_TRANSIENT));
  }
  Statement& BindDouble(int i, double v) { return Check(sqlite3_bind_double(stmt_, i, v)); }
  Statement& BindBlob(int i, const std::string& v) {
    return Check(sqlite3_bind_blob(stmt_, i, v.data(), static_cast<int>(v.size()), SQLITE_TRANSIENT));
  }
  // Returns the result code: SQLITE_ROW, SQLITE_DONE or SQLITE_CONSTRAINT; throws otherwise.
  int Step() {
    int rc = sqlite3_step(stmt_);
    if (rc != SQLITE_ROW && rc != SQLITE_DONE && (rc & 0xff) != SQLITE_CONSTRAINT) {
      throw Error(std::string("sqlite: ") + sqlite3_errmsg(db_));
    }
    return rc & 0xff;
  }
  int64_t Int(int col) const { return sqlite3_column_int64(stmt_, col); }
  double Double(int col) const { return sqlite3_column_double(stmt_, col); }
  std::string Text(int col) const {
    const void* data = sqlite3_column_blob(stmt_, col);
    int size = sqlite3_column_bytes(stmt_, col);
    return data ? std::string(static_cast<const char*>(data), size) : std::string();
  }

 private:
  Statement& Check(int rc) {
    if (rc != SQLITE_OK) throw Error(std::string("sqlite bind: ") + sqlite3_errmsg(db_));
    return *this;
  }
  sqlite3* db_;
  sqlite3_stmt* stmt_ = nullptr;
};

}  // namespace bertfleet::coordinator
