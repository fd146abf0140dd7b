#pragma once
// Everything that changes while a model trains, in one place: model, flat parameters,
// optimizer, schedule, precision and device. Checkpoints save and restore exactly this.
#include <memory>

#include <torch/torch.h>

#include "common/config/job_spec.h"
#include "common/train/lr_schedule.h"
#include "worker/engine/optim/adamw_optimizer.h"
#include "worker/engine/model/bert_model.h"
#include "worker/engine/optim/flat_parameters.h"

namespace bertfleet {

struct Precision {
  bool bf16 = false;
  bool fp16 = false;
  bool enabled() const { return bf16 || fp16; }
  at::ScalarType dtype() const { return fp16 ? at::kHalf : at::kBFloat16; }
};

class TrainingSession {
 public:
  TrainingSession(BertForSequenceClassification model, BertConfig config, const JobSpec& spec,
                  int64_t total_steps, torch::Device device);

  BertForSequenceClassification& model() { return model_; }
  const BertConfig& config() const { return config_; }
  FlatParameters& parameters() { return *parameters_; }
  AdamWOptimizer& optimizer() { return *optimizer_; }
  const LearningRateSchedule& schedule() const { return schedule_; }
  const Precision& precision() const { return precision_; }
  torch::Device device() const { return device_; }
  double LearningRate(int64_t step) const { return base_lr_ * schedule_.Multiplier(step); }

 private:
  BertForSequenceClassification model_;
  BertConfig config_;
  std::unique_ptr<FlatParameters> parameters_;
  std::unique_ptr<AdamWOptimizer> optimizer_;
  LearningRateSchedule schedule_;
  Precision precision_;
  torch::Device device_;
  double base_lr_;
};

}  // namespace bertfleet
