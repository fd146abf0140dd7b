#pragma once
// The coordinator's security settings: the `security:` mapping of its config file, overridden by
// --insecure / --tls-* flags. Secure by default: without --insecure the coordinator refuses to
// start unless a TLS certificate and key are configured.
#include <cstdint>
#include <string>
#include <vector>

namespace YAML {
class Node;
}

namespace bertfleet::coordinator {

struct SecurityConfig {
  // Turns TLS and token checks off; refused unless every listen address is loopback.
  bool insecure = false;
  std::string tls_cert_file;       // PEM server certificate chain
  std::string tls_key_file;        // PEM private key of that certificate
  // PEM CA bundle: when set, client certificates are requested and, if presented, verified.
  std::string tls_client_ca_file;
  // WorkerService calls must come with a client certificate verified against tls_client_ca_file
  // (mutual TLS for workers), in addition to a worker token.
  bool require_worker_client_cert = false;
  int64_t max_streams_per_client = 32;         // concurrent WatchJob / Connect streams per caller
  int64_t max_request_bytes = 4 * 1024 * 1024;  // any one gRPC message
};

// Parses the `security:` mapping. Throws Error naming `source` and the key.
SecurityConfig ParseSecurityConfig(const YAML::Node& node, const std::string& source);

// Checks the combination of settings against the addresses the coordinator listens on (its gRPC
// address and any other, e.g. metrics). Throws Error saying which setting is missing or why
// --insecure is refused.
void ValidateSecurityConfig(const SecurityConfig& config, const std::vector<std::string>& listen_addresses);

}  // namespace bertfleet::coordinator
