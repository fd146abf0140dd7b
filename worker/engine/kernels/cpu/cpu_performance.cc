#include "worker/engine/kernels/cpu/cpu_performance.h"

#include <dlfcn.h>
#include <torch/torch.h>

#include "worker/engine/kernels/cpu/cpu_kernel_util.h"

namespace bertfleet {

std::string SlowBf16Warning() {
#if BERTFLEET_HAVE_AVX512_KERNELS
  if (!kernels::HaveAvx512()) {
    return "bf16: this CPU has no AVX-512 (BW/DQ/VL), so LibTorch runs bf16 matmuls in a scalar fallback, "
           "10-50x slower than fp32; fp32 (bf16: false) is faster on this machine";
  }
#endif
  return "";
}

std::string CompetingBlasThreadsWarning() {
  // OpenBLAS's own queries, looked up rather than linked: the BLAS behind LibTorch is whatever
  // libblas.so.3 the system selects, and may not be OpenBLAS at all.
  using IntQuery = int (*)();
  const auto parallel = reinterpret_cast<IntQuery>(dlsym(RTLD_DEFAULT, "openblas_get_parallel"));
  const auto threads = reinterpret_cast<IntQuery>(dlsym(RTLD_DEFAULT, "openblas_get_num_threads"));
  constexpr int kOpenBlasPthreads = 1;  // 0: sequential build, 2: OpenMP build
  if (parallel == nullptr || threads == nullptr || parallel() != kOpenBlasPthreads) return "";
  if (threads() <= 1 || at::get_num_threads() <= 1) return "";
  return "BLAS: libblas.so.3 is OpenBLAS's pthreads build, whose " + std::to_string(threads()) +
         " threads compete with LibTorch's " + std::to_string(at::get_num_threads()) +
         " OpenMP threads for the cores (fp32 steps ~1.4x slower); install libopenblas0-openmp and select it "
         "for libblas.so.3 and libopenblas.so.0 with update-alternatives (scripts/setup.sh does both)";
}

std::vector<std::string> CpuPerformanceWarnings(bool bf16) {
  std::vector<std::string> warnings;
  for (std::string warning : {bf16 ? SlowBf16Warning() : "", CompetingBlasThreadsWarning()}) {
    if (!warning.empty()) warnings.push_back("warning: " + warning);
  }
  return warnings;
}

}  // namespace bertfleet
