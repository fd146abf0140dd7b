#pragma once
// Uploaded files, stored once by content: <dir>/<sha256> holds the bytes, and
// <dir>/owners/<sha256>/<owner, hex-encoded> records who uploaded them, so a user's job may use
// only what that user sent (knowing a digest is not having the file). An upload in progress
// writes a private temporary file that becomes visible only once its size and sha256 match the
// header (an atomic rename); one that fails or is abandoned leaves nothing behind.
#include <cstdint>
#include <filesystem>
#include <memory>
#include <string>

#include <grpcpp/support/status.h>

#include "bertfleet/v1/files.pb.h"
#include "common/data/sha256.h"

namespace bertfleet::coordinator {

class UploadStore {
 public:
  // Creates `dir` and drops temporary files a crashed coordinator left there.
  UploadStore(std::filesystem::path dir, int64_t max_upload_bytes);

  class Upload {
   public:
    ~Upload();  // removes the temporary file unless committed
    // RESOURCE_EXHAUSTED past the header's size or the limit.
    grpc::Status Append(std::string_view bytes);
    // Checks size and sha256, then makes the bytes visible and records `owner`.
    grpc::Status Commit(const std::string& owner, bertfleet::v1::UploadedFile* uploaded);

   private:
    friend class UploadStore;
    Upload(UploadStore* store, bertfleet::v1::UploadHeader header, std::filesystem::path temporary);
    UploadStore* store_;
    bertfleet::v1::UploadHeader header_;
    std::filesystem::path temporary_;
    std::FILE* file_ = nullptr;
    int64_t received_ = 0;
    Sha256 digest_;
    bool committed_ = false;
  };

  // Validates the header (name, size against max_upload_bytes, sha256); `upload` is set on OK.
  grpc::Status Begin(const bertfleet::v1::UploadHeader& header, std::unique_ptr<Upload>* upload);
  // The caller's upload of `sha256` (NOT_FOUND when `owner` never uploaded it).
  grpc::Status Find(const std::string& owner, const std::string& sha256, const std::string& name,
                    bertfleet::v1::UploadedFile* found) const;
  bool Owns(const std::string& owner, const std::string& sha256) const;
  bool Has(const std::string& sha256) const;
  std::filesystem::path ContentPath(const std::string& sha256) const { return dir_ / sha256; }
  int64_t max_upload_bytes() const { return max_upload_bytes_; }

 private:
  std::filesystem::path OwnerMarker(const std::string& owner, const std::string& sha256) const;

  std::filesystem::path dir_;
  int64_t max_upload_bytes_;
};

// "sha256:HEX/NAME" for an uploaded file.
std::string ReferenceOf(const std::string& sha256, const std::string& name);

}  // namespace bertfleet::coordinator
