// bertfleet-worker run-assignment [--threads N] [--data-root DIR] [--progress-steps N]
//     [--rendezvous-listen HOST | --rendezvous-address TEXT] [--collective-timeout-seconds N]
// The agent's child process: trains one bertfleet.v1.Assignment (JSON on stdin) and writes
// bertfleet.v1.AssignmentEvent frames on stdout (worker/protocol/assignment_event_stream.h).
// Human-readable logs go to stderr, whose tail becomes the failure message when the process
// dies. SIGTERM stops at the next step boundary.
//
// world_size > 1 (data parallel): rank 0 creates the group's meeting point and at once writes a
// `rendezvous` event with its address; the agent publishes it through the coordinator and the
// other ranks get it as --rendezvous-address. The address is, for device: cpu (Gloo), the
// HOST:PORT of the store rank 0 serves on a free port of --rendezvous-listen HOST (0.0.0.0: this
// machine's hostname), store keys under "<job_id>/<attempt>"; for device: cuda (NCCL),
// "nccl:<unique id>@HOST:PORT", HOST:PORT being rank 0's arrival roll on a free port of the same
// HOST (NCCL's own bootstrap listens on a port of its own choosing). Only rank 0 writes `epoch`
// and `checkpoint` events; every rank writes `started` and `progress`. A rank that does not
// arrive or dies makes the others exit non-zero with a message naming it.
#include <signal.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <csignal>
#include <cstdio>
#include <filesystem>
#include <iostream>
#include <iterator>
#include <sstream>
#include <tuple>

#include <google/protobuf/util/json_util.h>

#include "bertfleet/v1/workers.pb.h"
#include "common/cli/arg_parser.h"
#include "common/config/job_spec.h"
#include "common/util/error.h"
#include "common/data/mrpc_dataset.h"
#include "common/model/model_source.h"
#include "worker/agent/agent_commands.h"
#include "worker/cli/assignment_event_reporter.h"
#include "worker/cli/command_env.h"
#include "worker/cli/commands.h"
#include "worker/engine/collective/make_communicator.h"
#include "worker/engine/torch/torch_error_text.h"
#include "worker/engine/train/training_job.h"
#include "worker/protocol/assignment_event_stream.h"

