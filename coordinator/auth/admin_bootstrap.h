#pragma once
// First start: when the token store has no valid admin token, the coordinator makes one, writes
// it to <state_dir>/admin.token (mode 0600) and prints it once on stderr, as Jupyter prints its
// login token. Later starts leave the file and the token alone.
#include <filesystem>
#include <ostream>

#include "coordinator/auth/token_store.h"

namespace bertfleet::coordinator {

constexpr char kAdminTokenFileName[] = "admin.token";

// Returns true when it made a token. Throws Error naming the file it could not write.
bool EnsureAdminToken(TokenStore& tokens, const std::filesystem::path& state_dir, std::ostream& announce);

}  // namespace bertfleet::coordinator
