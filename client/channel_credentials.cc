#include "client/channel_credentials.h"

#include "common/util/error.h"
#include "common/util/file_io.h"

namespace bertfleet::client {
namespace {

std::string ReadPem(const std::string& flag, const std::string& path) {
  std::string text;
  try {
    text = ReadFileToString(path);
  } catch (const std::exception& e) {
    throw Error("--" + flag + ": " + e.what());
  }
  if (text.find("-----BEGIN ") == std::string::npos) throw Error("--" + flag + ": " + path + " is not a PEM file");
  return text;
}

}  // namespace

std::shared_ptr<grpc::ChannelCredentials> MakeChannelCredentials(const ConnectionSettings& settings) {
  if (settings.insecure) return grpc::InsecureChannelCredentials();
  grpc::SslCredentialsOptions options;
  if (!settings.ca_file.empty()) options.pem_root_certs = ReadPem("ca-file", settings.ca_file);
  if (!settings.cert_file.empty()) {
    options.pem_cert_chain = ReadPem("cert-file", settings.cert_file);
    options.pem_private_key = ReadPem("key-file", settings.key_file);
  }
  std::shared_ptr<grpc::ChannelCredentials> tls = grpc::SslCredentials(options);
  if (settings.token.empty()) return tls;
  return grpc::CompositeChannelCredentials(tls, grpc::AccessTokenCredentials(settings.token));
}

}  // namespace bertfleet::client
