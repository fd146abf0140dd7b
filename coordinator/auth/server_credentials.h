#pragma once
// The listening port's credentials: TLS from the configured PEM files (optionally verifying
// client certificates for mutual TLS), or plaintext when security is off.
#include <memory>

#include <grpcpp/security/server_credentials.h>

#include "coordinator/auth/security_config.h"

namespace bertfleet::coordinator {

// Throws Error naming the setting whose file cannot be read or is not PEM.
std::shared_ptr<grpc::ServerCredentials> MakeServerCredentials(const SecurityConfig& config);

}  // namespace bertfleet::coordinator
