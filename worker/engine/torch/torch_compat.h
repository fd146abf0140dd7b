#pragma once
// The only place that knows which LibTorch API generation we build against (Debian's 1.13 or a
// 2.x from a PyPI wheel). Everything else calls these wrappers.
#include <ATen/autocast_mode.h>
#include <torch/version.h>

#include <optional>

namespace bertfleet {

// Mixed precision as Hugging Face's `bf16`/`fp16` flags: matmuls in the low-precision type,
// everything autocast keeps in fp32 stays there. Scoped: restores the previous state and clears
// the cast-weight cache when the outermost scope ends (after an optimizer step the cached casts
// of in-place-updated weights would otherwise be stale).
class AutocastScope {
 public:
  AutocastScope(bool enabled, at::ScalarType dtype, bool cuda);
  ~AutocastScope();
  AutocastScope(const AutocastScope&) = delete;
  AutocastScope& operator=(const AutocastScope&) = delete;

 private:
  bool active_;
  bool cuda_;
  bool previous_enabled_ = false;
  at::ScalarType previous_dtype_ = at::kBFloat16;
};

// The low-precision type of CPU autocast when it is on (bf16 under Hugging Face's `bf16`).
std::optional<at::ScalarType> CpuAutocastType();

}  // namespace bertfleet
