#pragma once
// Shared by `evaluate` and `predict`: a fine-tuned model directory evaluated on a GLUE TSV.
#include <string>

#include "common/cli/arg_parser.h"
#include "worker/engine/train/evaluator.h"

namespace bertfleet {

// Adds the options both commands take (--model, --data, --batch-size, --max-seq-length, --bf16,
// --threads).
void AddModelOnDataOptions(ArgParser& parser);

// Loads the model and the TSV named by the parsed options and evaluates every row.
EvalResult RunModelOnData(const ArgParser& parser);

}  // namespace bertfleet
