// Download policy for the MRPC source files: keep what verifies, resume what was cut off,
// never leave a file with the final name unless its sha256 matched.
#include "common/data/mrpc_download.h"

#include <fcntl.h>
#include <sys/file.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>

#include "common/data/http_fetch.h"
#include "common/data/mrpc_files.h"
#include "common/util/error.h"

namespace bertfleet {
namespace {

// Several workers on one host may share a cache; an exclusive lock on the directory itself
// keeps them from writing the same .part file at once (and leaves no lock file behind).
class DirectoryLock {
 public:
  explicit DirectoryLock(const std::filesystem::path& dir)
      : fd_(::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC)) {
    if (fd_ < 0) throw Error(dir.string() + ": cannot open: " + std::strerror(errno));
    while (::flock(fd_, LOCK_EX) != 0) {
      if (errno != EINTR) {
        const std::string reason = std::strerror(errno);
        ::close(fd_);
        throw Error(dir.string() + ": cannot lock: " + reason);
      }
    }
  }
  ~DirectoryLock() { ::close(fd_); }  // closing releases the flock
  DirectoryLock(const DirectoryLock&) = delete;
  DirectoryLock& operator=(const DirectoryLock&) = delete;

 private:
  int fd_;
};

std::string WithoutTrailingSlashes(std::string url) {
  while (!url.empty() && url.back() == '/') url.pop_back();
  return url;
}

int64_t SizeOrZero(const std::filesystem::path& path) {
  std::error_code error;
  const auto size = std::filesystem::file_size(path, error);
  return error ? 0 : static_cast<int64_t>(size);
}

// Fetches `file` into `part`, continuing an existing partial download. A server that cannot
// continue it gets one fresh attempt from byte 0.
void FetchPart(const RemoteFile& file, const std::filesystem::path& part) {
  for (int attempt = 0; attempt < 2; ++attempt) {
    const int64_t offset = SizeOrZero(part);
    if (offset == 0) std::filesystem::remove(part);
    const FetchResult result = FetchToFile(file.url, part, offset);
    if (result.ok) return;
    if (result.range_unusable && attempt == 0) {
      std::filesystem::remove(part);
      continue;
    }
    throw Error("cannot download " + file.url + ": " + result.message +
                (SizeOrZero(part) > 0
                     ? " (partial data kept in " + part.string() + "; the next run resumes it)"
                     : ""));
  }
}

void EnsureFile(const RemoteFile& file, const std::filesystem::path& cache_dir) {
  const std::filesystem::path target = cache_dir / file.name;
  const std::filesystem::path part = cache_dir / (file.name + ".part");
  if (std::filesystem::is_regular_file(target)) {
    if (Sha256OfFile(target) == file.sha256) return;
    std::filesystem::remove(target);  // stale or damaged: fetch it again rather than trust it
  }
  // A crash between the last byte and the rename leaves a complete .part: no request needed.
  const bool resuming = SizeOrZero(part) > 0;
  if (resuming && Sha256OfFile(part) == file.sha256) {
    std::filesystem::rename(part, target);
    return;
  }
  FetchPart(file, part);
  std::string actual = Sha256OfFile(part);
  if (actual != file.sha256 && resuming) {
    // The kept prefix may be what is wrong (a different upstream version, a damaged disk):
    // one clean download decides before reporting a mismatch.
    std::filesystem::remove(part);
    FetchPart(file, part);
    actual = Sha256OfFile(part);
  }
  if (actual != file.sha256) {
    std::filesystem::remove(part);
    throw Error(file.name + ": sha256 mismatch for " + file.url + ": expected " + file.sha256 +
                ", got " + actual + " (download deleted)");
  }
  std::filesystem::rename(part, target);
}

}  // namespace

std::vector<RemoteFile> MrpcRemoteFiles(const std::string& base_url_override) {
  // URLs and checksums of datasets/glue (glue.py _MRPC_DEV_IDS/_MRPC_TRAIN/_MRPC_TEST and the
  // download_checksums recorded in its dataset_infos.json), in the builder's download order.
  std::vector<RemoteFile> files = {
      {kMrpcDevIdsFile, "https://dl.fbaipublicfiles.com/glue/data/mrpc_dev_ids.tsv",
       "971d7767d81b997fd9060ade0ec23c4fc31cbb226a55d1bd4a1bac474eb81dc7"},
      {kMrpcTrainFile,
       "https://dl.fbaipublicfiles.com/senteval/senteval_data/msr_paraphrase_train.txt",
       "60a9b09084528f0673eedee2b69cb941920f0b8cd0eeccefc464a98768457f89"},
      {kMrpcTestFile,
       "https://dl.fbaipublicfiles.com/senteval/senteval_data/msr_paraphrase_test.txt",
       "a04e271090879aaba6423d65b94950c089298587d9c084bf9cd7439bd785f784"},
  };
  std::string base = base_url_override;
  if (base.empty()) {
    const char* from_env = std::getenv("BERTFLEET_MRPC_BASE_URL");
    if (from_env) base = from_env;
  }
  if (!base.empty()) {
    base = WithoutTrailingSlashes(base);
    for (RemoteFile& file : files) file.url = base + "/" + file.name;
  }
  return files;
}

void DownloadVerified(const std::vector<RemoteFile>& files,
                      const std::filesystem::path& cache_dir) {
  std::error_code error;
  std::filesystem::create_directories(cache_dir, error);
  if (error) throw Error(cache_dir.string() + ": cannot create directory: " + error.message());
  const DirectoryLock lock(cache_dir);
  for (const RemoteFile& file : files) EnsureFile(file, cache_dir);
}

}  // namespace bertfleet
