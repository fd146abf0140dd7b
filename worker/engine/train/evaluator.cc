#include "worker/engine/train/evaluator.h"

#include <chrono>
#include <cmath>

#include "common/util/error.h"

#include "worker/engine/model/batch_tensors.h"
#include "worker/engine/model/sequence_classification_loss.h"
#include "worker/engine/torch/torch_compat.h"
#include "worker/engine/kernels/cpu/torch_dropout_draws.h"

namespace bertfleet {

Evaluator::Evaluator(const TokenizedDataset& dataset, int64_t batch_size, Communicator& communicator,
                     int32_t pad_id, std::vector<std::string> metrics)
    : dataset_(dataset),
      batch_size_(batch_size),
      communicator_(communicator),
      pad_id_(pad_id),
      metrics_(std::move(metrics)) {}

double EvalResult::Value(const std::string& name) const {
  const std::string bare = name.rfind("eval_", 0) == 0 ? name.substr(5) : name;
  if (bare == "loss") return loss;
  std::string names = "loss";
  for (const auto& [metric, value] : metrics) {
    if (metric == bare) return value;
    names += ", " + metric;
  }
  throw Error("the evaluation reports no " + name + " (it reports " + names + ")");
}

EvalResult Evaluator::Evaluate(BertForSequenceClassification& model, const Precision& precision,
                               torch::Device device) const {
  const auto start = std::chrono::steady_clock::now();
  const bool was_training = model->is_training();
  model->eval();
  torch::NoGradGuard no_grad;
  // Trainer's evaluation iterates a fresh DataLoader, which draws once from the generator the
  // next epoch's dropout masks come from.
  DrawLikeDataLoaderIterator();

  const int64_t n = static_cast<int64_t>(dataset_.examples.size());
  const int64_t world = communicator_.world_size();
  const int64_t rank = communicator_.rank();
  const int64_t shard_begin = n * rank / world;
  const int64_t shard_end = n * (rank + 1) / world;

  const ProblemType problem = ProblemTypeOf(model->config());
  const bool regression = problem == ProblemType::kRegression;
  EvalResult result;
  result.counts = ConfusionMatrix(regression ? 1 : static_cast<int>(model->config().num_labels));
  double loss_sum = 0;
  int64_t labelled = 0;
  std::vector<double> shard_targets;  // regression: this rank's targets, in dataset order
  for (int64_t begin = shard_begin; begin < shard_end; begin += batch_size_) {
    std::vector<int64_t> positions;
    for (int64_t i = begin; i < std::min(shard_end, begin + batch_size_); ++i) positions.push_back(i);
    const BatchTensors batch = ToBatchTensors(CollateBatch(dataset_.examples, positions, pad_id_), device);
    torch::Tensor logits;
    {
      AutocastScope autocast(precision.enabled(), precision.dtype(), device.is_cuda());
      logits = model->forward(batch.inputs);
    }
    logits = logits.to(torch::kFloat32);
    const bool batch_labelled = regression ? !torch::isnan(batch.targets).any().item<bool>()
                                           : batch.labels.min().item<int64_t>() >= 0;
    if (batch_labelled) {
      loss_sum += SequenceClassificationLossSum(logits, LossLabels(batch, problem), problem).item<double>();
      labelled += batch.examples;
    }
    for (int64_t i = 0; i < batch.examples; ++i) result.example_idx.push_back(dataset_.examples[positions[i]].idx);
    if (regression) {
      const auto scores = logits.select(1, 0).to(torch::kCPU, torch::kFloat64);
      const auto targets = batch.targets.to(torch::kCPU, torch::kFloat64);
      const double* score = scores.data_ptr<double>();
      const double* target = targets.data_ptr<double>();
      result.scores.insert(result.scores.end(), score, score + batch.examples);
      shard_targets.insert(shard_targets.end(), target, target + batch.examples);
      continue;
    }
    const auto predictions = logits.argmax(1).to(torch::kCPU);
    const auto labels = batch.labels.to(torch::kCPU);
    const int64_t* predicted = predictions.data_ptr<int64_t>();
    const int64_t* label = labels.data_ptr<int64_t>();
    for (int64_t i = 0; i < batch.examples; ++i) {
      if (label[i] >= 0) result.counts.Add(label[i], predicted[i]);
      result.predictions.push_back(predicted[i]);
    }
  }

  // One all-reduce of every sum; doubles keep integer counts exact.
  std::vector<double> local = result.counts.ToDoubles();
  local.insert(local.begin(), {loss_sum, static_cast<double>(labelled)});
  auto sums = torch::tensor(local, torch::kFloat64);
  communicator_.AllReduceSum(sums);
  const double* total = sums.data_ptr<double>();
  result.counts = ConfusionMatrix::FromDoubles(result.counts.num_labels(), total + 2);
  result.examples = static_cast<int64_t>(std::llround(total[1]));
  result.loss = result.examples > 0 ? total[0] / static_cast<double>(result.examples) : 0.0;
  if (regression) {
    // Pearson and Spearman do not decompose over shards: every rank's predictions and targets,
    // gathered in dataset order (each rank fills its own positions of a zeroed buffer; the sum
    // adds only zeros to each value, so it is exact).
    std::vector<double> scores = result.scores, targets = shard_targets;
    if (world > 1) {
      auto gathered = torch::zeros({2, n}, torch::kFloat64);
      for (size_t i = 0; i < result.scores.size(); ++i) {
        gathered[0][shard_begin + static_cast<int64_t>(i)] = result.scores[i];
        gathered[1][shard_begin + static_cast<int64_t>(i)] = shard_targets[i];
      }
      communicator_.AllReduceSum(gathered);
      const double* all = gathered.data_ptr<double>();
      scores.assign(all, all + n);
      targets.assign(all + n, all + 2 * n);
    }
    if (result.examples > 0) result.metrics = RegressionMetricValues(metrics_, scores, targets);
  } else {
    result.metrics = ClassificationMetricValues(metrics_, result.counts);
    result.accuracy = result.counts.Accuracy();
    result.f1 = result.counts.F1();
  }
  if (was_training) model->train();
  result.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  return result;
}

}  // namespace bertfleet
