#pragma once
// Fetches the official MRPC source files with libcurl, resumably, verifying published sha256.
#include <filesystem>
#include <string>
#include <vector>

namespace bertfleet {

struct RemoteFile {
  std::string name;    // file name in the cache directory
  std::string url;
  std::string sha256;  // lowercase hex
};

// The three files Hugging Face's glue/mrpc builder downloads, with their published checksums.
// `base_url_override` (or $BERTFLEET_MRPC_BASE_URL) replaces the hosts, for mirrors and tests.
std::vector<RemoteFile> MrpcRemoteFiles(const std::string& base_url_override = "");

// Ensures every file is in `cache_dir` with the right sha256: files already there and verified
// are kept; a partial download (<name>.part) is resumed with an HTTP Range request; a checksum
// mismatch deletes the file and throws Error naming it. Offline: Error naming the URL.
void DownloadVerified(const std::vector<RemoteFile>& files, const std::filesystem::path& cache_dir);

// Lowercase hex sha256 of a file (OpenSSL).
std::string Sha256OfFile(const std::filesystem::path& path);

}  // namespace bertfleet
