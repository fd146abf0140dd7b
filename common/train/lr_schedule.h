#pragma once
// Learning-rate multipliers as transformers' get_scheduler: the rate for optimizer step k
// (0-based) is base_lr * Multiplier(k); Hugging Face calls scheduler.step() after each
// optimizer step, so step 0 uses Multiplier(0).
#include <cstdint>
#include <string>

namespace bertfleet {

class LearningRateSchedule {
 public:
  // kind: linear | constant | constant_with_warmup | cosine. Throws Error on an unknown kind.
  LearningRateSchedule(std::string kind, int64_t warmup_steps, int64_t total_steps);

  double Multiplier(int64_t step) const;
  int64_t warmup_steps() const { return warmup_steps_; }
  int64_t total_steps() const { return total_steps_; }

  // Hugging Face TrainingArguments.get_warmup_steps: warmup_steps if > 0, else
  // ceil(warmup_ratio * total_steps).
  static int64_t WarmupSteps(int64_t warmup_steps, double warmup_ratio, int64_t total_steps);

 private:
  std::string kind_;
  int64_t warmup_steps_;
  int64_t total_steps_;
};

}  // namespace bertfleet
