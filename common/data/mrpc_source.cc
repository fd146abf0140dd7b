// Resolves a --source argument to MRPC rows: prepared TSVs win over raw files so a directory
// like ../shared/data/mrpc (which has both) is read as is, without rebuilding the split.
#include <pwd.h>
#include <unistd.h>

#include <cstdlib>

#include "common/data/mrpc_dataset.h"
#include "common/data/mrpc_download.h"
#include "common/data/mrpc_files.h"
#include "common/util/error.h"

namespace bertfleet {
namespace {

std::vector<SentencePair> PickSplit(MrpcSplits splits, const std::string& split) {
  if (split == "train") return std::move(splits.train);
  if (split == "validation") return std::move(splits.validation);
  return std::move(splits.test);
}

bool HasRawFiles(const std::filesystem::path& dir) {
  for (const char* name : {kMrpcTrainFile, kMrpcDevIdsFile, kMrpcTestFile}) {
    if (!std::filesystem::is_regular_file(dir / name)) return false;
  }
  return true;
}

std::string EnvOrEmpty(const char* name) {
  const char* value = std::getenv(name);
  return value ? value : "";
}

}  // namespace

std::vector<SentencePair> LoadMrpcSplit(const std::string& source, const std::string& split,
                                        const std::filesystem::path& cache_dir) {
  if (split != "train" && split != "validation" && split != "test") {
    throw Error("unknown MRPC split '" + split + "' (expected train, validation or test)");
  }
  if (source == "download") {
    const std::filesystem::path raw_dir =
        (cache_dir.empty() ? DefaultCacheDir() : cache_dir) / "mrpc-raw";
    DownloadVerified(MrpcRemoteFiles(), raw_dir);
    return PickSplit(BuildMrpcFromRawFiles(raw_dir), split);
  }
  const std::filesystem::path dir(source);
  if (!std::filesystem::is_directory(dir)) {
    throw Error("MRPC source '" + source + "' is neither a directory nor the word 'download'");
  }
  if (std::filesystem::is_regular_file(dir / (split + ".tsv")))
    return ReadGlueTsv(dir / (split + ".tsv"));
  if (HasRawFiles(dir)) return PickSplit(BuildMrpcFromRawFiles(dir), split);
  throw Error("MRPC source '" + source + "' has neither " + split + ".tsv nor the raw files " +
              kMrpcTrainFile + ", " + kMrpcDevIdsFile + ", " + kMrpcTestFile +
              " (use --source download to fetch them)");
}

std::filesystem::path DefaultCacheDir() {
  if (const std::string dir = EnvOrEmpty("BERTFLEET_CACHE"); !dir.empty()) return dir;
  if (const std::string xdg = EnvOrEmpty("XDG_CACHE_HOME"); !xdg.empty()) {
    return std::filesystem::path(xdg) / "bertfleet";
  }
  std::string home = EnvOrEmpty("HOME");
  if (home.empty()) {
    // Services started without a login environment still have a passwd entry.
    if (const passwd* entry = ::getpwuid(::getuid()); entry && entry->pw_dir) home = entry->pw_dir;
  }
  if (home.empty()) throw Error("no cache directory: set BERTFLEET_CACHE, XDG_CACHE_HOME or HOME");
  return std::filesystem::path(home) / ".cache" / "bertfleet";
}

void DescribeMrpcSourceEnv(ArgParser& parser) {
  parser.Env("BERTFLEET_CACHE", "download cache for data: download (default $XDG_CACHE_HOME/bertfleet or ~/.cache/bertfleet)")
      .Env("BERTFLEET_MRPC_BASE_URL", "mirror of the MRPC source files (each still checked against its pinned sha256)");
}

}  // namespace bertfleet
