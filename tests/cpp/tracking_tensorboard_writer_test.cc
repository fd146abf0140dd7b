// TensorBoardWriter's file read back record by record: framing and CRCs as TFRecord readers check
// them, Event protos with Hugging Face's tags. (tests/python/test_report_to.py reads the same
// files with TensorBoard itself.)
#include "worker/engine/tracking/tensorboard_writer.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include <fstream>
#include <iterator>

#include "common/util/error.h"
#include "tests/cpp/error_of.h"
#include "tests/cpp/scratch_dir.h"
#include "worker/engine/tracking/crc32c.h"
#include "worker/engine/tracking/tensorboard_events.pb.h"

namespace bertfleet {
namespace {

namespace fs = std::filesystem;
using ::testing::HasSubstr;
using ::testing::StartsWith;

uint64_t ReadLittleEndian(const std::string& bytes, size_t at, int width) {
  uint64_t value = 0;
  for (int i = width - 1; i >= 0; --i) value = (value << 8) | static_cast<unsigned char>(bytes[at + i]);
  return value;
}

// Every record of a TFRecord file, each checked as TensorFlow's reader checks it.
std::vector<tensorboard::Event> ReadEvents(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  const std::string bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  std::vector<tensorboard::Event> events;
  size_t at = 0;
  while (at < bytes.size()) {
    EXPECT_LE(at + 12, bytes.size()) << "truncated header at " << at;
    const uint64_t length = ReadLittleEndian(bytes, at, 8);
    EXPECT_EQ(ReadLittleEndian(bytes, at + 8, 4), MaskedCrc32c(bytes.substr(at, 8))) << "length CRC at " << at;
    EXPECT_LE(at + 12 + length + 4, bytes.size()) << "truncated data at " << at;
    const std::string data = bytes.substr(at + 12, length);
    EXPECT_EQ(ReadLittleEndian(bytes, at + 12 + length, 4), MaskedCrc32c(data)) << "data CRC at " << at;
    tensorboard::Event event;
    EXPECT_TRUE(event.ParseFromString(data));
    events.push_back(event);
    at += 12 + length + 4;
  }
  return events;
}

class TensorBoardWriterTest : public testing::ScratchDirTest {};

TEST(TensorBoardTags, AreHuggingFacesRewriteLogs) {
  EXPECT_EQ(TensorBoardWriter::TagFor("loss"), "train/loss");
  EXPECT_EQ(TensorBoardWriter::TagFor("learning_rate"), "train/learning_rate");
  EXPECT_EQ(TensorBoardWriter::TagFor("train_runtime"), "train/train_runtime");
  EXPECT_EQ(TensorBoardWriter::TagFor("eval_accuracy"), "eval/accuracy");
  EXPECT_EQ(TensorBoardWriter::TagFor("eval_accuracy_mm"), "eval/accuracy_mm");
  EXPECT_EQ(TensorBoardWriter::TagFor("test_f1"), "test/f1");
  EXPECT_EQ(TensorBoardWriter::TagFor("evaluation"), "train/evaluation");  // the prefix is eval_, not eval
}

TEST(TensorBoardFraming, LengthAndCrcsAroundTheData) {
  const std::string record = TensorBoardWriter::FrameRecord("abc");
  ASSERT_EQ(record.size(), 8u + 4 + 3 + 4);
  EXPECT_EQ(ReadLittleEndian(record, 0, 8), 3u);
  EXPECT_EQ(ReadLittleEndian(record, 8, 4), MaskedCrc32c(record.substr(0, 8)));
  EXPECT_EQ(record.substr(12, 3), "abc");
  EXPECT_EQ(ReadLittleEndian(record, 15, 4), MaskedCrc32c("abc"));
}

TEST_F(TensorBoardWriterTest, WritesVersionArgsAndScalarsByStep) {
  fs::path path;
  {
    TensorBoardWriter writer(dir_ / "runs" / "a");
    path = writer.path();
    writer.LogParams({{"learning_rate", "2e-05"}, {"task", "mrpc"}});
    writer.Log({5, {{"loss", 0.6931}, {"learning_rate", 1.5e-5}}});
    writer.Log({10, {{"eval_accuracy", 0.75}, {"eval_f1", 0.8}}});
    writer.Finish({}, RunOutcome::kFinished);
  }
  EXPECT_EQ(path.parent_path(), dir_ / "runs" / "a");
  EXPECT_THAT(path.filename().string(), StartsWith("events.out.tfevents."));
  const std::vector<tensorboard::Event> events = ReadEvents(path);
  ASSERT_EQ(events.size(), 4u);
  EXPECT_EQ(events[0].file_version(), "brain.Event:2");

  ASSERT_EQ(events[1].summary().value_size(), 1);
  const tensorboard::SummaryValue& args = events[1].summary().value(0);
  EXPECT_EQ(args.tag(), "args");
  EXPECT_EQ(args.metadata().plugin_data().plugin_name(), "text");
  ASSERT_EQ(args.tensor().string_val_size(), 1);
  EXPECT_THAT(args.tensor().string_val(0), HasSubstr("| task | mrpc |"));

  EXPECT_EQ(events[2].step(), 5);
  ASSERT_EQ(events[2].summary().value_size(), 2);
  EXPECT_EQ(events[2].summary().value(0).tag(), "train/loss");
  EXPECT_FLOAT_EQ(events[2].summary().value(0).simple_value(), 0.6931f);
  EXPECT_EQ(events[2].summary().value(1).tag(), "train/learning_rate");
  EXPECT_EQ(events[3].step(), 10);
  EXPECT_EQ(events[3].summary().value(0).tag(), "eval/accuracy");
  EXPECT_FLOAT_EQ(events[3].summary().value(1).simple_value(), 0.8f);
  EXPECT_GT(events[3].wall_time(), 1.7e9);
}

TEST_F(TensorBoardWriterTest, RecordsAreOnDiskBeforeFinish) {
  // A run killed mid-way keeps what it logged: each record is flushed as it is written.
  TensorBoardWriter writer(dir_);
  writer.Log({1, {{"loss", 1.0}}});
  EXPECT_EQ(ReadEvents(writer.path()).size(), 2u);
}

TEST_F(TensorBoardWriterTest, UnwritableDirectoryIsAnErrorNamingIt) {
  fs::create_directories(dir_);
  std::ofstream(dir_ / "file") << "not a directory";
  const std::string message = testing::ErrorOf([&] { TensorBoardWriter writer(dir_ / "file" / "runs"); });
  EXPECT_THAT(message, HasSubstr("report_to: tensorboard: cannot create " + (dir_ / "file" / "runs").string()));
}

}  // namespace
}  // namespace bertfleet
