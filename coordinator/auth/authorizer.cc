#include "coordinator/auth/authorizer.h"

#include <grpc/grpc_security_constants.h>

#include <algorithm>

#include "common/util/error.h"

namespace bertfleet::coordinator {
namespace {

using bertfleet::v1::Role;

std::string Metadata(const grpc::ServerContextBase& context, const char* key) {
  const auto& metadata = context.client_metadata();
  auto it = metadata.find(key);
  return it == metadata.end() ? std::string() : std::string(it->second.data(), it->second.size());
}

std::string AllowedText(std::initializer_list<Role> allowed) {
  std::string text;
  for (Role role : allowed) text += (text.empty() ? "" : " or ") + RoleName(role);
  return text;
}

}  // namespace

std::string RoleName(Role role) {
  switch (role) {
    case v1::ROLE_ADMIN: return "admin";
    case v1::ROLE_USER: return "user";
    case v1::ROLE_WORKER: return "worker";
    default: return "none";
  }
}

Role ParseRole(const std::string& name) {
  if (name == "admin") return v1::ROLE_ADMIN;
  if (name == "user") return v1::ROLE_USER;
  if (name == "worker") return v1::ROLE_WORKER;
  throw Error("role: must be admin, user or worker (got \"" + name + "\")");
}

grpc::Status Authorizer::Refuse(const std::string& method, grpc::StatusCode code, const std::string& message) const {
  if (on_failure_) on_failure_(method, code);
  return grpc::Status(code, message);
}

grpc::Status Authorizer::Authorize(const grpc::ServerContextBase& context, const std::string& method,
                                   std::initializer_list<Role> allowed, Principal* principal) const {
  if (!enabled_) {
    std::string owner = Metadata(context, "bertfleet-owner");
    *principal = Principal{owner.empty() ? context.peer() : owner, v1::ROLE_ADMIN};
    return grpc::Status::OK;
  }
  std::string header = Metadata(context, "authorization");
  constexpr char kBearer[] = "Bearer ";
  if (header.empty()) {
    return Refuse(method, grpc::StatusCode::UNAUTHENTICATED,
                  "no token: send \"authorization: Bearer <token>\" (the CLI and workers read "
                  "$BERTFLEET_TOKEN or their config file)");
  }
  if (header.rfind(kBearer, 0) != 0) {
    return Refuse(method, grpc::StatusCode::UNAUTHENTICATED, "the authorization header is not \"Bearer <token>\"");
  }
  std::optional<Principal> found = tokens_->Authenticate(header.substr(sizeof(kBearer) - 1));
  if (!found) return Refuse(method, grpc::StatusCode::UNAUTHENTICATED, "unknown or revoked token");
  if (std::find(allowed.begin(), allowed.end(), found->role) == allowed.end()) {
    return Refuse(method, grpc::StatusCode::PERMISSION_DENIED,
                  method + " needs a " + AllowedText(allowed) + " token; \"" + found->name + "\" is a " +
                      RoleName(found->role) + " token");
  }
  if (found->role == v1::ROLE_WORKER && require_worker_client_cert_ &&
      context.auth_context()->FindPropertyValues(GRPC_X509_PEM_CERT_PROPERTY_NAME).empty()) {
    return Refuse(method, grpc::StatusCode::UNAUTHENTICATED,
                  "workers must present a client certificate signed by the coordinator's "
                  "security.tls_client_ca_file (mutual TLS is required)");
  }
  *principal = *found;
  return grpc::Status::OK;
}

grpc::Status Authorizer::AuthorizeJob(const Principal& principal, const std::string& method,
                                      const v1::Job& job) const {
  return AuthorizeOwned(principal, method, job.owner(), "job " + job.id());
}

grpc::Status Authorizer::AuthorizeOwned(const Principal& principal, const std::string& method,
                                        const std::string& owner, const std::string& what) const {
  if (principal.role == v1::ROLE_ADMIN || owner == principal.name) return grpc::Status::OK;
  const std::string kind = what.substr(0, what.find(' '));
  return Refuse(method, grpc::StatusCode::PERMISSION_DENIED,
                what + " belongs to another user (" + principal.name + " may only act on its own " + kind + "s)");
}

}  // namespace bertfleet::coordinator
