#pragma once
// Wall-clock helpers shared by the coordinator: milliseconds since the epoch and protobuf
// Timestamps (0 ms means "not set").
#include <chrono>
#include <cstdint>

#include <google/protobuf/timestamp.pb.h>

namespace bertfleet::coordinator {

inline int64_t NowMs() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

inline void SetTimestamp(google::protobuf::Timestamp* ts, int64_t ms) {
  ts->set_seconds(ms / 1000);
  ts->set_nanos(static_cast<int32_t>((ms % 1000) * 1000000));
}

inline int64_t TimestampMs(const google::protobuf::Timestamp& ts) {
  return ts.seconds() * 1000 + ts.nanos() / 1000000;
}

}  // namespace bertfleet::coordinator
