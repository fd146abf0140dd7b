#include "coordinator/auth/auth_metrics.h"

#include <prometheus/counter.h>

#include "common/util/grpc_status_name.h"

namespace bertfleet::coordinator {

void CountAuthFailures(prometheus::Registry& registry, Authorizer& authorizer) {
  auto& failures = prometheus::BuildCounter()
                       .Name("bertfleet_auth_failures_total")
                       .Help("gRPC calls refused for a missing, unknown or revoked token (UNAUTHENTICATED) or "
                             "a role or job owner that does not allow them (PERMISSION_DENIED)")
                       .Register(registry);
  // Family::Add is thread-safe and returns the same counter for the same labels.
  authorizer.SetFailureObserver([&failures](const std::string& method, grpc::StatusCode code) {
    failures.Add({{"method", method}, {"code", GrpcStatusName(code)}}).Increment();
  });
}

}  // namespace bertfleet::coordinator
