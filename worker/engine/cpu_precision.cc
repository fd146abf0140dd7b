#include "worker/engine/cpu_precision.h"

#include "worker/engine/cpu_kernel_util.h"

namespace bertfleet {

std::string SlowBf16Warning() {
#if BERTFLEET_HAVE_AVX512_KERNELS
  if (!kernels::HaveAvx512()) {
    return "bf16: this CPU has no AVX-512 (BW/DQ/VL), so LibTorch runs bf16 matmuls in a scalar fallback, "
           "about 10x slower than fp32; fp32 (bf16: false) is faster on this machine";
  }
#endif
  return "";
}

}  // namespace bertfleet
