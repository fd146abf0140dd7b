#pragma once
// Where training stands: enough to report progress and to resume exactly (with the session's
// weights, optimizer and RNG). Serialised as Hugging Face's trainer_state.json plus a
// `bertfleet` section for the data position.
#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>

namespace bertfleet {

struct EpochSummary {
  int64_t epoch = 0;  // 1-based, as printed
  double train_loss = 0;
  double eval_loss = 0;
  double eval_accuracy = 0;
  double eval_f1 = 0;
  // The task's metrics (accuracy, f1 for mrpc; matthews_correlation for cola, ...), reported
  // under Trainer's names: eval_<metric>.
  std::vector<std::pair<std::string, double>> eval_metrics;
  double train_samples_per_second = 0;
  double train_seconds = 0;
  int64_t global_step = 0;
  bool evaluated = false;
  nlohmann::json ToJson() const;
  static EpochSummary FromJson(const nlohmann::json& json);
};

struct TrainerState {
  int64_t global_step = 0;
  int64_t total_steps = 0;
  int64_t steps_per_epoch = 0;  // optimizer steps
  int64_t num_epochs = 0;       // epochs the loop will run (ceil of num_train_epochs)
  int64_t epoch_index = 0;      // 0-based epoch in progress
  int64_t batch_in_epoch = 0;   // next micro-batch of this epoch (the data position)
  // Running sums for the epoch in progress, so a resumed epoch reports what an
  // uninterrupted one would.
  double epoch_loss_sum = 0;
  int64_t epoch_loss_steps = 0;
  int64_t epoch_examples = 0;
  double epoch_seconds = 0;

  double best_metric = 0;
  bool has_best_metric = false;
  std::string best_model_checkpoint;
  std::vector<EpochSummary> epochs;
  nlohmann::json log_history = nlohmann::json::array();

  double EpochProgress() const;  // Hugging Face's fractional `epoch`
  nlohmann::json ToJson() const;
  static TrainerState FromJson(const nlohmann::json& json, const std::string& source);
};

}  // namespace bertfleet
