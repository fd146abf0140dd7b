#pragma once
// gRPC channel credentials from ConnectionSettings: TLS (verifying the coordinator against the CA
// file or the system CAs, optionally with a client certificate) plus the bearer token as call
// credentials, which gRPC only ever sends over TLS; or plaintext with no token for --insecure.
#include <memory>

#include <grpcpp/security/credentials.h>

#include "client/connection_settings.h"

namespace bertfleet::client {

// Throws Error naming the flag whose file cannot be read.
std::shared_ptr<grpc::ChannelCredentials> MakeChannelCredentials(const ConnectionSettings& settings);

}  // namespace bertfleet::client
