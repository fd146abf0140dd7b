#include "worker/engine/kernels/cpu/attention_softmax.h"

#include <ATen/Parallel.h>

#include <algorithm>
#include <limits>
#include <vector>

#include "worker/engine/kernels/cpu/cpu_kernel_util.h"
#include "worker/engine/kernels/cpu/dropout.h"

namespace bertfleet {
namespace {

using kernels::Bf16ToFloat;
using kernels::FloatToBf16;

constexpr float kNegInf = -std::numeric_limits<float>::infinity();
constexpr int kLanes = 16;

// exp(x) for x <= 0 (Cephes expf: range reduction by ln 2, degree-6 polynomial, ~1 ulp), written
// as plain arithmetic so that it vectorises.
BERTFLEET_ALWAYS_INLINE float ExpNonPositive(float x) {
  x = x < -87.0f ? -87.0f : x;
  const float shifter = 12582912.0f;  // 1.5 * 2^23: (t + shifter) - shifter rounds t to an integer
  const float n = (x * 1.44269504088896341f + shifter) - shifter;
  const float r = (x - n * 0.693359375f) - n * -2.12194440e-4f;
  float p = 1.9875691500e-4f;
  p = p * r + 1.3981999507e-3f;
  p = p * r + 8.3334519073e-3f;
  p = p * r + 4.1665795894e-2f;
  p = p * r + 1.6666665459e-1f;
  p = p * r + 5.0000001201e-1f;
  const float e = p * r * r + r + 1.0f;
  const uint32_t bits = static_cast<uint32_t>(static_cast<int32_t>(n) + 127) << 23;
  float two_n;
  std::memcpy(&two_n, &bits, sizeof two_n);
  return e * two_n;
}

struct F32 {
  using T = float;
  static BERTFLEET_ALWAYS_INLINE float Load(float v) { return v; }
  static BERTFLEET_ALWAYS_INLINE float Store(float v) { return v; }
};
struct Bf16 {
  using T = uint16_t;
  static BERTFLEET_ALWAYS_INLINE float Load(uint16_t v) { return Bf16ToFloat(v); }
  static BERTFLEET_ALWAYS_INLINE uint16_t Store(float v) { return FloatToBf16(v); }
};

struct Shape {
  int64_t rows_per_batch;  // heads * queries
  int64_t keys;
  int64_t padded_keys;  // keys rounded up to kLanes
};

// The heavy loops (exp, random bits, reductions) run over the scratch rows padded to a multiple
// of kLanes in fixed blocks of kLanes, so they compile to whole vectors with no scalar tail; only
// the cheap load/store loops see the row's own length.

// Rows [begin, end) of the forward pass. buf: padded_keys floats of scratch.
template <typename S>
BERTFLEET_ALWAYS_INLINE void ForwardRows(const typename S::T* __restrict__ scores, const uint8_t* __restrict__ key_mask,
                                         typename S::T* __restrict__ probs, typename S::T* __restrict__ dropped,
                                         const uint8_t* __restrict__ keep_mask, float scale, Shape shape, int64_t begin,
                                         int64_t end, float* __restrict__ buf) {
  const int64_t n = shape.keys, padded = shape.padded_keys;
  for (int64_t row = begin; row < end; ++row) {
    const uint8_t* __restrict__ real = key_mask + (row / shape.rows_per_batch) * n;
    const typename S::T* __restrict__ s = scores + row * n;
    for (int64_t j = 0; j < n; ++j) buf[j] = real[j] ? S::Load(s[j]) : kNegInf;
    for (int64_t j = n; j < padded; ++j) buf[j] = kNegInf;
    float lanes[kLanes];
    for (int l = 0; l < kLanes; ++l) lanes[l] = kNegInf;
    for (int64_t j = 0; j < padded; j += kLanes) {
      for (int l = 0; l < kLanes; ++l) lanes[l] = buf[j + l] > lanes[l] ? buf[j + l] : lanes[l];
    }
    float max = kNegInf;
    for (int l = 0; l < kLanes; ++l) max = lanes[l] > max ? lanes[l] : max;
    if (max == kNegInf) {  // no real key: Hugging Face's finfo.min bias makes the row uniform
      for (int64_t j = 0; j < padded; ++j) buf[j] = j < n ? 1.0f / static_cast<float>(n) : 0.0f;
    } else {
      for (int l = 0; l < kLanes; ++l) lanes[l] = 0.0f;
      for (int64_t j = 0; j < padded; j += kLanes) {
        for (int l = 0; l < kLanes; ++l) {
          const float v = buf[j + l];
          const float e = v == kNegInf ? 0.0f : ExpNonPositive(v - max);
          buf[j + l] = e;
          lanes[l] += e;
        }
      }
      float sum = 0.0f;
      for (int l = 0; l < kLanes; ++l) sum += lanes[l];
      const float inverse = 1.0f / sum;
      for (int64_t j = 0; j < padded; j += kLanes) {
        for (int l = 0; l < kLanes; ++l) buf[j + l] *= inverse;
      }
    }
    typename S::T* __restrict__ y = probs + row * n;
    for (int64_t j = 0; j < n; ++j) y[j] = S::Store(buf[j]);
    if (keep_mask != nullptr) {
      const uint8_t* __restrict__ keep = keep_mask + row * n;
      typename S::T* __restrict__ d = dropped + row * n;
      for (int64_t j = 0; j < n; ++j) d[j] = S::Store(keep[j] ? buf[j] * scale : 0.0f);
    }
  }
}

// grad_scores = y * (g' - sum(g' * y)), g' = dropout mask applied to grad.
template <typename S>
BERTFLEET_ALWAYS_INLINE void BackwardRows(const typename S::T* __restrict__ grad, const typename S::T* __restrict__ probs,
                                          typename S::T* __restrict__ out, const uint8_t* __restrict__ keep_mask,
                                          float scale,
                                          Shape shape, int64_t begin, int64_t end, float* __restrict__ gbuf,
                                          float* __restrict__ ybuf) {
  const int64_t n = shape.keys, padded = shape.padded_keys;
  for (int64_t row = begin; row < end; ++row) {
    const typename S::T* __restrict__ g = grad + row * n;
    const typename S::T* __restrict__ y = probs + row * n;
    for (int64_t j = 0; j < n; ++j) gbuf[j] = S::Load(g[j]);
    for (int64_t j = 0; j < n; ++j) ybuf[j] = S::Load(y[j]);
    for (int64_t j = n; j < padded; ++j) gbuf[j] = ybuf[j] = 0.0f;
    if (keep_mask != nullptr) {
      const uint8_t* __restrict__ keep = keep_mask + row * n;
      for (int64_t j = 0; j < n; ++j) gbuf[j] = keep[j] ? gbuf[j] * scale : 0.0f;
    }
    float lanes[kLanes];
    for (int l = 0; l < kLanes; ++l) lanes[l] = 0.0f;
    for (int64_t j = 0; j < padded; j += kLanes) {
      for (int l = 0; l < kLanes; ++l) lanes[l] += gbuf[j + l] * ybuf[j + l];
    }
    float dot = 0.0f;
    for (int l = 0; l < kLanes; ++l) dot += lanes[l];
    typename S::T* __restrict__ o = out + row * n;
    for (int64_t j = 0; j < n; ++j) o[j] = S::Store(ybuf[j] * (gbuf[j] - dot));
  }
}

#define BERTFLEET_SOFTMAX_KERNELS(SUFFIX, ATTRIBUTES)                                                     \
  template <typename S>                                                                                  \
  ATTRIBUTES void Forward##SUFFIX(const typename S::T* scores, const uint8_t* key_mask, typename S::T* probs, \
                                  typename S::T* dropped, const uint8_t* keep, float scale, Shape shape,  \
                                  int64_t begin, int64_t end, float* buf) {                              \
    ForwardRows<S>(scores, key_mask, probs, dropped, keep, scale, shape, begin, end, buf);                \
  }                                                                                                      \
  template <typename S>                                                                                  \
  ATTRIBUTES void Backward##SUFFIX(const typename S::T* grad, const typename S::T* probs, typename S::T* out, \
                                   const uint8_t* keep, float scale, Shape shape, int64_t begin,         \
                                   int64_t end, float* gbuf, float* ybuf) {                              \
    BackwardRows<S>(grad, probs, out, keep, scale, shape, begin, end, gbuf, ybuf);                        \
  }

#if BERTFLEET_HAVE_AVX512_KERNELS
BERTFLEET_SOFTMAX_KERNELS(Avx512, BERTFLEET_AVX512)
#endif
BERTFLEET_SOFTMAX_KERNELS(Baseline, )

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
#if BERTFLEET_HAVE_AVX512_KERNELS
    if (kernels::HaveAvx512()) {
      return ForwardAvx512<S>(s, m, y, d, k, scale, shape, begin, end, buf.data());
    }
#endif
    ForwardBaseline<S>(s, m, y, d, k, scale, shape, begin, end, buf.data());
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
#if BERTFLEET_HAVE_AVX512_KERNELS
    if (kernels::HaveAvx512()) {
      return BackwardAvx512<S>(g, y, o, k, scale, shape, begin, end, gbuf.data(), ybuf.data());
    }
#endif
    BackwardBaseline<S>(g, y, o, k, scale, shape, begin, end, gbuf.data(), ybuf.data());
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
