#include "worker/engine/train/training_job.h"

#include <sstream>

#include "common/data/mrpc_dataset.h"
#include "common/data/task_data.h"
#include "common/model/model_source.h"
#include "common/train/glue_tasks.h"
#include "common/util/error.h"
#include "common/util/file_io.h"
#include "common/util/usable_cores.h"
#include "worker/engine/kernels/cpu/cpu_performance.h"
#include "worker/engine/checkpoint/pretrained.h"
#include "worker/engine/model/sequence_classification_loss.h"

namespace bertfleet {

namespace fs = std::filesystem;

std::vector<SentencePair> FirstExamples(std::vector<SentencePair> examples, int64_t limit) {
  if (limit >= 0 && static_cast<size_t>(limit) < examples.size()) examples.resize(static_cast<size_t>(limit));
  return examples;
}

namespace {

// As run_glue.py: the task decides num_labels and the label names in config.json, unless the job
// spec's model_config_overrides says otherwise. MRPC keeps the checkpoint's (the reference
// notebook's Trainer, which the MRPC parity tests follow, leaves them as loaded).
nlohmann::json TaskConfigOverrides(const JobSpec& spec, const GlueTask& task) {
  nlohmann::json overrides = spec.model_config_overrides;
  if (task.name == "mrpc") return overrides;
  if (!overrides.contains("num_labels") && !overrides.contains("id2label")) {
    if (task.regression()) {
      overrides["num_labels"] = 1;  // Hugging Face's regression head: one output, MSE
      return overrides;
    }
    nlohmann::json id2label = nlohmann::json::object();
    for (size_t k = 0; k < task.label_names.size(); ++k) id2label[std::to_string(k)] = task.label_names[k];
    overrides["id2label"] = id2label;
    overrides["num_labels"] = task.num_labels();
  }
  return overrides;
}

// Own files declare their metrics only once read: a metric_for_best_model that the spec check
// could not rule out (f1 for three classes, accuracy for a regression) is refused here, before
// training, rather than at the first evaluation.
void CheckBestMetricReported(const JobSpec& spec, const JobData& data) {
  if (spec.metric_for_best_model.empty()) return;
  std::string name = spec.metric_for_best_model;
  if (name.rfind("eval_", 0) == 0) name = name.substr(5);
  if (name == "loss") return;
  std::string reported = "loss";
  for (const std::string& metric : data.task.metrics) {
    if (metric == name) return;
    reported += ", " + metric;
  }
  const std::string problem =
      data.task.regression() ? "is a regression" : "has " + std::to_string(data.task.num_labels()) + " labels";
  throw Error("metric_for_best_model: " + data.description + " " + problem + ", whose evaluation reports " + reported +
              ", not " + spec.metric_for_best_model);
}

torch::Device DeviceFor(const JobSpec& spec, int cuda_device) {
  if (spec.device == "cuda") {
    if (!torch::cuda::is_available()) throw Error("device: cuda requested but no CUDA device is available");
    return torch::Device(torch::kCUDA, static_cast<c10::DeviceIndex>(cuda_device));
  }
  return torch::Device(torch::kCPU);
}

}  // namespace

TrainingJob::TrainingJob(JobSpec spec, TrainingJobOptions options)
    : spec_(std::move(spec)), options_(std::move(options)) {
  communicator_ = options_.communicator ? options_.communicator : &single_process_;
  torch::set_num_threads(spec_.threads > 0 ? static_cast<int>(spec_.threads) : UsableCores());

  ModelSourceOptions sources;
  sources.search_root = options_.data_root;
  model_dir_ = ResolveModel(spec_.model, sources);
  tokenizer_ = std::make_unique<BertTokenizer>(BertTokenizer::FromModelDir(model_dir_));
  const fs::path cache = options_.cache_dir.empty() ? DefaultCacheDir() : options_.cache_dir;
  auto warn = [this](const std::string& line) { Log(line); };
  JobData data = LoadJobData(spec_, options_.data_root, cache, warn);
  task_ = data.task;
  const GlueTask& task = task_;
  CheckBestMetricReported(spec_, data);
  LoadedModel loaded = LoadPretrained(model_dir_, static_cast<uint64_t>(spec_.seed), TaskConfigOverrides(spec_, task));
  const nlohmann::json loaded_config_json = loaded.config.ToJson();
  // As Trainer's set_seed(seed) after the model is built: the default generator, which dropout
  // draws from (torch_dropout_draws.h), starts from `seed`. A resumed run then restores the
  // checkpoint's state; data-parallel ranks reseed at every step (trainer.cc).
  torch::manual_seed(static_cast<uint64_t>(spec_.seed));
  CheckVocabMatchesModel(tokenizer_->vocab_size(), loaded.config, model_dir_.string());
  // Class ids fitted as numbers by a regression head (or scores taken as class ids) would train
  // without error and mean nothing.
  const ProblemType wanted = task.regression() ? ProblemType::kRegression : ProblemType::kSingleLabelClassification;
  if (ProblemTypeOf(loaded.config) != wanted) {
    throw Error(model_dir_.string() + "/config.json: " + data.description + " is " + ProblemTypeName(wanted) +
                ", but the model is a " + ProblemTypeName(ProblemTypeOf(loaded.config)) + " head (num_labels " +
                std::to_string(loaded.config.num_labels) + ", or problem_type); train from a checkpoint without "
                "that head or set model_config_overrides: {num_labels: " + std::to_string(task.num_labels()) + "}");
  }
  // Trainer's first forward sets problem_type and the saved config.json carries it, so that
  // transformers reads the head back as what it is (MRPC keeps the checkpoint's config, as above).
  if (task.name != "mrpc") loaded.config.raw["problem_type"] = ProblemTypeName(wanted);
  if (const std::string warning = loaded.report.Describe(); !warning.empty()) Log(warning);
  if (spec_.device != "cuda") {
    for (const std::string& warning : CpuPerformanceWarnings(spec_.bf16)) Log(warning);
  }

  const int max_length = static_cast<int>(spec_.max_seq_length);
  const TextInputs inputs = task.text_columns.size() == 1 ? TextInputs::kSingleSentences : TextInputs::kPairs;
  train_data_ = TokenizePairs(*tokenizer_, FirstExamples(std::move(data.train), spec_.max_train_samples), max_length,
                              0, inputs);
  for (EvalSplit& split : data.evals) {
    TokenizedDataset tokenized =
        TokenizePairs(*tokenizer_, FirstExamples(std::move(split.rows), spec_.max_eval_samples), max_length, 0, inputs);
    if (split.key_suffix.empty()) {
      eval_data_ = std::move(tokenized);
    } else {
      final_only_evals_.push_back({split.key_suffix, std::move(tokenized)});
    }
  }
  if (train_data_.examples.empty()) throw Error("data: the train split of " + data.description + " is empty");

  const int32_t pad_id = tokenizer_->pad_id();
  trainer_pad_id_ = pad_id;
  state_ = PlanInitialState(spec_, train_data_.lengths, JobRanks(spec_, *communicator_));
  session_ = std::make_unique<TrainingSession>(std::move(loaded.model), loaded.config, spec_, state_.total_steps,
                                               DeviceFor(spec_, options_.cuda_device));
  // Rank 0's weights (including the freshly initialised classifier) are everyone's start: one
  // broadcast of the flat parameter buffer.
  if (communicator_->world_size() > 1) {
    torch::NoGradGuard no_grad;
    communicator_->Broadcast(session_->parameters().values(), 0);
  }
  trainer_ = std::make_unique<Trainer>(*session_, train_data_, spec_, *communicator_, pad_id);

  if (!eval_data_.examples.empty() && spec_.eval_strategy != "no") {
    evaluator_ = std::make_unique<Evaluator>(eval_data_, spec_.per_device_eval_batch_size, *communicator_, pad_id,
                                             task.metrics);
  }
  if (communicator_->rank() == 0 && !options_.output_dir.empty()) {
    checkpoints_ = std::make_unique<CheckpointManager>(options_.output_dir, spec_.save_total_limit, model_dir_,
                                                       spec_.ToJson());
  }
  scheduler_ = std::make_unique<TrainingScheduler>(spec_, *session_, evaluator_.get(), checkpoints_.get(), options_.log);
  scheduler_->SetCheckpointListener(options_.on_checkpoint_saved);
  trainer_->AddObserver(scheduler_.get());

  if (communicator_->rank() == 0 && !spec_.report_to.empty()) {
    TrackingOptions tracking = options_.tracking;
    tracking.report_to = spec_.report_to;
    tracking.output_dir = options_.output_dir;
    tracking.logging_dir = spec_.logging_dir;
    if (!spec_.run_name.empty()) tracking.run_name = spec_.run_name;
    tracking.log = options_.log;
    tracking_ = std::make_unique<TrackingReporter>(MakeRunTrackers(tracking), spec_.ToJson(), loaded_config_json);
    trainer_->AddObserver(tracking_.get());  // after the scheduler: it sees the entries the scheduler adds
  }

  if (!spec_.resume_from_checkpoint.empty()) {
    fs::path checkpoint = spec_.resume_from_checkpoint;
    if (spec_.resume_from_checkpoint == "last") {
      CheckpointManager reader(options_.output_dir, -1, model_dir_, spec_.ToJson());
      const auto latest = reader.LatestValid([this](const std::string& line) { Log(line); });
      if (!latest) throw Error("resume_from_checkpoint: no valid checkpoint in " + options_.output_dir.string());
      checkpoint = *latest;
    }
    CheckpointManager(options_.output_dir, -1, model_dir_, spec_.ToJson()).Restore(checkpoint, *session_, state_);
    Log("resumed from " + checkpoint.string() + " at step " + std::to_string(state_.global_step));
  }
}

TrainingJob::~TrainingJob() = default;

TrainingJobResult TrainingJob::Run() {
  trainer_->Train(state_);
  TrainingJobResult result;
  result.state = state_;
  result.stopped_early = trainer_->stopped_early();
  if (result.stopped_early) {
    scheduler_->OnStoppedEarly(state_);  // preemption: the job resumes from this step
    if (tracking_) tracking_->Finish({}, RunOutcome::kStopped);
    return result;
  }
  // Only rank 0 saved checkpoints, so only it loaded the best one: it hands it to the others.
  if (communicator_->world_size() > 1 && spec_.load_best_model_at_end) {
    torch::NoGradGuard no_grad;
    communicator_->Broadcast(session_->parameters().values(), 0);
  }
  if (evaluator_) {
    result.final_eval = evaluator_->Evaluate(session_->model(), session_->precision(), session_->device());
  }
  // run_glue.py evaluates MNLI's mismatched split after training only, its keys ending in _mm.
  if (evaluator_) {
    for (const auto& [suffix, dataset] : final_only_evals_) {
      Evaluator evaluator(dataset, spec_.per_device_eval_batch_size, *communicator_, trainer_pad_id_, task_.metrics);
      result.final_only_evals.emplace_back(
          suffix, evaluator.Evaluate(session_->model(), session_->precision(), session_->device()));
    }
  }
  if (communicator_->rank() == 0 && !options_.output_dir.empty()) {
    SavePretrained(session_->model(), session_->config(), model_dir_, options_.output_dir);
    nlohmann::json results = state_.ToJson();
    if (result.final_eval) {
      nlohmann::json final_eval = {{"eval_loss", result.final_eval->loss},
                                   {"eval_samples", result.final_eval->examples}};
      for (const auto& [name, value] : result.final_eval->metrics) final_eval["eval_" + name] = value;
      for (const auto& [suffix, eval] : result.final_only_evals) {
        final_eval["eval_loss" + suffix] = eval.loss;
        final_eval["eval_samples" + suffix] = eval.examples;
        for (const auto& [name, value] : eval.metrics) final_eval["eval_" + name + suffix] = value;
      }
      results["final_eval"] = final_eval;
    }
    WriteFileAtomically(options_.output_dir / "trainer_state.json", results.dump(2) + "\n");
    result.model_dir = options_.output_dir;
  }
  if (tracking_) tracking_->Finish(options_.output_dir, RunOutcome::kFinished);
  // No rank reports success before rank 0 has written the model (and a rank 0 that dies while
  // writing it fails the others, naming it).
  if (communicator_->world_size() > 1) communicator_->Barrier();
  return result;
}

}  // namespace bertfleet
