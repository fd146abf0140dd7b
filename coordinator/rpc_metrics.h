#pragma once
// A gRPC server interceptor that reports every RPC's method, status code and latency to
// CoordinatorMetrics (bertfleet_rpc_requests_total, bertfleet_rpc_duration_seconds).
#include <memory>
#include <vector>

#include <grpcpp/support/server_interceptor.h>

#include "coordinator/metrics.h"

namespace bertfleet::coordinator {

// For grpc::ServerBuilder::experimental().SetInterceptorCreators().
std::vector<std::unique_ptr<grpc::experimental::ServerInterceptorFactoryInterface>> RpcMetricsInterceptors(
    CoordinatorMetrics* metrics);

}  // namespace bertfleet::coordinator
