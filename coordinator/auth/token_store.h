#pragma once
// Bearer tokens with roles, in the coordinator's SQLite database (table auth_tokens, its own
// connection to the job database file). Only SHA-256 hashes are stored; valid tokens are also
// cached in memory so that checking a call costs one hash and one map lookup.
#include <map>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "bertfleet/v1/auth.pb.h"

struct sqlite3;

namespace bertfleet::coordinator {

// Who made a call: the token's name (recorded as the owner of the jobs it submits) and role.
struct Principal {
  std::string name;
  bertfleet::v1::Role role = bertfleet::v1::ROLE_UNSPECIFIED;
};

struct CreatedToken {
  bertfleet::v1::TokenInfo info;
  std::string secret;  // shown once
};

class TokenStore {
 public:
  // Opens (creating the table if needed) the database at `db_path`. Throws Error naming it.
  explicit TokenStore(const std::string& db_path);
  ~TokenStore();
  TokenStore(const TokenStore&) = delete;
  TokenStore& operator=(const TokenStore&) = delete;

  // Throws Error for a bad name or role, or a name already used (even by a revoked token).
  CreatedToken Create(const std::string& name, bertfleet::v1::Role role);
  // The principal of a valid (not revoked) token; nullopt otherwise.
  std::optional<Principal> Authenticate(const std::string& secret) const;
  std::vector<bertfleet::v1::TokenInfo> List();
  // The revoked token's info; nullopt for an unknown name. Revoking twice is harmless.
  std::optional<bertfleet::v1::TokenInfo> Revoke(const std::string& name);
  bool HasValidAdmin() const;
  bool NameTaken(const std::string& name);

 private:
  void Exec(const char* sql);
  void LoadCache();

  std::string path_;
  sqlite3* db_ = nullptr;
  mutable std::mutex mu_;
  std::map<std::string, Principal> valid_by_hash_;
};

// Throws Error unless `name` is 1-64 characters of [A-Za-z0-9._-] (names show up in job
// listings and metric labels).
void CheckTokenName(const std::string& name);

}  // namespace bertfleet::coordinator
