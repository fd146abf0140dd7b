// bertfleet-worker train --job JOB.yaml --output DIR [--json] [--set key=value ...] [--step-log FILE]
//     [--world-size N --rank R (--rendezvous HOST:PORT | --rendezvous-file PATH)]
#include <unistd.h>

#include <atomic>
#include <csignal>
#include <cstdio>
#include <iostream>

#include "common/cli/arg_parser.h"
#include "common/train/glue_tasks.h"
#include "common/config/job_spec.h"
#include "common/util/error.h"
#include "common/data/mrpc_dataset.h"
#include "common/model/model_source.h"
#include "worker/cli/command_env.h"
#include "worker/cli/commands.h"
#include "worker/cli/data_parallel_group.h"
#include "worker/engine/report/console_reporter.h"
#include "worker/engine/report/step_log.h"
#include "worker/engine/train/training_job.h"

namespace bertfleet {

namespace {
std::atomic<TrainingJob*> g_running_job{nullptr};

void OnStopSignal(int) {
  // Only atomics are touched here: the job stops (and saves) at the next step boundary.
  if (TrainingJob* job = g_running_job.load()) job->RequestStop(/*save_checkpoint=*/true);
}
}  // namespace

int RunTrainCommand(const CommandArgs& args) {
  ArgParser parser("bertfleet-worker train");
  parser.Value("job", "YAML job spec (Hugging Face TrainingArguments names)")
      .Value("output", "directory for checkpoints and the final model")
      .Repeated("set", "override a job-spec key: --set learning_rate=3e-5 (repeatable)")
      .Value("data-root", "directory that relative `data` and `model` paths resolve in")
      .Value("cache", "download cache (default $BERTFLEET_CACHE or ~/.cache/bertfleet)")
      .Flag("json", "one JSON object per epoch on stdout instead of a table")
      .Flag("quiet", "no progress lines on stderr")
      .Value("step-log", "write one JSON object per optimizer step to this file (full precision)")
      .About("Fine-tunes a model in this process (or, with --world-size, in one of N data-parallel processes) "
             "from a YAML job spec with Hugging Face TrainingArguments names (docs/job-spec.md).")
      .Example("bertfleet-worker train --job examples/mrpc-minilm.yaml --output runs/mrpc");
  AddDataParallelFlags(parser);
  DescribeModelSourceEnv(parser);
  DescribeMrpcSourceEnv(parser);
  DescribeTrainingEnv(parser);
  if (!parser.ParseCommand(args)) return 0;
  JobSpec spec = LoadJobSpecFile(parser.Get("job"));
  ApplyJobSpecOverrides(spec, parser.GetAll("set"), parser.Get("job"));  // "job.yaml: --set key: ..."

  const bool quiet = parser.Has("quiet");
  TrainingJobOptions options;
  options.output_dir = parser.Get("output");
  options.data_root = parser.GetOr("data-root", "");
  options.cache_dir = parser.GetOr("cache", "");
  options.log = [quiet](const std::string& line) {
    if (!quiet) std::fprintf(stderr, "%s\n", line.c_str());
  };

  // --world-size > 1: a Gloo group of CPU processes, or an NCCL group of GPU processes.
  const RendezvousOptions rendezvous = RendezvousFromFlags(parser);
  CollectiveGroup group = MakeCommunicator(spec, rendezvous);
  options.log("communicator: " + group.description);
  // The job's ranks are the spec's world_size or the group's size, whichever is larger
  // (trainer.h: JobRanks); the spec records it for checkpoints and reports.
  if (rendezvous.world_size > spec.world_size) spec.world_size = rendezvous.world_size;
  options.communicator = group.communicator.get();
  options.cuda_device = group.cuda_device;

  TrainingJob job(spec, options);
  ConsoleReporterOptions reporter_options;
  reporter_options.json = parser.Has("json");
  reporter_options.progress_bar = !quiet && ::isatty(STDERR_FILENO);
  reporter_options.log_every_steps = quiet ? 0 : spec.logging_steps;
  reporter_options.log = options.log;
  reporter_options.metrics = job.task().metrics;
  const bool rank_zero = group.communicator->rank() == 0;
  if (!rank_zero) reporter_options.rows = stderr;  // stdout carries rank 0's epoch rows only
  ConsoleReporter reporter(reporter_options);
  job.AddObserver(&reporter);
  std::unique_ptr<StepLog> step_log;
  if (parser.Has("step-log")) {
    step_log = std::make_unique<StepLog>(parser.Get("step-log"));
    job.AddObserver(step_log.get());
  }

  g_running_job = &job;
  std::signal(SIGTERM, OnStopSignal);
  std::signal(SIGINT, OnStopSignal);
  const TrainingJobResult result = job.Run();
  g_running_job = nullptr;
  std::signal(SIGTERM, SIG_DFL);
  std::signal(SIGINT, SIG_DFL);

  if (result.stopped_early) {
    std::fprintf(stderr, "stopped at step %lld after a signal; checkpoint saved in %s\n",
                 static_cast<long long>(result.state.global_step), options.output_dir.c_str());
    return 3;
  }
  if (result.final_eval && !parser.Has("json") && rank_zero) {
    std::printf("final model: %s  eval_loss %.4f", options.output_dir.c_str(), result.final_eval->loss);
    for (const auto& [name, value] : result.final_eval->metrics) std::printf("  %s %.4f", name.c_str(), value);
    std::printf("\n");
  }
  return 0;
}

}  // namespace bertfleet
