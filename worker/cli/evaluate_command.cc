// bertfleet-worker evaluate --model DIR --data FILE.tsv [--json]
#include <cstdio>
#include <iostream>

#include "common/util/error.h"
#include "worker/cli/commands.h"
#include "worker/cli/model_on_data.h"

namespace bertfleet {

int RunEvaluateCommand(const CommandArgs& args) {
  ArgParser parser("bertfleet-worker evaluate");
  AddModelOnDataOptions(parser);
  parser.Flag("json", "print one JSON object")
      .About("Loss, accuracy and F1 of a fine-tuned model on a GLUE TSV file.")
      .NoEnv()
      .Example("bertfleet-worker evaluate --model runs/mrpc --data data/mrpc/validation.tsv");
  if (!parser.ParseCommand(args)) return 0;
  const EvalResult result = RunModelOnData(parser);
  if (result.examples == 0) throw Error(parser.Get("data") + ": no labelled rows to evaluate");
  if (parser.Has("json")) {
    const nlohmann::json json = {{"eval_loss", result.loss},
                                 {"eval_accuracy", result.accuracy},
                                 {"eval_f1", result.f1},
                                 {"eval_samples", result.examples}};
    std::printf("%s\n", json.dump().c_str());
  } else {
    std::printf("examples %lld  loss %.4f  accuracy %.4f  f1 %.4f\n", static_cast<long long>(result.examples),
                result.loss, result.accuracy, result.f1);
  }
  return 0;
}

}  // namespace bertfleet
