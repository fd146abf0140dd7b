#include "coordinator/job_service.h"

#include <atomic>
#include <deque>
#include <memory>

#include "bertfleet/v1/job_states.h"
#include "common/util/error.h"
#include "coordinator/auth/rejected_reactors.h"
#include "coordinator/job_paths.h"
#include "common/data/upload_reference.h"

namespace bertfleet::coordinator {
namespace {

using bertfleet::v1::JobEvent;

grpc::ServerUnaryReactor* Finished(grpc::CallbackServerContext* context, const grpc::Status& status) {
  grpc::ServerUnaryReactor* reactor = context->DefaultReactor();
  reactor->Finish(status);
  return reactor;
}

constexpr size_t kMaxRequestIdBytes = 128;

bool IsFinalEvent(const JobEvent& event) {
  return event.event_case() == JobEvent::kState && v1::IsFinalJobState(event.state());
}

// Streams a job's history, then its live events, and finishes after the final state.
class WatchReactor final : public grpc::ServerWriteReactor<JobEvent>, public WatchSink {
 public:
  // Holds one of `client`'s stream slots in `streams` until the stream is done.
  WatchReactor(Fleet* fleet, WatchHub* hub, const std::string& job_id, StreamLimiter* streams,
               std::string client)
      : hub_(hub), streams_(streams), client_(std::move(client)) {
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
    streams_->Release(client_);
    delete this;
  }

 private:
  void FinishOnce(const grpc::Status& status) {
    if (finished_.exchange(true)) return;
    Finish(status);
  }

