#include "worker/agent/rendezvous_client.h"

#include "bertfleet/v1/workers.grpc.pb.h"

namespace bertfleet {

namespace {

// The server-side wait gets the whole timeout; the call's own deadline adds a margin for the
// round trip, so that the coordinator's DEADLINE_EXCEEDED (which names rank 0) is what we see.
constexpr std::chrono::milliseconds kDeadlineMargin{5000};

void Prepare(grpc::ClientContext& context, std::chrono::milliseconds timeout) {
  context.set_deadline(std::chrono::system_clock::now() + timeout + kDeadlineMargin);
  context.set_wait_for_ready(true);
}

}  // namespace

RendezvousCall::~RendezvousCall() {
  context_.TryCancel();
  if (thread_.joinable()) thread_.join();
}

std::unique_ptr<RendezvousCall> RendezvousClient::Publish(const std::string& job_id, int32_t attempt,
                                                          const std::string& payload,
                                                          std::chrono::milliseconds timeout,
                                                          RendezvousCall::Done done) {
  std::unique_ptr<RendezvousCall> call(new RendezvousCall());
  Prepare(call->context_, timeout);
  v1::PublishRendezvousRequest request;
  request.set_job_id(job_id);
  request.set_attempt(attempt);
  request.set_payload(payload);
  RendezvousCall* raw = call.get();
  call->thread_ = std::thread([this, raw, request, done = std::move(done)] {
    v1::PublishRendezvousResponse response;
    const grpc::Status status = v1::WorkerService::NewStub(channel_)->PublishRendezvous(&raw->context_, request, &response);
    done(status, "");
  });
  return call;
}

std::unique_ptr<RendezvousCall> RendezvousClient::Get(const std::string& job_id, int32_t attempt, int32_t rank,
                                                      std::chrono::milliseconds timeout, RendezvousCall::Done done) {
  std::unique_ptr<RendezvousCall> call(new RendezvousCall());
  Prepare(call->context_, timeout);
  v1::GetRendezvousRequest request;
  request.set_job_id(job_id);
  request.set_attempt(attempt);
  request.set_rank(rank);
  request.set_timeout_ms(timeout.count());
  RendezvousCall* raw = call.get();
  call->thread_ = std::thread([this, raw, request, done = std::move(done)] {
    v1::GetRendezvousResponse response;
    const grpc::Status status = v1::WorkerService::NewStub(channel_)->GetRendezvous(&raw->context_, request, &response);
    done(status, status.ok() ? response.payload() : std::string());
  });
  return call;
}

}  // namespace bertfleet
