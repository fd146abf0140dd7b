#include "worker/engine/model/batch_tensors.h"

namespace bertfleet {

namespace {
torch::Tensor Wrap(const std::vector<int64_t>& values, at::IntArrayRef shape, torch::Device device) {
  // from_blob does not own the memory: clone (CPU) or copy to the device.
  auto view = torch::from_blob(const_cast<int64_t*>(values.data()), shape, torch::kInt64);
  return device.is_cpu() ? view.clone() : view.to(device, /*non_blocking=*/false, /*copy=*/true);
}
}  // namespace

BatchTensors ToBatchTensors(const PaddedBatch& batch, torch::Device device) {
  BatchTensors tensors;
  const std::vector<int64_t> shape = {batch.batch_size, batch.seq_len};
  tensors.inputs.input_ids = Wrap(batch.input_ids, shape, device);
  tensors.inputs.token_type_ids = Wrap(batch.token_type_ids, shape, device);
  tensors.inputs.attention_mask = Wrap(batch.attention_mask, shape, device);
  tensors.labels = Wrap(batch.labels, {batch.batch_size}, device);
  auto targets = torch::from_blob(const_cast<float*>(batch.targets.data()), {batch.batch_size}, torch::kFloat32);
  tensors.targets = device.is_cpu() ? targets.clone() : targets.to(device, /*non_blocking=*/false, /*copy=*/true);
  tensors.examples = batch.batch_size;
  tensors.real_tokens = batch.real_tokens;
  tensors.padded_tokens = batch.batch_size * batch.seq_len;
  return tensors;
}

}  // namespace bertfleet
