#include "common/model/hub_http.h"

#include <curl/curl.h>
#include <openssl/evp.h>
#include <unistd.h>

#include <cctype>
#include <cstdio>
#include <memory>
#include <mutex>

namespace bertfleet {
namespace {

constexpr long kConnectTimeoutSeconds = 30;
// Abort a transfer that stalls below 1 KiB/s for a minute rather than hang a worker forever.
constexpr long kLowSpeedBytesPerSecond = 1024;
constexpr long kLowSpeedSeconds = 60;

void InitCurlOnce() {
  static std::once_flag once;
  std::call_once(once, [] { curl_global_init(CURL_GLOBAL_DEFAULT); });
}

std::string Lowercase(std::string text) {
  for (char& c : text) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return text;
}

std::string Trim(const std::string& text) {
  const size_t begin = text.find_first_not_of(" \t\r\n");
  if (begin == std::string::npos) return "";
  return text.substr(begin, text.find_last_not_of(" \t\r\n") - begin + 1);
}

// `W/"abc"` or `"abc"` -> `abc`.
std::string UnquoteEtag(std::string etag) {
  if (etag.rfind("W/", 0) == 0) etag.erase(0, 2);
  if (etag.size() >= 2 && etag.front() == '"' && etag.back() == '"')
    etag = etag.substr(1, etag.size() - 2);
  return etag;
}

struct Transfer {
  CURL* curl = nullptr;
  std::FILE* file = nullptr;
  EVP_MD_CTX* digest = nullptr;
  bool write_failed = false;
  int64_t bytes = 0;
  // Headers of the first response that carried each, so the hub's own values win over its CDN's.
  std::string repo_commit, linked_etag, etag;
  int responses = 0;
};

size_t OnHeader(char* data, size_t size, size_t count, void* user) {
  auto* transfer = static_cast<Transfer*>(user);
  const std::string line(data, size * count);
  if (line.rfind("HTTP/", 0) == 0) {
    ++transfer->responses;
    return size * count;
  }
  const size_t colon = line.find(':');
  if (colon == std::string::npos) return size * count;
  const std::string name = Lowercase(Trim(line.substr(0, colon)));
  const std::string value = Trim(line.substr(colon + 1));
  if (name == "x-repo-commit" && transfer->repo_commit.empty()) transfer->repo_commit = value;
  if (name == "x-linked-etag" && transfer->linked_etag.empty())
    transfer->linked_etag = UnquoteEtag(value);
  if (name == "etag" && transfer->etag.empty()) transfer->etag = UnquoteEtag(value);
  return size * count;
}

size_t OnBody(char* data, size_t size, size_t count, void* user) {
  auto* transfer = static_cast<Transfer*>(user);
  long status = 0;
  curl_easy_getinfo(transfer->curl, CURLINFO_RESPONSE_CODE, &status);
  // A redirect's or an error's body is not the file.
  if (status < 200 || status >= 300) return size * count;
  const size_t length = size * count;
  if (std::fwrite(data, 1, length, transfer->file) != length) {
    transfer->write_failed = true;
    return 0;  // makes curl abort with CURLE_WRITE_ERROR
  }
  EVP_DigestUpdate(transfer->digest, data, length);
  transfer->bytes += static_cast<int64_t>(length);
  return length;
}

std::string HexDigest(EVP_MD_CTX* digest) {
  unsigned char hash[EVP_MAX_MD_SIZE];
  unsigned int length = 0;
  EVP_DigestFinal_ex(digest, hash, &length);
  static const char kHex[] = "0123456789abcdef";
  std::string hex;
  for (unsigned int i = 0; i < length; ++i) {
    hex += kHex[hash[i] >> 4];
    hex += kHex[hash[i] & 15];
  }
  return hex;
}

}  // namespace

HubHttpResult HubHttpGetToFile(const std::string& url, const std::filesystem::path& destination,
                               const std::string& bearer_token) {
  InitCurlOnce();
  HubHttpResult result;
  std::unique_ptr<CURL, decltype(&curl_easy_cleanup)> curl(curl_easy_init(), curl_easy_cleanup);
  std::unique_ptr<EVP_MD_CTX, decltype(&EVP_MD_CTX_free)> digest(EVP_MD_CTX_new(), EVP_MD_CTX_free);
  std::unique_ptr<std::FILE, decltype(&std::fclose)> file(std::fopen(destination.c_str(), "wb"),
                                                          std::fclose);
  if (!curl || !digest) {
    result.error = "cannot initialise libcurl or OpenSSL";
    return result;
  }
  if (!file) {
    result.error = "cannot create " + destination.string();
    return result;
  }
  EVP_DigestInit_ex(digest.get(), EVP_sha256(), nullptr);

  Transfer transfer;
  transfer.curl = curl.get();
  transfer.file = file.get();
  transfer.digest = digest.get();
  char error_buffer[CURL_ERROR_SIZE] = {0};
  curl_slist* headers = nullptr;
  if (!bearer_token.empty())
    headers = curl_slist_append(headers, ("Authorization: Bearer " + bearer_token).c_str());
  std::unique_ptr<curl_slist, decltype(&curl_slist_free_all)> header_list(headers,
                                                                          curl_slist_free_all);

  CURL* handle = curl.get();
  curl_easy_setopt(handle, CURLOPT_URL, url.c_str());
  curl_easy_setopt(handle, CURLOPT_FOLLOWLOCATION, 1L);
  curl_easy_setopt(handle, CURLOPT_MAXREDIRS, 10L);
  curl_easy_setopt(handle, CURLOPT_PROTOCOLS_STR, "http,https");
  curl_easy_setopt(handle, CURLOPT_REDIR_PROTOCOLS_STR, "http,https");
  curl_easy_setopt(handle, CURLOPT_FAILONERROR, 1L);
  curl_easy_setopt(handle, CURLOPT_NOSIGNAL, 1L);
  curl_easy_setopt(handle, CURLOPT_CONNECTTIMEOUT, kConnectTimeoutSeconds);
  curl_easy_setopt(handle, CURLOPT_LOW_SPEED_LIMIT, kLowSpeedBytesPerSecond);
  curl_easy_setopt(handle, CURLOPT_LOW_SPEED_TIME, kLowSpeedSeconds);
  curl_easy_setopt(handle, CURLOPT_USERAGENT, "bertfleet/0.1");
  curl_easy_setopt(handle, CURLOPT_ERRORBUFFER, error_buffer);
  curl_easy_setopt(handle, CURLOPT_HTTPHEADER, header_list.get());
  curl_easy_setopt(handle, CURLOPT_HEADERFUNCTION, OnHeader);
  curl_easy_setopt(handle, CURLOPT_HEADERDATA, &transfer);
  curl_easy_setopt(handle, CURLOPT_WRITEFUNCTION, OnBody);
  curl_easy_setopt(handle, CURLOPT_WRITEDATA, &transfer);

  const CURLcode code = curl_easy_perform(handle);
  curl_easy_getinfo(handle, CURLINFO_RESPONSE_CODE, &result.status);
  // Flushed to disk before the caller renames it into the cache, so a crash leaves no torn blob.
  const bool flushed = std::fflush(file.get()) == 0 && ::fsync(fileno(file.get())) == 0;
  result.repo_commit = transfer.repo_commit;
  result.etag = transfer.linked_etag.empty() ? transfer.etag : transfer.linked_etag;
  result.bytes = transfer.bytes;
  if (code == CURLE_HTTP_RETURNED_ERROR ||
      (code == CURLE_OK && (result.status < 200 || result.status >= 300))) {
    result.error = "HTTP " + std::to_string(result.status);
  } else if (transfer.write_failed || !flushed) {
    result.error = "cannot write " + destination.string();
  } else if (code != CURLE_OK) {
    result.error = error_buffer[0] ? error_buffer : curl_easy_strerror(code);
  } else {
    result.ok = true;
    result.sha256 = HexDigest(digest.get());
  }
  return result;
}

}  // namespace bertfleet
