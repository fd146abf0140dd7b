// bertfleet-worker predict --model DIR --data FILE.tsv --output FILE.tsv
// Writes the GLUE submission format (`index<TAB>prediction`) and, when the rows are labelled,
// prints accuracy and F1.
#include <cstdio>
#include <iostream>
#include <sstream>

#include "common/util/file_io.h"
#include "worker/cli/commands.h"
#include "worker/cli/model_on_data.h"

namespace bertfleet {

int RunPredictCommand(const CommandArgs& args) {
  ArgParser parser("bertfleet-worker predict");
  AddModelOnDataOptions(parser);
  parser.Value("output", "predictions TSV to write")
      .About("Writes GLUE's submission file (index<TAB>prediction) for a TSV file.")
      .NoEnv()
      .Example("bertfleet-worker predict --model runs/mrpc --data data/mrpc/test.tsv --output MRPC.tsv");
  if (!parser.ParseCommand(args)) return 0;
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
