#pragma once
// The environment variables the training engine reads, for the usage text of the commands that
// train (`train`, `run-assignment`).
#include "common/cli/arg_parser.h"

namespace bertfleet {

void DescribeTrainingEnv(ArgParser& parser);

}  // namespace bertfleet
