#include "worker/agent/child_process.h"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "common/util/error.h"

namespace bertfleet {

std::string ChildExit::Describe() const {
  if (signal != 0) {
    const char* name = ::strsignal(signal);
    return "killed by signal " + std::to_string(signal) + (name ? std::string(" (") + name + ")" : "");
  }
  return "exited with status " + std::to_string(exit_code);
}

namespace {

void CloseFd(int& fd) {
  if (fd >= 0) ::close(fd);
  fd = -1;
}

void WriteAll(int fd, const std::string& data) {
  size_t done = 0;
  while (done < data.size()) {
    const ssize_t n = ::write(fd, data.data() + done, data.size() - done);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return;  // the child closed stdin (or died): its exit tells why
    done += static_cast<size_t>(n);
  }
}

}  // namespace

ChildProcess::ChildProcess(const std::vector<std::string>& argv, const std::string& input, OutputCallback on_output,
                           ExitCallback on_exit, size_t stderr_tail_bytes)
    : stderr_tail_bytes_(stderr_tail_bytes), on_output_(std::move(on_output)), on_exit_(std::move(on_exit)) {
  if (argv.empty()) throw Error("child process: empty command line");
  // Everything the child needs is prepared before fork: after it only async-signal-safe calls.
  std::vector<char*> args;
  for (const std::string& arg : argv) args.push_back(const_cast<char*>(arg.c_str()));
  args.push_back(nullptr);

  int in_pipe[2], out_pipe[2], err_pipe[2];
  if (::pipe2(in_pipe, O_CLOEXEC) != 0) throw Error(std::string("pipe: ") + std::strerror(errno));
  if (::pipe2(out_pipe, O_CLOEXEC) != 0) {
    ::close(in_pipe[0]);
    ::close(in_pipe[1]);
    throw Error(std::string("pipe: ") + std::strerror(errno));
  }
  if (::pipe2(err_pipe, O_CLOEXEC) != 0) {
    for (int fd : {in_pipe[0], in_pipe[1], out_pipe[0], out_pipe[1]}) ::close(fd);
    throw Error(std::string("pipe: ") + std::strerror(errno));
  }
  const pid_t parent = ::getpid();
  const pid_t pid = ::fork();
  if (pid < 0) {
    const int error = errno;
    for (int fd : {in_pipe[0], in_pipe[1], out_pipe[0], out_pipe[1], err_pipe[0], err_pipe[1]}) ::close(fd);
    throw Error(std::string("fork: ") + std::strerror(error));
  }
  if (pid == 0) {
    // Child: async-signal-safe calls only.
    ::dup2(in_pipe[0], STDIN_FILENO);
    ::dup2(out_pipe[1], STDOUT_FILENO);
    ::dup2(err_pipe[1], STDERR_FILENO);
    ::close_range(3, ~0U, 0);
    ::setpgid(0, 0);
    ::prctl(PR_SET_PDEATHSIG, SIGKILL);
    if (::getppid() != parent) ::_exit(126);  // the agent died before prctl took effect
    struct sigaction default_action;
    std::memset(&default_action, 0, sizeof(default_action));
    default_action.sa_handler = SIG_DFL;
    for (int s : {SIGPIPE, SIGTERM, SIGINT, SIGHUP, SIGCHLD}) ::sigaction(s, &default_action, nullptr);
    sigset_t none;
    sigemptyset(&none);
    ::sigprocmask(SIG_SETMASK, &none, nullptr);
    ::execv(args[0], args.data());
    const char message[] = "bertfleet-worker agent: exec of the training process failed\n";
    (void)!::write(STDERR_FILENO, message, sizeof(message) - 1);
    ::_exit(127);
  }
  pid_ = pid;
  ::close(in_pipe[0]);
  ::close(out_pipe[1]);
  ::close(err_pipe[1]);
  WriteAll(in_pipe[1], input);
  ::close(in_pipe[1]);
  reader_ = std::thread(&ChildProcess::ReadLoop, this, out_pipe[0], err_pipe[0]);
}

ChildProcess::~ChildProcess() {
  Signal(SIGKILL);
  if (reader_.joinable()) reader_.join();
}

void ChildProcess::Signal(int signal_number) {
  std::lock_guard<std::mutex> lock(mutex_);
  if (!reaped_ && pid_ > 0) ::kill(pid_, signal_number);
}

void ChildProcess::ReadLoop(int stdout_fd, int stderr_fd) {
  std::string tail;
  char chunk[8192];
  while (stdout_fd >= 0 || stderr_fd >= 0) {
    pollfd fds[2];
    int count = 0;
    if (stdout_fd >= 0) fds[count++] = {stdout_fd, POLLIN, 0};
    if (stderr_fd >= 0) fds[count++] = {stderr_fd, POLLIN, 0};
    if (::poll(fds, count, -1) < 0) {
      if (errno == EINTR) continue;
      break;
    }
    for (int i = 0; i < count; ++i) {
      if (!(fds[i].revents & (POLLIN | POLLHUP | POLLERR))) continue;
      const bool is_stdout = fds[i].fd == stdout_fd;
      const ssize_t n = ::read(fds[i].fd, chunk, sizeof(chunk));
      if (n < 0 && errno == EINTR) continue;
      if (n <= 0) {
        CloseFd(is_stdout ? stdout_fd : stderr_fd);
        continue;
      }
      if (is_stdout) {
        if (on_output_) on_output_(std::string_view(chunk, static_cast<size_t>(n)));
      } else {
        tail.append(chunk, static_cast<size_t>(n));
        if (tail.size() > 2 * stderr_tail_bytes_) tail.erase(0, tail.size() - stderr_tail_bytes_);
      }
    }
  }
  CloseFd(stdout_fd);
  CloseFd(stderr_fd);

  // Reap without racing Signal(): mark reaped (under the lock) before the pid can be reused.
  siginfo_t info;
  std::memset(&info, 0, sizeof(info));
  while (::waitid(P_PID, static_cast<id_t>(pid_), &info, WEXITED | WNOWAIT) != 0 && errno == EINTR) {
  }
  int status = 0;
  {
    std::lock_guard<std::mutex> lock(mutex_);
    reaped_ = true;
    while (::waitpid(pid_, &status, 0) < 0 && errno == EINTR) {
    }
  }
  ChildExit exit;
  if (WIFSIGNALED(status)) {
    exit.signal = WTERMSIG(status);
  } else if (WIFEXITED(status)) {
    exit.exit_code = WEXITSTATUS(status);
  }
  if (tail.size() > stderr_tail_bytes_) tail.erase(0, tail.size() - stderr_tail_bytes_);
  exit.stderr_tail = std::move(tail);
  if (on_exit_) on_exit_(exit);
}

}  // namespace bertfleet
