// The child -> agent event stream: frames written by AssignmentEventWriter decode to the same
// events whatever pieces they arrive in; malformed and truncated streams get errors naming the
// frame and the byte.
#include "worker/protocol/assignment_event_stream.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <string>

namespace bertfleet {
namespace {

v1::AssignmentEvent Progress(int64_t step) {
  v1::AssignmentEvent event;
  v1::TrainingProgress* progress = event.mutable_progress();
  progress->mutable_progress()->set_global_step(step);
  progress->mutable_progress()->set_total_steps(690);
  progress->add_step_seconds(0.25);
  progress->add_step_seconds(0.5);
  progress->set_window_examples(32);
  return event;
}

v1::AssignmentEvent Failed(const std::string& message) {
  v1::AssignmentEvent event;
  event.mutable_failed()->set_message(message);
  return event;
}

std::string ThreeFrames() {
  v1::AssignmentEvent started;
  started.mutable_started()->set_total_steps(690);
  return EncodeAssignmentEventFrame(started) + EncodeAssignmentEventFrame(Progress(10)) +
         EncodeAssignmentEventFrame(Failed("bad row"));
}

std::string ErrorOf(AssignmentEventReader& reader, const std::string& bytes) {
  std::vector<v1::AssignmentEvent> events;
  try {
    reader.Feed(bytes, events);
    reader.Finish();
  } catch (const AssignmentEventStreamError& error) {
    return error.what();
  }
  return "";
}

TEST(AssignmentEventStream, DecodesTheSameEventsWhateverTheSplit) {
  const std::string stream = ThreeFrames();
  for (size_t piece = 1; piece <= stream.size(); ++piece) {
    AssignmentEventReader reader;
    std::vector<v1::AssignmentEvent> events;
    for (size_t at = 0; at < stream.size(); at += piece) {
      reader.Feed(std::string_view(stream).substr(at, piece), events);
    }
    reader.Finish();
    ASSERT_EQ(events.size(), 3u) << "pieces of " << piece;
    EXPECT_EQ(events[0].started().total_steps(), 690);
    EXPECT_EQ(events[1].progress().progress().global_step(), 10);
    ASSERT_EQ(events[1].progress().step_seconds_size(), 2);
    EXPECT_DOUBLE_EQ(events[1].progress().step_seconds(1), 0.5);
    EXPECT_EQ(events[2].failed().message(), "bad row");
    EXPECT_EQ(reader.frames(), 3);
  }
}

TEST(AssignmentEventStream, WriterFramesOnAFileDescriptorAndRepairsInvalidUtf8) {
  int fds[2];
  ASSERT_EQ(::pipe(fds), 0);
  AssignmentEventWriter writer(fds[1]);
  writer.Write(Progress(3));
  writer.Write(Failed("cannot parse train.tsv line 4: \xff\xfe column 2"));
  ::close(fds[1]);
  std::string bytes;
  char chunk[256];
  ssize_t n;
  while ((n = ::read(fds[0], chunk, sizeof(chunk))) > 0) bytes.append(chunk, static_cast<size_t>(n));
  ::close(fds[0]);
  AssignmentEventReader reader;
  std::vector<v1::AssignmentEvent> events;
  reader.Feed(bytes, events);
  reader.Finish();
  ASSERT_EQ(events.size(), 2u);
  EXPECT_EQ(events[0].progress().progress().global_step(), 3);
  EXPECT_EQ(events[1].failed().message(), "cannot parse train.tsv line 4: ?? column 2");
}

TEST(AssignmentEventStream, TruncatedStreamNamesTheFrameAndByte) {
  const std::string stream = ThreeFrames();
  const std::string first = EncodeAssignmentEventFrame(Progress(1));
  AssignmentEventReader reader;
  const std::string cut = first + stream.substr(0, 3);
  const std::string error = ErrorOf(reader, cut);
  EXPECT_NE(error.find("truncated event stream"), std::string::npos) << error;
  EXPECT_NE(error.find("3 byte(s) into frame 2 at byte " + std::to_string(first.size())), std::string::npos) << error;
}

TEST(AssignmentEventStream, RejectsMalformedFramesAndStaysBroken) {
  {
    AssignmentEventReader reader;
    const std::string error = ErrorOf(reader, std::string("\xff\xff\xff\xff\x0f", 5));
    EXPECT_NE(error.find("frame 1 at byte 0: size prefix longer than 4 bytes"), std::string::npos) << error;
    EXPECT_TRUE(reader.broken());
    std::vector<v1::AssignmentEvent> events;
    EXPECT_THROW(reader.Feed(EncodeAssignmentEventFrame(Progress(1)), events), AssignmentEventStreamError);
    EXPECT_TRUE(events.empty());
  }
  {
    AssignmentEventReader reader;  // 2 MiB announced
    const std::string error = ErrorOf(reader, std::string("\x80\x80\x80\x01", 4));
    EXPECT_NE(error.find("size 2097152 exceeds the limit"), std::string::npos) << error;
  }
  {
    AssignmentEventReader reader;
    const std::string error = ErrorOf(reader, std::string("\x00", 1));
    EXPECT_NE(error.find("empty frame"), std::string::npos) << error;
  }
  {
    AssignmentEventReader reader;  // JSON lines, as an older child wrote them
    const std::string error = ErrorOf(reader, "{\"event\":\"started\"}\n");
    EXPECT_NE(error.find("frame 1 at byte 0"), std::string::npos) << error;
  }
  {
    AssignmentEventReader reader;  // a frame of a known size whose body is not an event
    const std::string good = EncodeAssignmentEventFrame(Progress(1));
    std::vector<v1::AssignmentEvent> events;
    EXPECT_THROW(reader.Feed(good + std::string("\x03\xff\xff\xff", 4), events), AssignmentEventStreamError);
    ASSERT_EQ(events.size(), 1u) << "the good frame before the bad one is delivered";
    EXPECT_EQ(events[0].progress().progress().global_step(), 1);
  }
  {
    AssignmentEventReader reader;
    const std::string good = EncodeAssignmentEventFrame(Progress(1));
    const std::string error = ErrorOf(reader, good + std::string("\x03\xff\xff\xff", 4));
    EXPECT_NE(error.find("frame 2 at byte " + std::to_string(good.size()) +
                         ": 3 bytes that are not a bertfleet.v1.AssignmentEvent"),
              std::string::npos)
        << error;
  }
  {
    AssignmentEventReader reader;  // a valid message whose only field is unknown (field 99)
    const std::string error = ErrorOf(reader, std::string("\x03\x98\x06\x01", 4));
    EXPECT_NE(error.find("no event set"), std::string::npos) << error;
  }
}

}  // namespace
}  // namespace bertfleet
