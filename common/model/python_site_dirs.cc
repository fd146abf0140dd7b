#include "common/model/python_site_dirs.h"

#include <algorithm>
#include <cstdlib>
#include <set>
#include <string>

namespace bertfleet {
namespace {

std::string Env(const char* name) {
  const char* value = std::getenv(name);
  return value ? value : "";
}

// "python3.11" -> 11; -1 for names that are not python3.N.
int MinorVersion(const std::string& name) {
  const std::string prefix = "python3.";
  if (name.rfind(prefix, 0) != 0 || name.size() == prefix.size()) return -1;
  int minor = 0;
  for (size_t i = prefix.size(); i < name.size(); ++i) {
    if (name[i] < '0' || name[i] > '9' || minor > 1000) return -1;
    minor = minor * 10 + (name[i] - '0');
  }
  return minor;
}

// <lib_dir>/python3.N/<leaf> for every N, newest first.
std::vector<std::filesystem::path> VersionedDirs(const std::filesystem::path& lib_dir,
                                                 const std::string& leaf) {
  std::vector<std::pair<int, std::filesystem::path>> found;
  std::error_code error;
  for (std::filesystem::directory_iterator it(lib_dir, error), end; !error && it != end;
       it.increment(error)) {
    const int minor = MinorVersion(it->path().filename().string());
    if (minor >= 0) found.emplace_back(minor, it->path() / leaf);
  }
  std::sort(found.begin(), found.end(),
            [](const auto& a, const auto& b) { return a.first > b.first; });
  std::vector<std::filesystem::path> dirs;
  for (auto& [minor, dir] : found) dirs.push_back(std::move(dir));
  return dirs;
}

}  // namespace

std::vector<std::filesystem::path> PythonSiteDirs() {
  std::vector<std::filesystem::path> candidates;
  size_t explicit_count = 0;
  const std::string explicit_sites = Env("BERTFLEET_PYTHON_SITE");
  for (size_t start = 0; start <= explicit_sites.size();) {
    const size_t end = std::min(explicit_sites.find(':', start), explicit_sites.size());
    if (end > start) candidates.emplace_back(explicit_sites.substr(start, end - start));
    start = end + 1;
  }
  explicit_count = candidates.size();
  const auto add_all = [&candidates](const std::vector<std::filesystem::path>& dirs) {
    candidates.insert(candidates.end(), dirs.begin(), dirs.end());
  };
  for (const char* venv_variable : {"BERTFLEET_VENV", "VIRTUAL_ENV"}) {
    const std::string venv = Env(venv_variable);
    if (!venv.empty()) add_all(VersionedDirs(std::filesystem::path(venv) / "lib", "site-packages"));
  }
  const std::string home = Env("HOME");
  if (!home.empty())
    add_all(VersionedDirs(std::filesystem::path(home) / ".local" / "lib", "site-packages"));
  add_all(VersionedDirs("/usr/local/lib", "dist-packages"));
  add_all(VersionedDirs("/usr/local/lib", "site-packages"));
  candidates.emplace_back("/usr/lib/python3/dist-packages");

  std::vector<std::filesystem::path> dirs;
  std::set<std::filesystem::path> seen;
  for (size_t i = 0; i < candidates.size(); ++i) {
    const std::filesystem::path& candidate = candidates[i];
    std::error_code error;
    if (i >= explicit_count && !std::filesystem::is_directory(candidate, error)) continue;
    const std::filesystem::path canonical = std::filesystem::weakly_canonical(candidate, error);
    if (seen.insert(error ? candidate : canonical).second) dirs.push_back(candidate);
  }
  return dirs;
}

}  // namespace bertfleet
