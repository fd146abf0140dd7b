#include "worker/agent/metrics_http_server.h"

#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include <cstring>

#include "common/util/error.h"
#include "common/util/host_port.h"
#include "common/util/tcp_listener.h"

namespace bertfleet {
namespace {

constexpr size_t kMaxRequestBytes = 16 * 1024;
constexpr int kIoTimeoutSeconds = 5;  // a stuck client must not block the next scrape for long

void SendAll(int fd, const std::string& data) {
  size_t sent = 0;
  while (sent < data.size()) {
    const ssize_t n = ::send(fd, data.data() + sent, data.size() - sent, MSG_NOSIGNAL);
    if (n <= 0) return;  // the client went away: nothing to do
    sent += static_cast<size_t>(n);
  }
}

std::string Response(int status, const std::string& reason, const std::string& content_type,
                     const std::string& body, bool head_only) {
  std::string out = "HTTP/1.1 " + std::to_string(status) + " " + reason + "\r\n";
  out += "Content-Type: " + content_type + "\r\n";
  out += "Content-Length: " + std::to_string(body.size()) + "\r\n";
  out += "Connection: close\r\n\r\n";
  if (!head_only) out += body;
  return out;
}

}  // namespace

MetricsHttpServer::MetricsHttpServer(const std::string& listen, std::function<std::string()> render)
    : render_(std::move(render)) {
  const auto colon = listen.rfind(':');
  if (colon == std::string::npos) throw Error("--metrics-listen: expected host:port (got '" + listen + "')");
  std::string host = listen.substr(0, colon);
  const std::string port = listen.substr(colon + 1);
  if (host.size() >= 2 && host.front() == '[' && host.back() == ']') host = host.substr(1, host.size() - 2);

  int port_number = 0;
  if (port.empty() || port.size() > 5 || port.find_first_not_of("0123456789") != std::string::npos ||
      (port_number = std::stoi(port)) > 65535) {
    throw Error("--metrics-listen: bad port in '" + listen + "'");
  }
  const TcpListener listener = ListenTcp(host, port_number, 16, "--metrics-listen");
  listen_fd_ = listener.fd;
  address_ = FormatHostPort(host.empty() ? "0.0.0.0" : host, listener.port);

  if (::pipe2(wake_pipe_, O_CLOEXEC) != 0) {
    ::close(listen_fd_);
    throw Error("--metrics-listen: pipe failed: " + std::string(std::strerror(errno)));
  }
  thread_ = std::thread([this] { Serve(); });
}

MetricsHttpServer::~MetricsHttpServer() {
  const char byte = 0;
  (void)!::write(wake_pipe_[1], &byte, 1);
  if (thread_.joinable()) thread_.join();
  ::close(listen_fd_);
  ::close(wake_pipe_[0]);
  ::close(wake_pipe_[1]);
}

void MetricsHttpServer::Serve() {
  while (true) {
    pollfd fds[2] = {{listen_fd_, POLLIN, 0}, {wake_pipe_[0], POLLIN, 0}};
    if (::poll(fds, 2, -1) < 0) {
      if (errno == EINTR) continue;
      return;
    }
    if (fds[1].revents) return;
    if (!(fds[0].revents & POLLIN)) continue;
    const int fd = ::accept4(listen_fd_, nullptr, nullptr, SOCK_CLOEXEC);
    if (fd < 0) continue;
    HandleConnection(fd);
    ::close(fd);
  }
}

void MetricsHttpServer::HandleConnection(int fd) {
  timeval timeout{kIoTimeoutSeconds, 0};
  ::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, sizeof(timeout));
  ::setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &timeout, sizeof(timeout));
  std::string request;
  char buffer[4096];
  while (request.find("\r\n\r\n") == std::string::npos && request.size() < kMaxRequestBytes) {
    const ssize_t n = ::recv(fd, buffer, sizeof(buffer), 0);
    if (n <= 0) return;
    request.append(buffer, static_cast<size_t>(n));
  }
  const std::string line = request.substr(0, request.find("\r\n"));
  const auto first_space = line.find(' ');
  const auto second_space = line.find(' ', first_space + 1);
  if (first_space == std::string::npos || second_space == std::string::npos) {
    SendAll(fd, Response(400, "Bad Request", "text/plain", "bad request line\n", false));
    return;
  }
  const std::string method = line.substr(0, first_space);
  std::string target = line.substr(first_space + 1, second_space - first_space - 1);
  target = target.substr(0, target.find('?'));
  const bool head = method == "HEAD";
  if (method != "GET" && !head) {
    SendAll(fd, Response(405, "Method Not Allowed", "text/plain", "only GET /metrics\n", false));
  } else if (target != "/metrics") {
    SendAll(fd, Response(404, "Not Found", "text/plain", "only GET /metrics\n", head));
  } else {
    std::string body;
    try {
      body = render_();
    } catch (const std::exception& e) {
      SendAll(fd, Response(500, "Internal Server Error", "text/plain", std::string(e.what()) + "\n", head));
      return;
    }
    SendAll(fd, Response(200, "OK", "text/plain; version=0.0.4; charset=utf-8", body, head));
  }
}

}  // namespace bertfleet
