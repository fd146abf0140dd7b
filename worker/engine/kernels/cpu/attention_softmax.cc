#include "worker/engine/kernels/cpu/attention_softmax.h"

#include <ATen/Parallel.h>

#include <algorithm>
#include <limits>
#include <vector>

#include "worker/engine/kernels/cpu/attention_softmax_rows.h"
#include "worker/engine/kernels/cpu/dropout.h"

namespace bertfleet {
namespace {

using namespace kernels::softmax;  // NOLINT: the row loops and their storage types

Shape ShapeOf(const torch::Tensor& scores) {
  const int64_t keys = scores.size(3);
  return {scores.size(1) * scores.size(2), keys, (keys + kLanes - 1) / kLanes * kLanes};
}

int64_t Grain(const Shape& shape) { return std::max<int64_t>(1, 16384 / std::max<int64_t>(shape.keys, 1)); }

// No dropout is an empty mask (autograd functions take no undefined tensors).
const uint8_t* KeepData(const torch::Tensor& keep) { return keep.numel() > 0 ? keep.data_ptr<uint8_t>() : nullptr; }

template <typename S>
void RunForward(const torch::Tensor& scores, const torch::Tensor& key_mask, torch::Tensor& probs,
                torch::Tensor& dropped, const torch::Tensor& keep, float scale) {
  const Shape shape = ShapeOf(scores);
  const auto* s = reinterpret_cast<const typename S::T*>(scores.data_ptr());
  auto* y = reinterpret_cast<typename S::T*>(probs.data_ptr());
  auto* d = keep.numel() > 0 ? reinterpret_cast<typename S::T*>(dropped.data_ptr()) : nullptr;
  const uint8_t* m = key_mask.data_ptr<uint8_t>();
  const uint8_t* k = KeepData(keep);
  const int64_t rows = scores.numel() / shape.keys;
  at::parallel_for(0, rows, Grain(shape), [&](int64_t begin, int64_t end) {
    std::vector<float> buf(shape.padded_keys);
    SoftmaxForward<S>(s, m, y, d, k, scale, shape, begin, end, buf.data());
  });
}

template <typename S>
void RunBackward(const torch::Tensor& grad, const torch::Tensor& probs, torch::Tensor& out, const torch::Tensor& keep,
                 float scale) {
  const Shape shape = ShapeOf(probs);
  const auto* g = reinterpret_cast<const typename S::T*>(grad.data_ptr());
  const auto* y = reinterpret_cast<const typename S::T*>(probs.data_ptr());
  auto* o = reinterpret_cast<typename S::T*>(out.data_ptr());
  const uint8_t* k = KeepData(keep);
  const int64_t rows = probs.numel() / shape.keys;
  at::parallel_for(0, rows, Grain(shape), [&](int64_t begin, int64_t end) {
    std::vector<float> gbuf(shape.padded_keys), ybuf(shape.padded_keys);
    SoftmaxBackward<S>(g, y, o, k, scale, shape, begin, end, gbuf.data(), ybuf.data());
  });
}

// Hugging Face's attention probabilities are fp32 whatever the autocast type (the scores are
// promoted by the fp32 additive mask), so its dropout scales by the fp32 1/(1 - p).
class MaskedSoftmaxDropoutFunction : public torch::autograd::Function<MaskedSoftmaxDropoutFunction> {
 public:
  static torch::Tensor forward(torch::autograd::AutogradContext* ctx, const torch::Tensor& input,
                               const torch::Tensor& key_mask, const torch::Tensor& keep, double p) {
    const torch::Tensor scores = input.contiguous();
    const bool dropout = keep.numel() > 0;
    const float scale = dropout ? DropoutScale(p, at::kFloat) : 1.0f;
    torch::Tensor probs = at::empty_like(scores, at::MemoryFormat::Contiguous);
    torch::Tensor dropped = dropout ? at::empty_like(scores, at::MemoryFormat::Contiguous) : torch::Tensor();
    if (scores.scalar_type() == at::kBFloat16) {
      RunForward<Bf16>(scores, key_mask, probs, dropped, keep, scale);
    } else {
      RunForward<F32>(scores, key_mask, probs, dropped, keep, scale);
    }
    ctx->save_for_backward({probs});
    ctx->saved_data["keep"] = keep;
    ctx->saved_data["scale"] = static_cast<double>(scale);
    return dropout ? dropped : probs;
  }

