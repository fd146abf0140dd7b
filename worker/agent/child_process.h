#pragma once
// One training run in a child process (fork + exec of this same binary), so a crash of the
// training (LibTorch error, segfault, abort, OOM kill) fails that run and never the agent.
// The child gets its input on stdin; its stdout is handed on as it arrives (the event stream);
// the last bytes of its stderr are kept for the failure message. A reader thread delivers the
// output and, after both pipes closed and the child was reaped, its exit.
#include <mutex>
#include <thread>

#include "worker/agent/training_launcher.h"

namespace bertfleet {

class ChildProcess final : public TrainingProcess {
 public:
  using OutputCallback = TrainingLauncher::OutputCallback;
  using ExitCallback = TrainingLauncher::ExitCallback;

  // Starts `argv[0]` with `argv`, writes `input` to its stdin and closes it. The child runs in
  // its own process group (terminal signals go to the agent only) and is SIGKILLed if the
  // thread that started it dies. Callbacks run on the reader thread. Throws Error on failure.
  ChildProcess(const std::vector<std::string>& argv, const std::string& input, OutputCallback on_output,
               ExitCallback on_exit, size_t stderr_tail_bytes = 4096);
  ~ChildProcess() override;  // SIGKILLs a child still running and joins the reader thread

  ChildProcess(const ChildProcess&) = delete;
  ChildProcess& operator=(const ChildProcess&) = delete;

  pid_t pid() const override { return pid_; }
  void Signal(int signal_number) override;  // no-op once the child was reaped

 private:
  void ReadLoop(int stdout_fd, int stderr_fd);

  pid_t pid_ = -1;
  std::mutex mutex_;
  bool reaped_ = false;
  size_t stderr_tail_bytes_;
  OutputCallback on_output_;
  ExitCallback on_exit_;
  std::thread reader_;
};

class ChildProcessLauncher final : public TrainingLauncher {
 public:
  std::unique_ptr<TrainingProcess> Start(const std::vector<std::string>& argv, const std::string& input,
                                         OutputCallback on_output, ExitCallback on_exit) override {
    return std::make_unique<ChildProcess>(argv, input, std::move(on_output), std::move(on_exit));
  }
};

}  // namespace bertfleet
