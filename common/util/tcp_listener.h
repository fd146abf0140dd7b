#pragma once
// A listening TCP socket on HOST:PORT, for the small servers bertfleet runs beside gRPC (the
// worker's /metrics endpoint, rank 0's arrival roll).
#include <string>

namespace bertfleet {

struct TcpListener {
  int fd = -1;    // listening, close-on-exec; the caller closes it
  int port = 0;   // the port bound (the one asked for, or the free one chosen for 0)
};

// `host` "" listens on every interface; port 0 picks a free port. Throws Error starting with
// `what` (the flag or component) when the host does not resolve or nothing can be bound.
TcpListener ListenTcp(const std::string& host, int port, int backlog, const std::string& what);

}  // namespace bertfleet
