#include "worker/engine/train/trainer.h"

#include <chrono>
#include <cmath>

#include "common/data/batching.h"
#include "common/util/derived_seed.h"
#include "worker/engine/model/batch_tensors.h"
#include "worker/engine/model/sequence_classification_loss.h"
#include "worker/engine/collective/gradient_reducer.h"
#include "worker/engine/kernels/cpu/torch_dropout_draws.h"
#include "worker/engine/torch/torch_compat.h"

namespace bertfleet {

namespace {
using Clock = std::chrono::steady_clock;
double SecondsSince(Clock::time_point start) {
  return std::chrono::duration<double>(Clock::now() - start).count();
}
}  // namespace

Trainer::Trainer(TrainingSession& session, const TokenizedDataset& train_data, const JobSpec& spec,
                 Communicator& communicator, int32_t pad_id)
    : session_(session),
      train_data_(train_data),
      spec_(spec),
      communicator_(communicator),
      pad_id_(pad_id),
      problem_(ProblemTypeOf(session.config())),
      job_ranks_(JobRanks(spec, communicator)),
      my_job_ranks_(JobRanksOfProcess(communicator.rank(), communicator.world_size(), job_ranks_)) {
  if (communicator_.world_size() > 1) {
    reducer_ = std::make_unique<GradientReducer>(*session_.model(), session_.parameters(), communicator_,
                                                 spec_.ddp_bucket_cap_mb * 1024 * 1024);
  }
}

Trainer::~Trainer() = default;

bool Trainer::ObserverRequestsStop() const {
  for (auto* observer : observers_) {
    if (observer->StopRequested()) return true;
  }
  return false;
}

std::vector<std::vector<int64_t>> PlanRankBatches(const JobSpec& spec, const std::vector<int64_t>& lengths,
                                                  int rank, int world_size, int64_t epoch) {
  const int64_t per_device = spec.per_device_train_batch_size;
  BatchPlanOptions options;
  options.batch_size = per_device * world_size;
  options.shuffle = true;
  options.group_by_length = spec.group_by_length;
  options.drop_last = spec.dataloader_drop_last;
  options.seed = spec.EffectiveDataSeed();
  const auto global_batches = PlanEpochBatches(lengths, options, epoch);
  std::vector<std::vector<int64_t>> mine;
  mine.reserve(global_batches.size());
  for (const auto& global : global_batches) {
    const int64_t size = static_cast<int64_t>(global.size());
    const int64_t begin = std::min(size, rank * per_device);
    const int64_t end = std::min(size, begin + per_device);
    mine.emplace_back(global.begin() + begin, global.begin() + end);  // may be empty
  }
  return mine;
}

int JobRanks(const JobSpec& spec, const Communicator& communicator) {
  return std::max(static_cast<int>(spec.world_size), communicator.world_size());
}

std::vector<int> JobRanksOfProcess(int process, int processes, int job_ranks) {
  std::vector<int> ranks;
  for (int rank = process; rank < job_ranks; rank += processes) ranks.push_back(rank);
  return ranks;
}

TrainerState PlanInitialState(const JobSpec& spec, const std::vector<int64_t>& lengths, int world_size) {
  TrainerState state;
  const int64_t batches = static_cast<int64_t>(PlanRankBatches(spec, lengths, 0, world_size, 0).size());
  const int64_t accumulation = spec.gradient_accumulation_steps;
  state.steps_per_epoch = std::max<int64_t>(1, (batches + accumulation - 1) / accumulation);
  if (spec.max_steps > 0) {
    state.total_steps = spec.max_steps;
    state.num_epochs = (spec.max_steps + state.steps_per_epoch - 1) / state.steps_per_epoch;
  } else {
    state.total_steps = static_cast<int64_t>(
        std::ceil(spec.num_train_epochs * static_cast<double>(state.steps_per_epoch)));
    state.num_epochs = static_cast<int64_t>(std::ceil(spec.num_train_epochs));
  }
  return state;
}

StepStats Trainer::RunOptimizerStep(const std::vector<RankSlice>& slices, int64_t step) {
  const auto start = Clock::now();
  auto& model = session_.model();
  const torch::Device device = session_.device();
  const Precision& precision = session_.precision();
  StepStats stats;
  stats.step = step + 1;
  stats.learning_rate = session_.LearningRate(step);
  // Sum (not mean) of the per-example losses: after the all-reduce, dividing by the global
  // example count gives the exact global mean for any split of the batch across ranks and
  // micro-batches.
  double loss_sum = 0;
  int64_t examples = 0;
  // The last backward of the step starts the gradient buckets' all-reduces as it goes (on CPU;
  // CUDA runs backward on its own threads, so its buckets start after backward).
  std::pair<size_t, size_t> last_backward{slices.size(), 0};
  for (size_t s = 0; s < slices.size(); ++s) {
    for (size_t i = 0; i < slices[s].micro_batches.size(); ++i) {
      if (!slices[s].micro_batches[i].empty()) last_backward = {s, i};
    }
  }
  const auto compute_start = Clock::now();
  for (size_t s = 0; s < slices.size(); ++s) {
    // One process draws dropout masks from one stream, seeded once, as Hugging Face does (and a
    // checkpoint carries its state). With several job ranks each rank's slice draws from its own
    // stream, reseeded here from (seed, job rank, step): a rank resumed at any step, or trained
    // by another process after a resize, draws what it would have drawn without every rank's
    // state in the checkpoint.
    if (job_ranks_ > 1) {
      const uint64_t rank_seed = DeriveSeed(static_cast<uint64_t>(spec_.seed), static_cast<uint64_t>(slices[s].job_rank));
      torch::manual_seed(DeriveSeed(rank_seed, static_cast<uint64_t>(step)));
    }
    const auto& micro_batches = slices[s].micro_batches;
    for (size_t i = 0; i < micro_batches.size(); ++i) {
      const auto& positions = micro_batches[i];
      if (positions.empty()) continue;  // this rank still joins the all-reduces below
      const BatchTensors batch = ToBatchTensors(CollateBatch(train_data_.examples, positions, pad_id_), device);
      torch::Tensor logits;
      {
        AutocastScope autocast(precision.enabled(), precision.dtype(), device.is_cuda());
        logits = model->forward(batch.inputs);
      }
      auto loss = SequenceClassificationLossSum(logits, LossLabels(batch, problem_), problem_);
      if (reducer_ && last_backward == std::make_pair(s, i) && device.is_cpu()) reducer_->ArmForBackward();
      loss.backward();
      loss_sum += loss.item<double>();
      examples += batch.examples;
      stats.real_tokens += batch.real_tokens;
      stats.padded_tokens += batch.padded_tokens;
    }
  }

  stats.compute_seconds = SecondsSince(compute_start);

  torch::Tensor& gradients = session_.parameters().gradients();
  double global_examples = static_cast<double>(examples);
  double global_loss = loss_sum;
  if (reducer_) {
    const auto reduce_start = Clock::now();
    reducer_->Finish();  // every bucket, in the same order on every rank, then the totals
    auto totals = torch::tensor({loss_sum, static_cast<double>(examples), ObserverRequestsStop() ? 1.0 : 0.0},
                                torch::kFloat64);
    communicator_.AllReduceSum(totals);
    global_loss = totals[0].item<double>();
    global_examples = totals[1].item<double>();
    stop_agreed_ = totals[2].item<double>() > 0;
    stats.allreduce_seconds = SecondsSince(reduce_start);
    stats.allreduce_bytes = static_cast<int64_t>(totals.nbytes() + gradients.nbytes());
  }
  const GradientScaling scaling = ScaleForMeanAndClip(gradients, global_examples, spec_.max_grad_norm);
  stats.grad_norm = scaling.norm;
  session_.optimizer().Step(stats.learning_rate, scaling.factor);  // leaves the gradients zero

  stats.loss = global_examples > 0 ? global_loss / global_examples : 0.0;
  stats.examples = static_cast<int64_t>(global_examples);
  stats.seconds = SecondsSince(start);
  return stats;
}

void Trainer::Train(TrainerState& state) {
  session_.model()->train();
  for (auto* observer : observers_) observer->OnTrainBegin(state);
  stop_agreed_ = false;
  auto stop_requested = [&] { return reducer_ ? stop_agreed_ : ObserverRequestsStop(); };

  const int64_t accumulation = spec_.gradient_accumulation_steps;
  bool stopped = false;
  while (state.epoch_index < state.num_epochs && state.global_step < state.total_steps && !stopped) {
    std::vector<std::vector<std::vector<int64_t>>> plans;  // per job rank of this process
    for (int job_rank : my_job_ranks_) {
      plans.push_back(PlanRankBatches(spec_, train_data_.lengths, job_rank, job_ranks_, state.epoch_index));
    }
    // Trainer creates a DataLoader iterator here, which draws from the generator the dropout
    // masks come from (torch_dropout_draws.h); a run resumed mid-epoch restored the state after it.
    if (state.batch_in_epoch == 0) DrawLikeDataLoaderIterator();
    const int64_t count = static_cast<int64_t>(plans.front().size());  // the same for every rank
    while (state.batch_in_epoch < count && state.global_step < state.total_steps) {
      const int64_t window = std::min(accumulation, count - state.batch_in_epoch);
      std::vector<RankSlice> slices;
      for (size_t r = 0; r < plans.size(); ++r) {
        const auto& batches = plans[r];
        slices.push_back({my_job_ranks_[r], {batches.begin() + state.batch_in_epoch,
                                             batches.begin() + state.batch_in_epoch + window}});
      }
      const StepStats stats = RunOptimizerStep(slices, state.global_step);
      state.global_step += 1;
      state.batch_in_epoch += window;
      state.epoch_loss_sum += stats.loss;
      state.epoch_loss_steps += 1;
      state.epoch_examples += stats.examples;
      state.epoch_seconds += stats.seconds;
      for (auto* observer : observers_) observer->OnStepEnd(state, stats);
      if (stop_requested()) {
        stopped = true;
        break;
      }
    }
    if (stopped) break;

    EpochSummary summary;
    summary.epoch = state.epoch_index + 1;
    summary.global_step = state.global_step;
    summary.train_loss = state.epoch_loss_steps > 0 ? state.epoch_loss_sum / double(state.epoch_loss_steps) : 0;
    summary.train_seconds = state.epoch_seconds;
    summary.train_samples_per_second =
        state.epoch_seconds > 0 ? double(state.epoch_examples) / state.epoch_seconds : 0;
    state.epochs.push_back(summary);
    state.epoch_index += 1;
    state.batch_in_epoch = 0;
    state.epoch_loss_sum = 0;
    state.epoch_loss_steps = 0;
    state.epoch_examples = 0;
    state.epoch_seconds = 0;
    for (auto* observer : observers_) observer->OnEpochEnd(state);
    stopped = stop_requested();
  }
  stopped_early_ = stopped;
  if (!stopped) {
    for (auto* observer : observers_) observer->OnTrainEnd(state);
  }
}

}  // namespace bertfleet
