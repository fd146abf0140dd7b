#include "coordinator/auth/security_config.h"

#include <yaml-cpp/yaml.h>

#include <set>

#include "common/util/error.h"
#include "coordinator/auth/listen_address.h"

namespace bertfleet::coordinator {

SecurityConfig ParseSecurityConfig(const YAML::Node& node, const std::string& source) {
  SecurityConfig config;
  if (!node || node.IsNull()) return config;
  if (!node.IsMap()) throw Error(source + ": security: expected a mapping of settings");
  const std::set<std::string> known = {"insecure", "tls_cert_file", "tls_key_file", "tls_client_ca_file",
                                       "require_worker_client_cert", "max_streams_per_client",
                                       "max_request_bytes"};
  for (const auto& item : node) {
    std::string key = item.first.as<std::string>();
    if (!known.count(key)) throw Error(source + ": security: unknown key '" + key + "'");
    try {
      const YAML::Node& v = item.second;
      if (key == "insecure") config.insecure = v.as<bool>();
      if (key == "tls_cert_file") config.tls_cert_file = v.as<std::string>();
      if (key == "tls_key_file") config.tls_key_file = v.as<std::string>();
      if (key == "tls_client_ca_file") config.tls_client_ca_file = v.as<std::string>();
      if (key == "require_worker_client_cert") config.require_worker_client_cert = v.as<bool>();
      if (key == "max_streams_per_client") config.max_streams_per_client = v.as<int64_t>();
      if (key == "max_request_bytes") config.max_request_bytes = v.as<int64_t>();
    } catch (const YAML::Exception&) {
      throw Error(source + ": security." + key + ": wrong type");
    }
  }
  if (config.max_streams_per_client < 1 || config.max_streams_per_client > 100000) {
    throw Error(source + ": security.max_streams_per_client: must be in [1, 100000] (got " +
                std::to_string(config.max_streams_per_client) + ")");
  }
  // gRPC takes an int; below 64 KiB not even a job spec fits.
  if (config.max_request_bytes < 64 * 1024 || config.max_request_bytes > (1LL << 30)) {
    throw Error(source + ": security.max_request_bytes: must be in [65536, 1073741824] (got " +
                std::to_string(config.max_request_bytes) + ")");
  }
  return config;
}

void ValidateSecurityConfig(const SecurityConfig& config, const std::vector<std::string>& listen_addresses) {
  if (config.insecure) {
    for (const std::string& address : listen_addresses) {
      if (!IsLoopbackAddress(address)) {
        throw Error("--insecure (security.insecure) turns TLS and tokens off, so it is only allowed when "
                    "every listen address is loopback (127.0.0.1, ::1, localhost); got " + address);
      }
    }
    return;
  }
  if (config.tls_cert_file.empty() || config.tls_key_file.empty()) {
    throw Error("TLS is on by default: set security.tls_cert_file and security.tls_key_file (or "
                "--tls-cert / --tls-key), or run with --insecure on a loopback address");
  }
  if (config.require_worker_client_cert && config.tls_client_ca_file.empty()) {
    throw Error("security.require_worker_client_cert needs security.tls_client_ca_file (the CA that "
                "signs the workers' certificates)");
  }
}

}  // namespace bertfleet::coordinator
