#include "common/model/hub_download.h"

#include <unistd.h>

#include <atomic>
#include <cctype>
#include <random>
#include <utility>
#include <vector>

#include "common/model/hub_cache.h"
#include "common/model/hub_http.h"
#include "common/util/error.h"
#include "common/util/file_io.h"

namespace bertfleet {
namespace {

// Blob and revision names come from response headers and become path components.
bool IsSafePathComponent(const std::string& name) {
  if (name.empty() || name.size() > 128 || name == "." || name == "..") return false;
  for (const char c : name) {
    if (!std::isalnum(static_cast<unsigned char>(c)) && c != '-' && c != '_' && c != '.')
      return false;
  }
  return name.find(".incomplete") == std::string::npos;
}

// Temporary names unique across processes and threads: ranks on one host may fetch the same
// model at the same moment, and each must rename only its own files.
std::string UniqueSuffix() {
  static std::atomic<uint64_t> counter{0};
  static const uint64_t process_random = std::random_device{}();
  return std::to_string(::getpid()) + "." + std::to_string(process_random % 1000000) + "." +
         std::to_string(counter++);
}

std::string FailureHint(long status) {
  if (status == 401 || status == 403) return " (gated or private repository? set HF_TOKEN)";
  if (status == 404) return " (no such repository or file on the hub?)";
  return "";
}

class CacheWriter {
 public:
  CacheWriter(const std::string& repo_id, const std::filesystem::path& cache_root,
              std::string endpoint, std::string token)
      : repo_id_(repo_id),
        repo_dir_(HubRepoCacheDir(cache_root, repo_id)),
        endpoint_(std::move(endpoint)),
        token_(std::move(token)) {
    std::filesystem::create_directories(repo_dir_ / "blobs");
    std::filesystem::create_directories(repo_dir_ / "refs");
  }

  // Returns false for an optional file the repository does not have.
  bool Fetch(const std::string& file, bool required) {
    const std::string url = endpoint_ + "/" + repo_id_ + "/resolve/main/" + file;
    const std::filesystem::path temporary = repo_dir_ / "blobs" / (UniqueSuffix() + ".incomplete");
    const HubHttpResult result = HubHttpGetToFile(url, temporary, token_);
    if (!result.ok) {
      std::error_code ignored;
      std::filesystem::remove(temporary, ignored);
      if (!required && result.status == 404) return false;
      throw Error(url + ": " + result.error + FailureHint(result.status));
    }
    if (revision_.empty() && IsSafePathComponent(result.repo_commit))
      revision_ = result.repo_commit;
    const std::string blob = IsSafePathComponent(result.etag) ? result.etag : result.sha256;
    std::filesystem::rename(temporary, repo_dir_ / "blobs" / blob);
    fetched_.emplace_back(file, blob);
    return true;
  }

  std::filesystem::path Publish() {
    const std::string revision = revision_.empty() ? "main" : revision_;
    const std::filesystem::path snapshot = repo_dir_ / "snapshots" / revision;
    std::filesystem::create_directories(snapshot);
    // config.json last: FindCachedSnapshot and Hugging Face both start from it.
    for (const auto& [file, blob] : fetched_) {
      if (file != "config.json") Link(snapshot, file, blob);
    }
    for (const auto& [file, blob] : fetched_) {
      if (file == "config.json") Link(snapshot, file, blob);
    }
    WriteFileAtomically(repo_dir_ / "refs" / "main", revision);
    return snapshot;
  }

 private:
  void Link(const std::filesystem::path& snapshot, const std::string& file,
            const std::string& blob) {
    const std::filesystem::path temporary =
        snapshot / ("." + file + "." + UniqueSuffix() + ".incomplete");
    std::error_code error;
    std::filesystem::create_symlink(std::filesystem::path("..") / ".." / "blobs" / blob, temporary,
                                    error);
    if (error) std::filesystem::copy_file(repo_dir_ / "blobs" / blob, temporary);
    std::filesystem::rename(temporary, snapshot / file);
  }

  std::string repo_id_;
  std::filesystem::path repo_dir_;
  std::string endpoint_;
  std::string token_;
  std::string revision_;
  std::vector<std::pair<std::string, std::string>> fetched_;  // file, blob
};

}  // namespace

std::filesystem::path DownloadToHubCache(const std::string& repo_id,
                                         const std::filesystem::path& cache_root,
                                         const std::string& endpoint, const std::string& token) {
  try {
    CacheWriter writer(repo_id, cache_root, endpoint, token);
    writer.Fetch("config.json", true);
    writer.Fetch("vocab.txt", true);
    for (const char* optional :
         {"tokenizer.json", "tokenizer_config.json", "special_tokens_map.json"}) {
      writer.Fetch(optional, false);
    }
    if (!writer.Fetch("model.safetensors", false) && !writer.Fetch("pytorch_model.bin", false)) {
      throw Error(endpoint + "/" + repo_id +
                  "/resolve/main/{model.safetensors,pytorch_model.bin}: HTTP 404 "
                  "(the repository has no weights in either format)");
    }
    return writer.Publish();
  } catch (const std::filesystem::filesystem_error& error) {
    throw Error("cannot write the hub cache " + cache_root.string() + ": " + error.what());
  }
}

}  // namespace bertfleet
