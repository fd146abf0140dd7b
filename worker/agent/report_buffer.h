#pragma once
// Reports waiting to reach the coordinator (in order), bounded: while the coordinator is
// unreachable a long run keeps producing progress reports, so when full the oldest progress
// report goes first, then the oldest epoch/checkpoint report; `started` and `finished`, which
// the coordinator's job states depend on, are dropped only when nothing else is left.
#include <cstddef>
#include <deque>

#include "bertfleet/v1/workers.pb.h"

namespace bertfleet {

class ReportBuffer {
 public:
  explicit ReportBuffer(size_t capacity) : capacity_(capacity < 1 ? 1 : capacity) {}

  void Push(v1::WorkerMessage message);
  bool empty() const { return messages_.empty(); }
  size_t size() const { return messages_.size(); }
  const v1::WorkerMessage& front() const { return messages_.front(); }
  void PopFront() { messages_.pop_front(); }
  size_t dropped() const { return dropped_; }
  std::deque<v1::WorkerMessage>::const_iterator begin() const { return messages_.begin(); }
  std::deque<v1::WorkerMessage>::const_iterator end() const { return messages_.end(); }

 private:
  bool DropFirst(v1::WorkerMessage::MessageCase kind);

  size_t capacity_;
  std::deque<v1::WorkerMessage> messages_;
  size_t dropped_ = 0;
};

}  // namespace bertfleet
