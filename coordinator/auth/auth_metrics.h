#pragma once
// bertfleet_auth_failures_total{method,code}: every call the Authorizer refused, by gRPC method
// and status code (UNAUTHENTICATED, PERMISSION_DENIED), in the coordinator's metrics registry.
#include <prometheus/registry.h>

#include "coordinator/auth/authorizer.h"

namespace bertfleet::coordinator {

// Adds the counter family to `registry` and makes `authorizer` count into it. Both must outlive
// the server.
void CountAuthFailures(prometheus::Registry& registry, Authorizer& authorizer);

}  // namespace bertfleet::coordinator