  WatchHub* hub_;
  StreamLimiter* streams_;
  std::string client_;
  bool subscribed_ = false;
  std::mutex mu_;
  std::deque<JobEvent> queue_;
  bool writing_ = false;
  bool done_writing_ = false;
  std::atomic<bool> finished_{false};
};

constexpr char kSubmitJob[] = "bertfleet.v1.JobService/SubmitJob";
constexpr char kGetJob[] = "bertfleet.v1.JobService/GetJob";
constexpr char kListJobs[] = "bertfleet.v1.JobService/ListJobs";
constexpr char kCancelJob[] = "bertfleet.v1.JobService/CancelJob";
constexpr char kWatchJob[] = "bertfleet.v1.JobService/WatchJob";
constexpr char kListWorkers[] = "bertfleet.v1.JobService/ListWorkers";

}  // namespace

grpc::Status JobServiceImpl::AuthorizeJobCall(grpc::CallbackServerContext* context, const char* method,
                                              const std::string& job_id, Principal* principal, v1::Job* job) {
  grpc::Status status = authorizer_->Authorize(*context, method, {v1::ROLE_ADMIN, v1::ROLE_USER}, principal);
  if (!status.ok()) return status;
  status = fleet_->Get(job_id, job);
  if (!status.ok()) return status;
  return authorizer_->AuthorizeJob(*principal, method, *job);
}

void CheckUploadReferences(const JobSpec& spec, const Principal& caller, const UploadStore* uploads) {
  for (const auto& [key, value] : OwnFileKeys(spec)) {
    const std::optional<UploadReference> reference = ParseUploadReference(*value);
    if (!reference) continue;
    // Admins may run anyone's upload; users only what they sent themselves.
    const bool visible = uploads && (caller.role == v1::ROLE_ADMIN ? uploads->Has(reference->sha256)
                                                                   : uploads->Owns(caller.name, reference->sha256));
    if (!visible) {
      throw Error(std::string(key) + ": " + *value + " is not a file you uploaded (bertfleet submit uploads the local "
                  "files a spec names)");
    }
  }
}

// How submitted specs are named in error messages.
constexpr char kSource[] = "<submitted spec>";

grpc::ServerUnaryReactor* JobServiceImpl::SubmitJob(grpc::CallbackServerContext* context,
                                                    const v1::SubmitJobRequest* request,
                                                    v1::SubmitJobResponse* response) {
  Principal caller;
  grpc::Status allowed = authorizer_->Authorize(*context, kSubmitJob, {v1::ROLE_ADMIN, v1::ROLE_USER}, &caller);
  if (!allowed.ok()) return Finished(context, allowed);
  JobSpec spec;
  try {
    spec = ParseJobSpec(request->spec_yaml(), kSource);
  } catch (const Error& e) {
    return Finished(context, grpc::Status(grpc::StatusCode::INVALID_ARGUMENT, e.what()));
  }
  try {
    CheckJobPaths(spec, data_root_, checkpoint_root_);
    CheckUploadReferences(spec, caller, uploads_);
  } catch (const Error& e) {
    return Finished(context, grpc::Status(grpc::StatusCode::INVALID_ARGUMENT,
                                          std::string(kSource) + ": " + e.what()));
  }
  if (request->request_id().size() > kMaxRequestIdBytes) {
    return Finished(context, grpc::Status(grpc::StatusCode::INVALID_ARGUMENT,
                                          "request_id: at most " + std::to_string(kMaxRequestIdBytes) +
                                              " characters (got " + std::to_string(request->request_id().size()) + ")"));
  }
  try {
    return Finished(context, fleet_->Submit(request->spec_yaml(), spec, caller.name, request->request_id(),
                                            response->mutable_job()));
  } catch (const std::exception& e) {
    return Finished(context, grpc::Status(grpc::StatusCode::INTERNAL, e.what()));
  }
}

grpc::ServerUnaryReactor* JobServiceImpl::GetJob(grpc::CallbackServerContext* context,
                                                 const v1::GetJobRequest* request, v1::Job* response) {
  Principal caller;
  v1::Job job;
  grpc::Status status = AuthorizeJobCall(context, kGetJob, request->job_id(), &caller, &job);
  if (status.ok()) *response = std::move(job);
  return Finished(context, status);
}

grpc::ServerUnaryReactor* JobServiceImpl::ListJobs(grpc::CallbackServerContext* context,
                                                   const v1::ListJobsRequest* request,
                                                   v1::ListJobsResponse* response) {
  Principal caller;
  grpc::Status status = authorizer_->Authorize(*context, kListJobs, {v1::ROLE_ADMIN, v1::ROLE_USER}, &caller);
  if (!status.ok()) return Finished(context, status);
  if (caller.role == v1::ROLE_ADMIN) return Finished(context, fleet_->List(*request, response));
  v1::ListJobsRequest own = *request;
  own.set_owner(caller.name);  // users see only their own jobs
  return Finished(context, fleet_->List(own, response));
}

grpc::ServerUnaryReactor* JobServiceImpl::CancelJob(grpc::CallbackServerContext* context,
                                                    const v1::CancelJobRequest* request,
                                                    v1::Job* response) {
  grpc::ServerUnaryReactor* reactor = context->DefaultReactor();
  Principal caller;
  v1::Job job;
  grpc::Status status = AuthorizeJobCall(context, kCancelJob, request->job_id(), &caller, &job);
  if (!status.ok()) {
    reactor->Finish(status);
    return reactor;
  }
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
  Principal caller;
  v1::Job job;
  grpc::Status status = AuthorizeJobCall(context, kWatchJob, request->job_id(), &caller, &job);
  if (!status.ok()) return new RejectedWriteReactor<JobEvent>(status);
  if (!streams_->TryAcquire(caller.name)) {
    return new RejectedWriteReactor<JobEvent>(grpc::Status(
        grpc::StatusCode::RESOURCE_EXHAUSTED, caller.name + " already has " +
                                                  std::to_string(streams_->max_per_client()) +
                                                  " open streams (security.max_streams_per_client)"));
  }
  return new WatchReactor(fleet_, hub_, request->job_id(), streams_, caller.name);
}

grpc::ServerUnaryReactor* JobServiceImpl::ListWorkers(grpc::CallbackServerContext* context,
                                                      const v1::ListWorkersRequest* request,
                                                      v1::ListWorkersResponse* response) {
  Principal caller;
  grpc::Status status = authorizer_->Authorize(*context, kListWorkers, {v1::ROLE_ADMIN, v1::ROLE_USER}, &caller);
  if (!status.ok()) return Finished(context, status);
  fleet_->ListWorkers(response);
  return Finished(context, grpc::Status::OK);
}

}  // namespace bertfleet::coordinator
