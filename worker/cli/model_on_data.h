#pragma once
// Shared by `evaluate` and `predict`: a fine-tuned model directory run over rows (a GLUE TSV, a
// task's test split, your test_file), every row predicted, the metrics where rows are labelled.
#include <memory>
#include <string>
#include <vector>

#include "common/cli/arg_parser.h"
#include "common/data/sentence_pair.h"
#include "common/data/tokenized_dataset.h"
#include "common/text/bert_tokenizer.h"
#include "worker/engine/checkpoint/pretrained.h"
#include "worker/engine/train/evaluator.h"

namespace bertfleet {

// Adds the options both commands take (--model, --data, --batch-size, --max-seq-length, --bf16,
// --threads).
void AddModelOnDataOptions(ArgParser& parser);

class ModelOnData {
 public:
  // Loads --model with its tokenizer; --threads, --bf16, --batch-size and --max-seq-length
  // apply, else `batch_size` and `max_length`.
  ModelOnData(const ArgParser& parser, int64_t batch_size, int max_length);

  // Every row's prediction (EvalResult::predictions or, for a regression head, scores), and
  // `metrics` over the labelled rows.
  EvalResult Run(const std::vector<SentencePair>& rows, const std::vector<std::string>& metrics,
                 TextInputs inputs) const;
  const BertConfig& config() const { return loaded_->config; }

 private:
  std::string model_dir_;
  std::unique_ptr<BertTokenizer> tokenizer_;
  std::unique_ptr<LoadedModel> loaded_;
  int64_t batch_size_;
  int max_length_;
  Precision precision_;
};

// The model on the GLUE TSV named by --data (idx label sentence1 sentence2), as MRPC.
EvalResult RunModelOnData(const ArgParser& parser);

}  // namespace bertfleet
