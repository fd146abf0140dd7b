#pragma once
// How the agent starts the process that trains one assignment, named by intent so that
// WorkerAgent can be unit-tested without processes: the real launcher forks and execs
// `bertfleet-worker run-assignment` (child_process.h); tests use a fake that they drive.
#include <sys/types.h>

#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

namespace bertfleet {

struct ChildExit {
  int exit_code = -1;  // when exited normally
  int signal = 0;      // when killed by a signal
  std::string stderr_tail;
  std::string Describe() const;  // "exited with status 1" / "killed by signal 11 (Segmentation fault)"
};

class TrainingProcess {
 public:
  virtual ~TrainingProcess() = default;  // kills a process still running
  virtual pid_t pid() const = 0;
  virtual void Signal(int signal_number) = 0;  // no-op once it exited
};

class TrainingLauncher {
 public:
  // The bytes of the process's stdout, in whatever pieces they arrive.
  using OutputCallback = std::function<void(std::string_view bytes)>;
  // Once, after the last output.
  using ExitCallback = std::function<void(const ChildExit& exit)>;
  virtual ~TrainingLauncher() = default;

  // Starts `argv` with `input` on its stdin. Callbacks may run on any thread. Throws Error when
  // the process cannot be started.
  virtual std::unique_ptr<TrainingProcess> Start(const std::vector<std::string>& argv, const std::string& input,
                                                 OutputCallback on_output, ExitCallback on_exit) = 0;
};

}  // namespace bertfleet
