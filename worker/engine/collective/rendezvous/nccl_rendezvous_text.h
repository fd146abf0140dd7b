#pragma once
// What rank 0 of an NCCL group publishes for the others (through the coordinator's rendezvous
// RPCs, a --rendezvous-file or the --rendezvous flag): "nccl:" + its ncclUniqueId as 256
// lowercase hex digits + "@HOST:PORT" of its arrival roll (worker/engine/collective/rendezvous/arrival_roll.h). Text, so
// that it travels through every channel a Gloo store address does, and so a Gloo address can
// never be mistaken for it. Plain C++ (no NCCL), so CPU-only builds test it too.
#include <string>

namespace bertfleet {

constexpr char kNcclRendezvousPrefix[] = "nccl:";

struct NcclRendezvous {
  std::string unique_id;  // the raw bytes of an ncclUniqueId (NcclGroup::NewUniqueId())
  std::string roll_host;  // rank 0's arrival roll
  int roll_port = 0;
};

std::string EncodeNcclRendezvous(const NcclRendezvous& rendezvous);

// True when `text` claims to be an NCCL rendezvous (has the prefix), well-formed or not.
bool IsNcclRendezvous(const std::string& text);

// Throws Error naming `source` (the flag or file it came from) when the prefix, the length, a
// digit or the roll's address is wrong.
NcclRendezvous DecodeNcclRendezvous(const std::string& text, const std::string& source);

}  // namespace bertfleet
