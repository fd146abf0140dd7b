#pragma once
// WorkerService over the callback API: Connect is a ServerBidiReactor per worker (it checks the
// protocol version, then hands messages to the Fleet); rendezvous RPCs use the Rendezvous board.
// Only worker tokens may call it (coordinator/auth); Connect streams are bounded per token.
#include "bertfleet/v1/workers.grpc.pb.h"
#include "coordinator/auth/authorizer.h"
#include "coordinator/auth/stream_limiter.h"
#include "coordinator/fleet.h"
#include "coordinator/rendezvous.h"

namespace bertfleet::coordinator {

class WorkerServiceImpl final : public bertfleet::v1::WorkerService::CallbackService {
 public:
  WorkerServiceImpl(Fleet* fleet, Rendezvous* rendezvous, const Authorizer* authorizer, StreamLimiter* streams)
      : fleet_(fleet), rendezvous_(rendezvous), authorizer_(authorizer), streams_(streams) {}

  grpc::ServerBidiReactor<bertfleet::v1::WorkerMessage, bertfleet::v1::CoordinatorMessage>* Connect(
      grpc::CallbackServerContext* context) override;
  grpc::ServerUnaryReactor* PublishRendezvous(grpc::CallbackServerContext* context,
                                              const bertfleet::v1::PublishRendezvousRequest* request,
                                              bertfleet::v1::PublishRendezvousResponse* response) override;
  grpc::ServerUnaryReactor* GetRendezvous(grpc::CallbackServerContext* context,
                                          const bertfleet::v1::GetRendezvousRequest* request,
                                          bertfleet::v1::GetRendezvousResponse* response) override;

 private:
  Fleet* fleet_;
  Rendezvous* rendezvous_;
  const Authorizer* authorizer_;
  StreamLimiter* streams_;
};

}  // namespace bertfleet::coordinator
