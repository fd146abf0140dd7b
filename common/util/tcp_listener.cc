#include "common/util/tcp_listener.h"

#include <arpa/inet.h>
#include <netdb.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "common/util/error.h"
#include "common/util/host_port.h"

namespace bertfleet {

TcpListener ListenTcp(const std::string& host, int port, int backlog, const std::string& what) {
  addrinfo hints{};
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_STREAM;
  hints.ai_flags = AI_PASSIVE | AI_NUMERICSERV;
  const std::string address = FormatHostPort(host.empty() ? "*" : host, port);
  if (port < 0 || port > 65535) throw Error(what + ": port " + std::to_string(port) + " is outside 0..65535");
  addrinfo* found = nullptr;
  if (const int status = ::getaddrinfo(host.empty() ? nullptr : host.c_str(), std::to_string(port).c_str(), &hints, &found);
      status != 0) {
    throw Error(what + ": cannot resolve " + address + ": " + ::gai_strerror(status));
  }
  TcpListener listener;
  std::string why = "no address";
  for (addrinfo* candidate = found; candidate != nullptr && listener.fd < 0; candidate = candidate->ai_next) {
    const int fd = ::socket(candidate->ai_family, candidate->ai_socktype | SOCK_CLOEXEC, candidate->ai_protocol);
    if (fd < 0) {
      why = std::strerror(errno);
      continue;
    }
    const int one = 1;
    ::setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    if (::bind(fd, candidate->ai_addr, candidate->ai_addrlen) == 0 && ::listen(fd, backlog) == 0) {
      listener.fd = fd;
    } else {
      why = std::strerror(errno);
      ::close(fd);
    }
  }
  ::freeaddrinfo(found);
  if (listener.fd < 0) throw Error(what + ": cannot listen on " + address + ": " + why);
  sockaddr_storage bound{};
  socklen_t length = sizeof bound;
  ::getsockname(listener.fd, reinterpret_cast<sockaddr*>(&bound), &length);
  listener.port = bound.ss_family == AF_INET6 ? ntohs(reinterpret_cast<sockaddr_in6*>(&bound)->sin6_port)
                                              : ntohs(reinterpret_cast<sockaddr_in*>(&bound)->sin_port);
  return listener;
}

}  // namespace bertfleet
