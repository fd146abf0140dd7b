#include "worker/agent/report_buffer.h"

namespace bertfleet {

bool ReportBuffer::DropFirst(v1::WorkerMessage::MessageCase kind) {
  for (auto it = messages_.begin(); it != messages_.end(); ++it) {
    if (it->message_case() == kind) {
      messages_.erase(it);
      ++dropped_;
      return true;
    }
  }
  return false;
}

void ReportBuffer::Push(v1::WorkerMessage message) {
  while (messages_.size() >= capacity_) {
    if (DropFirst(v1::WorkerMessage::kProgress)) continue;
    if (DropFirst(v1::WorkerMessage::kCheckpoint)) continue;
    if (DropFirst(v1::WorkerMessage::kEpoch)) continue;
    messages_.pop_front();
    ++dropped_;
  }
  messages_.push_back(std::move(message));
}

}  // namespace bertfleet
