#include "worker/engine/train/training_session.h"

#include <cstdlib>
#include <cstring>

namespace bertfleet {

TrainingSession::TrainingSession(BertForSequenceClassification model, BertConfig config,
                                 const JobSpec& spec, int64_t total_steps, torch::Device device)
    : model_(std::move(model)),
      config_(std::move(config)),
      schedule_(spec.lr_scheduler_type,
                LearningRateSchedule::WarmupSteps(spec.warmup_steps, spec.warmup_ratio, total_steps),
                total_steps),
      precision_{spec.bf16, spec.fp16},
      device_(device),
      base_lr_(spec.learning_rate) {
  model_->to(device_);
  // Packing real tokens saves matmul work on CPUs; on a GPU the gather/scatter around attention
  // costs more than the padding it saves (measured on an H200, docs/benchmarks.md), so CUDA runs
  // padded. BERTFLEET_PACKING=0/1 overrides either way (scripts/gpu-check.sh compares both).
  model_->set_packing(!device_.is_cuda());
  if (const char* packing = std::getenv("BERTFLEET_PACKING"); packing != nullptr && *packing != '\0') {
    model_->set_packing(std::strcmp(packing, "0") != 0);
  }
  parameters_ = std::make_unique<FlatParameters>(*model_);
  optimizer_ = std::make_unique<AdamWOptimizer>(
      *parameters_, AdamWOptions{spec.adam_beta1, spec.adam_beta2, spec.adam_epsilon, spec.weight_decay});
}

}  // namespace bertfleet
