#pragma once
// Streaming handlers of the callback API must return a reactor even when the call is refused
// before it starts (no token, wrong role, too many streams): these finish at once with the status.
#include <grpcpp/grpcpp.h>

namespace bertfleet::coordinator {

template <typename Request, typename Response>
class RejectedBidiReactor final : public grpc::ServerBidiReactor<Request, Response> {
 public:
  explicit RejectedBidiReactor(const grpc::Status& status) { this->Finish(status); }
  void OnDone() override { delete this; }
};

template <typename Response>
class RejectedWriteReactor final : public grpc::ServerWriteReactor<Response> {
 public:
  explicit RejectedWriteReactor(const grpc::Status& status) { this->Finish(status); }
  void OnDone() override { delete this; }
};

}  // namespace bertfleet::coordinator
