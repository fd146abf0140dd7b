#pragma once
// PaddedBatch (plain vectors from the data layer) to model tensors on a device.
#include <torch/torch.h>

#include "common/data/batching.h"
#include "worker/engine/model/bert_model.h"

namespace bertfleet {

struct BatchTensors {
  ModelInputs inputs;
  torch::Tensor labels;   // [batch] int64 class ids
  torch::Tensor targets;  // [batch] float32 regression targets (NaN where unknown)
  int64_t examples = 0;
  int64_t real_tokens = 0;
  int64_t padded_tokens = 0;  // batch * seq_len
};

BatchTensors ToBatchTensors(const PaddedBatch& batch, torch::Device device);

}  // namespace bertfleet
