#include "coordinator/worker_service.h"

#include <atomic>
#include <deque>
#include <mutex>

#include "coordinator/auth/rejected_reactors.h"
#include "coordinator/log.h"

namespace bertfleet::coordinator {
namespace {

using bertfleet::v1::CoordinatorMessage;
using bertfleet::v1::WorkerMessage;

// One worker's stream. Writes are queued (one in flight at a time); Close finishes the stream
// once the queue has drained. The Fleet only calls Send/Close while it holds its lock, and
// OnDone detaches (taking that lock) before deleting, so the Fleet never sees a dangling session.
class ConnectReactor final : public grpc::ServerBidiReactor<WorkerMessage, CoordinatorMessage>,
                             public WorkerSession {
 public:
  // Holds one of `client`'s stream slots in `streams` until the stream is done.
  ConnectReactor(Fleet* fleet, StreamLimiter* streams, std::string client)
      : fleet_(fleet), streams_(streams), client_(std::move(client)) {
    StartRead(&incoming_);
  }

  void Send(const CoordinatorMessage& message) override {
    std::lock_guard<std::mutex> lock(mu_);
    if (closing_) return;
    queue_.push_back(message);
    if (!writing_) {
      writing_ = true;
      StartWrite(&queue_.front());
    }
  }

  void Close(const grpc::Status& status) override {
    bool finish_now = false;
    {
      std::lock_guard<std::mutex> lock(mu_);
      if (closing_) return;
      closing_ = true;
      close_status_ = status;
      finish_now = !writing_;
    }
    if (finish_now) FinishOnce(status);
  }

  void OnReadDone(bool ok) override {
    if (!ok) {  // the worker closed its side or the connection broke
      Gone("stream closed by the worker");
      Close(grpc::Status::OK);
      return;
    }
    if (session_id_ == 0) {
      if (!Register()) return;
    } else {
      fleet_->OnMessage(session_id_, incoming_);
    }
    StartRead(&incoming_);
  }

  void OnWriteDone(bool ok) override {
    bool finish = false;
    grpc::Status status;
    {
      std::lock_guard<std::mutex> lock(mu_);
      queue_.pop_front();
      if (!ok) queue_.clear();
      if (!queue_.empty()) {
        StartWrite(&queue_.front());
        return;
      }
      writing_ = false;
      finish = closing_;
      status = close_status_;
    }
    if (finish) FinishOnce(status);
  }

  void OnCancel() override {
    Gone("stream cancelled (connection lost)");
    Close(grpc::Status(grpc::StatusCode::CANCELLED, "stream cancelled"));
  }

  void OnDone() override {
    Gone("stream ended");
    streams_->Release(client_);
    delete this;
  }

 private:
  bool Register() {
    if (incoming_.message_case() != WorkerMessage::kRegister) {
      Close(grpc::Status(grpc::StatusCode::INVALID_ARGUMENT, "the first message must be `register`"));
      return false;
    }
    const auto& request = incoming_.register_();
    if (request.protocol_version() != v1::PROTOCOL_VERSION_1) {
      std::string got = v1::ProtocolVersion_Name(request.protocol_version());
      if (got.empty()) got = "unknown";
      std::string message = "worker speaks protocol version " + got + " (" +
                            std::to_string(request.protocol_version()) +
                            ") but this coordinator speaks PROTOCOL_VERSION_1 (1)";
      Log("WARN", "worker refused", {{"worker", request.worker_id()}, {"reason", message}});
      Close(grpc::Status(grpc::StatusCode::FAILED_PRECONDITION, message));
      return false;
    }
    session_id_ = fleet_->Attach(this, request);
    return true;
  }

  void Gone(const std::string& reason) {
    if (session_id_ != 0 && !gone_.exchange(true)) fleet_->Detach(session_id_, reason);
  }

  void FinishOnce(const grpc::Status& status) {
    if (!finished_.exchange(true)) Finish(status);
  }

  Fleet* fleet_;
  StreamLimiter* streams_;
  std::string client_;
  WorkerMessage incoming_;
  uint64_t session_id_ = 0;
  std::atomic<bool> gone_{false};
  std::atomic<bool> finished_{false};
  std::mutex mu_;
  std::deque<CoordinatorMessage> queue_;
  bool writing_ = false;
  bool closing_ = false;
  grpc::Status close_status_;
};

using RejectedConnect = RejectedBidiReactor<WorkerMessage, CoordinatorMessage>;

constexpr char kConnect[] = "bertfleet.v1.WorkerService/Connect";
constexpr char kPublishRendezvous[] = "bertfleet.v1.WorkerService/PublishRendezvous";
constexpr char kGetRendezvous[] = "bertfleet.v1.WorkerService/GetRendezvous";

}  // namespace

grpc::ServerBidiReactor<WorkerMessage, CoordinatorMessage>* WorkerServiceImpl::Connect(
    grpc::CallbackServerContext* context) {
  Principal caller;
  grpc::Status status = authorizer_->Authorize(*context, kConnect, {v1::ROLE_WORKER}, &caller);
  if (!status.ok()) return new RejectedConnect(status);
  if (!streams_->TryAcquire(caller.name)) {
    return new RejectedConnect(grpc::Status(grpc::StatusCode::RESOURCE_EXHAUSTED,
                                            caller.name + " already has " + std::to_string(streams_->max_per_client()) +
                                                " open streams (security.max_streams_per_client)"));
  }
  return new ConnectReactor(fleet_, streams_, caller.name);
}

grpc::ServerUnaryReactor* WorkerServiceImpl::PublishRendezvous(grpc::CallbackServerContext* context,
                                                               const v1::PublishRendezvousRequest* request,
                                                               v1::PublishRendezvousResponse* response) {
  grpc::ServerUnaryReactor* reactor = context->DefaultReactor();
  Principal caller;
  grpc::Status status = authorizer_->Authorize(*context, kPublishRendezvous, {v1::ROLE_WORKER}, &caller);
  if (status.ok()) rendezvous_->Publish(request->job_id(), request->attempt(), request->payload());
  reactor->Finish(status);
  return reactor;
}

grpc::ServerUnaryReactor* WorkerServiceImpl::GetRendezvous(grpc::CallbackServerContext* context,
                                                           const v1::GetRendezvousRequest* request,
                                                           v1::GetRendezvousResponse* response) {
  grpc::ServerUnaryReactor* reactor = context->DefaultReactor();
  Principal caller;
  grpc::Status status = authorizer_->Authorize(*context, kGetRendezvous, {v1::ROLE_WORKER}, &caller);
  if (!status.ok()) {
    reactor->Finish(status);
    return reactor;
  }
  rendezvous_->Get(request->job_id(), request->attempt(), request->rank(), request->timeout_ms(),
                   [reactor, response](const grpc::Status& status, const std::string& payload) {
                     if (status.ok()) response->set_payload(payload);
                     reactor->Finish(status);
                   });
  return reactor;
}

}  // namespace bertfleet::coordinator
