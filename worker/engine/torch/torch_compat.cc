#include "worker/engine/torch/torch_compat.h"

namespace bertfleet {

#if TORCH_VERSION_MAJOR >= 2
namespace {
c10::DeviceType AutocastDevice(bool cuda) { return cuda ? c10::DeviceType::CUDA : c10::DeviceType::CPU; }
bool IsEnabled(bool cuda) { return at::autocast::is_autocast_enabled(AutocastDevice(cuda)); }
void SetEnabled(bool cuda, bool on) { at::autocast::set_autocast_enabled(AutocastDevice(cuda), on); }
at::ScalarType GetDtype(bool cuda) { return at::autocast::get_autocast_dtype(AutocastDevice(cuda)); }
void SetDtype(bool cuda, at::ScalarType t) { at::autocast::set_autocast_dtype(AutocastDevice(cuda), t); }
}  // namespace
#else
namespace {
bool IsEnabled(bool cuda) { return cuda ? at::autocast::is_enabled() : at::autocast::is_cpu_enabled(); }
void SetEnabled(bool cuda, bool on) { cuda ? at::autocast::set_enabled(on) : at::autocast::set_cpu_enabled(on); }
at::ScalarType GetDtype(bool cuda) {
  return cuda ? at::autocast::get_autocast_gpu_dtype() : at::autocast::get_autocast_cpu_dtype();
}
void SetDtype(bool cuda, at::ScalarType t) {
  cuda ? at::autocast::set_autocast_gpu_dtype(t) : at::autocast::set_autocast_cpu_dtype(t);
}
}  // namespace
#endif

std::optional<at::ScalarType> CpuAutocastType() {
  if (!IsEnabled(false)) return std::nullopt;
  return GetDtype(false);
}

AutocastScope::AutocastScope(bool enabled, at::ScalarType dtype, bool cuda)
    : active_(enabled), cuda_(cuda) {
  if (!active_) return;
  previous_enabled_ = IsEnabled(cuda_);
  previous_dtype_ = GetDtype(cuda_);
  SetDtype(cuda_, dtype);
  SetEnabled(cuda_, true);
  at::autocast::increment_nesting();
}

AutocastScope::~AutocastScope() {
  if (!active_) return;
  if (at::autocast::decrement_nesting() == 0) at::autocast::clear_cache();
  SetEnabled(cuda_, previous_enabled_);
  SetDtype(cuda_, previous_dtype_);
}

}  // namespace bertfleet
