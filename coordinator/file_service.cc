#include "coordinator/file_service.h"

#include <fstream>
#include <memory>

#include "coordinator/auth/rejected_reactors.h"
#include "coordinator/checkpoint_files.h"

namespace bertfleet::coordinator {
namespace {

using bertfleet::v1::CheckpointPart;
using bertfleet::v1::FileChunk;
using bertfleet::v1::UploadFileRequest;

constexpr size_t kChunkBytes = 1 << 20;  // what clients send and servers write, at most
constexpr char kUploadFile[] = "bertfleet.v1.FileService/UploadFile";
constexpr char kGetUpload[] = "bertfleet.v1.FileService/GetUpload";
constexpr char kDownloadUpload[] = "bertfleet.v1.FileService/DownloadUpload";
constexpr char kDownloadCheckpoint[] = "bertfleet.v1.FileService/DownloadCheckpoint";

class RejectedReadReactor final : public grpc::ServerReadReactor<UploadFileRequest> {
 public:
  explicit RejectedReadReactor(const grpc::Status& status) { Finish(status); }
  void OnDone() override { delete this; }
};

// Header first, then chunks; the upload is committed when the client half-closes. A cancelled
// or short stream fails Commit's size check, and the Upload's destructor removes its bytes.
class UploadReactor final : public grpc::ServerReadReactor<UploadFileRequest> {
 public:
  UploadReactor(grpc::CallbackServerContext* context, UploadStore* store, std::string owner,
                bertfleet::v1::UploadedFile* response)
      : context_(context), store_(store), owner_(std::move(owner)), response_(response) {
    StartRead(&request_);
  }

  void OnReadDone(bool ok) override {
    if (!ok) {
      if (context_->IsCancelled()) return Finish({grpc::StatusCode::CANCELLED, "upload cancelled"});
      if (!upload_) return Finish({grpc::StatusCode::INVALID_ARGUMENT, "the stream ended before the header"});
      return Finish(upload_->Commit(owner_, response_));
    }
    grpc::Status status;
    if (!upload_) {
      status = request_.has_header()
                   ? store_->Begin(request_.header(), &upload_)
                   : grpc::Status(grpc::StatusCode::INVALID_ARGUMENT, "the first message must be the header");
    } else if (request_.part_case() != UploadFileRequest::kChunk || request_.chunk().size() > kChunkBytes) {
      status = {grpc::StatusCode::INVALID_ARGUMENT, "after the header, only chunks of at most 1 MiB"};
    } else {
      status = upload_->Append(request_.chunk());
    }
    if (!status.ok()) return Finish(status);
    StartRead(&request_);
  }

  void OnDone() override { delete this; }

 private:
  grpc::CallbackServerContext* context_;
  UploadStore* store_;
  std::string owner_;
  bertfleet::v1::UploadedFile* response_;
  UploadFileRequest request_;
  std::unique_ptr<UploadStore::Upload> upload_;
};

// Streams files one after the other, in chunks of at most kChunkBytes; `first` (the manifest)
// goes before any bytes when set.
template <typename Message>
class FilesWriteReactor final : public grpc::ServerWriteReactor<Message> {
 public:
  using SetChunk = void (*)(Message&, std::string&&);
  FilesWriteReactor(std::vector<std::filesystem::path> paths, std::optional<Message> first, SetChunk set_chunk)
      : paths_(std::move(paths)), set_chunk_(set_chunk) {
    if (first) {
      message_ = std::move(*first);
      this->StartWrite(&message_);
    } else {
      Next();
    }
  }

  void OnWriteDone(bool ok) override {
    if (!ok) return this->Finish({grpc::StatusCode::CANCELLED, "download cancelled"});
    Next();
  }
  void OnDone() override { delete this; }

