#include "coordinator/auth/auth_service.h"

#include "common/util/error.h"
#include "coordinator/log.h"

namespace bertfleet::coordinator {
namespace {

grpc::ServerUnaryReactor* Finished(grpc::CallbackServerContext* context, const grpc::Status& status) {
  grpc::ServerUnaryReactor* reactor = context->DefaultReactor();
  reactor->Finish(status);
  return reactor;
}

// Token management needs real tokens: with security off there is nothing to manage.
grpc::Status CheckAdmin(const Authorizer& authorizer, grpc::CallbackServerContext* context, const char* method,
                        Principal* principal) {
  if (!authorizer.enabled()) {
    return grpc::Status(grpc::StatusCode::FAILED_PRECONDITION,
                        "the coordinator runs with --insecure: tokens are not checked, so there are none to manage");
  }
  return authorizer.Authorize(*context, method, {v1::ROLE_ADMIN}, principal);
}

}  // namespace

grpc::ServerUnaryReactor* AuthServiceImpl::CreateToken(grpc::CallbackServerContext* context,
                                                       const v1::CreateTokenRequest* request,
                                                       v1::CreateTokenResponse* response) {
  Principal admin;
  grpc::Status status = CheckAdmin(*authorizer_, context, "bertfleet.v1.AuthService/CreateToken", &admin);
  if (!status.ok()) return Finished(context, status);
  try {
    CheckTokenName(request->name());
    if (tokens_->NameTaken(request->name())) {
      return Finished(context, grpc::Status(grpc::StatusCode::ALREADY_EXISTS,
                                            "token name \"" + request->name() + "\" is already used"));
    }
    CreatedToken created = tokens_->Create(request->name(), request->role());
    *response->mutable_info() = created.info;
    response->set_token(created.secret);
  } catch (const Error& e) {
    return Finished(context, grpc::Status(grpc::StatusCode::INVALID_ARGUMENT, e.what()));
  }
  Log("INFO", "token created", {{"name", request->name()}, {"role", RoleName(request->role())}, {"by", admin.name}});
  return Finished(context, grpc::Status::OK);
}

grpc::ServerUnaryReactor* AuthServiceImpl::ListTokens(grpc::CallbackServerContext* context,
                                                      const v1::ListTokensRequest* request,
                                                      v1::ListTokensResponse* response) {
  Principal admin;
  grpc::Status status = CheckAdmin(*authorizer_, context, "bertfleet.v1.AuthService/ListTokens", &admin);
  if (!status.ok()) return Finished(context, status);
  for (auto& info : tokens_->List()) *response->add_tokens() = std::move(info);
  return Finished(context, grpc::Status::OK);
}

grpc::ServerUnaryReactor* AuthServiceImpl::RevokeToken(grpc::CallbackServerContext* context,
                                                       const v1::RevokeTokenRequest* request,
                                                       v1::TokenInfo* response) {
  Principal admin;
  grpc::Status status = CheckAdmin(*authorizer_, context, "bertfleet.v1.AuthService/RevokeToken", &admin);
  if (!status.ok()) return Finished(context, status);
  std::optional<v1::TokenInfo> revoked = tokens_->Revoke(request->name());
  if (!revoked) {
    return Finished(context, grpc::Status(grpc::StatusCode::NOT_FOUND, "no token named \"" + request->name() + "\""));
  }
  *response = *revoked;
  Log("INFO", "token revoked", {{"name", request->name()}, {"by", admin.name}});
  return Finished(context, grpc::Status::OK);
}

}  // namespace bertfleet::coordinator
