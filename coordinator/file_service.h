#pragma once
// FileService over the callback API (proto/bertfleet/v1/files.proto): one reactor per RPC.
// Uploads stream into the UploadStore; downloads stream an upload to a worker, or a job's model
// or checkpoint to its owner. Every call is first checked by the Authorizer: uploads and model
// downloads for admins and users (users on their own jobs), upload bytes for workers.
#include "bertfleet/v1/files.grpc.pb.h"
#include "coordinator/auth/authorizer.h"
#include "coordinator/fleet.h"
#include "coordinator/upload_store.h"

namespace bertfleet::coordinator {

class FileServiceImpl final : public bertfleet::v1::FileService::CallbackService {
 public:
  FileServiceImpl(Fleet* fleet, UploadStore* uploads, const Authorizer* authorizer)
      : fleet_(fleet), uploads_(uploads), authorizer_(authorizer) {}

  grpc::ServerReadReactor<bertfleet::v1::UploadFileRequest>* UploadFile(
      grpc::CallbackServerContext* context, bertfleet::v1::UploadedFile* response) override;
  grpc::ServerUnaryReactor* GetUpload(grpc::CallbackServerContext* context,
                                      const bertfleet::v1::GetUploadRequest* request,
                                      bertfleet::v1::UploadedFile* response) override;
  grpc::ServerWriteReactor<bertfleet::v1::FileChunk>* DownloadUpload(
      grpc::CallbackServerContext* context, const bertfleet::v1::DownloadUploadRequest* request) override;
  grpc::ServerWriteReactor<bertfleet::v1::CheckpointPart>* DownloadCheckpoint(
      grpc::CallbackServerContext* context, const bertfleet::v1::DownloadCheckpointRequest* request) override;

 private:
  Fleet* fleet_;
  UploadStore* uploads_;
  const Authorizer* authorizer_;
};

}  // namespace bertfleet::coordinator