 private:
  void Next() {
    while (true) {
      if (!file_.is_open()) {
        if (next_ == paths_.size()) return this->Finish(grpc::Status::OK);
        file_.open(paths_[next_], std::ios::binary);
        if (!file_) return this->Finish({grpc::StatusCode::DATA_LOSS, "cannot read " + paths_[next_].string()});
        ++next_;
      }
      std::string bytes(kChunkBytes, '\0');
      file_.read(bytes.data(), static_cast<std::streamsize>(bytes.size()));
      bytes.resize(static_cast<size_t>(file_.gcount()));
      if (bytes.empty()) {
        file_.close();
        continue;  // the next file (an empty one sends no chunk)
      }
      message_ = Message();
      set_chunk_(message_, std::move(bytes));
      this->StartWrite(&message_);
      return;
    }
  }

  std::vector<std::filesystem::path> paths_;
  SetChunk set_chunk_;
  size_t next_ = 0;
  std::ifstream file_;
  Message message_;
};

}  // namespace

grpc::ServerReadReactor<UploadFileRequest>* FileServiceImpl::UploadFile(grpc::CallbackServerContext* context,
                                                                        bertfleet::v1::UploadedFile* response) {
  Principal caller;
  const grpc::Status status = authorizer_->Authorize(*context, kUploadFile, {v1::ROLE_ADMIN, v1::ROLE_USER}, &caller);
  if (!status.ok()) return new RejectedReadReactor(status);
  return new UploadReactor(context, uploads_, caller.name, response);
}

grpc::ServerUnaryReactor* FileServiceImpl::GetUpload(grpc::CallbackServerContext* context,
                                                     const bertfleet::v1::GetUploadRequest* request,
                                                     bertfleet::v1::UploadedFile* response) {
  grpc::ServerUnaryReactor* reactor = context->DefaultReactor();
  Principal caller;
  grpc::Status status = authorizer_->Authorize(*context, kGetUpload, {v1::ROLE_ADMIN, v1::ROLE_USER}, &caller);
  if (status.ok()) status = uploads_->Find(caller.name, request->sha256(), request->name(), response);
  reactor->Finish(status);
  return reactor;
}

grpc::ServerWriteReactor<FileChunk>* FileServiceImpl::DownloadUpload(grpc::CallbackServerContext* context,
                                                                     const bertfleet::v1::DownloadUploadRequest* request) {
  Principal caller;
  const grpc::Status status = authorizer_->Authorize(*context, kDownloadUpload, {v1::ROLE_WORKER, v1::ROLE_ADMIN}, &caller);
  if (!status.ok()) return new RejectedWriteReactor<FileChunk>(status);
  if (!uploads_->Has(request->sha256())) {
    return new RejectedWriteReactor<FileChunk>({grpc::StatusCode::NOT_FOUND, "no upload " + request->sha256()});
  }
  return new FilesWriteReactor<FileChunk>({uploads_->ContentPath(request->sha256())}, std::nullopt,
                                          [](FileChunk& chunk, std::string&& bytes) { chunk.set_data(std::move(bytes)); });
}

grpc::ServerWriteReactor<CheckpointPart>* FileServiceImpl::DownloadCheckpoint(
    grpc::CallbackServerContext* context, const bertfleet::v1::DownloadCheckpointRequest* request) {
  Principal caller;
  grpc::Status status = authorizer_->Authorize(*context, kDownloadCheckpoint, {v1::ROLE_ADMIN, v1::ROLE_USER}, &caller);
  v1::Job job;
  if (status.ok()) status = fleet_->Get(request->job_id(), &job);
  if (status.ok()) status = authorizer_->AuthorizeJob(caller, kDownloadCheckpoint, job);
  CheckpointFiles files;
  if (status.ok()) status = FindCheckpointFiles(job, request->checkpoint(), &files);
  if (!status.ok()) return new RejectedWriteReactor<CheckpointPart>(status);
  CheckpointPart manifest;
  *manifest.mutable_manifest() = files.manifest;
  return new FilesWriteReactor<CheckpointPart>(
      std::move(files.paths), std::move(manifest),
      [](CheckpointPart& part, std::string&& bytes) { part.set_chunk(std::move(bytes)); });
}

}  // namespace bertfleet::coordinator
