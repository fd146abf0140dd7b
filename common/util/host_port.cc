#include "common/util/host_port.h"

#include <arpa/inet.h>
#include <netdb.h>
#include <sys/socket.h>
#include <unistd.h>

#include <climits>

#include "common/util/error.h"

namespace bertfleet {

std::pair<std::string, int> ParseHostPort(const std::string& address, const std::string& what) {
  const auto colon = address.rfind(':');
  const auto fail = [&](const std::string& why) -> std::pair<std::string, int> {
    throw Error(what + ": '" + address + "' is not HOST:PORT (" + why + ")");
  };
  if (colon == std::string::npos || colon == 0) return fail("missing host or port");
  std::string host = address.substr(0, colon);
  if (host.size() >= 2 && host.front() == '[' && host.back() == ']') host = host.substr(1, host.size() - 2);
  const std::string port_text = address.substr(colon + 1);
  if (port_text.empty() || port_text.size() > 5 || port_text.find_first_not_of("0123456789") != std::string::npos) {
    return fail("port must be a number");
  }
  const int port = std::stoi(port_text);
  if (port > 65535) return fail("port must be at most 65535");
  return {host, port};
}

std::string FormatHostPort(const std::string& host, int port) {
  return (host.find(':') != std::string::npos ? "[" + host + "]" : host) + ":" + std::to_string(port);
}

std::string AdvertisedHost(const std::string& listen_host) {
  if (!listen_host.empty() && listen_host != "0.0.0.0" && listen_host != "::" && listen_host != "[::]") {
    return listen_host;
  }
  char name[HOST_NAME_MAX + 1] = {};
  if (::gethostname(name, sizeof(name) - 1) != 0 || name[0] == '\0') throw Error("gethostname failed");
  return name;
}

bool IsLoopbackHost(const std::string& host) {
  return host == "localhost" || host == "::1" || host.rfind("127.", 0) == 0;
}

std::string LocalAddressToward(const std::string& host, int port) {
  addrinfo hints{};
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_DGRAM;
  addrinfo* found = nullptr;
  if (const int status = ::getaddrinfo(host.c_str(), std::to_string(port).c_str(), &hints, &found); status != 0) {
    throw Error("cannot resolve host '" + host + "': " + ::gai_strerror(status));
  }
  std::string local;
  for (addrinfo* candidate = found; candidate != nullptr && local.empty(); candidate = candidate->ai_next) {
    // A UDP "connect" only picks the route and with it the local address.
    const int fd = ::socket(candidate->ai_family, candidate->ai_socktype, 0);
    if (fd < 0) continue;
    sockaddr_storage address{};
    socklen_t length = sizeof(address);
    char text[INET6_ADDRSTRLEN] = {};
    if (::connect(fd, candidate->ai_addr, candidate->ai_addrlen) == 0 &&
        ::getsockname(fd, reinterpret_cast<sockaddr*>(&address), &length) == 0 &&
        ::getnameinfo(reinterpret_cast<sockaddr*>(&address), length, text, sizeof(text), nullptr, 0, NI_NUMERICHOST) == 0) {
      local = text;
    }
    ::close(fd);
  }
  ::freeaddrinfo(found);
  if (local.empty()) throw Error("no local address has a route to '" + host + "'");
  return local;
}

}  // namespace bertfleet
