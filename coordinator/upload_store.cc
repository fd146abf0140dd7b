#include "coordinator/upload_store.h"

#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <random>

#include "common/data/upload_reference.h"
#include "common/util/error.h"

namespace bertfleet::coordinator {

namespace fs = std::filesystem;

namespace {

constexpr char kTemporaryPrefix[] = ".incoming-";

std::string Hex(const std::string& text) {
  static constexpr char kHex[] = "0123456789abcdef";
  std::string hex;
  for (const unsigned char c : text) {
    hex += kHex[c >> 4];
    hex += kHex[c & 15];
  }
  return hex;
}

grpc::Status Invalid(const std::string& message) { return {grpc::StatusCode::INVALID_ARGUMENT, message}; }

void Describe(const bertfleet::v1::UploadHeader& header, bool reused, bertfleet::v1::UploadedFile* uploaded) {
  uploaded->set_sha256(header.sha256());
  uploaded->set_size(header.size());
  uploaded->set_name(header.name());
  uploaded->set_reference(ReferenceOf(header.sha256(), header.name()));
  uploaded->set_reused(reused);
}

}  // namespace

std::string ReferenceOf(const std::string& sha256, const std::string& name) {
  return UploadReferenceText({sha256, name});
}

UploadStore::UploadStore(fs::path dir, int64_t max_upload_bytes)
    : dir_(std::move(dir)), max_upload_bytes_(max_upload_bytes) {
  fs::create_directories(dir_ / "owners");
  for (const auto& entry : fs::directory_iterator(dir_)) {
    if (entry.path().filename().string().rfind(kTemporaryPrefix, 0) == 0) fs::remove(entry.path());
  }
}

fs::path UploadStore::OwnerMarker(const std::string& owner, const std::string& sha256) const {
  return dir_ / "owners" / sha256 / (Hex(owner.empty() ? "-" : owner));
}

bool UploadStore::Has(const std::string& sha256) const { return IsSha256Hex(sha256) && fs::exists(ContentPath(sha256)); }

bool UploadStore::Owns(const std::string& owner, const std::string& sha256) const {
  return Has(sha256) && fs::exists(OwnerMarker(owner, sha256));
}

grpc::Status UploadStore::Begin(const bertfleet::v1::UploadHeader& header, std::unique_ptr<Upload>* upload) {
  if (!IsUploadName(header.name())) {
    return Invalid("header: name must be a file name without folders (got '" + header.name() + "')");
  }
  if (!IsSha256Hex(header.sha256())) return Invalid("header: sha256 must be 64 lowercase hex digits");
  if (header.size() < 0) return Invalid("header: size must not be negative");
  if (header.size() > max_upload_bytes_) {
    return {grpc::StatusCode::RESOURCE_EXHAUSTED,
            header.name() + " has " + std::to_string(header.size()) + " bytes; this coordinator takes files of at most " +
                std::to_string(max_upload_bytes_) + " bytes (its max_upload_bytes setting)"};
  }
  std::random_device random;
  const fs::path temporary = dir_ / (kTemporaryPrefix + std::to_string(random()) + std::to_string(random()));
  upload->reset(new Upload(this, header, temporary));
  if (!(*upload)->file_) {
    upload->reset();
    return {grpc::StatusCode::INTERNAL, "cannot create an upload file in " + dir_.string() + ": " + std::strerror(errno)};
  }
  return grpc::Status::OK;
}

grpc::Status UploadStore::Find(const std::string& owner, const std::string& sha256, const std::string& name,
                               bertfleet::v1::UploadedFile* found) const {
  if (!IsSha256Hex(sha256)) return Invalid("sha256 must be 64 lowercase hex digits");
  if (!Owns(owner, sha256)) return {grpc::StatusCode::NOT_FOUND, "no upload " + sha256 + " of " + owner};
  bertfleet::v1::UploadHeader header;
  header.set_sha256(sha256);
  header.set_name(IsUploadName(name) ? name : "file");
  header.set_size(static_cast<int64_t>(fs::file_size(ContentPath(sha256))));
  Describe(header, true, found);
  return grpc::Status::OK;
}

UploadStore::Upload::Upload(UploadStore* store, bertfleet::v1::UploadHeader header, fs::path temporary)
    : store_(store), header_(std::move(header)), temporary_(std::move(temporary)) {
  file_ = std::fopen(temporary_.c_str(), "wbx");
}

UploadStore::Upload::~Upload() {
  if (file_) std::fclose(file_);
  if (!committed_) {
    std::error_code ignored;
    fs::remove(temporary_, ignored);
  }
}

grpc::Status UploadStore::Upload::Append(std::string_view bytes) {
  if (received_ + static_cast<int64_t>(bytes.size()) > header_.size()) {
    return Invalid(header_.name() + ": more bytes than the header's size " + std::to_string(header_.size()));
  }
  if (std::fwrite(bytes.data(), 1, bytes.size(), file_) != bytes.size()) {
    return {grpc::StatusCode::INTERNAL, "cannot write the upload of " + header_.name() + ": " + std::strerror(errno)};
  }
  digest_.Update(bytes);
  received_ += static_cast<int64_t>(bytes.size());
  return grpc::Status::OK;
}

grpc::Status UploadStore::Upload::Commit(const std::string& owner, bertfleet::v1::UploadedFile* uploaded) {
  if (received_ != header_.size()) {
    return Invalid(header_.name() + ": the upload ended after " + std::to_string(received_) + " of " +
                   std::to_string(header_.size()) + " bytes");
  }
  const std::string actual = digest_.HexDigest();
  if (actual != header_.sha256()) {
    return Invalid(header_.name() + ": the bytes' sha256 is " + actual + ", not the header's " + header_.sha256());
  }
  const bool flushed = std::fflush(file_) == 0 && ::fsync(::fileno(file_)) == 0;
  std::fclose(file_);
  file_ = nullptr;
  if (!flushed) return {grpc::StatusCode::INTERNAL, "cannot write the upload of " + header_.name()};
  const fs::path content = store_->ContentPath(header_.sha256());
  const bool reused = fs::exists(content);
  std::error_code error;
  if (!reused) {
    fs::rename(temporary_, content, error);  // atomic: a job sees all the bytes or none
    if (error) return {grpc::StatusCode::INTERNAL, "cannot store the upload: " + error.message()};
    committed_ = true;
  }
  const fs::path marker = store_->OwnerMarker(owner, header_.sha256());
  fs::create_directories(marker.parent_path(), error);
  std::ofstream(marker) << owner << "\n";
  Describe(header_, reused, uploaded);
  return grpc::Status::OK;
}

}  // namespace bertfleet::coordinator
