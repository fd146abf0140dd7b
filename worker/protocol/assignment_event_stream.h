#pragma once
// The one writer and the one reader of the child -> agent event stream: bertfleet.v1.AssignmentEvent
// messages (proto/bertfleet/v1/assignment_events.proto), each prefixed by its size as a varint.
// The writer runs in the `run-assignment` child, the reader in the agent; neither needs LibTorch.
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "bertfleet/v1/assignment_events.pb.h"
#include "common/util/error.h"

namespace bertfleet {

// No event comes near this; a larger size means the stream is not ours (or corrupt).
constexpr size_t kMaxAssignmentEventBytes = 1 << 20;

// Writes whole frames to a file descriptor it does not own. Strings that are not valid UTF-8 (a
// failure message quoting a bad input file) are repaired first: protobuf would refuse them.
class AssignmentEventWriter {
 public:
  explicit AssignmentEventWriter(int fd) : fd_(fd) {}
  // Throws Error when the descriptor cannot be written (the agent is gone).
  void Write(v1::AssignmentEvent event);

 private:
  int fd_;
};

// A malformed or truncated frame. The message names the frame (1-based) and the byte offset in
// the stream, so that an agent log line says exactly where the stream went wrong.
class AssignmentEventStreamError : public Error {
 public:
  using Error::Error;
};

// Decodes frames from the bytes of the stream, in whatever pieces they arrive.
class AssignmentEventReader {
 public:
  // Appends the events completed by `bytes` to `events`. Throws AssignmentEventStreamError on a
  // malformed frame, after appending the events before it; after that the stream cannot be
  // trusted, and every later call throws the same error.
  void Feed(std::string_view bytes, std::vector<v1::AssignmentEvent>& events);
  // The stream ended: throws AssignmentEventStreamError when it ended inside a frame.
  void Finish() const;

  int64_t frames() const { return frames_; }
  bool broken() const { return !error_.empty(); }

 private:
  [[noreturn]] void Fail(const std::string& message);

  std::string pending_;  // bytes of the frame in progress
  int64_t frames_ = 0;   // complete frames so far
  int64_t offset_ = 0;   // stream offset of pending_'s first byte
  std::string error_;
};

// The size prefix and body of one frame, as the writer puts them on the stream (for tests and
// the fuzzer's seed corpus).
std::string EncodeAssignmentEventFrame(const v1::AssignmentEvent& event);

}  // namespace bertfleet
