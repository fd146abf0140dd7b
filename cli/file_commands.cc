#include "cli/file_commands.h"

#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <iostream>

#include "cli/format.h"
#include "cli/retry.h"
#include "common/config/job_spec.h"
#include "common/data/mrpc_download.h"
#include "common/data/sha256.h"
#include "common/data/task_data.h"
#include "common/data/upload_reference.h"
#include "common/util/error.h"

namespace bertfleet::cli {

namespace fs = std::filesystem;

namespace {

constexpr size_t kChunkBytes = 1 << 20;  // FileService's largest chunk

std::string Short(const std::string& sha256) { return sha256.substr(0, 12); }

// The reference of `path` on the coordinator, uploading it unless the caller's copy is there.
std::string Upload(CliContext& cli, const fs::path& path) {
  const std::string name = path.filename().string();
  const std::string sha256 = Sha256OfFile(path);
  const int64_t size = static_cast<int64_t>(fs::file_size(path));
  v1::GetUploadRequest get;
  get.set_sha256(sha256);
  get.set_name(name);
  v1::UploadedFile found;
  grpc::Status status = WithRetries([&] {
    auto context = NewContext(30);
    return cli.files->GetUpload(context.get(), get, &found);
  });
  if (status.ok()) {
    std::cerr << name << ": already uploaded (sha256 " << Short(sha256) << "...)\n";
    return found.reference();
  }
  if (status.error_code() != grpc::StatusCode::NOT_FOUND) throw Error(name + ": " + StatusLine(status));
  v1::UploadedFile uploaded;
  status = WithRetries([&] {
    auto context = NewContext(0);
    auto writer = cli.files->UploadFile(context.get(), &uploaded);
    v1::UploadFileRequest header;
    header.mutable_header()->set_name(name);
    header.mutable_header()->set_size(size);
    header.mutable_header()->set_sha256(sha256);
    bool open = writer->Write(header);
    std::ifstream in(path, std::ios::binary);
    std::string bytes(kChunkBytes, '\0');
    while (open && in) {
      in.read(bytes.data(), static_cast<std::streamsize>(bytes.size()));
      if (in.gcount() == 0) break;
      v1::UploadFileRequest chunk;
      chunk.set_chunk(bytes.data(), static_cast<size_t>(in.gcount()));
      open = writer->Write(chunk);
    }
    if (open) writer->WritesDone();
    return writer->Finish();  // a refusal mid-stream (too large) ends the writes early
  });
  if (!status.ok()) throw Error(name + ": upload refused: " + StatusLine(status));
  std::cerr << name << ": uploaded " << size << " bytes (sha256 " << Short(sha256) << "...)\n";
  return uploaded.reference();
}

}  // namespace

std::string UploadLocalFiles(CliContext& cli, const std::string& spec_yaml) {
  YAML::Node root;
  try {
    root = YAML::Load(spec_yaml);
  } catch (const YAML::Exception&) {
    return spec_yaml;  // the coordinator names the malformed YAML
  }
  if (!root.IsMap()) return spec_yaml;
  std::vector<std::string> local;
  const JobSpec keys_only;  // the own-file key names; the values are read from the YAML
  for (const auto& [key, unused] : OwnFileKeys(keys_only)) {
    const YAML::Node value = root[key];
    if (!value || !value.IsScalar()) continue;
    const std::string path = value.Scalar();
    if (path.rfind("sha256:", 0) != 0 && fs::is_regular_file(path)) local.push_back(key);
  }
  if (local.empty()) return spec_yaml;
  // The worker's checks, here and now: a bad row is reported before anything is sent.
  const JobSpec spec = ParseJobSpec(spec_yaml, "job spec");
  if (std::count(local.begin(), local.end(), std::string("train_file"))) {
    LoadJobData(spec, "", "", {});
    if (!spec.test_file.empty() && fs::is_regular_file(spec.test_file)) LoadPredictData(spec, "", "", {});
  }
  for (const std::string& key : local) root[key] = Upload(cli, root[key].Scalar());
  YAML::Emitter out;
  out << root;
  return std::string(out.c_str()) + "\n";
}

int DownloadCommand(CliContext& cli, const std::string& job_id, const std::string& checkpoint, const std::string& to) {
  if (to.empty()) throw Error("download: --to DIR is required");
  v1::DownloadCheckpointRequest request;
  request.set_job_id(job_id);
  request.set_checkpoint(checkpoint);
  auto context = NewContext(0);
  auto reader = cli.files->DownloadCheckpoint(context.get(), request);
  v1::CheckpointPart part;
  v1::CheckpointManifest manifest;
  if (reader->Read(&part) && part.has_manifest()) manifest = part.manifest();
  size_t index = 0;
  int64_t written = 0;
  int64_t total = 0;
  std::unique_ptr<std::ofstream> out;
  std::unique_ptr<Sha256> digest;
  fs::path partial;
  std::vector<fs::path> partials;
  auto fail = [&](const std::string& message) {
    out.reset();
    for (const fs::path& path : partials) fs::remove(path);
    context->TryCancel();
    throw Error(message);
  };
  // Opens the next file of the manifest (empty files are complete at once).
  auto finish_file = [&]() {
    const v1::ManifestFile& file = manifest.files(static_cast<int>(index));
    out.reset();
    const std::string actual = digest->HexDigest();
    if (actual != file.sha256()) fail(file.name() + ": sha256 " + actual + " does not match the manifest's " + file.sha256());
    fs::rename(partial, fs::path(to) / file.name());
    partials.pop_back();
    ++index;
  };
  auto open_file = [&]() {
    while (index < static_cast<size_t>(manifest.files_size())) {
      const v1::ManifestFile& file = manifest.files(static_cast<int>(index));
      if (!IsUploadName(file.name())) fail("the manifest names a file outside the directory: " + file.name());
      partial = fs::path(to) / ("." + file.name() + ".part");
      partials.push_back(partial);
      out = std::make_unique<std::ofstream>(partial, std::ios::binary);
      digest = std::make_unique<Sha256>();
      written = 0;
      if (file.size() > 0) return;
      finish_file();
    }
  };
  if (manifest.files_size() > 0) {
    fs::create_directories(to);
    open_file();
  }
  while (reader->Read(&part)) {
    if (part.part_case() != v1::CheckpointPart::kChunk || index >= static_cast<size_t>(manifest.files_size())) {
      fail("the coordinator sent more than its manifest lists");
    }
    const v1::ManifestFile& file = manifest.files(static_cast<int>(index));
    written += static_cast<int64_t>(part.chunk().size());
    total += static_cast<int64_t>(part.chunk().size());
    if (written > file.size()) fail(file.name() + ": more bytes than the manifest's " + std::to_string(file.size()));
    out->write(part.chunk().data(), static_cast<std::streamsize>(part.chunk().size()));
    digest->Update(part.chunk());
    if (written == file.size()) {
      finish_file();
      open_file();
    }
  }
  const grpc::Status status = reader->Finish();
  if (!status.ok()) {
    out.reset();
    for (const fs::path& path : partials) fs::remove(path);
    std::cerr << "bertfleet: " << StatusLine(status) << "\n";
    return 1;
  }
  if (manifest.files_size() == 0 || index != static_cast<size_t>(manifest.files_size())) {
    fail("the download ended after " + std::to_string(index) + " of " + std::to_string(manifest.files_size()) + " files");
  }
  std::cout << "downloaded " << manifest.checkpoint() << " of " << job_id << ": " << manifest.files_size() << " files, "
            << total << " bytes, sha256 checked, in " << to << "\n";
  return 0;
}

}  // namespace bertfleet::cli
