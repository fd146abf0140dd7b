#pragma once
// The Hugging Face hub cache layout, shared with Python's huggingface_hub so either side reuses
// what the other downloaded:
//   $HF_HUB_CACHE (default $HF_HOME/hub, $HF_HOME default ~/.cache/huggingface)
//     models--ORG--NAME/refs/main           the commit that "main" resolved to
//     models--ORG--NAME/blobs/<etag>        file contents
//     models--ORG--NAME/snapshots/<commit>/<file> -> ../../blobs/<etag>
#include <filesystem>
#include <optional>
#include <string>

namespace bertfleet {

std::filesystem::path HubCacheRoot();

// models--ORG--NAME under `cache_root`.
std::filesystem::path HubRepoCacheDir(const std::filesystem::path& cache_root,
                                      const std::string& repo_id);

// The snapshot refs/main points at when it holds a complete model; else nullopt and `why_not`
// says what is missing, for the "looked in" list.
std::optional<std::filesystem::path> FindCachedSnapshot(const std::filesystem::path& repo_dir,
                                                        std::string* why_not);

// A directory a model can be loaded from: config.json, a vocabulary (vocab.txt or
// tokenizer.json) and weights (model.safetensors or pytorch_model.bin). "" when complete, else
// what is missing.
std::string MissingModelFiles(const std::filesystem::path& dir);

// Hugging Face repo ids: "NAME" or "ORG/NAME" of letters, digits, '-', '_', '.', at most 96
// characters, no "--" or "..", not starting or ending with '-' or '.'.
bool IsValidHubRepoId(const std::string& repo_id);

}  // namespace bertfleet
