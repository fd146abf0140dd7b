#include "coordinator/auth/coordinator_security.h"

#include <iostream>

#include "coordinator/auth/admin_bootstrap.h"
#include "coordinator/auth/server_credentials.h"

namespace bertfleet::coordinator {
namespace {

constexpr int kMaxConcurrentStreamsPerConnection = 256;

std::vector<std::string> NonEmpty(const std::vector<std::string>& addresses) {
  std::vector<std::string> out;
  for (const auto& address : addresses) {
    if (!address.empty()) out.push_back(address);
  }
  return out;
}

}  // namespace

CoordinatorSecurity::CoordinatorSecurity(const SecurityConfig& config, const std::string& db_path,
                                         const std::filesystem::path& state_dir,
                                         const std::vector<std::string>& listen_addresses)
    : config_(config), streams_(config.max_streams_per_client) {
  ValidateSecurityConfig(config_, NonEmpty(listen_addresses));
  credentials_ = MakeServerCredentials(config_);
  if (!config_.insecure) {
    tokens_ = std::make_unique<TokenStore>(db_path);
    EnsureAdminToken(*tokens_, state_dir, std::cerr);
  }
  authorizer_ = std::make_unique<Authorizer>(tokens_.get(), !config_.insecure, config_.require_worker_client_cert);
  auth_service_ = std::make_unique<AuthServiceImpl>(tokens_.get(), authorizer_.get());
}

void CoordinatorSecurity::ConfigureServer(grpc::ServerBuilder& builder) {
  builder.RegisterService(auth_service_.get());
  builder.SetMaxReceiveMessageSize(static_cast<int>(config_.max_request_bytes));
  // HTTP/2 streams in flight on one connection: more wait in the client instead of piling up here.
  builder.AddChannelArgument(GRPC_ARG_MAX_CONCURRENT_STREAMS, kMaxConcurrentStreamsPerConnection);
}

std::string CoordinatorSecurity::Describe() const {
  if (config_.insecure) return "insecure";
  return config_.tls_client_ca_file.empty() ? "tls" : "tls+client-certs";
}

}  // namespace bertfleet::coordinator
