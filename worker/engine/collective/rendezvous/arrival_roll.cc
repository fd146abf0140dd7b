#include "worker/engine/collective/rendezvous/arrival_roll.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netdb.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdint>
#include <cstring>

#include "common/util/error.h"
#include "common/util/host_port.h"
#include "common/util/seconds_text.h"
#include "common/util/tcp_listener.h"

namespace bertfleet {

namespace {

using Clock = std::chrono::steady_clock;

// The roll's answer to a check-in.
constexpr uint32_t kAccepted = 0;
constexpr uint32_t kNotInGroup = 1;  // rank outside 1..N-1, or a different world size

// Reads exactly `size` bytes within `timeout_ms`, or returns false (a stray or slow connection
// must not hold up the roll).
bool ReadExactly(int fd, void* data, size_t size, int timeout_ms) {
  auto* bytes = static_cast<unsigned char*>(data);
  size_t done = 0;
  while (done < size) {
    pollfd waiting{fd, POLLIN, 0};
    if (::poll(&waiting, 1, timeout_ms) <= 0) return false;
    const ssize_t got = ::recv(fd, bytes + done, size - done, 0);
    if (got <= 0) return false;
    done += static_cast<size_t>(got);
  }
  return true;
}

// connect() bounded by `timeout_ms` (a blocking connect to a host that drops packets would wait
// for the kernel's SYN retries, about two minutes).
bool ConnectWithin(int fd, const sockaddr* address, socklen_t length, int timeout_ms) {
  const int flags = ::fcntl(fd, F_GETFL, 0);
  ::fcntl(fd, F_SETFL, flags | O_NONBLOCK);
  bool connected = ::connect(fd, address, length) == 0;
  if (!connected && errno == EINPROGRESS) {
    pollfd waiting{fd, POLLOUT, 0};
    if (::poll(&waiting, 1, timeout_ms) == 1) {
      int error = 0;
      socklen_t size = sizeof error;
      ::getsockopt(fd, SOL_SOCKET, SO_ERROR, &error, &size);
      errno = error;
      connected = error == 0;
    } else {
      errno = ETIMEDOUT;
    }
  }
  const int saved = errno;
  ::fcntl(fd, F_SETFL, flags);
  errno = saved;
  return connected;
}

}  // namespace

ArrivalRoll::ArrivalRoll(const std::string& listen_host, int world_size, int port) : world_size_(world_size) {
  std::string host = listen_host;
  if (host.size() >= 2 && host.front() == '[' && host.back() == ']') host = host.substr(1, host.size() - 2);
  // "::" stays IPv6's wildcard (dual-stack on Linux), "0.0.0.0" IPv4's.
  const TcpListener listener = ListenTcp(host, port, 64, "rank 0's arrival roll");
  listen_fd_ = listener.fd;
  port_ = listener.port;
  try {
    thread_ = std::thread([this] { Serve(); });
  } catch (...) {
    ::close(listen_fd_);
    throw;
  }
}

ArrivalRoll::~ArrivalRoll() {
  stop_ = true;
  if (thread_.joinable()) thread_.join();
  if (listen_fd_ >= 0) ::close(listen_fd_);
}

void ArrivalRoll::Serve() {
  while (!stop_) {
    pollfd waiting{listen_fd_, POLLIN, 0};
    if (::poll(&waiting, 1, 100) <= 0) continue;  // wakes up to see stop_
    const int fd = ::accept4(listen_fd_, nullptr, nullptr, SOCK_CLOEXEC);
    if (fd < 0) continue;
    uint32_t request[2] = {0, 0};  // rank, world size (network order)
    if (ReadExactly(fd, request, sizeof request, 1000)) {
      const auto rank = static_cast<int>(ntohl(request[0]));
      const auto world_size = static_cast<int>(ntohl(request[1]));
      uint32_t reply[2] = {htonl(kNotInGroup), htonl(static_cast<uint32_t>(world_size_))};
      if (rank > 0 && rank < world_size_ && world_size == world_size_) {
        std::lock_guard<std::mutex> lock(mutex_);
        arrived_.insert(rank);
        reply[0] = htonl(kAccepted);
      }
      ::send(fd, reply, sizeof reply, MSG_NOSIGNAL);
    }
    ::close(fd);
  }
}

std::vector<int> ArrivalRoll::Missing() const {
  std::lock_guard<std::mutex> lock(mutex_);
  std::vector<int> missing;
  for (int rank = 1; rank < world_size_; ++rank) {
    if (arrived_.count(rank) == 0) missing.push_back(rank);
  }
  return missing;
}

void CheckInWithRoll(const std::string& host, int port, int rank, int world_size, std::chrono::milliseconds timeout) {
  const auto deadline = Clock::now() + timeout;
  const std::string where = FormatHostPort(host, port);
  const std::string who = "rank " + std::to_string(rank) + " of " + std::to_string(world_size);
  std::string last_error = "not tried";
  while (true) {
    addrinfo hints{};
    hints.ai_family = AF_UNSPEC;
    hints.ai_socktype = SOCK_STREAM;
    hints.ai_flags = AI_NUMERICSERV;
    addrinfo* found = nullptr;
    if (const int status = ::getaddrinfo(host.c_str(), std::to_string(port).c_str(), &hints, &found); status != 0) {
      if (status == EAI_NONAME) {  // waiting will not make the name resolve
        throw Error(who + ": rank 0's host '" + host + "' (from its rendezvous) does not resolve here: " +
                    ::gai_strerror(status));
      }
      last_error = ::gai_strerror(status);
    } else {
      for (addrinfo* candidate = found; candidate != nullptr; candidate = candidate->ai_next) {
        const int fd = ::socket(candidate->ai_family, candidate->ai_socktype | SOCK_CLOEXEC, 0);
        if (fd < 0) continue;
        const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now()).count();
        const int attempt_ms = static_cast<int>(std::clamp<long long>(left, 100, 2000));
        const uint32_t request[2] = {htonl(static_cast<uint32_t>(rank)), htonl(static_cast<uint32_t>(world_size))};
        uint32_t reply[2] = {0, 0};
        errno = 0;
        const bool answered = ConnectWithin(fd, candidate->ai_addr, candidate->ai_addrlen, attempt_ms) &&
                              ::send(fd, request, sizeof request, MSG_NOSIGNAL) == static_cast<ssize_t>(sizeof request) &&
                              ReadExactly(fd, reply, sizeof reply, 1000);
        if (!answered) last_error = errno != 0 ? std::strerror(errno) : "no answer";
        ::close(fd);
        if (answered) {
          ::freeaddrinfo(found);
          if (ntohl(reply[0]) == kAccepted) return;
          throw Error(who + ": rank 0's group at " + where + " has world size " + std::to_string(ntohl(reply[1])) +
                      ", which has no rank " + std::to_string(rank) + " of " + std::to_string(world_size) +
                      " (do all ranks run the same job?)");
        }
      }
      ::freeaddrinfo(found);
    }
    if (Clock::now() >= deadline) {
      throw Error(who + ": no answer from rank 0's arrival roll at " + where + " within " + SecondsText(timeout) + " (" +
                  last_error + "): rank 0 did not arrive, or has already failed");
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(200));
  }
}

std::string DescribeMissingRanks(const std::vector<int>& missing) {
  if (missing.empty()) return "";
  std::string text = missing.size() == 1 ? "rank " : "ranks ";
  for (size_t i = 0; i < missing.size(); ++i) text += (i ? ", " : "") + std::to_string(missing[i]);
  return text + " did not join";
}

}  // namespace bertfleet
