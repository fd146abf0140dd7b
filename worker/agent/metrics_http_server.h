#pragma once
// The worker's /metrics endpoint: a minimal HTTP/1.1 server (GET /metrics, one connection at a
// time, Connection: close) on its own std::thread.
//
// Why not prometheus::Exposer: bertfleet-worker links LibTorch, and civetweb (inside the
// Exposer) starts its threads with ~100 KiB stacks, in which the static TLS of LibTorch's
// shared libraries no longer fits: thread creation fails with EINVAL and the Exposer throws
// "null context when constructing CivetServer" (docs/observability.md). A std::thread gets the
// default 8 MiB stack. Scrapes are served one after another, so concurrent scrapers each get a
// complete, consistent exposition.
#include <atomic>
#include <functional>
#include <string>
#include <thread>

namespace bertfleet {

class MetricsHttpServer {
 public:
  // Listens on `listen` (host:port; port 0 picks a free one) and answers GET /metrics with
  // render()'s text (Prometheus text format 0.0.4). Throws Error naming --metrics-listen.
  MetricsHttpServer(const std::string& listen, std::function<std::string()> render);
  ~MetricsHttpServer();  // stops and joins the thread

  MetricsHttpServer(const MetricsHttpServer&) = delete;
  MetricsHttpServer& operator=(const MetricsHttpServer&) = delete;

  const std::string& address() const { return address_; }  // host:port actually bound

 private:
  void Serve();
  void HandleConnection(int fd);

  std::function<std::string()> render_;
  int listen_fd_ = -1;
  int wake_pipe_[2] = {-1, -1};  // written by the destructor to end poll()
  std::string address_;
  std::thread thread_;
};

}  // namespace bertfleet
