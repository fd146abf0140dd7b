#pragma once
// One resumable HTTP(S) GET into a file, via libcurl. Kept apart from the MRPC logic so the
// retry and checksum policy in mrpc_download.cc reads without transfer details.
#include <cstdint>
#include <filesystem>
#include <string>

namespace bertfleet {

struct FetchResult {
  bool ok = false;
  // The server refused or ignored the byte range (HTTP 416, or 200 instead of 206): the local
  // partial file cannot be continued and must be fetched from the start.
  bool range_unusable = false;
  std::string message;  // curl's description of the failure, with the HTTP status if any
};

// GETs `url`, following redirects, and appends the body to `destination`. With offset > 0 it
// asks for bytes offset.. only (destination must then hold exactly `offset` bytes). HTTP errors
// (>= 400) fail without writing; the file is only created once body bytes arrive.
FetchResult FetchToFile(const std::string& url, const std::filesystem::path& destination,
                        int64_t offset);

}  // namespace bertfleet
