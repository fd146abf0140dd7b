// Compiled instead of common/data/http_fetch.cc and common/model/hub_http.cc when the build has
// BERTFLEET_DOWNLOADS=OFF (no libcurl): every download fails with one clear Error, and local
// model directories and data files work as usual.
#include "common/data/http_fetch.h"
#include "common/model/hub_http.h"
#include "common/util/error.h"

namespace bertfleet {

namespace {
[[noreturn]] void NoDownloads(const std::string& url) {
  throw Error("cannot fetch " + url + ": built without download support (BERTFLEET_DOWNLOADS=OFF)");
}
}  // namespace

FetchResult FetchToFile(const std::string& url, const std::filesystem::path&, int64_t) { NoDownloads(url); }

HubHttpResult HubHttpGetToFile(const std::string& url, const std::filesystem::path&, const std::string&) {
  NoDownloads(url);
}

}  // namespace bertfleet
