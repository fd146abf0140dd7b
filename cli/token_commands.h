#pragma once
// `bertfleet token create|list|revoke`: AuthService calls for admins.
#include <string>

#include "cli/commands.h"

namespace bertfleet::cli {

// Prints the new token once (plain: the secret on its own line, with how to use it).
int TokenCreateCommand(CliContext& cli, const std::string& name, const std::string& role);
int TokenListCommand(CliContext& cli);
int TokenRevokeCommand(CliContext& cli, const std::string& name);

}  // namespace bertfleet::cli
