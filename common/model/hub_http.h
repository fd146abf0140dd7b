#pragma once
// One HTTP(S) GET of a Hugging Face hub file into a local file, via libcurl, keeping what the
// hub cache needs from the response: the status, the X-Repo-Commit and ETag headers (which the
// hub sends on its own response, before any redirect to its CDN) and the body's sha256.
#include <cstdint>
#include <filesystem>
#include <string>
#include <vector>

namespace bertfleet {

struct HubHttpResult {
  bool ok = false;          // 2xx and the whole body written
  long status = 0;          // final HTTP status, 0 when no response arrived
  std::string error;        // why it failed: curl's message or "HTTP 404"
  std::string repo_commit;  // X-Repo-Commit, "" when absent
  std::string etag;         // X-Linked-Etag (LFS files) else ETag, unquoted; "" when absent
  std::string sha256;       // lowercase hex of the body written
  int64_t bytes = 0;
};

// GETs `url` into `destination` (created or truncated), following redirects (at most 10). HTTP
// errors (>= 400) write nothing. `bearer_token` is sent as "Authorization: Bearer ..." to the
// first host only: libcurl drops it on redirects to another host, such as the hub's CDN.
HubHttpResult HubHttpGetToFile(const std::string& url, const std::filesystem::path& destination,
                               const std::string& bearer_token);

}  // namespace bertfleet
