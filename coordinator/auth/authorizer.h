#pragma once
// Per-call access control, called first thing by every JobService / WorkerService / AuthService
// handler (gRPC C++ has no supported way for an interceptor to fail a callback-API call, and an
// AuthMetadataProcessor would also gate health and reflection, which must stay open):
//  - the bearer token ("authorization: Bearer bft_...") must be valid: else UNAUTHENTICATED;
//  - its role must be allowed for the method: else PERMISSION_DENIED;
//  - users act only on their own jobs and sweeps (AuthorizeJob, AuthorizeOwned): else
//    PERMISSION_DENIED.
// Every refusal is reported to the failure observer (bertfleet_auth_failures_total{method,code}).
// With security off (--insecure on loopback) every caller is an admin named by its
// `bertfleet-owner` metadata (the CLI sends $USER), or by its peer address.
#include <functional>
#include <initializer_list>
#include <string>

#include <grpcpp/grpcpp.h>

#include "bertfleet/v1/jobs.pb.h"
#include "coordinator/auth/token_store.h"

namespace bertfleet::coordinator {

class Authorizer {
 public:
  using FailureObserver = std::function<void(const std::string& method, grpc::StatusCode code)>;

  // `tokens` may be null when `enabled` is false.
  Authorizer(const TokenStore* tokens, bool enabled, bool require_worker_client_cert)
      : tokens_(tokens), enabled_(enabled), require_worker_client_cert_(require_worker_client_cert) {}

  // Set before the server starts.
  void SetFailureObserver(FailureObserver observer) { on_failure_ = std::move(observer); }
  bool enabled() const { return enabled_; }

  // `method` as gRPC names it without the leading '/', e.g. "bertfleet.v1.JobService/SubmitJob".
  grpc::Status Authorize(const grpc::ServerContextBase& context, const std::string& method,
                         std::initializer_list<bertfleet::v1::Role> allowed, Principal* principal) const;
  // Admins may act on any job, anyone else only on the jobs they own.
  grpc::Status AuthorizeJob(const Principal& principal, const std::string& method,
                            const bertfleet::v1::Job& job) const;
  // The same for anything else a user owns; `what` names it in the refusal ("sweep sweep-1a2b").
  grpc::Status AuthorizeOwned(const Principal& principal, const std::string& method, const std::string& owner,
                              const std::string& what) const;

 private:
  grpc::Status Refuse(const std::string& method, grpc::StatusCode code, const std::string& message) const;

  const TokenStore* tokens_;
  bool enabled_;
  bool require_worker_client_cert_;
  FailureObserver on_failure_;
};

std::string RoleName(bertfleet::v1::Role role);  // "admin", "user", "worker"
// Throws Error for anything but admin, user or worker.
bertfleet::v1::Role ParseRole(const std::string& name);

}  // namespace bertfleet::coordinator
