// bertfleet-worker run-assignment [--threads N] [--data-root DIR] [--progress-steps N]
//     [--rendezvous-listen HOST | --rendezvous-address TEXT] [--collective-timeout-seconds N]
// The agent's child process: trains one bertfleet.v1.Assignment (JSON on stdin) and writes one
// JSON event per line on stdout (worker/agent/assignment_events.h). Human-readable logs go to
// stderr, whose tail becomes the failure message when the process dies. SIGTERM stops at the
// next step boundary.
//
// world_size > 1 (data parallel): rank 0 creates the group's meeting point and at once writes
// {"event":"rendezvous","address":TEXT}; the agent publishes TEXT through the coordinator and the
// other ranks get it as --rendezvous-address. TEXT is, for device: cpu (Gloo), the HOST:PORT of
// the store rank 0 serves on a free port of --rendezvous-listen HOST (0.0.0.0: this machine's
// hostname), store keys under "<job_id>/<attempt>"; for device: cuda (NCCL),
// "nccl:<unique id>@HOST:PORT", HOST:PORT being rank 0's arrival roll on a free port of the same
// HOST (NCCL's bootstrap listens on a port of its own choosing). Only rank 0 writes "epoch" and
// "checkpoint" events; every rank writes "started" and "progress". A rank that does not arrive
// or dies makes the others exit non-zero with a message naming it.
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

#include <c10/util/Exception.h>
#include <google/protobuf/util/json_util.h>
#include <nlohmann/json.hpp>

#include "bertfleet/v1/workers.pb.h"
#include "common/cli/arg_parser.h"
#include "common/config/job_spec.h"
#include "common/util/error.h"
#include "worker/agent/agent_commands.h"
#include "worker/engine/training_job.h"
#include "worker/engine/collective_group.h"

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
class EventWriter {
 public:
  EventWriter() {
    std::fflush(stdout);
    const int events_fd = ::dup(STDOUT_FILENO);
    if (events_fd < 0) throw Error("run-assignment: dup(stdout) failed");
    ::dup2(STDERR_FILENO, STDOUT_FILENO);
    out_ = ::fdopen(events_fd, "w");
    if (!out_) throw Error("run-assignment: fdopen failed");
  }
  ~EventWriter() {
    if (out_) std::fclose(out_);
  }
  void Write(const nlohmann::json& event) {
    // Replace rather than throw on invalid UTF-8: a failure message quoting raw bytes from a bad
    // input file must still reach the agent.
    const std::string line = event.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace) + "\n";
    std::fwrite(line.data(), 1, line.size(), out_);
    std::fflush(out_);
  }

 private:
  FILE* out_ = nullptr;
};

nlohmann::json EpochJson(const EpochSummary& summary) {
  return {{"epoch", summary.epoch},
          {"global_step", summary.global_step},
          {"train_loss", summary.train_loss},
          {"eval_loss", summary.eval_loss},
          {"eval_accuracy", summary.eval_accuracy},
          {"eval_f1", summary.eval_f1},
          {"train_samples_per_second", summary.train_samples_per_second},
          {"evaluated", summary.evaluated}};
}

class EventReporter : public TrainingObserver {
 public:
  // Only rank 0 reports epochs (their metrics are the same on every rank) and checkpoints.
  EventReporter(EventWriter& writer, int64_t progress_steps, bool rank_zero)
      : writer_(writer), progress_steps_(progress_steps), rank_zero_(rank_zero) {}

  void OnTrainBegin(TrainerState& state) override {
    writer_.Write({{"event", "started"}, {"global_step", state.global_step}, {"total_steps", state.total_steps}});
    last_report_ = std::chrono::steady_clock::now();
  }

