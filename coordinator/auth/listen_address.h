#pragma once
// What a gRPC/HTTP listen address ("host:port", "[v6]:port", "unix:path") exposes.
#include <string>

namespace bertfleet::coordinator {

// True when only this machine can connect: 127.0.0.0/8, ::1, localhost, or a unix socket.
// An empty host (":50051"), 0.0.0.0, [::] or any other name or address is not loopback.
bool IsLoopbackAddress(const std::string& address);

}  // namespace bertfleet::coordinator
