#pragma once
// CPU setups that make training an order of magnitude or a good fraction slower, each found at
// run time and told to the user before a long run, with what to do instead.
//
// - bf16 without AVX-512: LibTorch sends bf16 matmuls to oneDNN only on CPUs with AVX-512 (BW, DQ
//   and VL; AMX or AVX512-BF16 make them faster still). Elsewhere they run in ATen's scalar
//   fallback: on a 2-core AMD EPYC (Zen 3) a 960 x 768 x 3072 product took 1.05 s in bf16 against
//   0.08 s in fp32.
// - OpenBLAS's pthreads build: LibTorch runs its own ops on an OpenMP pool, and this OpenBLAS
//   starts a second pool of one thread per core for the matmuls; the two spin against each other.
//   On the same machine a bert-base fp32 step took 6.3 s with it and 4.5 s with OpenBLAS's OpenMP
//   build, which shares LibTorch's pool (scripts/setup.sh selects that one).
#include <string>
#include <vector>

namespace bertfleet {

// Empty when bf16 matmuls have a fast path on this CPU (or the check does not apply to it).
std::string SlowBf16Warning();

// Empty unless the BLAS in this process is OpenBLAS's pthreads build with more than one thread
// while LibTorch also runs more than one.
std::string CompetingBlasThreadsWarning();

// The warnings above that apply to a CPU run (bf16 or not), for the log.
std::vector<std::string> CpuPerformanceWarnings(bool bf16);

}  // namespace bertfleet
