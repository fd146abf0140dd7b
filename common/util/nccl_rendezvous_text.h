#pragma once
// What rank 0 of an NCCL group publishes for the others (through the coordinator's rendezvous
// RPCs, a --rendezvous-file or the --rendezvous flag): its ncclUniqueId as "nccl:" + 256
// lowercase hex digits. Text, so that it travels through every channel a Gloo store address
// does, and so a Gloo address can never be mistaken for it. Plain C++ (no NCCL), so CPU-only
// builds test it too.
#include <string>

namespace bertfleet {

constexpr char kNcclRendezvousPrefix[] = "nccl:";

// `unique_id`: the raw bytes of an ncclUniqueId (NcclGroup::NewUniqueId()).
std::string EncodeNcclRendezvous(const std::string& unique_id);

// True when `text` claims to be an NCCL rendezvous (has the prefix), well-formed or not.
bool IsNcclRendezvous(const std::string& text);

// The raw id bytes back; throws Error naming `source` (the flag or file it came from) when the
// prefix, the length or a digit is wrong.
std::string DecodeNcclRendezvous(const std::string& text, const std::string& source);

}  // namespace bertfleet
