#include "worker/cli/model_on_data.h"

#include <cstdio>

#include "common/data/mrpc_dataset.h"
#include "common/train/glue_tasks.h"
#include "common/util/usable_cores.h"
#include "worker/engine/kernels/cpu/cpu_performance.h"

namespace bertfleet {

void AddModelOnDataOptions(ArgParser& parser) {
  parser.Value("model", "fine-tuned model directory (config.json, model.safetensors, vocab)")
      .Value("data", "GLUE TSV file (idx label sentence1 sentence2)")
      .Value("batch-size", "examples per batch (default 32)")
      .Value("max-seq-length", "truncate pairs to this many tokens (default 128)")
      .Value("threads", "intra-op threads (default: all cores)")
      .Flag("bf16", "bf16 autocast (faster on AMX CPUs, slower on CPUs without AVX-512)");
}

ModelOnData::ModelOnData(const ArgParser& parser, int64_t batch_size, int max_length)
    : model_dir_(parser.Get("model")),
      batch_size_(parser.GetInt("batch-size", batch_size)),
      max_length_(static_cast<int>(parser.GetInt("max-seq-length", max_length))) {
  torch::set_num_threads(static_cast<int>(parser.GetInt("threads", UsableCores())));
  tokenizer_ = std::make_unique<BertTokenizer>(BertTokenizer::FromModelDir(model_dir_));
  loaded_ = std::make_unique<LoadedModel>(LoadPretrained(model_dir_, /*seed=*/42));
  CheckVocabMatchesModel(tokenizer_->vocab_size(), loaded_->config, model_dir_);
  precision_.bf16 = parser.Has("bf16");
  for (const std::string& warning : CpuPerformanceWarnings(precision_.bf16)) std::fprintf(stderr, "%s\n", warning.c_str());
}

EvalResult ModelOnData::Run(const std::vector<SentencePair>& rows, const std::vector<std::string>& metrics,
                            TextInputs inputs) const {
  const TokenizedDataset dataset = TokenizePairs(*tokenizer_, rows, max_length_, 0, inputs);
  SingleProcessCommunicator single_process;
  const Evaluator evaluator(dataset, batch_size_, single_process, tokenizer_->pad_id(), metrics);
  return evaluator.Evaluate(loaded_->model, precision_, torch::kCPU);
}

EvalResult RunModelOnData(const ArgParser& parser) {
  const ModelOnData model(parser, 32, 128);
  return model.Run(ReadGlueTsv(parser.Get("data")), FindGlueTask("mrpc")->metrics, TextInputs::kPairs);
}

}  // namespace bertfleet
