#pragma once
// A fine-tuning job as users write it: YAML whose keys are Hugging Face `TrainingArguments` names
// with their defaults, plus run_glue's data keys and bertfleet's own (`model`, `task`, `data`,
// `world_size`, ...). docs/job-spec.md lists every key with its Hugging Face counterpart.
#include <cstdint>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>

namespace bertfleet {

struct JobSpec {
  // What to train on.
  std::string model = "sentence-transformers/all-MiniLM-L6-v2";  // hub id or local directory
  std::string task = "mrpc";       // a GLUE task; "" with train_file
  std::string data = "download";  // a directory (GLUE TSVs or raw files) or "download"
  // Your own files instead of a GLUE task: run_glue.py's and run_classification.py's keys
  // (docs/own-data.md). CSV, TSV, JSON or JSON Lines by extension; relative paths as `data`.
  std::string train_file;
  std::string validation_file;
  std::string test_file;
  std::string text_column_names;           // "a" or "a,b"; "": run_glue.py's choice
  std::string label_column_name = "label";
  std::optional<bool> do_regression;       // unset: float labels mean regression
  int64_t max_seq_length = 128;   // run_glue default
  int64_t max_train_samples = -1;  // -1: all
  int64_t max_eval_samples = -1;
  nlohmann::json model_config_overrides = nlohmann::json::object();

  // TrainingArguments (same names and defaults as transformers 4.46).
  double learning_rate = 5e-5;
  double weight_decay = 0.0;
  double adam_beta1 = 0.9;
  double adam_beta2 = 0.999;
  double adam_epsilon = 1e-8;
  double max_grad_norm = 1.0;
  double num_train_epochs = 3.0;
  int64_t max_steps = -1;
  std::string lr_scheduler_type = "linear";  // linear | constant | constant_with_warmup | cosine
  double warmup_ratio = 0.0;
  int64_t warmup_steps = 0;
  int64_t per_device_train_batch_size = 8;
  int64_t per_device_eval_batch_size = 8;
  int64_t gradient_accumulation_steps = 1;
  int64_t seed = 42;
  int64_t data_seed = -1;  // -1: same as seed
  bool bf16 = false;
  bool fp16 = false;
  std::string eval_strategy = "no";  // no | steps | epoch (alias: evaluation_strategy)
  int64_t eval_steps = -1;           // -1: logging_steps, as Hugging Face
  std::string save_strategy = "steps";  // no | steps | epoch
  int64_t save_steps = 500;
  int64_t save_total_limit = -1;  // -1: keep all
  bool load_best_model_at_end = false;
  std::string metric_for_best_model;  // "" -> "loss" when load_best_model_at_end
  std::optional<bool> greater_is_better;  // unset: derived from the metric, as Hugging Face
  int64_t logging_steps = 500;
  bool group_by_length = false;
  bool dataloader_drop_last = false;
  std::string resume_from_checkpoint;  // a checkpoint directory, or "" for none
  int64_t ddp_bucket_cap_mb = 25;  // gradient all-reduce bucket size (MiB); Hugging Face's None = DDP's 25
  // Integrations to report to: tensorboard, mlflow, all (empty: none). Hugging Face 4.46 defaults
  // to all installed integrations and announces none for v5; bertfleet defaults to none.
  std::vector<std::string> report_to;
  std::string run_name;     // "" -> the job id (coordinator) or the output directory
  std::string logging_dir;  // "" -> OUTPUT/runs/<Mon DD_HH-MM-SS>_<host>; relative: under OUTPUT

  // bertfleet's own.
  int64_t world_size = 1;      // data-parallel workers (ranks)
  // Elastic jobs: the fewest workers the job may run on (-1: world_size, i.e. not elastic). On
  // fewer workers each rank also trains the slices of the missing ones, so the math stays that
  // of world_size ranks.
  int64_t min_world_size = -1;
  int64_t threads = 0;         // intra-op threads per worker; 0: all cores
  std::string device = "cpu";  // cpu | cuda
  int64_t priority = 0;        // higher runs first among queued jobs
  int64_t max_restarts = 3;

  // Resolved helpers with Hugging Face semantics.
  std::string BestMetricName() const;  // "eval_loss", "eval_accuracy", ...
  bool BestMetricGreaterIsBetter() const;
  uint64_t EffectiveDataSeed() const { return static_cast<uint64_t>(data_seed >= 0 ? data_seed : seed); }
  // The evaluation interval when eval_strategy is "steps": unset falls back to logging_steps.
  int64_t EffectiveEvalSteps() const { return eval_steps > 0 ? eval_steps : logging_steps; }
  int64_t EffectiveMinWorldSize() const { return min_world_size > 0 ? min_world_size : world_size; }

  nlohmann::json ToJson() const;  // every key, for logs, checkpoints and the coordinator
};

// The own-file keys (train_file, validation_file, test_file) with their values, in that order:
// every place that checks, uploads or fetches them walks this one list.
std::vector<std::pair<const char*, std::string*>> OwnFileKeys(JobSpec& spec);
std::vector<std::pair<const char*, const std::string*>> OwnFileKeys(const JobSpec& spec);

// Parses YAML text. `source` names the file (or "<submitted spec>") in errors, which name the key
// and the allowed range or values: "job.yaml: learning_rate: must be > 0 (got -1)". Unknown keys
// are errors that suggest the closest known key.
JobSpec ParseJobSpec(const std::string& yaml_text, const std::string& source);
JobSpec LoadJobSpecFile(const std::string& path);
// The spec's YAML with these keys set (each value parsed as a YAML scalar, as `--set` does),
// comments dropped. The result is not validated: ParseJobSpec it. Throws Error for malformed YAML.
std::string WithSpecSettings(const std::string& yaml_text,
                             const std::vector<std::pair<std::string, std::string>>& settings,
                             const std::string& source);

// Applies `--set key=value` overrides (value parsed as YAML scalar) and re-validates.
void ApplyJobSpecOverrides(JobSpec& spec, const std::vector<std::string>& assignments,
                           const std::string& source);

}  // namespace bertfleet
