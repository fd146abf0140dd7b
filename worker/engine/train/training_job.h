#pragma once
// One fine-tuning job from a JobSpec: resolves the model and data, tokenizes, builds the
// session, trainer and scheduler, resumes from a checkpoint if asked, trains, and writes the
// final model. Used by `bertfleet-worker train` and by the coordinator's worker agent.
#include <filesystem>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "common/config/job_spec.h"
#include "common/data/tokenized_dataset.h"
#include "common/train/glue_tasks.h"
#include "common/text/bert_tokenizer.h"
#include "worker/engine/checkpoint/checkpoint_manager.h"
#include "worker/engine/report/tracking_reporter.h"
#include "worker/engine/collective/communicator.h"
#include "worker/engine/train/evaluator.h"
#include "worker/engine/train/trainer.h"
#include "worker/engine/train/training_scheduler.h"
#include "worker/engine/train/training_session.h"
#include "worker/engine/tracking/make_run_trackers.h"

namespace bertfleet {

struct TrainingJobOptions {
  std::filesystem::path output_dir;             // checkpoints and the final model
  std::filesystem::path data_root;              // relative `data`/`model` paths resolve here
  std::filesystem::path cache_dir;              // downloads ("" = DefaultCacheDir())
  Communicator* communicator = nullptr;         // null: a single process
  int cuda_device = 0;                          // device: cuda: which GPU (the NCCL group's)
  std::function<void(const std::string&)> log;  // one human-readable line per event
  TrainingScheduler::CheckpointListener on_checkpoint_saved;  // optional (metrics)
  // report_to: what the spec does not say (tracking URI, run name default, tags). report_to,
  // output_dir, logging_dir and log are filled in from the spec and these options.
  TrackingOptions tracking;
};

struct TrainingJobResult {
  TrainerState state;
  std::optional<EvalResult> final_eval;  // of the model written to output_dir
  // The splits evaluated with the final model only, with their key suffix (MNLI's "_mm").
  std::vector<std::pair<std::string, EvalResult>> final_only_evals;
  std::filesystem::path model_dir;
  bool stopped_early = false;  // stop requested (signal, cancellation) before the last step
};

class TrainingJob {
 public:
  TrainingJob(JobSpec spec, TrainingJobOptions options);
  ~TrainingJob();

  void AddObserver(TrainingObserver* observer) { trainer_->AddObserver(observer); }
  TrainingJobResult Run();
  // Thread- and signal-safe: stop at the next step boundary, saving a checkpoint if asked.
  void RequestStop(bool save_checkpoint) { scheduler_->RequestStop(save_checkpoint); }

  const JobSpec& spec() const { return spec_; }
  const TrainerState& state() const { return state_; }
  int64_t train_examples() const { return static_cast<int64_t>(train_data_.examples.size()); }
  int64_t eval_examples() const { return static_cast<int64_t>(eval_data_.examples.size()); }
  const std::filesystem::path& model_dir() const { return model_dir_; }
  // The GLUE task, or the one the spec's train_file defines (its labels and metrics).
  const GlueTask& task() const { return task_; }

 private:
  void Log(const std::string& line) const {
    if (options_.log) options_.log(line);
  }

  JobSpec spec_;
  TrainingJobOptions options_;
  SingleProcessCommunicator single_process_;
  Communicator* communicator_;
  std::filesystem::path model_dir_;
  std::unique_ptr<BertTokenizer> tokenizer_;
  TokenizedDataset train_data_;
  GlueTask task_;
  TokenizedDataset eval_data_;
  // Splits evaluated with the final model only, with their key suffix (MNLI's "_mm").
  std::vector<std::pair<std::string, TokenizedDataset>> final_only_evals_;
  int32_t trainer_pad_id_ = 0;
  std::unique_ptr<TrainingSession> session_;
  std::unique_ptr<Trainer> trainer_;
  std::unique_ptr<Evaluator> evaluator_;
  std::unique_ptr<CheckpointManager> checkpoints_;
  std::unique_ptr<TrainingScheduler> scheduler_;
  std::unique_ptr<TrackingReporter> tracking_;  // rank 0 with report_to
  TrainerState state_;
};

// Hugging Face run_glue semantics: the first N examples (N < 0: all).
std::vector<SentencePair> FirstExamples(std::vector<SentencePair> examples, int64_t limit);

}  // namespace bertfleet
