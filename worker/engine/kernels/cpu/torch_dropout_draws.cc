#include "worker/engine/kernels/cpu/torch_dropout_draws.h"

#include <ATen/CPUGeneratorImpl.h>
#include <ATen/Config.h>
#include <ATen/core/MT19937RNGEngine.h>

#include <algorithm>
#include <cmath>
#include <mutex>

#include "worker/engine/kernels/cpu/cpu_kernel_util.h"

namespace bertfleet {
namespace {

constexpr int kStateWords = 624;  // MT19937's N and M
constexpr int kShift = 397;

BERTFLEET_ALWAYS_INLINE uint32_t Twist(uint32_t u, uint32_t v) {
  return (((u & 0x80000000U) | (v & 0x7fffffffU)) >> 1) ^ ((0U - (v & 1U)) & 0x9908b0dfU);
}

BERTFLEET_ALWAYS_INLINE uint32_t Temper(uint32_t y) {
  y ^= y >> 11;
  y ^= (y << 7) & 0x9d2c5680U;
  y ^= (y << 15) & 0xefc60000U;
  return y ^ (y >> 18);
}

// at::mt19937's next_state(), as three loops without a carried dependency shorter than the vector.
BERTFLEET_ALWAYS_INLINE void NextState(uint32_t* __restrict__ s) {
  for (int i = 0; i < kStateWords - kShift; ++i) s[i] = s[i + kShift] ^ Twist(s[i], s[i + 1]);
  for (int i = kStateWords - kShift; i < kStateWords - 1; ++i) {
    s[i] = s[i + kShift - kStateWords] ^ Twist(s[i], s[i + 1]);
  }
  s[kStateWords - 1] = s[kShift - 1] ^ Twist(s[kStateWords - 1], s[0]);
}

// The next `count` outputs of the engine whose state is `pod`, as `count` calls of
// at::mt19937::operator() return them. In the pod, left_ - 1 words remain before the next twist
// (a fresh seed has left_ == 1) and next_ indexes the next one.
BERTFLEET_ALWAYS_INLINE void TakeWords(at::mt19937_data_pod& pod, uint32_t* __restrict__ out, int64_t count) {
  while (count > 0) {
    if (pod.left_ <= 1) {
      NextState(pod.state_.data());
      pod.left_ = kStateWords + 1;
      pod.next_ = 0;
    }
    const int64_t n = std::min<int64_t>(count, pod.left_ - 1);
    const uint32_t* __restrict__ s = pod.state_.data() + pod.next_;
    for (int64_t k = 0; k < n; ++k) out[k] = Temper(s[k]);
    pod.next_ += static_cast<uint32_t>(n);
    pod.left_ -= static_cast<int>(n);
    out += n;
    count -= n;
  }
}

// keep[k] = the 53-bit draw of words (2k, 2k+1) is below `threshold` (= ceil((1 - p) * 2^53)).
BERTFLEET_ALWAYS_INLINE void KeepFromWords(const uint32_t* __restrict__ words, uint8_t* __restrict__ keep,
                                           int64_t n, uint64_t threshold) {
  for (int64_t k = 0; k < n; ++k) {
    const uint64_t draw = (static_cast<uint64_t>(words[2 * k] & 0x1fffffU) << 32) | words[2 * k + 1];
    keep[k] = draw < threshold ? 1 : 0;
  }
}

#define BERTFLEET_DRAW_KERNEL(SUFFIX, ATTRIBUTES)                                                    \
  ATTRIBUTES void DrawKeep##SUFFIX(at::mt19937_data_pod& pod, uint8_t* keep, int64_t count,         \
                                   uint64_t threshold) {                                            \
    constexpr int64_t kChunk = 4096;                                                                \
    alignas(64) uint32_t words[2 * kChunk];                                                         \
    for (int64_t begin = 0; begin < count; begin += kChunk) {                                       \
      const int64_t n = std::min(kChunk, count - begin);                                            \
      TakeWords(pod, words, 2 * n);                                                                 \
      KeepFromWords(words, keep + begin, n, threshold);                                             \
    }                                                                                               \
  }

#if BERTFLEET_HAVE_AVX512_KERNELS
BERTFLEET_DRAW_KERNEL(Avx512, BERTFLEET_AVX512)
#endif
BERTFLEET_DRAW_KERNEL(Baseline, )

}  // namespace

torch::Tensor DrawDropoutKeepMask(int64_t count, double p) {
  TORCH_CHECK(count >= 0 && p >= 0 && p <= 1, "DrawDropoutKeepMask: count ", count, ", p ", p);
  torch::Tensor keep = torch::empty({count}, torch::kUInt8);
  const double keep_probability = 1.0 - p;  // torch computes bernoulli_'s argument this way
  const auto threshold = static_cast<uint64_t>(std::ceil(std::ldexp(keep_probability, 53)));
  auto generator = at::detail::getDefaultCPUGenerator();
  std::lock_guard<std::mutex> lock(generator.mutex());
  auto* impl = generator.get<at::CPUGeneratorImpl>();
  at::mt19937 engine = impl->engine();
  at::mt19937_data_pod pod = engine.data();
#if BERTFLEET_HAVE_AVX512_KERNELS
  if (kernels::HaveAvx512()) {
    DrawKeepAvx512(pod, keep.data_ptr<uint8_t>(), count, threshold);
  } else {
    DrawKeepBaseline(pod, keep.data_ptr<uint8_t>(), count, threshold);
  }
#else
  DrawKeepBaseline(pod, keep.data_ptr<uint8_t>(), count, threshold);
#endif
  engine.set_data(pod);
  impl->set_engine(engine);
  return keep;
}

void DrawLikeDataLoaderIterator() {
  auto generator = at::detail::getDefaultCPUGenerator();
  std::lock_guard<std::mutex> lock(generator.mutex());
  generator.get<at::CPUGeneratorImpl>()->random64();
}

bool DropoutDrawsMatchThisTorch() { return !AT_MKL_ENABLED(); }

}  // namespace bertfleet
