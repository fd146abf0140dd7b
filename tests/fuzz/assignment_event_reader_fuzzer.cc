// libFuzzer target for the agent's reader of the child -> agent event stream
// (worker/protocol/assignment_event_stream.h). The first byte picks how the rest is cut into
// pieces. Every input must decode or throw AssignmentEventStreamError naming the frame, never
// crash, and the pieces must not matter: the whole input at once gives the same events (those
// before a bad frame included) and the same error. Events that decode must encode to frames
// that decode to themselves.
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "worker/protocol/assignment_event_stream.h"

namespace {

struct Outcome {
  std::vector<std::string> events;  // serialized
  std::string error;
};

Outcome Read(std::string_view stream, size_t piece) {
  Outcome outcome;
  bertfleet::AssignmentEventReader reader;
  std::vector<bertfleet::v1::AssignmentEvent> events;
  try {
    for (size_t at = 0; at < stream.size(); at += piece) reader.Feed(stream.substr(at, piece), events);
    reader.Finish();
  } catch (const bertfleet::AssignmentEventStreamError& error) {
    outcome.error = error.what();
    if (outcome.error.find("frame ") == std::string::npos) __builtin_trap();
  }
  for (const auto& event : events) outcome.events.push_back(event.SerializeAsString());
  return outcome;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 0) return 0;
  const size_t piece = 1 + data[0] % 16;
  const std::string_view stream(reinterpret_cast<const char*>(data + 1), size - 1);
  const Outcome pieces = Read(stream, piece);
  const Outcome whole = Read(stream, stream.size() + 1);
  if (pieces.error != whole.error || pieces.events != whole.events) __builtin_trap();
  std::string again;
  for (const std::string& serialized : whole.events) {
    bertfleet::v1::AssignmentEvent event;
    if (!event.ParseFromString(serialized)) __builtin_trap();
    again += bertfleet::EncodeAssignmentEventFrame(event);
  }
  const Outcome round_trip = Read(again, again.size() + 1);
  if (!round_trip.error.empty() || round_trip.events.size() != whole.events.size()) __builtin_trap();
  return 0;
}
