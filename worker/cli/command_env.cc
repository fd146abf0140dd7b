#include "worker/cli/command_env.h"

namespace bertfleet {

void DescribeTrainingEnv(ArgParser& parser) {
  parser.Env("BERTFLEET_PACKING", "1/0: pack real tokens (default on CPUs) or pad (default on GPUs)")
      .Env("BERTFLEET_NCCL", "0: a 1-GPU run uses no NCCL (for machines where NCCL fails); CUDA builds only");
}

}  // namespace bertfleet