  void OnStepEnd(TrainerState& state, const StepStats& stats) override {
    window_loss_ += stats.loss;
    window_steps_ += 1;
    window_examples_ += stats.examples;
    window_seconds_ += stats.seconds;
    // Per step, for the agent's histograms (worker/agent/worker_metrics.h).
    window_step_seconds_.push_back(stats.seconds);
    if (stats.allreduce_bytes > 0) window_allreduce_seconds_.push_back(stats.allreduce_seconds);
    window_real_tokens_ += stats.real_tokens;
    window_padded_tokens_ += stats.padded_tokens;
    window_allreduce_bytes_ += stats.allreduce_bytes;
    const auto now = std::chrono::steady_clock::now();
    const bool due = (progress_steps_ > 0 && state.global_step % progress_steps_ == 0) ||
                     now - last_report_ >= std::chrono::seconds(2) || state.global_step == state.total_steps;
    if (due) {
      writer_.Write({{"event", "progress"},
                     {"global_step", state.global_step},
                     {"total_steps", state.total_steps},
                     {"epoch", state.epoch_index + 1},
                     {"loss", window_loss_ / double(window_steps_)},
                     {"samples_per_second", window_seconds_ > 0 ? double(window_examples_) / window_seconds_ : 0.0},
                     {"step_seconds", window_step_seconds_},
                     {"allreduce_seconds", window_allreduce_seconds_},
                     {"window_seconds", window_seconds_},
                     {"window_examples", window_examples_},
                     {"window_real_tokens", window_real_tokens_},
                     {"window_padded_tokens", window_padded_tokens_},
                     {"window_allreduce_bytes", window_allreduce_bytes_}});
      window_loss_ = window_seconds_ = 0;
      window_steps_ = window_examples_ = 0;
      window_real_tokens_ = window_padded_tokens_ = window_allreduce_bytes_ = 0;
      window_step_seconds_.clear();
      window_allreduce_seconds_.clear();
      last_report_ = now;
    }
  }

  void OnEpochEnd(TrainerState& state) override {
    if (rank_zero_ && !state.epochs.empty()) {
      nlohmann::json event = EpochJson(state.epochs.back());
      event["event"] = "epoch";
      writer_.Write(event);
    }
  }

  // TrainingScheduler's listener: called right after this rank wrote a checkpoint.
  void OnCheckpointSaved(const fs::path& checkpoint, int64_t global_step, double seconds) {
    writer_.Write({{"event", "checkpoint"},
                   {"global_step", global_step},
                   {"path", checkpoint.string()},
                   {"save_seconds", seconds}});
  }

 private:
  EventWriter& writer_;
  int64_t progress_steps_;
  bool rank_zero_;
  std::chrono::steady_clock::time_point last_report_;
  double window_loss_ = 0, window_seconds_ = 0;
  int64_t window_steps_ = 0, window_examples_ = 0;
  int64_t window_real_tokens_ = 0, window_padded_tokens_ = 0, window_allreduce_bytes_ = 0;
  std::vector<double> window_step_seconds_, window_allreduce_seconds_;
};

// The data-parallel group of a world_size > 1 assignment (see the top of this file).
CollectiveGroup JoinDataParallelGroup(const v1::Assignment& assignment, const std::string& device,
                                      const ArgParser& parser, EventWriter& events) {
  const long timeout_seconds = parser.GetInt("collective-timeout-seconds", 300);
  if (timeout_seconds < 1) throw Error("run-assignment: --collective-timeout-seconds must be at least 1");
  CollectiveGroupOptions options;
  options.device = device;
  options.rank = assignment.rank();
  options.world_size = assignment.world_size();
  options.key_prefix = assignment.job_id() + "/" + std::to_string(assignment.attempt());
  options.timeout = std::chrono::seconds(timeout_seconds);
  if (options.rank == 0) {
    if (!parser.Has("rendezvous-listen")) {
      throw Error("run-assignment: rank 0 of a world_size " + std::to_string(options.world_size) +
                  " assignment needs --rendezvous-listen HOST");
    }
    options.listen_host = parser.Get("rendezvous-listen");
    options.publish = [&events](const std::string& rendezvous) {
      events.Write({{"event", "rendezvous"}, {"address", rendezvous}});
    };
  } else {
    if (!parser.Has("rendezvous-address")) {
      throw Error("run-assignment: rank " + std::to_string(options.rank) + " needs --rendezvous-address");
    }
    options.rendezvous = parser.Get("rendezvous-address");
    options.rendezvous_source = "--rendezvous-address";
  }
  CollectiveGroup group = JoinCollectiveGroup(options);
  std::fprintf(stderr, "communicator: %s\n", group.description.c_str());
  return group;
}

