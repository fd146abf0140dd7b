#include "coordinator/job_service.h"

#include <atomic>
#include <deque>
#include <memory>

#include "common/util/error.h"
#include "coordinator/job_paths.h"

namespace bertfleet::coordinator {
namespace {

using bertfleet::v1::JobEvent;

grpc::ServerUnaryReactor* Finished(grpc::CallbackServerContext* context, const grpc::Status& status) {
  grpc::ServerUnaryReactor* reactor = context->DefaultReactor();
  reactor->Finish(status);
  return reactor;
}

bool IsFinalEvent(const JobEvent& event) {
  return event.event_case() == JobEvent::kState &&
         (event.state() == v1::JOB_STATE_SUCCEEDED || event.state() == v1::JOB_STATE_FAILED ||
          event.state() == v1::JOB_STATE_CANCELLED);
}

// Streams a job's history, then its live events, and finishes after the final state.
class WatchReactor final : public grpc::ServerWriteReactor<JobEvent>, public WatchSink {
 public:
  WatchReactor(Fleet* fleet, WatchHub* hub, const std::string& job_id) : hub_(hub) {
    grpc::Status status = fleet->Watch(job_id, this, &subscribed_);
    if (!status.ok()) FinishOnce(status);
  }

  void Push(const JobEvent& event) override {
    std::lock_guard<std::mutex> lock(mu_);
    if (done_writing_) return;
    queue_.push_back(event);
    if (IsFinalEvent(event)) done_writing_ = true;
    if (!writing_) {
      writing_ = true;
      StartWrite(&queue_.front());
    }
  }

  void OnWriteDone(bool ok) override {
    bool finish = false;
    {
      std::lock_guard<std::mutex> lock(mu_);
      queue_.pop_front();
      if (!ok) {
        done_writing_ = true;
        queue_.clear();
      }
      if (!queue_.empty()) {
        StartWrite(&queue_.front());
      } else {
        writing_ = false;
        finish = done_writing_;
      }
    }
    if (finish) FinishOnce(grpc::Status::OK);
  }

  void OnCancel() override {
    {
      std::lock_guard<std::mutex> lock(mu_);
      done_writing_ = true;
    }
    FinishOnce(grpc::Status(grpc::StatusCode::CANCELLED, "watch cancelled"));
  }

  void OnDone() override {
    if (subscribed_) hub_->Unsubscribe(this);
    delete this;
  }

 private:
  void FinishOnce(const grpc::Status& status) {
    if (finished_.exchange(true)) return;
    Finish(status);
  }

  WatchHub* hub_;
  bool subscribed_ = false;
  std::mutex mu_;
  std::deque<JobEvent> queue_;
  bool writing_ = false;
  bool done_writing_ = false;
  std::atomic<bool> finished_{false};
};

std::string OwnerOf(grpc::CallbackServerContext* context) {
  const auto& metadata = context->client_metadata();
  auto it = metadata.find("bertfleet-owner");
  if (it != metadata.end()) return std::string(it->second.data(), it->second.size());
  return context->peer();
}

}  // namespace

// How submitted specs are named in error messages.
constexpr char kSource[] = "<submitted spec>";

grpc::ServerUnaryReactor* JobServiceImpl::SubmitJob(grpc::CallbackServerContext* context,
                                                    const v1::SubmitJobRequest* request,
                                                    v1::SubmitJobResponse* response) {
  JobSpec spec;
  try {
    spec = ParseJobSpec(request->spec_yaml(), kSource);
  } catch (const Error& e) {
    return Finished(context, grpc::Status(grpc::StatusCode::INVALID_ARGUMENT, e.what()));
  }
  try {
    CheckJobPaths(spec, data_root_);
  } catch (const Error& e) {
    return Finished(context, grpc::Status(grpc::StatusCode::INVALID_ARGUMENT,
                                          std::string(kSource) + ": " + e.what()));
  }
  try {
    *response->mutable_job() = fleet_->Submit(request->spec_yaml(), spec, OwnerOf(context));
  } catch (const std::exception& e) {
    return Finished(context, grpc::Status(grpc::StatusCode::INTERNAL, e.what()));
  }
  return Finished(context, grpc::Status::OK);
}

grpc::ServerUnaryReactor* JobServiceImpl::GetJob(grpc::CallbackServerContext* context,
                                                 const v1::GetJobRequest* request, v1::Job* response) {
  return Finished(context, fleet_->Get(request->job_id(), response));
}

grpc::ServerUnaryReactor* JobServiceImpl::ListJobs(grpc::CallbackServerContext* context,
                                                   const v1::ListJobsRequest* request,
                                                   v1::ListJobsResponse* response) {
  return Finished(context, fleet_->List(*request, response));
}

grpc::ServerUnaryReactor* JobServiceImpl::CancelJob(grpc::CallbackServerContext* context,
                                                    const v1::CancelJobRequest* request,
                                                    v1::Job* response) {
  grpc::ServerUnaryReactor* reactor = context->DefaultReactor();
  grpc::Status status;
  try {
    status = fleet_->Cancel(request->job_id(), [reactor, response](const v1::Job& job) {
      *response = job;
      reactor->Finish(grpc::Status::OK);
    });
  } catch (const std::exception& e) {
    status = grpc::Status(grpc::StatusCode::INTERNAL, e.what());
  }
  if (!status.ok()) reactor->Finish(status);
  return reactor;
}

grpc::ServerWriteReactor<JobEvent>* JobServiceImpl::WatchJob(grpc::CallbackServerContext* context,
                                                             const v1::WatchJobRequest* request) {
  return new WatchReactor(fleet_, hub_, request->job_id());
}

grpc::ServerUnaryReactor* JobServiceImpl::ListWorkers(grpc::CallbackServerContext* context,
                                                      const v1::ListWorkersRequest* request,
                                                      v1::ListWorkersResponse* response) {
  fleet_->ListWorkers(response);
  return Finished(context, grpc::Status::OK);
}

}  // namespace bertfleet::coordinator
