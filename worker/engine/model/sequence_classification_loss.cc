#include "worker/engine/model/sequence_classification_loss.h"

#include "common/util/error.h"
#include "worker/engine/model/batch_tensors.h"

namespace bertfleet {

ProblemType ProblemTypeOf(const BertConfig& config) {
  const auto it = config.raw.find("problem_type");
  if (it == config.raw.end() || it->is_null()) {
    return config.num_labels == 1 ? ProblemType::kRegression : ProblemType::kSingleLabelClassification;
  }
  const std::string name = it->is_string() ? it->get<std::string>() : it->dump();
  if (name == "regression") return ProblemType::kRegression;
  if (name == "single_label_classification") return ProblemType::kSingleLabelClassification;
  if (name == "multi_label_classification") {
    throw Error("config.json: problem_type: multi_label_classification is not supported (single-label "
                "classification or regression)");
  }
  throw Error("config.json: problem_type: unknown value '" + name +
              "' (regression, single_label_classification or multi_label_classification)");
}

std::string ProblemTypeName(ProblemType problem) {
  return problem == ProblemType::kRegression ? "regression" : "single_label_classification";
}

torch::Tensor SequenceClassificationLossSum(const torch::Tensor& logits, const torch::Tensor& labels,
                                            ProblemType problem) {
  const torch::Tensor scores = logits.to(torch::kFloat32);
  if (problem == ProblemType::kRegression) {
    if (scores.dim() != 2 || scores.size(1) != 1) {
      throw Error("regression needs one output per example (num_labels 1), got logits of shape " +
                  std::to_string(scores.size(scores.dim() - 1)) + " per example");
    }
    // Hugging Face: MSELoss()(logits.squeeze(), labels.squeeze()), a mean; here its sum.
    return torch::nn::functional::mse_loss(scores.squeeze(1), labels.to(torch::kFloat32),
                                           torch::nn::functional::MSELossFuncOptions().reduction(torch::kSum));
  }
  return torch::nn::functional::cross_entropy(scores, labels,
                                              torch::nn::functional::CrossEntropyFuncOptions().reduction(torch::kSum));
}

const torch::Tensor& LossLabels(const BatchTensors& batch, ProblemType problem) {
  return problem == ProblemType::kRegression ? batch.targets : batch.labels;
}

}  // namespace bertfleet
