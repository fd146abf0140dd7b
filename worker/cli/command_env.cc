#include "worker/cli/command_env.h"

namespace bertfleet {

void DescribeTrainingEnv(ArgParser& parser) {
  parser.Env("BERTFLEET_PACKING", "1/0: pack real tokens (default on CPUs) or pad (default on GPUs)")
      .Env("BERTFLEET_NCCL", "0: a 1-GPU run uses no NCCL (for machines where NCCL fails); CUDA builds only")
      .Env("MLFLOW_TRACKING_URI", "report_to: mlflow: the MLflow server, http(s)://HOST:PORT (a fleet job: the coordinator's)")
      .Env("MLFLOW_EXPERIMENT_NAME", "report_to: mlflow: the experiment (created if missing; default Default)")
      .Env("MLFLOW_EXPERIMENT_ID", "report_to: mlflow: the experiment by id (wins over the name)")
      .Env("MLFLOW_TRACKING_TOKEN", "report_to: mlflow: bearer token (or MLFLOW_TRACKING_USERNAME/PASSWORD)")
      .Env("BERTFLEET_MLFLOW_FLUSH_SECONDS", "report_to: mlflow: the longest wait at the end for unsent records (30)");
}

}  // namespace bertfleet
