#pragma once
// The training loop and nothing else (as in Marian's training/): batches in, optimizer steps out.
// Evaluation, checkpoint timing, signals and reporting live in TrainingObservers beside it.
#include <memory>
#include <vector>

#include "common/config/job_spec.h"
#include "common/data/tokenized_dataset.h"
#include "worker/engine/collective/communicator.h"
#include "worker/engine/model/sequence_classification_loss.h"
#include "worker/engine/train/trainer_state.h"
#include "worker/engine/train/training_session.h"

namespace bertfleet {

struct StepStats {
  int64_t step = 0;  // 1-based global step just finished
  double loss = 0;   // mean over the step's examples on every rank
  double learning_rate = 0;
  double grad_norm = 0;
  double seconds = 0;            // wall time of the step
  double compute_seconds = 0;    // part of `seconds` in forward and backward (this rank)
  // Part of `seconds` waiting for all-reduces after backward: communication not hidden behind
  // backward, plus waiting for slower ranks (0 for world size 1).
  double allreduce_seconds = 0;
  int64_t allreduce_bytes = 0;   // this rank's data sent into all-reduces (0 for world size 1)
  int64_t examples = 0;          // on every rank
  int64_t real_tokens = 0;       // this rank
  int64_t padded_tokens = 0;     // this rank
};

class TrainingObserver {
 public:
  virtual ~TrainingObserver() = default;
  virtual void OnTrainBegin(TrainerState& state) {}
  virtual void OnStepEnd(TrainerState& state, const StepStats& stats) {}
  // state.epochs.back() holds the finished epoch's training numbers; observers may add
  // evaluation results to it.
  virtual void OnEpochEnd(TrainerState& state) {}
  virtual void OnTrainEnd(TrainerState& state) {}
  virtual bool StopRequested() const { return false; }
};

// Micro-batches (positions into the train data) that `rank` runs in `epoch`, in order. Global
// batches of per_device_train_batch_size x world_size are cut from the epoch order; each rank
// takes its slice, so what global step k sees does not depend on the world size. A rank whose
// slice is empty gets an empty micro-batch and still joins the collectives.
std::vector<std::vector<int64_t>> PlanRankBatches(const JobSpec& spec, const std::vector<int64_t>& lengths,
                                                  int rank, int world_size, int64_t epoch);

// The ranks a job's math is defined for: the spec's world_size, or the group's size when that is
// larger (a group started by hand with --world-size). An elastic job that lost workers runs on
// fewer processes than this; each process then trains the slices of several job ranks.
int JobRanks(const JobSpec& spec, const Communicator& communicator);
// The job ranks that process `process` of `processes` trains: process, process + processes, ...
std::vector<int> JobRanksOfProcess(int process, int processes, int job_ranks);

// The state of a run that has not started: step counts with Hugging Face's semantics.
TrainerState PlanInitialState(const JobSpec& spec, const std::vector<int64_t>& lengths, int world_size);

class GradientReducer;

class Trainer {
 public:
  // With world size > 1 gradients are summed over ranks in buckets of spec.ddp_bucket_cap_mb.
  Trainer(TrainingSession& session, const TokenizedDataset& train_data, const JobSpec& spec,
          Communicator& communicator, int32_t pad_id = 0);
  ~Trainer();

  // Observers are called in the order added.
  void AddObserver(TrainingObserver* observer) { observers_.push_back(observer); }

  // Trains from `state`'s position until the last step or until an observer asks to stop.
  void Train(TrainerState& state);
  // Whether the last Train() stopped before the last step (every rank agrees on this).
  bool stopped_early() const { return stopped_early_; }

 private:
  // One job rank's micro-batches of one optimizer step.
  struct RankSlice {
    int job_rank = 0;
    std::vector<std::vector<int64_t>> micro_batches;
  };
  StepStats RunOptimizerStep(const std::vector<RankSlice>& slices, int64_t step);
  bool ObserverRequestsStop() const;

  TrainingSession& session_;
  const TokenizedDataset& train_data_;
  const JobSpec& spec_;
  Communicator& communicator_;
  int32_t pad_id_;
  ProblemType problem_;
  int job_ranks_;                 // JobRanks()
  std::vector<int> my_job_ranks_;  // the ones this process trains
  std::vector<TrainingObserver*> observers_;
  std::unique_ptr<GradientReducer> reducer_;  // world size > 1
  // With several ranks a stop (signal, cancellation) seen by any rank is agreed on in each
  // step's all-reduce, so that every rank stops after the same step.
  bool stop_agreed_ = false;
  bool stopped_early_ = false;
};

}  // namespace bertfleet
