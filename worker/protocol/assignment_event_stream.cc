#include "worker/protocol/assignment_event_stream.h"

#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <vector>

#include <google/protobuf/descriptor.h>
#include <google/protobuf/message.h>

#include "common/text/utf8.h"

namespace bertfleet {

namespace {

// Every string field, at any depth: a field added later is covered too.
void RepairStrings(google::protobuf::Message& message) {
  const google::protobuf::Reflection* reflection = message.GetReflection();
  std::vector<const google::protobuf::FieldDescriptor*> fields;
  reflection->ListFields(message, &fields);
  for (const google::protobuf::FieldDescriptor* field : fields) {
    if (field->is_repeated()) continue;  // no repeated strings or messages in these events
    if (field->type() == google::protobuf::FieldDescriptor::TYPE_STRING) {
      const std::string text = reflection->GetString(message, field);
      if (!utf8::IsValid(text)) reflection->SetString(&message, field, utf8::ReplaceMalformed(text));
    } else if (field->type() == google::protobuf::FieldDescriptor::TYPE_MESSAGE) {
      RepairStrings(*reflection->MutableMessage(&message, field));
    }
  }
}

void AppendVarint(std::string& out, uint64_t value) {
  while (value >= 0x80) {
    out.push_back(static_cast<char>((value & 0x7f) | 0x80));
    value >>= 7;
  }
  out.push_back(static_cast<char>(value));
}

}  // namespace

std::string EncodeAssignmentEventFrame(const v1::AssignmentEvent& event) {
  const std::string body = event.SerializeAsString();
  std::string frame;
  AppendVarint(frame, body.size());
  frame += body;
  return frame;
}

void AssignmentEventWriter::Write(v1::AssignmentEvent event) {
  RepairStrings(event);
  const std::string frame = EncodeAssignmentEventFrame(event);
  size_t done = 0;
  while (done < frame.size()) {
    const ssize_t n = ::write(fd_, frame.data() + done, frame.size() - done);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) throw Error(std::string("event stream: write failed: ") + std::strerror(errno));
    done += static_cast<size_t>(n);
  }
}

void AssignmentEventReader::Fail(const std::string& message) {
  error_ = "malformed event stream: frame " + std::to_string(frames_ + 1) + " at byte " + std::to_string(offset_) +
           ": " + message;
  throw AssignmentEventStreamError(error_);
}

void AssignmentEventReader::Feed(std::string_view bytes, std::vector<v1::AssignmentEvent>& events) {
  if (!error_.empty()) throw AssignmentEventStreamError(error_);
  pending_.append(bytes.data(), bytes.size());
  while (!pending_.empty()) {
    // The size prefix: at most 4 bytes of varint for sizes up to kMaxAssignmentEventBytes.
    uint64_t size = 0;
    size_t prefix = 0;
    bool complete = false;
    while (prefix < pending_.size() && prefix < 4) {
      const auto byte = static_cast<unsigned char>(pending_[prefix]);
      size |= static_cast<uint64_t>(byte & 0x7f) << (7 * prefix);
      ++prefix;
      if (!(byte & 0x80)) {
        complete = true;
        break;
      }
    }
    if (!complete) {
      if (prefix == 4) Fail("size prefix longer than 4 bytes (not a bertfleet event stream?)");
      break;  // the rest of the prefix is still to come
    }
    if (size > kMaxAssignmentEventBytes) {
      Fail("size " + std::to_string(size) + " exceeds the limit of " + std::to_string(kMaxAssignmentEventBytes) +
           " bytes (not a bertfleet event stream?)");
    }
    if (size == 0) Fail("empty frame (an event names what happened)");
    if (pending_.size() < prefix + size) break;  // the body is still to come
    v1::AssignmentEvent event;
    if (!event.ParseFromArray(pending_.data() + prefix, static_cast<int>(size))) {
      Fail(std::to_string(size) + " bytes that are not a bertfleet.v1.AssignmentEvent");
    }
    if (event.event_case() == v1::AssignmentEvent::EVENT_NOT_SET) {
      Fail("an AssignmentEvent with no event set (written by a newer bertfleet-worker?)");
    }
    events.push_back(std::move(event));
    pending_.erase(0, prefix + size);
    offset_ += static_cast<int64_t>(prefix + size);
    ++frames_;
  }
}

void AssignmentEventReader::Finish() const {
  if (!error_.empty()) throw AssignmentEventStreamError(error_);
  if (pending_.empty()) return;
  throw AssignmentEventStreamError("truncated event stream: it ended " + std::to_string(pending_.size()) +
                                   " byte(s) into frame " + std::to_string(frames_ + 1) + " at byte " +
                                   std::to_string(offset_));
}

}  // namespace bertfleet
