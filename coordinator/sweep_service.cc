#include "coordinator/sweep_service.h"

#include "common/util/error.h"
#include "coordinator/job_paths.h"
#include "coordinator/job_service.h"
#include "coordinator/sweep_plan.h"

namespace bertfleet::coordinator {
namespace {

constexpr char kCreateSweep[] = "bertfleet.v1.SweepService/CreateSweep";
constexpr char kGetSweep[] = "bertfleet.v1.SweepService/GetSweep";
constexpr char kListSweeps[] = "bertfleet.v1.SweepService/ListSweeps";
constexpr size_t kMaxRequestIdBytes = 128;  // as SubmitJob's
constexpr char kSource[] = "<submitted sweep>";

grpc::ServerUnaryReactor* Finished(grpc::CallbackServerContext* context, const grpc::Status& status) {
  grpc::ServerUnaryReactor* reactor = context->DefaultReactor();
  reactor->Finish(status);
  return reactor;
}

}  // namespace

grpc::ServerUnaryReactor* SweepServiceImpl::CreateSweep(grpc::CallbackServerContext* context,
                                                        const v1::CreateSweepRequest* request, v1::Sweep* response) {
  Principal caller;
  grpc::Status allowed = authorizer_->Authorize(*context, kCreateSweep, {v1::ROLE_ADMIN, v1::ROLE_USER}, &caller);
  if (!allowed.ok()) return Finished(context, allowed);
  if (request->request_id().size() > kMaxRequestIdBytes) {
    return Finished(context, grpc::Status(grpc::StatusCode::INVALID_ARGUMENT,
                                          "request_id: at most " + std::to_string(kMaxRequestIdBytes) + " characters"));
  }
  SweepPlan plan;
  try {
    plan = PlanSweep(*request, kSource);
    // Every point, as SubmitJob checks a spec: the same paths and uploads for all of them.
    for (const SweepPlanPoint& point : plan.points) {
      CheckJobPaths(point.spec, data_root_, checkpoint_root_);
      CheckUploadReferences(point.spec, caller, uploads_);
    }
  } catch (const Error& e) {
    return Finished(context, grpc::Status(grpc::StatusCode::INVALID_ARGUMENT, e.what()));
  }
  try {
    return Finished(context, fleet_->CreateSweep(*request, plan, caller.name, response));
  } catch (const std::exception& e) {
    return Finished(context, grpc::Status(grpc::StatusCode::INTERNAL, e.what()));
  }
}

grpc::ServerUnaryReactor* SweepServiceImpl::GetSweep(grpc::CallbackServerContext* context,
                                                     const v1::GetSweepRequest* request, v1::Sweep* response) {
  Principal caller;
  grpc::Status status = authorizer_->Authorize(*context, kGetSweep, {v1::ROLE_ADMIN, v1::ROLE_USER}, &caller);
  if (!status.ok()) return Finished(context, status);
  v1::Sweep sweep;
  status = fleet_->GetSweep(request->sweep_id(), &sweep);
  if (status.ok()) status = authorizer_->AuthorizeOwned(caller, kGetSweep, sweep.owner(), "sweep " + sweep.id());
  if (status.ok()) *response = std::move(sweep);
  return Finished(context, status);
}

grpc::ServerUnaryReactor* SweepServiceImpl::ListSweeps(grpc::CallbackServerContext* context,
                                                       const v1::ListSweepsRequest* request,
                                                       v1::ListSweepsResponse* response) {
  Principal caller;
  grpc::Status status = authorizer_->Authorize(*context, kListSweeps, {v1::ROLE_ADMIN, v1::ROLE_USER}, &caller);
  if (!status.ok()) return Finished(context, status);
  // Users see only their own sweeps.
  return Finished(context,
                  fleet_->ListSweeps(*request, caller.role == v1::ROLE_ADMIN ? "" : caller.name, response));
}

}  // namespace bertfleet::coordinator
