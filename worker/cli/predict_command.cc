// bertfleet-worker predict --model DIR --job JOB.yaml [--output-dir DIR]
//   run_glue.py's predict_results_<task>.txt for the job's test split or test_file.
// bertfleet-worker predict --model DIR --data FILE.tsv --output FILE.tsv
//   GLUE's submission format (`index<TAB>prediction`) for an MRPC TSV file.
// Both print the metrics when the rows are labelled.
#include <cstdio>
#include <filesystem>
#include <iostream>
#include <sstream>

#include "common/config/job_spec.h"
#include "common/data/task_data.h"
#include "common/data/mrpc_dataset.h"
#include "common/util/error.h"
#include "common/util/file_io.h"
#include "worker/cli/commands.h"
#include "worker/cli/model_on_data.h"
#include "worker/engine/model/sequence_classification_loss.h"

namespace bertfleet {

namespace {

// Class ids read with the wrong names (or scores as ids) would write a plausible, wrong file.
void CheckModelFitsTask(const ModelOnData& model, const GlueTask& task, const std::string& model_dir,
                        const std::string& description) {
  const BertConfig& config = model.config();
  const ProblemType wanted = task.regression() ? ProblemType::kRegression : ProblemType::kSingleLabelClassification;
  if (ProblemTypeOf(config) != wanted || (!task.regression() && config.num_labels != task.num_labels())) {
    throw Error(model_dir + "/config.json: a " + ProblemTypeName(ProblemTypeOf(config)) + " head with num_labels " +
                std::to_string(config.num_labels) + " cannot predict " + description + " (" +
                ProblemTypeName(wanted) + ", " + std::to_string(task.num_labels()) + " outputs)");
  }
}

// run_glue.py's file: "index<TAB>prediction", the label's name, or the score as "%3.3f".
std::string ResultsText(const EvalResult& result, const GlueTask& task) {
  std::ostringstream text;
  text << "index\tprediction\n";
  for (size_t i = 0; i < result.example_idx.size(); ++i) {
    text << result.example_idx[i] << '\t';
    if (task.regression()) {
      char score[64];
      std::snprintf(score, sizeof(score), "%3.3f", result.scores[i]);
      text << score;
    } else {
      text << task.label_names[static_cast<size_t>(result.predictions[i])];
    }
    text << '\n';
  }
  return text.str();
}

void PrintMetrics(const EvalResult& result) {
  if (result.examples == 0) return;
  std::printf("  labelled %lld  loss %.4f", static_cast<long long>(result.examples), result.loss);
  for (const auto& [name, value] : result.metrics) std::printf("  %s %.4f", name.c_str(), value);
  std::printf("\n");
}

int PredictJob(const ArgParser& parser) {
  const JobSpec spec = LoadJobSpecFile(parser.Get("job"));
  const std::filesystem::path data_root = parser.GetOr("data-root", "");
  auto warn = [](const std::string& line) { std::fprintf(stderr, "%s\n", line.c_str()); };
  const PredictData data = LoadPredictData(spec, data_root, DefaultCacheDir(), warn);
  const ModelOnData model(parser, spec.per_device_eval_batch_size, static_cast<int>(spec.max_seq_length));
  const std::string description = spec.train_file.empty() ? "task " + spec.task : "train_file " + spec.train_file;
  CheckModelFitsTask(model, data.task, parser.Get("model"), description);
  const std::filesystem::path output_dir = parser.GetOr("output-dir", parser.Get("model"));
  std::filesystem::create_directories(output_dir);
  const TextInputs inputs = data.task.text_columns.size() == 1 ? TextInputs::kSingleSentences : TextInputs::kPairs;
  for (const PredictSplit& split : data.splits) {
    const EvalResult result = model.Run(split.rows, data.task.metrics, inputs);
    const std::filesystem::path path = output_dir / split.results_file;
    WriteFileAtomically(path, ResultsText(result, data.task));
    std::printf("wrote %zu predictions to %s\n", result.example_idx.size(), path.c_str());
    PrintMetrics(result);
  }
  return 0;
}

}  // namespace

int RunPredictCommand(const CommandArgs& args) {
  ArgParser parser("bertfleet-worker predict");
  AddModelOnDataOptions(parser);
  parser.Value("job", "job spec: predict its task's test split (MNLI: both) or its test_file")
      .Value("output-dir", "with --job: where predict_results_<task>.txt goes (default: --model)")
      .Value("data-root", "with --job: where the spec's relative data paths resolve (default: here)")
      .Value("output", "with --data: predictions TSV to write")
      .About("With --job, writes run_glue.py's predict_results_<task>.txt (index and label name; the score for "
             "regression) for the job's test split, or predict_results.txt for its test_file. With --data, "
             "writes GLUE's submission file (index<TAB>prediction) for an MRPC TSV file.")
      .NoEnv()
      .Example("bertfleet-worker predict --model runs/tickets --job examples/own-files-minilm.yaml")
      .Example("bertfleet-worker predict --model runs/mrpc --data data/mrpc/test.tsv --output MRPC.tsv");
  if (!parser.ParseCommand(args)) return 0;
  if (parser.Has("job")) return PredictJob(parser);
  const std::string output = parser.Get("output");
  const EvalResult result = RunModelOnData(parser);
  std::ostringstream tsv;
  tsv << "index\tprediction\n";
  for (size_t i = 0; i < result.predictions.size(); ++i) {
    tsv << result.example_idx[i] << '\t' << result.predictions[i] << '\n';
  }
  WriteFileAtomically(output, tsv.str());
  std::printf("wrote %zu predictions to %s\n", result.predictions.size(), output.c_str());
  if (result.examples > 0) {
    std::printf("examples %lld  loss %.4f  accuracy %.4f  f1 %.4f\n", static_cast<long long>(result.examples),
                result.loss, result.accuracy, result.f1);
  }
  return 0;
}

}  // namespace bertfleet
