#pragma once
// "HOST:PORT" addresses of rendezvous points (Gloo's store), as flags and events spell them.
#include <string>
#include <utility>

namespace bertfleet {

// "HOST:PORT" (or "[v6]:PORT") -> {HOST, PORT}. Throws Error naming `what` (the flag or key)
// when the address is malformed or the port is out of 0..65535.
std::pair<std::string, int> ParseHostPort(const std::string& address, const std::string& what);

// {HOST, PORT} -> "HOST:PORT", IPv6 hosts in brackets ("[fd00::7]:29500"): what ParseHostPort
// reads back.
std::string FormatHostPort(const std::string& host, int port);

// The host others should dial to reach a server listening on `listen_host`: itself, unless it is
// a wildcard ("", 0.0.0.0, ::), then this machine's hostname.
std::string AdvertisedHost(const std::string& listen_host);

// Whether `host` is this machine's loopback (localhost, 127.x.x.x, ::1).
bool IsLoopbackHost(const std::string& host);

// This machine's address on the route to host:port (what a peer that reaches host:port can
// most likely reach us on); no packet is sent. Error when `host` does not resolve.
std::string LocalAddressToward(const std::string& host, int port);

}  // namespace bertfleet
