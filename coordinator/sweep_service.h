#pragma once
// SweepService over the callback API (proto/bertfleet/v1/sweeps.proto): one reactor per RPC.
// Every call is first checked by the Authorizer as JobService's are: admins and users, users on
// their own sweeps; a sweep's points are checked as submitted specs (paths, uploads) before any
// job exists.
#include <string>

#include "bertfleet/v1/sweeps.grpc.pb.h"
#include "coordinator/auth/authorizer.h"
#include "coordinator/fleet.h"
#include "coordinator/upload_store.h"

namespace bertfleet::coordinator {

class SweepServiceImpl final : public bertfleet::v1::SweepService::CallbackService {
 public:
  SweepServiceImpl(Fleet* fleet, std::string data_root, std::string checkpoint_root, const Authorizer* authorizer,
                   const UploadStore* uploads)
      : fleet_(fleet),
        data_root_(std::move(data_root)),
        checkpoint_root_(std::move(checkpoint_root)),
        authorizer_(authorizer),
        uploads_(uploads) {}

  grpc::ServerUnaryReactor* CreateSweep(grpc::CallbackServerContext* context,
                                        const bertfleet::v1::CreateSweepRequest* request,
                                        bertfleet::v1::Sweep* response) override;
  grpc::ServerUnaryReactor* GetSweep(grpc::CallbackServerContext* context,
                                     const bertfleet::v1::GetSweepRequest* request,
                                     bertfleet::v1::Sweep* response) override;
  grpc::ServerUnaryReactor* ListSweeps(grpc::CallbackServerContext* context,
                                       const bertfleet::v1::ListSweepsRequest* request,
                                       bertfleet::v1::ListSweepsResponse* response) override;

 private:
  Fleet* fleet_;
  std::string data_root_;
  std::string checkpoint_root_;
  const Authorizer* authorizer_;
  const UploadStore* uploads_;
};

}  // namespace bertfleet::coordinator
