#pragma once
// safetensors files <-> torch tensors (the container format itself is in
// common/model/safetensors_format.h).
#include <torch/torch.h>

#include <filesystem>
#include <map>
#include <string>
#include <utility>
#include <vector>

namespace bertfleet {

using NamedTensors = std::vector<std::pair<std::string, torch::Tensor>>;

struct SafetensorsContents {
  NamedTensors tensors;  // in file data order, each an owned contiguous CPU tensor
  std::map<std::string, std::string> metadata;
  const torch::Tensor* Find(const std::string& name) const;
};

// Reads every tensor (BOOL, U8, I8, I16, I32, I64, F16, BF16, F32, F64) into its own memory, so the
// file is closed on return. Throws Error naming the file (and tensor) on a missing, truncated or
// corrupt file or an unsupported dtype.
SafetensorsContents LoadSafetensors(const std::filesystem::path& path);

// Writes `tensors` in the given order, each made contiguous on the CPU in its own dtype (callers
// convert to fp32 where they want fp32), with `metadata` (Hugging Face expects {"format": "pt"}).
// The file is written atomically.
void SaveSafetensors(const std::filesystem::path& path, const NamedTensors& tensors,
                     const std::map<std::string, std::string>& metadata = {{"format", "pt"}});

}  // namespace bertfleet