namespace bertfleet {

namespace {

namespace fs = std::filesystem;

std::atomic<TrainingJob*> g_job{nullptr};

void OnStopSignal(int signal_number) {
  // Before the job exists there is nothing to save: stop at once. After, a stop is a preemption
  // (or the end of a gang attempt): save at the next step boundary so the job resumes from there.
  if (TrainingJob* job = g_job.load()) {
    job->RequestStop(/*save_checkpoint=*/true);
  } else {
    ::_exit(128 + signal_number);
  }
}

// The event stream: the real stdout, kept apart from fd 1, which is pointed at stderr so that
// nothing a library prints can corrupt the protocol.
int TakeEventStream() {
  std::fflush(stdout);
  const int events_fd = ::dup(STDOUT_FILENO);
  if (events_fd < 0) throw Error("run-assignment: dup(stdout) failed");
  ::dup2(STDERR_FILENO, STDOUT_FILENO);
  return events_fd;
}

// The data-parallel group of a world_size > 1 assignment (see the top of this file).
RendezvousOptions AssignmentRendezvous(const v1::Assignment& assignment, const ArgParser& parser,
                                       AssignmentEventWriter& events) {
  const long timeout_seconds = parser.GetInt("collective-timeout-seconds", 300);
  if (timeout_seconds < 1) throw Error("run-assignment: --collective-timeout-seconds must be at least 1");
  RendezvousOptions options;
  options.timeout = std::chrono::seconds(timeout_seconds);
  if (assignment.world_size() <= 1) return options;
  options.rank = assignment.rank();
  options.world_size = assignment.world_size();
  options.key_prefix = assignment.job_id() + "/" + std::to_string(assignment.attempt());
  if (options.rank == 0) {
    if (!parser.Has("rendezvous-listen")) {
      throw Error("run-assignment: rank 0 of a world_size " + std::to_string(options.world_size) +
                  " assignment needs --rendezvous-listen HOST");
    }
    options.listen_host = parser.Get("rendezvous-listen");
    options.publish = [&events](const std::string& address) {
      v1::AssignmentEvent event;
      event.mutable_rendezvous()->set_address(address);
      events.Write(std::move(event));
    };
  } else {
    if (!parser.Has("rendezvous-address")) {
      throw Error("run-assignment: rank " + std::to_string(options.rank) + " needs --rendezvous-address");
    }
    options.address = parser.Get("rendezvous-address");
    options.address_source = "--rendezvous-address";
  }
  return options;
}

}  // namespace

int RunAssignmentCommand(const CommandArgs& args) {
  ArgParser parser("bertfleet-worker run-assignment");
  parser.Value("threads", "cap on the job's intra-op threads (0: the job's own setting)")
      .Value("data-root", "directory that relative `data` and `model` paths resolve in (overrides the assignment's)")
      .Value("progress-steps", "report progress every N optimizer steps (and at least every 2 s)")
      .Value("rendezvous-listen", "world_size > 1, rank 0: listen on HOST (a free port; Gloo store or NCCL arrival roll) and report it")
      .Value("rendezvous-address", "world_size > 1, ranks > 0: what rank 0 published (Gloo HOST:PORT, or nccl:<id>@HOST:PORT)")
      .Value("collective-timeout-seconds", "a rank missing this long fails the run, naming it (default 300)")
      .About("The worker agent's child (started by the agent, not by hand): reads a bertfleet.v1.Assignment as "
             "JSON on stdin, trains it, and writes bertfleet.v1.AssignmentEvent frames (each prefixed by its size "
             "as a varint) on stdout.")
      .Example("bertfleet-worker run-assignment --threads 2 --rendezvous-listen 0.0.0.0 < assignment.json");
  DescribeModelSourceEnv(parser);
  DescribeMrpcSourceEnv(parser);
  DescribeTrainingEnv(parser);
  if (!parser.ParseCommand(args)) return 0;
  const long threads = parser.GetInt("threads", 0);
  const long progress_steps = parser.GetInt("progress-steps", 10);

  AssignmentEventWriter events(TakeEventStream());
  std::signal(SIGTERM, OnStopSignal);
  std::signal(SIGINT, OnStopSignal);
  try {
    const std::string input{std::istreambuf_iterator<char>(std::cin), std::istreambuf_iterator<char>()};
    v1::Assignment assignment;
    google::protobuf::util::JsonParseOptions json_options;
    json_options.ignore_unknown_fields = true;
    const auto parsed = google::protobuf::util::JsonStringToMessage(input, &assignment, json_options);
    if (!parsed.ok()) throw Error("run-assignment: stdin is not an Assignment: " + std::string(parsed.message()));
    JobSpec spec = ParseJobSpec(assignment.spec_yaml(), "job " + assignment.job_id());
    // Uploaded own files come from the coordinator, by digest, before anything else starts.
    FetchUploads(spec, DefaultCacheDir(), [](const std::string& line) { std::fprintf(stderr, "%s\n", line.c_str()); });
    CollectiveGroup group = MakeCommunicator(spec, AssignmentRendezvous(assignment, parser, events));
    std::fprintf(stderr, "communicator: %s\n", group.description.c_str());
    if (!assignment.resume_from().empty()) spec.resume_from_checkpoint = assignment.resume_from();
    if (threads > 0 && (spec.threads <= 0 || spec.threads > threads)) spec.threads = threads;

    TrainingJobOptions options;
    options.output_dir = assignment.output_dir();
    options.data_root = parser.GetOr("data-root", assignment.data_root());
    options.log = [](const std::string& line) { std::fprintf(stderr, "%s\n", line.c_str()); };
    options.communicator = group.communicator.get();
    options.cuda_device = group.cuda_device;
    // report_to: the coordinator's MLflow server; the run is named after the job.
    options.tracking.mlflow_tracking_uri = assignment.tracking().mlflow_tracking_uri();
    options.tracking.mlflow_experiment_name = assignment.tracking().mlflow_experiment_name();
    options.tracking.run_name = assignment.job_id();
    options.tracking.tags = {{"bertfleet.job_id", assignment.job_id()},
                             {"bertfleet.attempt", std::to_string(assignment.attempt())},
                             {"bertfleet.owner", assignment.tracking().owner()}};
    AssignmentEventReporter reporter(events, progress_steps, assignment.rank() == 0);
    options.on_checkpoint_saved = [&reporter](const fs::path& checkpoint, int64_t step, double seconds) {
      reporter.OnCheckpointSaved(checkpoint, step, seconds);
    };

    TrainingJob job(spec, options);
    job.AddObserver(&reporter);
    const TrainingJobResult result = [&] {
      struct Registration {  // the signal handler sees the job only while it exists
        explicit Registration(TrainingJob* job) { g_job = job; }
        ~Registration() { g_job = nullptr; }
      } registration(&job);
      return job.Run();
    }();

    v1::AssignmentEvent event;
    if (result.stopped_early) {
      event.mutable_stopped()->set_global_step(result.state.global_step);
      events.Write(std::move(event));
      return 3;
    }
    v1::TrainingFinished* finished = event.mutable_finished();
    v1::EpochMetrics* final_metrics = finished->mutable_final_metrics();
    if (!result.state.epochs.empty()) *final_metrics = EpochMetricsOf(result.state.epochs.back());
    final_metrics->set_global_step(result.state.global_step);
    if (result.final_eval) {
      final_metrics->set_eval_loss(result.final_eval->loss);
      final_metrics->set_eval_accuracy(result.final_eval->accuracy);
      final_metrics->set_eval_f1(result.final_eval->f1);
      final_metrics->set_evaluated(true);
      final_metrics->clear_eval_metrics();
      auto add = [final_metrics](const std::string& name, double value) {
        v1::MetricValue* metric = final_metrics->add_eval_metrics();
        metric->set_name(name);
        metric->set_value(value);
      };
      for (const auto& [name, value] : result.final_eval->metrics) add(name, value);
      for (const auto& [suffix, eval] : result.final_only_evals) {  // MNLI's mismatched split
        add("loss" + suffix, eval.loss);
        for (const auto& [name, value] : eval.metrics) add(name + suffix, value);
      }
    }
    finished->set_model_dir(result.model_dir.string());
    events.Write(std::move(event));
    return 0;
  } catch (const std::exception& error) {
    const std::string message = TorchErrorText(error);
    std::fprintf(stderr, "bertfleet-worker run-assignment: %s\n", message.c_str());
    v1::AssignmentEvent event;
    event.mutable_failed()->set_message(message);
    try {
      events.Write(std::move(event));
    } catch (const Error&) {
      // The agent is gone: stderr and the exit status are all that is left.
    }
    return 1;
  }
}

}  // namespace bertfleet
