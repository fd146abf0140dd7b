// FetchUploads (declared in agent_commands.h, the one agent header the training child includes).
#include "worker/agent/agent_commands.h"

#include <fstream>
#include <random>

#include <grpcpp/grpcpp.h>

#include "bertfleet/v1/files.grpc.pb.h"
#include "client/channel_credentials.h"
#include "client/connection_settings.h"
#include "common/cli/arg_parser.h"
#include "common/data/mrpc_download.h"
#include "common/data/sha256.h"
#include "common/data/upload_reference.h"
#include "common/util/error.h"

namespace bertfleet {

namespace fs = std::filesystem;

namespace {

void Download(v1::FileService::Stub& stub, const UploadReference& reference, const fs::path& target) {
  fs::create_directories(target.parent_path());
  std::random_device random;
  const fs::path partial = target.string() + ".part-" + std::to_string(random());
  grpc::ClientContext context;
  context.set_deadline(std::chrono::system_clock::now() + std::chrono::minutes(30));
  v1::DownloadUploadRequest request;
  request.set_sha256(reference.sha256);
  auto reader = stub.DownloadUpload(&context, request);
  Sha256 digest;
  {
    std::ofstream out(partial, std::ios::binary);
    v1::FileChunk chunk;
    while (reader->Read(&chunk)) {
      digest.Update(chunk.data());
      out.write(chunk.data().data(), static_cast<std::streamsize>(chunk.data().size()));
    }
    if (!out) {
      fs::remove(partial);
      throw Error(partial.string() + ": cannot write");
    }
  }
  const grpc::Status status = reader->Finish();
  if (!status.ok()) {
    fs::remove(partial);
    throw Error("cannot fetch upload " + reference.sha256 + " from the coordinator: " + status.error_message());
  }
  if (const std::string actual = digest.HexDigest(); actual != reference.sha256) {
    fs::remove(partial);
    throw Error("upload " + reference.sha256 + " arrived with sha256 " + actual + ": refusing it");
  }
  fs::rename(partial, target);
}

}  // namespace

namespace {

bool HasUploads(const JobSpec& spec) {
  for (const auto& [key, value] : OwnFileKeys(spec)) {
    if (ParseUploadReference(*value)) return true;
  }
  return false;
}

}  // namespace

void FetchUploads(JobSpec& spec, const fs::path& cache_dir, const std::function<void(const std::string&)>& log) {
  if (!HasUploads(spec)) return;
  ArgParser parser("run-assignment");
  parser.Value("coordinator", "");
  client::AddConnectionFlags(parser);
  parser.Parse({});
  const client::ConnectionSettings settings = client::LoadConnectionSettings(parser, "");
  if (settings.coordinator.empty()) {
    throw Error("the job's files are uploads, but this process does not know the coordinator (BERTFLEET_COORDINATOR)");
  }
  auto stub = v1::FileService::NewStub(grpc::CreateChannel(settings.coordinator, client::MakeChannelCredentials(settings)));
  for (const auto& [key, value] : OwnFileKeys(spec)) {
    const std::optional<UploadReference> reference = ParseUploadReference(*value);
    if (!reference) continue;
    const fs::path target = cache_dir / "uploads" / reference->sha256 / reference->name;
    if (fs::exists(target) && Sha256OfFile(target) == reference->sha256) {
      if (log) log(std::string(key) + ": " + reference->name + " from the cache (" + target.string() + ")");
    } else {
      try {
        Download(*stub, *reference, target);
      } catch (const Error& error) {
        throw Error(std::string(key) + ": " + error.what());
      }
      if (log) log(std::string(key) + ": fetched " + reference->name + " (" + std::to_string(fs::file_size(target)) +
                   " bytes) from the coordinator");
    }
    *value = target.string();
  }
}

}  // namespace bertfleet
