#pragma once
// One training run in a child process (fork + exec of this same binary), so a crash of the
// training (LibTorch error, segfault, abort, OOM kill) fails that run and never the agent.
// The child gets its input on stdin, writes one JSON event per line on stdout; the last bytes
// of its stderr are kept for the failure message. A reader thread delivers each stdout line and,
// after both pipes closed and the child was reaped, its exit.
#include <sys/types.h>

#include <chrono>
#include <functional>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

namespace bertfleet {

struct ChildExit {
  int exit_code = -1;  // when exited normally
  int signal = 0;      // when killed by a signal
  std::string stderr_tail;
  std::string Describe() const;  // "exited with status 1" / "killed by signal 11 (Segmentation fault)"
};

class ChildProcess {
 public:
  using LineCallback = std::function<void(const std::string& line)>;
  using ExitCallback = std::function<void(const ChildExit& exit)>;

  // Starts `argv[0]` with `argv`, writes `input` to its stdin and closes it. The child runs in
  // its own process group (terminal signals go to the agent only) and is SIGKILLed if the
  // thread that started it dies. Callbacks run on the reader thread. Throws Error on failure.
  ChildProcess(const std::vector<std::string>& argv, const std::string& input, LineCallback on_line,
               ExitCallback on_exit, size_t stderr_tail_bytes = 4096);
  ~ChildProcess();  // SIGKILLs a child still running and joins the reader thread

  ChildProcess(const ChildProcess&) = delete;
  ChildProcess& operator=(const ChildProcess&) = delete;

  pid_t pid() const { return pid_; }
  void Signal(int signal_number);  // no-op once the child was reaped

 private:
  void ReadLoop(int stdout_fd, int stderr_fd);

  pid_t pid_ = -1;
  std::mutex mutex_;
  bool reaped_ = false;
  size_t stderr_tail_bytes_;
  LineCallback on_line_;
  ExitCallback on_exit_;
  std::thread reader_;
};

}  // namespace bertfleet
