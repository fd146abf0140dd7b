#include "common/util/arrival_roll.h"

#include <arpa/inet.h>
#include <netdb.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstdint>
#include <cstring>

#include "common/util/error.h"
#include "common/util/tcp_listener.h"

namespace bertfleet {

namespace {

// Reads exactly `size` bytes within `timeout`, or returns false (a stray or slow connection
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

}  // namespace

ArrivalRoll::ArrivalRoll(const std::string& listen_host, int world_size, int port) : world_size_(world_size) {
  const bool wildcard = listen_host == "0.0.0.0" || listen_host == "::";
  const TcpListener listener = ListenTcp(wildcard ? "" : listen_host, port, 64, "arrival roll");
  listen_fd_ = listener.fd;
  port_ = listener.port;
  thread_ = std::thread([this] { Serve(); });
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
    uint32_t wire = 0;
    if (ReadExactly(fd, &wire, sizeof wire, 1000)) {
      const auto rank = static_cast<int>(ntohl(wire));
      if (rank > 0 && rank < world_size_) {
        std::lock_guard<std::mutex> lock(mutex_);
        arrived_.insert(rank);
      }
      ::send(fd, &wire, sizeof wire, MSG_NOSIGNAL);  // the acknowledgement CheckInWithRoll waits for
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

void CheckInWithRoll(const std::string& host, int port, int rank, std::chrono::milliseconds timeout) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  const std::string where = host + ":" + std::to_string(port);
  std::string last_error = "not tried";
  while (true) {
    addrinfo hints{};
    hints.ai_family = AF_UNSPEC;
    hints.ai_socktype = SOCK_STREAM;
    addrinfo* found = nullptr;
    if (const int status = ::getaddrinfo(host.c_str(), std::to_string(port).c_str(), &hints, &found); status != 0) {
      last_error = ::gai_strerror(status);
    } else {
      for (addrinfo* candidate = found; candidate != nullptr; candidate = candidate->ai_next) {
        const int fd = ::socket(candidate->ai_family, candidate->ai_socktype | SOCK_CLOEXEC, 0);
        if (fd < 0) continue;
        const uint32_t wire = htonl(static_cast<uint32_t>(rank));
        uint32_t echo = 0;
        errno = 0;
        const bool ok = ::connect(fd, candidate->ai_addr, candidate->ai_addrlen) == 0 &&
                        ::send(fd, &wire, sizeof wire, MSG_NOSIGNAL) == static_cast<ssize_t>(sizeof wire) &&
                        ReadExactly(fd, &echo, sizeof echo, 1000) && echo == wire;
        if (!ok) last_error = errno != 0 ? std::strerror(errno) : "no acknowledgement";
        ::close(fd);
        if (ok) {
          ::freeaddrinfo(found);
          return;
        }
      }
      ::freeaddrinfo(found);
    }
    if (std::chrono::steady_clock::now() >= deadline) {
      throw Error("rank " + std::to_string(rank) + ": rank 0's arrival roll at " + where + " cannot be reached within " +
                  std::to_string(timeout.count() / 1000) + " s (" + last_error + "): rank 0 did not arrive");
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
