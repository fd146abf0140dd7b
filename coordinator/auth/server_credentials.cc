#include "coordinator/auth/server_credentials.h"

#include "common/util/error.h"
#include "common/util/file_io.h"

namespace bertfleet::coordinator {
namespace {

std::string ReadPem(const std::string& key, const std::string& path) {
  std::string text;
  try {
    text = ReadFileToString(path);
  } catch (const std::exception& e) {
    throw Error("security." + key + ": " + e.what());
  }
  if (text.find("-----BEGIN ") == std::string::npos) {
    throw Error("security." + key + ": " + path + " is not a PEM file");
  }
  return text;
}

}  // namespace

std::shared_ptr<grpc::ServerCredentials> MakeServerCredentials(const SecurityConfig& config) {
  if (config.insecure) return grpc::InsecureServerCredentials();
  // Without a client CA nothing is requested; with one, a presented certificate must verify, and
  // only WorkerService (security.require_worker_client_cert) insists on one, so the CLI needs none.
  grpc::SslServerCredentialsOptions options(config.tls_client_ca_file.empty()
                                                ? GRPC_SSL_DONT_REQUEST_CLIENT_CERTIFICATE
                                                : GRPC_SSL_REQUEST_CLIENT_CERTIFICATE_AND_VERIFY);
  options.pem_key_cert_pairs.push_back(
      {ReadPem("tls_key_file", config.tls_key_file), ReadPem("tls_cert_file", config.tls_cert_file)});
  if (!config.tls_client_ca_file.empty()) {
    options.pem_root_certs = ReadPem("tls_client_ca_file", config.tls_client_ca_file);
  }
  return grpc::SslServerCredentials(options);
}

}  // namespace bertfleet::coordinator
