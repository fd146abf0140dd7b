#include "worker/cli/model_on_data.h"

#include <cstdio>

#include "common/data/mrpc_dataset.h"
#include "common/data/tokenized_dataset.h"
#include "common/train/glue_tasks.h"
#include "common/text/bert_tokenizer.h"
#include "common/util/usable_cores.h"
#include "worker/engine/kernels/cpu/cpu_performance.h"
#include "worker/engine/checkpoint/pretrained.h"

namespace bertfleet {

void AddModelOnDataOptions(ArgParser& parser) {
  parser.Value("model", "fine-tuned model directory (config.json, model.safetensors, vocab)")
      .Value("data", "GLUE TSV file (idx label sentence1 sentence2)")
      .Value("batch-size", "examples per batch (default 32)")
      .Value("max-seq-length", "truncate pairs to this many tokens (default 128)")
      .Value("threads", "intra-op threads (default: all cores)")
      .Flag("bf16", "bf16 autocast (faster on AMX CPUs, slower on CPUs without AVX-512)");
}

EvalResult RunModelOnData(const ArgParser& parser) {
  const std::string model_dir = parser.Get("model");
  torch::set_num_threads(static_cast<int>(parser.GetInt("threads", UsableCores())));
  const BertTokenizer tokenizer = BertTokenizer::FromModelDir(model_dir);
  LoadedModel loaded = LoadPretrained(model_dir, /*seed=*/42);
  CheckVocabMatchesModel(tokenizer.vocab_size(), loaded.config, model_dir);
  const auto rows = ReadGlueTsv(parser.Get("data"));
  const TokenizedDataset dataset =
      TokenizePairs(tokenizer, rows, static_cast<int>(parser.GetInt("max-seq-length", 128)));
  SingleProcessCommunicator single_process;
  const Evaluator evaluator(dataset, parser.GetInt("batch-size", 32), single_process, tokenizer.pad_id(),
                            FindGlueTask("mrpc")->metrics);
  Precision precision;
  precision.bf16 = parser.Has("bf16");
  for (const std::string& warning : CpuPerformanceWarnings(precision.bf16)) std::fprintf(stderr, "%s\n", warning.c_str());
  return evaluator.Evaluate(loaded.model, precision, torch::kCPU);
}

}  // namespace bertfleet
