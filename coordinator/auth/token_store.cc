#include "coordinator/auth/token_store.h"

#include <sqlite3.h>

#include "common/util/error.h"
#include "coordinator/auth/token_secret.h"
#include "coordinator/sqlite_statement.h"
#include "coordinator/time_util.h"

namespace bertfleet::coordinator {
namespace {

using bertfleet::v1::Role;
using bertfleet::v1::TokenInfo;

// Its own table (and no PRAGMA user_version step of the job store's migrations), so that token
// and job schemas evolve independently. A later change appends an ALTER here, guarded likewise.
constexpr char kSchema[] = R"sql(
CREATE TABLE IF NOT EXISTS auth_tokens (
  name TEXT PRIMARY KEY,
  role INTEGER NOT NULL,
  token_sha256 TEXT NOT NULL UNIQUE,
  created_at_ms INTEGER NOT NULL,
  revoked_at_ms INTEGER NOT NULL DEFAULT 0
);
)sql";

TokenInfo InfoFromRow(const Statement& s) {
  TokenInfo info;
  info.set_name(s.Text(0));
  info.set_role(static_cast<Role>(s.Int(1)));
  SetTimestamp(info.mutable_created_at(), s.Int(2));
  if (s.Int(3)) SetTimestamp(info.mutable_revoked_at(), s.Int(3));
  return info;
}

}  // namespace

void CheckTokenName(const std::string& name) {
  if (name.empty() || name.size() > 64) {
    throw Error("token name: must be 1 to 64 characters (got " + std::to_string(name.size()) + ")");
  }
  for (char c : name) {
    bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '.' ||
              c == '_' || c == '-';
    if (!ok) throw Error("token name: only letters, digits, '.', '_' and '-' are allowed (got \"" + name + "\")");
  }
}

TokenStore::TokenStore(const std::string& db_path) : path_(db_path) {
  if (sqlite3_open_v2(db_path.c_str(), &db_, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_FULLMUTEX,
                      nullptr) != SQLITE_OK) {
    std::string why = db_ ? sqlite3_errmsg(db_) : "out of memory";
    sqlite3_close(db_);
    throw Error("cannot open token database " + db_path + ": " + why);
  }
  sqlite3_busy_timeout(db_, 5000);
  try {
    Exec("PRAGMA journal_mode=WAL");
    Exec("PRAGMA synchronous=FULL");
    Exec(kSchema);
    LoadCache();
  } catch (const Error& e) {
    sqlite3_close(db_);
    throw Error("token database " + db_path + ": " + e.what());
  }
}

TokenStore::~TokenStore() { sqlite3_close(db_); }

void TokenStore::Exec(const char* sql) {
  char* err = nullptr;
  if (sqlite3_exec(db_, sql, nullptr, nullptr, &err) != SQLITE_OK) {
    std::string message = err ? err : "unknown error";
    sqlite3_free(err);
    throw Error("sqlite: " + message);
  }
}

void TokenStore::LoadCache() {
  Statement s(db_, "SELECT name, role, token_sha256 FROM auth_tokens WHERE revoked_at_ms = 0");
  while (s.Step() == SQLITE_ROW) {
    valid_by_hash_[s.Text(2)] = Principal{s.Text(0), static_cast<Role>(s.Int(1))};
  }
}

CreatedToken TokenStore::Create(const std::string& name, Role role) {
  CheckTokenName(name);
  if (role != v1::ROLE_ADMIN && role != v1::ROLE_USER && role != v1::ROLE_WORKER) {
    throw Error("token role: must be admin, user or worker");
  }
  CreatedToken created;
  created.secret = NewTokenSecret();
  std::string hash = HashTokenSecret(created.secret);
  int64_t now = NowMs();
  std::lock_guard<std::mutex> lock(mu_);
  Statement s(db_, "INSERT INTO auth_tokens (name, role, token_sha256, created_at_ms) VALUES (?,?,?,?)");
  s.Bind(1, name).Bind(2, static_cast<int64_t>(role)).Bind(3, hash).Bind(4, now);
  if (s.Step() != SQLITE_DONE) throw Error("token name \"" + name + "\" is already used");
  valid_by_hash_[hash] = Principal{name, role};
  created.info.set_name(name);
  created.info.set_role(role);
  SetTimestamp(created.info.mutable_created_at(), now);
  return created;
}

std::optional<Principal> TokenStore::Authenticate(const std::string& secret) const {
  std::string hash = HashTokenSecret(secret);
  std::lock_guard<std::mutex> lock(mu_);
  auto it = valid_by_hash_.find(hash);
  if (it == valid_by_hash_.end()) return std::nullopt;
  return it->second;
}

std::vector<TokenInfo> TokenStore::List() {
  std::lock_guard<std::mutex> lock(mu_);
  std::vector<TokenInfo> tokens;
  Statement s(db_, "SELECT name, role, created_at_ms, revoked_at_ms FROM auth_tokens ORDER BY created_at_ms, name");
  while (s.Step() == SQLITE_ROW) tokens.push_back(InfoFromRow(s));
  return tokens;
}

std::optional<TokenInfo> TokenStore::Revoke(const std::string& name) {
  std::lock_guard<std::mutex> lock(mu_);
  Statement update(db_, "UPDATE auth_tokens SET revoked_at_ms=? WHERE name=? AND revoked_at_ms=0");
  update.Bind(1, NowMs()).Bind(2, name);
  update.Step();
  Statement s(db_, "SELECT name, role, created_at_ms, revoked_at_ms, token_sha256 FROM auth_tokens WHERE name=?");
  s.Bind(1, name);
  if (s.Step() != SQLITE_ROW) return std::nullopt;
  valid_by_hash_.erase(s.Text(4));
  return InfoFromRow(s);
}

bool TokenStore::HasValidAdmin() const {
  std::lock_guard<std::mutex> lock(mu_);
  for (const auto& [hash, principal] : valid_by_hash_) {
    if (principal.role == v1::ROLE_ADMIN) return true;
  }
  return false;
}

bool TokenStore::NameTaken(const std::string& name) {
  std::lock_guard<std::mutex> lock(mu_);
  Statement s(db_, "SELECT 1 FROM auth_tokens WHERE name=?");
  s.Bind(1, name);
  return s.Step() == SQLITE_ROW;
}

}  // namespace bertfleet::coordinator
