#include "common/train/lr_schedule.h"

#include <algorithm>
#include <cmath>

#include "common/util/error.h"

namespace bertfleet {

LearningRateSchedule::LearningRateSchedule(std::string kind, int64_t warmup_steps,
                                           int64_t total_steps)
    : kind_(std::move(kind)), warmup_steps_(warmup_steps), total_steps_(total_steps) {
  if (kind_ != "linear" && kind_ != "constant" && kind_ != "constant_with_warmup" &&
      kind_ != "cosine") {
    throw Error("lr_scheduler_type: must be one of linear, constant, constant_with_warmup, "
                "cosine (got \"" + kind_ + "\")");
  }
}

double LearningRateSchedule::Multiplier(int64_t step) const {
  if (kind_ == "constant") return 1.0;
  const double s = static_cast<double>(step);
  if (step < warmup_steps_) {
    return s / static_cast<double>(std::max<int64_t>(1, warmup_steps_));
  }
  if (kind_ == "constant_with_warmup") return 1.0;
  const double remaining = static_cast<double>(std::max<int64_t>(1, total_steps_ - warmup_steps_));
  if (kind_ == "linear") {
    return std::max(0.0, static_cast<double>(total_steps_ - step) / remaining);
  }
  // cosine with num_cycles = 0.5, as transformers' default
  const double progress = static_cast<double>(step - warmup_steps_) / remaining;
  return std::max(0.0, 0.5 * (1.0 + std::cos(M_PI * 0.5 * 2.0 * progress)));
}

int64_t LearningRateSchedule::WarmupSteps(int64_t warmup_steps, double warmup_ratio,
                                          int64_t total_steps) {
  if (warmup_steps > 0) return warmup_steps;
  return static_cast<int64_t>(std::ceil(warmup_ratio * static_cast<double>(total_steps)));
}

}  // namespace bertfleet
