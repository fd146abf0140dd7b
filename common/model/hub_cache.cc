#include "common/model/hub_cache.h"

#include <cctype>
#include <cstdlib>

#include "common/util/file_io.h"

namespace bertfleet {
namespace {

std::string Env(const char* name) {
  const char* value = std::getenv(name);
  return value ? value : "";
}

bool IsValidNamePart(const std::string& part) {
  if (part.empty()) return false;
  for (const char c : part) {
    if (!std::isalnum(static_cast<unsigned char>(c)) && c != '-' && c != '_' && c != '.')
      return false;
  }
  const char first = part.front(), last = part.back();
  return first != '-' && first != '.' && last != '-' && last != '.';
}

std::string Trim(const std::string& text) {
  const size_t begin = text.find_first_not_of(" \t\r\n");
  if (begin == std::string::npos) return "";
  return text.substr(begin, text.find_last_not_of(" \t\r\n") - begin + 1);
}

}  // namespace

std::filesystem::path HubCacheRoot() {
  // The same precedence as huggingface_hub.constants.
  if (const std::string cache = Env("HF_HUB_CACHE"); !cache.empty()) return cache;
  if (const std::string cache = Env("HUGGINGFACE_HUB_CACHE"); !cache.empty()) return cache;
  if (const std::string home = Env("HF_HOME"); !home.empty())
    return std::filesystem::path(home) / "hub";
  if (const std::string xdg = Env("XDG_CACHE_HOME"); !xdg.empty()) {
    return std::filesystem::path(xdg) / "huggingface" / "hub";
  }
  return std::filesystem::path(Env("HOME")) / ".cache" / "huggingface" / "hub";
}

std::filesystem::path HubRepoCacheDir(const std::filesystem::path& cache_root,
                                      const std::string& repo_id) {
  std::string folder = "models--";
  for (const char c : repo_id) {
    if (c == '/') {
      folder += "--";
    } else {
      folder += c;
    }
  }
  return cache_root / folder;
}

std::optional<std::filesystem::path> FindCachedSnapshot(const std::filesystem::path& repo_dir,
                                                        std::string* why_not) {
  std::error_code error;
  const std::filesystem::path ref = repo_dir / "refs" / "main";
  if (!std::filesystem::is_regular_file(ref, error)) {
    *why_not = "not cached (no refs/main)";
    return std::nullopt;
  }
  std::string revision;
  try {
    revision = Trim(ReadFileToString(ref));
  } catch (const std::exception& read_error) {
    *why_not = read_error.what();
    return std::nullopt;
  }
  if (revision.empty() || revision.find('/') != std::string::npos || revision == "." ||
      revision == "..") {
    *why_not = "refs/main holds no usable revision";
    return std::nullopt;
  }
  const std::filesystem::path snapshot = repo_dir / "snapshots" / revision;
  const std::string missing = MissingModelFiles(snapshot);
  if (!missing.empty()) {
    *why_not = "snapshot " + revision + " incomplete (" + missing + ")";
    return std::nullopt;
  }
  return snapshot;
}

std::string MissingModelFiles(const std::filesystem::path& dir) {
  std::error_code error;
  // exists() follows the snapshot symlinks, so a link to a missing blob counts as missing.
  const auto has = [&](const char* name) { return std::filesystem::exists(dir / name, error); };
  if (!std::filesystem::is_directory(dir, error)) return "no such directory";
  std::string missing;
  const auto add = [&missing](const std::string& what) {
    missing += (missing.empty() ? "no " : ", no ") + what;
  };
  if (!has("config.json")) add("config.json");
  if (!has("vocab.txt") && !has("tokenizer.json")) add("vocab.txt or tokenizer.json");
  if (!has("model.safetensors") && !has("pytorch_model.bin"))
    add("model.safetensors or pytorch_model.bin");
  return missing;
}

bool IsValidHubRepoId(const std::string& repo_id) {
  if (repo_id.empty() || repo_id.size() > 96) return false;
  if (repo_id.find("--") != std::string::npos || repo_id.find("..") != std::string::npos)
    return false;
  const size_t slash = repo_id.find('/');
  if (slash == std::string::npos) return IsValidNamePart(repo_id);
  return IsValidNamePart(repo_id.substr(0, slash)) && IsValidNamePart(repo_id.substr(slash + 1));
}

}  // namespace bertfleet
