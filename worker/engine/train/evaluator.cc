#include "worker/engine/train/evaluator.h"

#include <chrono>

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

  EvalResult result;
  result.counts = ConfusionMatrix(static_cast<int>(model->config().num_labels));
  double loss_sum = 0;
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
    const auto predictions = logits.argmax(1).to(torch::kCPU);
    const auto labels = batch.labels.to(torch::kCPU);
    const bool labelled = labels.min().item<int64_t>() >= 0;
    if (labelled) {
      loss_sum += SequenceClassificationLossSum(logits, batch.labels, ProblemTypeOf(model->config())).item<double>();
    }
    const int64_t* predicted = predictions.data_ptr<int64_t>();
    const int64_t* label = labels.data_ptr<int64_t>();
    for (int64_t i = 0; i < batch.examples; ++i) {
      if (label[i] >= 0) result.counts.Add(label[i], predicted[i]);
      result.example_idx.push_back(dataset_.examples[positions[i]].idx);
      result.predictions.push_back(predicted[i]);
    }
  }

  // One all-reduce of every sum; doubles keep integer counts exact.
  std::vector<double> local = result.counts.ToDoubles();
  local.insert(local.begin(), loss_sum);
  auto sums = torch::tensor(local, torch::kFloat64);
  communicator_.AllReduceSum(sums);
  const double* total = sums.data_ptr<double>();
  result.counts = ConfusionMatrix::FromDoubles(result.counts.num_labels(), total + 1);
  result.examples = result.counts.total();
  result.loss = result.examples > 0 ? total[0] / static_cast<double>(result.examples) : 0.0;
  result.metrics = ClassificationMetricValues(metrics_, result.counts);
  result.accuracy = result.counts.Accuracy();
  result.f1 = result.counts.F1();
  if (was_training) model->train();
  result.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  return result;
}

}  // namespace bertfleet