std::string ErrorText(const std::exception& error) {
  if (const auto* torch_error = dynamic_cast<const c10::Error*>(&error)) {
    return torch_error->what_without_backtrace();
  }
  return error.what();
}

}  // namespace

int RunAssignmentCommand(const std::vector<std::string>& args) {
  ArgParser parser("bertfleet-worker run-assignment");
  parser.Value("threads", "cap on the job's intra-op threads (0: the job's own setting)")
      .Value("data-root", "directory that relative `data` and `model` paths resolve in (overrides the assignment's)")
      .Value("progress-steps", "report progress every N optimizer steps (and at least every 2 s)")
      .Value("rendezvous-listen", "world_size > 1, rank 0: listen on HOST (a free port; Gloo store or NCCL arrival roll) and report it")
      .Value("rendezvous-address", "world_size > 1, ranks > 0: what rank 0 published (Gloo HOST:PORT, or nccl:<id>@HOST:PORT)")
      .Value("collective-timeout-seconds", "a rank missing this long fails the run, naming it (default 300)")
      .Flag("help", "show this help");
  parser.Parse(args);
  if (parser.Has("help")) {
    std::cout << parser.Usage()
              << "Reads a bertfleet.v1.Assignment as JSON on stdin; writes one JSON event per line on stdout.\n";
    return 0;
  }
  const long threads = parser.GetInt("threads", 0);
  const long progress_steps = parser.GetInt("progress-steps", 10);

  EventWriter events;
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
    CollectiveGroup group;
    if (assignment.world_size() > 1) group = JoinDataParallelGroup(assignment, spec.device, parser, events);
    std::unique_ptr<Communicator> communicator = std::move(group.communicator);
    if (!assignment.resume_from().empty()) spec.resume_from_checkpoint = assignment.resume_from();
    if (threads > 0 && (spec.threads <= 0 || spec.threads > threads)) spec.threads = threads;

    TrainingJobOptions options;
    options.output_dir = assignment.output_dir();
    options.data_root = parser.GetOr("data-root", assignment.data_root());
    options.log = [](const std::string& line) { std::fprintf(stderr, "%s\n", line.c_str()); };
    options.communicator = communicator.get();
    options.cuda_device = group.cuda_device;
    EventReporter reporter(events, progress_steps, assignment.rank() == 0);
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

    if (result.stopped_early) {
      events.Write({{"event", "stopped"}, {"global_step", result.state.global_step}});
      return 3;
    }
    nlohmann::json final_metrics = nlohmann::json::object();
    if (!result.state.epochs.empty()) final_metrics = EpochJson(result.state.epochs.back());
    final_metrics["global_step"] = result.state.global_step;
    if (result.final_eval) {
      final_metrics["eval_loss"] = result.final_eval->loss;
      final_metrics["eval_accuracy"] = result.final_eval->accuracy;
      final_metrics["eval_f1"] = result.final_eval->f1;
      final_metrics["evaluated"] = true;
    }
    events.Write({{"event", "finished"}, {"final_metrics", final_metrics}, {"model_dir", result.model_dir.string()}});
    return 0;
  } catch (const std::exception& error) {
    const std::string message = ErrorText(error);
    std::fprintf(stderr, "bertfleet-worker run-assignment: %s\n", message.c_str());
    events.Write({{"event", "failed"}, {"message", message}});
    return 1;
  }
}

}  // namespace bertfleet
