#include "worker/agent/grpc_coordinator_link.h"

#include <atomic>
#include <chrono>
#include <thread>

#include <grpcpp/grpcpp.h>

#include "bertfleet/v1/workers.grpc.pb.h"
#include "client/channel_credentials.h"

namespace bertfleet {

namespace {

// How long a stopping agent waits for the coordinator to end the half-closed stream.
constexpr std::chrono::milliseconds kDrainTimeout{5000};

class GrpcCoordinatorLink final : public CoordinatorLink {
 public:
  GrpcCoordinatorLink(const std::string& address, const client::ConnectionSettings& connection) {
    grpc::ChannelArguments arguments;
    arguments.SetInt(GRPC_ARG_INITIAL_RECONNECT_BACKOFF_MS, 200);
    arguments.SetInt(GRPC_ARG_MAX_RECONNECT_BACKOFF_MS, 2000);
    channel_ = grpc::CreateCustomChannel(address, client::MakeChannelCredentials(connection), arguments);
    stub_ = v1::WorkerService::NewStub(channel_);
  }

  ~GrpcCoordinatorLink() override {
    if (reader_.joinable()) Close(false);
  }

  void Open(const v1::WorkerMessage& hello, MessageCallback on_message, ClosedCallback on_closed) override {
    // The reader thread opens the stream and sends `hello`: the caller never waits for the
    // coordinator.
    reader_ = std::thread([this, hello, on_message = std::move(on_message), on_closed = std::move(on_closed)] {
      {
        auto stream = stub_->Connect(&context_);
        std::lock_guard<std::mutex> lock(mu_);
        stream_ = std::move(stream);
      }
      if (stream_->Write(hello)) {
        v1::CoordinatorMessage message;
        while (stream_->Read(&message)) {
          on_message(message);
          message.Clear();
        }
      }
      ended_by_coordinator_ = true;
      on_closed();
    });
  }

  bool Write(const v1::WorkerMessage& message) override {
    std::lock_guard<std::mutex> lock(mu_);
    return stream_ && stream_->Write(message);
  }

  grpc::Status Close(bool drain) override {
    bool writes_done = false;
    if (drain && !ended_by_coordinator_) {
      std::lock_guard<std::mutex> lock(mu_);
      writes_done = stream_ && stream_->WritesDone();
    }
    if (writes_done) {
      const auto deadline = std::chrono::steady_clock::now() + kDrainTimeout;
      while (!ended_by_coordinator_ && std::chrono::steady_clock::now() < deadline) {
        std::this_thread::sleep_for(std::chrono::milliseconds(10));
      }
    }
    // Set by the reader when the coordinator ended the stream: Finish() then returns the
    // coordinator's status (e.g. PERMISSION_DENIED for a wrong token) instead of our CANCELLED.
    if (!ended_by_coordinator_) context_.TryCancel();
    if (reader_.joinable()) reader_.join();
    if (!stream_) return grpc::Status(grpc::StatusCode::CANCELLED, "stream never opened");
    grpc::Status status = stream_->Finish();
    stream_.reset();
    return status;
  }

 private:
  std::shared_ptr<grpc::Channel> channel_;
  std::unique_ptr<v1::WorkerService::Stub> stub_;
  grpc::ClientContext context_;
  std::mutex mu_;  // stream_ is set by the reader thread, written by the agent's
  std::unique_ptr<grpc::ClientReaderWriter<v1::WorkerMessage, v1::CoordinatorMessage>> stream_;
  std::thread reader_;
  std::atomic<bool> ended_by_coordinator_{false};
};

}  // namespace

std::unique_ptr<CoordinatorLink> GrpcCoordinatorConnector::NewLink() {
  return std::make_unique<GrpcCoordinatorLink>(address_, connection_);
}

}  // namespace bertfleet
