#pragma once
// Everything the coordinator's main needs for security, in one place so that main.cc only wires
// it: checks the settings against the listen addresses, opens the token store and makes the
// first admin token, and provides the port credentials, the Authorizer, the stream limits and
// the AuthService.
#include <filesystem>
#include <memory>
#include <string>
#include <vector>

#include <grpcpp/grpcpp.h>

#include "coordinator/auth/auth_service.h"
#include "coordinator/auth/authorizer.h"
#include "coordinator/auth/security_config.h"
#include "coordinator/auth/stream_limiter.h"
#include "coordinator/auth/token_store.h"

namespace bertfleet::coordinator {

class CoordinatorSecurity {
 public:
  // `listen_addresses`: every address the coordinator will listen on (empty ones are skipped).
  // Throws Error when --insecure is asked for on a non-loopback address, a TLS file is missing,
  // or the token database cannot be opened.
  CoordinatorSecurity(const SecurityConfig& config, const std::string& db_path,
                      const std::filesystem::path& state_dir, const std::vector<std::string>& listen_addresses);

  std::shared_ptr<grpc::ServerCredentials> credentials() const { return credentials_; }
  Authorizer& authorizer() { return *authorizer_; }
  StreamLimiter& streams() { return streams_; }
  // Registers AuthService and applies the message size and per-connection stream limits.
  void ConfigureServer(grpc::ServerBuilder& builder);
  std::string Describe() const;  // "tls", "tls+client-certs" or "insecure", for the start log

 private:
  SecurityConfig config_;
  std::shared_ptr<grpc::ServerCredentials> credentials_;
  std::unique_ptr<TokenStore> tokens_;  // null when insecure
  std::unique_ptr<Authorizer> authorizer_;
  StreamLimiter streams_;
  std::unique_ptr<AuthServiceImpl> auth_service_;
};

}  // namespace bertfleet::coordinator