  static torch::autograd::variable_list backward(torch::autograd::AutogradContext* ctx,
                                                 torch::autograd::variable_list grad_outputs) {
    const torch::Tensor probs = ctx->get_saved_variables()[0];
    const torch::Tensor keep = ctx->saved_data["keep"].toTensor();
    const auto scale = static_cast<float>(ctx->saved_data["scale"].toDouble());
    const torch::Tensor grad = grad_outputs[0].to(probs.scalar_type()).contiguous();
    torch::Tensor out = at::empty_like(probs, at::MemoryFormat::Contiguous);
    if (probs.scalar_type() == at::kBFloat16) {
      RunBackward<Bf16>(grad, probs, out, keep, scale);
    } else {
      RunBackward<F32>(grad, probs, out, keep, scale);
    }
    return {out, torch::Tensor(), torch::Tensor(), torch::Tensor()};
  }
};

// LibTorch ops with Hugging Face's additive mask (finfo(dtype).min of the scores' dtype, so bf16
// does not round it to -inf and a fully masked row stays uniform).
torch::Tensor Unfused(const torch::Tensor& scores, const torch::Tensor& key_mask, const torch::Tensor& keep, double p) {
  const auto type = scores.scalar_type();
  const double lowest = type == at::kBFloat16 ? static_cast<double>(std::numeric_limits<c10::BFloat16>::lowest())
                        : type == at::kHalf   ? static_cast<double>(std::numeric_limits<c10::Half>::lowest())
                        : type == at::kDouble ? std::numeric_limits<double>::lowest()
                                              : static_cast<double>(std::numeric_limits<float>::lowest());
  const torch::Tensor bias = torch::zeros({scores.size(0), 1, 1, scores.size(3)}, scores.options().requires_grad(false))
                                 .masked_fill_(key_mask.eq(0).view({scores.size(0), 1, 1, scores.size(3)}), lowest);
  const torch::Tensor probs = at::softmax(scores + bias, -1);
  return keep.defined() ? ApplyDropoutMask(probs, keep, p) : probs;
}

}  // namespace

torch::Tensor MaskedSoftmaxDropout(const torch::Tensor& scores, const torch::Tensor& key_mask, const torch::Tensor& keep,
                                   double p) {
  TORCH_CHECK(scores.dim() == 4 && key_mask.dim() == 2 && key_mask.size(0) == scores.size(0) &&
                  key_mask.size(1) == scores.size(3),
              "MaskedSoftmaxDropout: scores [batch, heads, queries, keys] and key_mask [batch, keys] expected");
  TORCH_CHECK(!keep.defined() || (keep.scalar_type() == at::kByte && keep.numel() == scores.numel()),
              "MaskedSoftmaxDropout: keep must be a uint8 mask shaped like scores");
  const auto type = scores.scalar_type();
  const bool fused = scores.device().is_cpu() && (type == at::kFloat || type == at::kBFloat16) &&
                     scores.numel() > 0 && scores.numel() < (int64_t{1} << 31);
  if (!fused) return Unfused(scores, key_mask, keep, p);
  const torch::Tensor mask = key_mask.ne(0).to(at::kByte).contiguous();
  return MaskedSoftmaxDropoutFunction::apply(scores, mask,
                                             keep.defined() ? keep.contiguous() : torch::empty({0}, at::kByte), p);
}

}  // namespace bertfleet
