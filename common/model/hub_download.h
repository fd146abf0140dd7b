#pragma once
// Fetches a model repository's files from the Hugging Face hub (or a mirror) into the hub cache
// layout described in hub_cache.h.
#include <filesystem>
#include <string>

namespace bertfleet {

// Downloads config.json, vocab.txt, model.safetensors (else pytorch_model.bin) and, when the repo
// has them, tokenizer.json, tokenizer_config.json and special_tokens_map.json from
// `{endpoint}/{repo_id}/resolve/main/{file}`, sending `token` as a bearer token when not empty.
// Each file lands in blobs/ via a temporary name and a rename; snapshots/<rev>/ then gets
// relative symlinks to the blobs (copies where symlinks fail), config.json last, and refs/main
// is written after that, so a reader never takes a half-written snapshot for a complete one.
// <rev> is the hub's X-Repo-Commit header, or "main" when the server sends none.
// Returns the snapshot directory; throws Error naming the URL and the failure.
std::filesystem::path DownloadToHubCache(const std::string& repo_id,
                                         const std::filesystem::path& cache_root,
                                         const std::string& endpoint, const std::string& token);

}  // namespace bertfleet
