#include "cli/token_commands.h"

#include <google/protobuf/util/time_util.h>

#include <iostream>

#include "cli/format.h"
#include "common/util/error.h"

namespace bertfleet::cli {
namespace {

v1::Role ParseRoleFlag(const std::string& role) {
  if (role == "admin") return v1::ROLE_ADMIN;
  if (role == "user") return v1::ROLE_USER;
  if (role == "worker") return v1::ROLE_WORKER;
  throw Error("--role: must be admin, user or worker (got \"" + role + "\")");
}

std::string RoleText(v1::Role role) {
  switch (role) {
    case v1::ROLE_ADMIN: return "admin";
    case v1::ROLE_USER: return "user";
    case v1::ROLE_WORKER: return "worker";
    default: return "?";
  }
}

int Fail(const grpc::Status& status) {
  std::cerr << "bertfleet: " << StatusLine(status) << "\n";
  return 1;
}

}  // namespace

int TokenCreateCommand(CliContext& cli, const std::string& name, const std::string& role) {
  v1::CreateTokenRequest request;
  request.set_name(name);
  request.set_role(ParseRoleFlag(role));
  v1::CreateTokenResponse response;
  auto context = NewContext(30);
  grpc::Status status = cli.auth->CreateToken(context.get(), request, &response);
  if (!status.ok()) return Fail(status);
  if (cli.json) {
    std::cout << ToJson(response) << std::endl;
  } else {
    std::cerr << "token \"" << name << "\" (" << role << "), shown only this once; give it to its owner as "
              << "BERTFLEET_TOKEN or in a 0600 file:" << std::endl;
    std::cout << response.token() << std::endl;
  }
  return 0;
}

int TokenListCommand(CliContext& cli) {
  v1::ListTokensResponse response;
  auto context = NewContext(30);
  grpc::Status status = cli.auth->ListTokens(context.get(), v1::ListTokensRequest(), &response);
  if (!status.ok()) return Fail(status);
  if (cli.json) {
    std::cout << ToJson(response) << std::endl;
    return 0;
  }
  std::vector<std::vector<std::string>> rows = {{"NAME", "ROLE", "CREATED", "STATE"}};
  for (const auto& token : response.tokens()) {
    rows.push_back({token.name(), RoleText(token.role()),
                    google::protobuf::util::TimeUtil::ToString(token.created_at()).substr(0, 19),
                    token.has_revoked_at() ? "revoked" : "valid"});
  }
  std::cout << Table(rows);
  return 0;
}

int TokenRevokeCommand(CliContext& cli, const std::string& name) {
  v1::RevokeTokenRequest request;
  request.set_name(name);
  v1::TokenInfo info;
  auto context = NewContext(30);
  grpc::Status status = cli.auth->RevokeToken(context.get(), request, &info);
  if (!status.ok()) return Fail(status);
  if (cli.json) {
    std::cout << ToJson(info) << std::endl;
  } else {
    std::cout << "revoked " << info.name() << std::endl;
  }
  return 0;
}

}  // namespace bertfleet::cli
