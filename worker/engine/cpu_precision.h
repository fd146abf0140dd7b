#pragma once
// Whether this CPU can run bf16 autocast fast. LibTorch sends bf16 matmuls to oneDNN only on CPUs
// with AVX-512 (BW, DQ and VL; AMX or AVX512-BF16 make them faster still). Elsewhere they run in
// ATen's scalar fallback: on a 2-core AMD EPYC (Zen 3) a 960 x 768 x 3072 product took 1.05 s in
// bf16 against 0.08 s in fp32, so `bf16: true` there makes training an order of magnitude slower.
#include <string>

namespace bertfleet {

// Empty when bf16 matmuls have a fast path on this CPU (or the check does not apply to it); else
// a warning that names the job-spec key and what to do instead.
std::string SlowBf16Warning();

}  // namespace bertfleet
