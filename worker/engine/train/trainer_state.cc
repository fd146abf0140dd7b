#include "worker/engine/train/trainer_state.h"

#include "common/util/error.h"

namespace bertfleet {

nlohmann::json EpochSummary::ToJson() const {
  nlohmann::json json = {{"epoch", epoch},
                         {"train_loss", train_loss},
                         {"train_samples_per_second", train_samples_per_second},
                         {"train_runtime", train_seconds},
                         {"step", global_step}};
  if (evaluated) {
    json["eval_loss"] = eval_loss;
    // The task's metrics under Trainer's names (eval_accuracy, eval_f1 for mrpc); the typed pair
    // alone for a state written before metrics were named.
    if (eval_metrics.empty()) {
      json["eval_accuracy"] = eval_accuracy;
      json["eval_f1"] = eval_f1;
    }
    for (const auto& [name, value] : eval_metrics) json["eval_" + name] = value;
  }
  return json;
}

EpochSummary EpochSummary::FromJson(const nlohmann::json& json) {
  EpochSummary summary;
  summary.epoch = json.at("epoch").get<int64_t>();
  summary.train_loss = json.at("train_loss").get<double>();
  summary.train_samples_per_second = json.at("train_samples_per_second").get<double>();
  summary.train_seconds = json.at("train_runtime").get<double>();
  summary.global_step = json.at("step").get<int64_t>();
  summary.evaluated = json.contains("eval_loss");
  if (summary.evaluated) {
    summary.eval_loss = json.at("eval_loss").get<double>();
    summary.eval_accuracy = json.value("eval_accuracy", 0.0);
    summary.eval_f1 = json.value("eval_f1", 0.0);
    for (const auto& [key, value] : json.items()) {
      if (key.rfind("eval_", 0) == 0 && key != "eval_loss" && value.is_number()) {
        summary.eval_metrics.emplace_back(key.substr(5), value.get<double>());
      }
    }
  }
  return summary;
}

double TrainerState::EpochProgress() const {
  if (steps_per_epoch <= 0) return 0;
  return static_cast<double>(global_step) / static_cast<double>(steps_per_epoch);
}

nlohmann::json TrainerState::ToJson() const {
  nlohmann::json epochs_json = nlohmann::json::array();
  for (const auto& summary : epochs) epochs_json.push_back(summary.ToJson());
  return {
      // Hugging Face trainer_state.json fields.
      {"global_step", global_step},
      {"max_steps", total_steps},
      {"num_train_epochs", num_epochs},
      {"epoch", EpochProgress()},
      {"best_metric", has_best_metric ? nlohmann::json(best_metric) : nlohmann::json(nullptr)},
      {"best_model_checkpoint",
       best_model_checkpoint.empty() ? nlohmann::json(nullptr) : nlohmann::json(best_model_checkpoint)},
      {"log_history", log_history},
      // What bertfleet needs to continue exactly where it stopped.
      {"bertfleet",
       {{"steps_per_epoch", steps_per_epoch},
        {"epoch_index", epoch_index},
        {"batch_in_epoch", batch_in_epoch},
        {"epoch_loss_sum", epoch_loss_sum},
        {"epoch_loss_steps", epoch_loss_steps},
        {"epoch_examples", epoch_examples},
        {"epoch_seconds", epoch_seconds},
        {"epochs", epochs_json}}},
  };
}

TrainerState TrainerState::FromJson(const nlohmann::json& json, const std::string& source) {
  try {
    TrainerState state;
    state.global_step = json.at("global_step").get<int64_t>();
    state.total_steps = json.at("max_steps").get<int64_t>();
    state.num_epochs = json.at("num_train_epochs").get<int64_t>();
    state.has_best_metric = !json.at("best_metric").is_null();
    if (state.has_best_metric) state.best_metric = json.at("best_metric").get<double>();
    if (!json.at("best_model_checkpoint").is_null()) {
      state.best_model_checkpoint = json.at("best_model_checkpoint").get<std::string>();
    }
    state.log_history = json.at("log_history");
    const auto& own = json.at("bertfleet");
    state.steps_per_epoch = own.at("steps_per_epoch").get<int64_t>();
    state.epoch_index = own.at("epoch_index").get<int64_t>();
    state.batch_in_epoch = own.at("batch_in_epoch").get<int64_t>();
    state.epoch_loss_sum = own.at("epoch_loss_sum").get<double>();
    state.epoch_loss_steps = own.at("epoch_loss_steps").get<int64_t>();
    state.epoch_examples = own.at("epoch_examples").get<int64_t>();
    state.epoch_seconds = own.at("epoch_seconds").get<double>();
    for (const auto& summary : own.at("epochs")) state.epochs.push_back(EpochSummary::FromJson(summary));
    return state;
  } catch (const nlohmann::json::exception& error) {
    throw Error(source + ": malformed trainer state: " + error.what());
  }
}

}  // namespace bertfleet
