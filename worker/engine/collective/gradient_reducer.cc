#include "worker/engine/collective/gradient_reducer.h"

#include <algorithm>
#include <numeric>

#include <torch/csrc/autograd/utils/lambda_post_hook.h>

#include "common/util/error.h"

namespace bertfleet {

namespace {

struct ParameterSlot {
  size_t forward_index = 0;  // position in the model's parameter order (about forward order)
  int64_t offset = 0;        // into the flat buffers
  int64_t size = 0;
};

}  // namespace

GradientReducer::GradientReducer(torch::nn::Module& model, FlatParameters& parameters, Communicator& communicator,
                                 int64_t bucket_bytes)
    : parameters_(parameters), communicator_(communicator) {
  if (bucket_bytes <= 0) throw Error("gradient buckets: size must be positive");
  torch::Tensor& flat = parameters_.values();
  const float* base = flat.data_ptr<float>();
  std::vector<torch::Tensor> trainable;
  std::vector<ParameterSlot> slots;
  for (const auto& parameter : model.parameters(/*recurse=*/true)) {
    if (!parameter.requires_grad()) continue;
    const int64_t offset = parameter.data_ptr<float>() - base;
    if (offset < 0 || offset + parameter.numel() > flat.numel()) {
      throw Error("gradient buckets: a parameter does not live in the flat parameter buffer");
    }
    slots.push_back({slots.size(), offset, parameter.numel()});
    trainable.push_back(parameter);
  }

  // Cut the flat layout into buckets of whole parameters; the decay / no-decay boundary always
  // cuts, so a bucket never mixes the large weights with the small biases of early layers.
  std::vector<ParameterSlot> by_offset = slots;
  std::sort(by_offset.begin(), by_offset.end(),
            [](const ParameterSlot& a, const ParameterSlot& b) { return a.offset < b.offset; });
  const int64_t bucket_elements = std::max<int64_t>(1, bucket_bytes / static_cast<int64_t>(sizeof(float)));
  std::vector<Bucket> buckets;
  std::vector<size_t> earliest_forward;  // per bucket: its earliest-in-forward parameter
  bucket_of_parameter_.assign(slots.size(), 0);
  for (const ParameterSlot& slot : by_offset) {
    const bool crosses_groups = !buckets.empty() && buckets.back().begin < parameters_.decay_count() &&
                                slot.offset >= parameters_.decay_count();
    if (buckets.empty() || crosses_groups || buckets.back().size + slot.size > bucket_elements) {
      buckets.push_back({slot.offset, 0, 0, 0});
      earliest_forward.push_back(slot.forward_index);
    }
    Bucket& bucket = buckets.back();
    if (slot.offset != bucket.begin + bucket.size) throw Error("gradient buckets: the flat buffer has gaps");
    bucket.size += slot.size;
    bucket.parameters += 1;
    earliest_forward.back() = std::min(earliest_forward.back(), slot.forward_index);
    bucket_of_parameter_[slot.forward_index] = buckets.size() - 1;
  }

  std::vector<size_t> order(buckets.size());
  std::iota(order.begin(), order.end(), 0);
  std::sort(order.begin(), order.end(), [&](size_t a, size_t b) { return earliest_forward[a] > earliest_forward[b]; });
  std::vector<size_t> position(buckets.size());
  for (size_t i = 0; i < order.size(); ++i) {
    buckets_.push_back(buckets[order[i]]);
    position[order[i]] = i;
  }
  for (auto& bucket : bucket_of_parameter_) bucket = position[bucket];
  for (auto& bucket : buckets_) bucket.waiting = bucket.parameters;

  for (size_t index = 0; index < trainable.size(); ++index) {
    auto accumulator = torch::autograd::impl::grad_accumulator(trainable[index]);
    hook_keys_.push_back(accumulator->add_post_hook(std::make_unique<torch::autograd::utils::LambdaPostHook>(
        [this, index](const torch::autograd::variable_list& outputs, const torch::autograd::variable_list&) {
          OnGradientAccumulated(index);
          return outputs;
        })));
    accumulators_.push_back(std::move(accumulator));
  }
}

GradientReducer::~GradientReducer() {
  for (size_t index = 0; index < accumulators_.size(); ++index) accumulators_[index]->del_post_hook(hook_keys_[index]);
}

void GradientReducer::OnGradientAccumulated(size_t parameter) {
  if (!armed_) return;
  Bucket& bucket = buckets_[bucket_of_parameter_[parameter]];
  if (bucket.waiting > 0) bucket.waiting -= 1;
  StartReadyBuckets();
}

void GradientReducer::StartReadyBuckets() {
  while (next_to_start_ < buckets_.size() && buckets_[next_to_start_].waiting == 0) {
    Start(next_to_start_);
    ++overlapped_;
  }
}

void GradientReducer::Start(size_t bucket) {
  torch::Tensor range = parameters_.gradients().narrow(0, buckets_[bucket].begin, buckets_[bucket].size);
  pending_.push_back(communicator_.StartAllReduceSum(range));
  next_to_start_ = bucket + 1;
}

void GradientReducer::Finish() {
  while (next_to_start_ < buckets_.size()) Start(next_to_start_);
  // Reset first: a failing Wait throws, and the next step (if any) must start clean.
  auto pending = std::move(pending_);
  pending_.clear();
  next_to_start_ = 0;
  armed_ = false;
  for (auto& bucket : buckets_) bucket.waiting = bucket.parameters;
  for (auto& collective : pending) collective->Wait();
}

}  // namespace bertfleet
