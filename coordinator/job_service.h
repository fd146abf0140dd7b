#pragma once
// JobService over the callback API: one reactor per RPC. WatchJob is a ServerWriteReactor fed by
// the WatchHub; CancelJob answers once the job is CANCELLED (at most cancel_timeout_ms later).
// Every call is first checked by the Authorizer (coordinator/auth): admins and users only, users
// on their own jobs; WatchJob streams are bounded per caller.
#include <string>

#include "bertfleet/v1/jobs.grpc.pb.h"
#include "coordinator/auth/authorizer.h"
#include "coordinator/auth/stream_limiter.h"
#include "coordinator/fleet.h"
#include "coordinator/upload_store.h"

namespace bertfleet::coordinator {

// Throws Error naming the key of an upload reference ("sha256:HEX/NAME") in `spec` that `caller`
// may not use: users only their own uploads, admins any. Null `uploads`: every reference fails.
void CheckUploadReferences(const JobSpec& spec, const Principal& caller, const UploadStore* uploads);

class JobServiceImpl final : public bertfleet::v1::JobService::CallbackService {
 public:
  JobServiceImpl(Fleet* fleet, WatchHub* hub, std::string data_root, std::string checkpoint_root,
                 const Authorizer* authorizer, StreamLimiter* streams)
      : fleet_(fleet),
        hub_(hub),
        data_root_(std::move(data_root)),
        checkpoint_root_(std::move(checkpoint_root)),
        authorizer_(authorizer),
        streams_(streams) {}

  // Own files referenced by upload ("sha256:HEX/NAME") must be the submitter's uploads.
  void SetUploads(const UploadStore* uploads) { uploads_ = uploads; }

  grpc::ServerUnaryReactor* SubmitJob(grpc::CallbackServerContext* context,
                                      const bertfleet::v1::SubmitJobRequest* request,
                                      bertfleet::v1::SubmitJobResponse* response) override;
  grpc::ServerUnaryReactor* GetJob(grpc::CallbackServerContext* context,
                                   const bertfleet::v1::GetJobRequest* request,
                                   bertfleet::v1::Job* response) override;
  grpc::ServerUnaryReactor* ListJobs(grpc::CallbackServerContext* context,
                                     const bertfleet::v1::ListJobsRequest* request,
                                     bertfleet::v1::ListJobsResponse* response) override;
  grpc::ServerUnaryReactor* CancelJob(grpc::CallbackServerContext* context,
                                      const bertfleet::v1::CancelJobRequest* request,
                                      bertfleet::v1::Job* response) override;
  grpc::ServerWriteReactor<bertfleet::v1::JobEvent>* WatchJob(
      grpc::CallbackServerContext* context, const bertfleet::v1::WatchJobRequest* request) override;
  grpc::ServerUnaryReactor* ListWorkers(grpc::CallbackServerContext* context,
                                        const bertfleet::v1::ListWorkersRequest* request,
                                        bertfleet::v1::ListWorkersResponse* response) override;

 private:
  // Authorizes the caller, then (for a user) that the job is theirs; fills `job` when it is.
  grpc::Status AuthorizeJobCall(grpc::CallbackServerContext* context, const char* method,
                                const std::string& job_id, Principal* principal, bertfleet::v1::Job* job);

  Fleet* fleet_;
  WatchHub* hub_;
  std::string data_root_;
  std::string checkpoint_root_;
  const Authorizer* authorizer_;
  StreamLimiter* streams_;
  const UploadStore* uploads_ = nullptr;
};

}  // namespace bertfleet::coordinator
