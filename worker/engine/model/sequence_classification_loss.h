#pragma once
// The loss of BertForSequenceClassification as Hugging Face chooses it: config.json's
// `problem_type` when set, else regression (mean squared error of the one output) for
// num_labels 1 and single-label classification (cross-entropy) otherwise. One function for the
// trainer, the evaluator and the parity tool, so the three cannot disagree.
#include <torch/torch.h>

#include <string>

#include "common/model/bert_config.h"

namespace bertfleet {

enum class ProblemType { kSingleLabelClassification, kRegression };

// Throws Error naming config.json's problem_type for multi_label_classification (not supported)
// or an unknown value.
ProblemType ProblemTypeOf(const BertConfig& config);
std::string ProblemTypeName(ProblemType problem);  // Hugging Face's: "regression", ...

// Summed over the batch, in fp32 (callers divide by the global example count, so the mean is
// exact across micro-batches and ranks). Labels: int64 class ids, or float targets for regression.
torch::Tensor SequenceClassificationLossSum(const torch::Tensor& logits, const torch::Tensor& labels,
                                            ProblemType problem);

// What a batch's loss compares against: its class ids, or its targets for regression.
struct BatchTensors;
const torch::Tensor& LossLabels(const BatchTensors& batch, ProblemType problem);

}  // namespace bertfleet
