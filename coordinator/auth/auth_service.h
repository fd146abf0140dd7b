#pragma once
// AuthService: token management for admins (create, list, revoke).
#include "bertfleet/v1/auth.grpc.pb.h"
#include "coordinator/auth/authorizer.h"
#include "coordinator/auth/token_store.h"

namespace bertfleet::coordinator {

class AuthServiceImpl final : public bertfleet::v1::AuthService::CallbackService {
 public:
  AuthServiceImpl(TokenStore* tokens, const Authorizer* authorizer) : tokens_(tokens), authorizer_(authorizer) {}

  grpc::ServerUnaryReactor* CreateToken(grpc::CallbackServerContext* context,
                                        const bertfleet::v1::CreateTokenRequest* request,
                                        bertfleet::v1::CreateTokenResponse* response) override;
  grpc::ServerUnaryReactor* ListTokens(grpc::CallbackServerContext* context,
                                       const bertfleet::v1::ListTokensRequest* request,
                                       bertfleet::v1::ListTokensResponse* response) override;
  grpc::ServerUnaryReactor* RevokeToken(grpc::CallbackServerContext* context,
                                        const bertfleet::v1::RevokeTokenRequest* request,
                                        bertfleet::v1::TokenInfo* response) override;

 private:
  TokenStore* tokens_;
  const Authorizer* authorizer_;
};

}  // namespace bertfleet::coordinator
