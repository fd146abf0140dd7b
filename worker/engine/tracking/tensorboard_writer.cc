#include "worker/engine/tracking/tensorboard_writer.h"

#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstring>

#include "common/util/error.h"
#include "worker/engine/tracking/crc32c.h"
#include "worker/engine/tracking/tensorboard_events.pb.h"

namespace bertfleet {

namespace fs = std::filesystem;

namespace {

double WallTime() {
  return std::chrono::duration<double>(std::chrono::system_clock::now().time_since_epoch()).count();
}

std::string HostName() {
  char host[256] = {};
  if (::gethostname(host, sizeof(host) - 1) != 0) return "localhost";
  return host;
}

void AppendLittleEndian(std::string& out, uint64_t value, int bytes) {
  for (int i = 0; i < bytes; ++i) out.push_back(static_cast<char>((value >> (8 * i)) & 0xff));
}

}  // namespace

std::string TensorBoardWriter::FrameRecord(const std::string& data) {
  std::string length;
  AppendLittleEndian(length, data.size(), 8);
  std::string record = length;
  AppendLittleEndian(record, MaskedCrc32c(length), 4);
  record += data;
  AppendLittleEndian(record, MaskedCrc32c(data), 4);
  return record;
}

std::string TensorBoardWriter::TagFor(const std::string& key) {
  for (const char* prefix : {"eval_", "test_"}) {
    const size_t length = std::strlen(prefix);
    if (key.compare(0, length, prefix) == 0) return std::string(prefix, length - 1) + "/" + key.substr(length);
  }
  return "train/" + key;
}

TensorBoardWriter::TensorBoardWriter(const fs::path& logging_dir) {
  std::error_code error;
  fs::create_directories(logging_dir, error);
  if (error) throw Error("report_to: tensorboard: cannot create " + logging_dir.string() + ": " + error.message());
  const auto seconds = static_cast<long long>(WallTime());
  path_ = logging_dir / ("events.out.tfevents." + std::to_string(seconds) + "." + HostName() + "." +
                         std::to_string(::getpid()) + ".0");
  file_ = std::fopen(path_.c_str(), "wb");
  if (!file_) throw Error("report_to: tensorboard: cannot create " + path_.string() + ": " + std::strerror(errno));
  tensorboard::Event first;
  first.set_wall_time(WallTime());
  first.set_file_version("brain.Event:2");
  first.mutable_source_metadata()->set_writer("bertfleet");
  Append(first.SerializeAsString());
}

TensorBoardWriter::~TensorBoardWriter() {
  if (file_) std::fclose(file_);
}

void TensorBoardWriter::Append(const std::string& serialized_event) {
  const std::string record = FrameRecord(serialized_event);
  // A full disk must not stop training: the loss of a log line is the lesser harm.
  if (std::fwrite(record.data(), 1, record.size(), file_) == record.size()) std::fflush(file_);
}

void TensorBoardWriter::LogParams(const std::vector<std::pair<std::string, std::string>>& params) {
  std::string text = "| key | value |\n|---|---|\n";
  for (const auto& [key, value] : params) text += "| " + key + " | " + value + " |\n";
  tensorboard::Event event;
  event.set_wall_time(WallTime());
  event.set_step(0);
  tensorboard::SummaryValue* value = event.mutable_summary()->add_value();
  value->set_tag("args");
  value->mutable_metadata()->mutable_plugin_data()->set_plugin_name("text");
  tensorboard::TensorProto* tensor = value->mutable_tensor();
  tensor->set_dtype(tensorboard::DT_STRING);
  tensor->mutable_tensor_shape();  // no dims: a scalar
  tensor->add_string_val(text);
  Append(event.SerializeAsString());
}

void TensorBoardWriter::Log(const TrackedLog& log) {
  tensorboard::Event event;
  event.set_wall_time(WallTime());
  event.set_step(log.step);
  for (const auto& [key, number] : log.values) {
    tensorboard::SummaryValue* value = event.mutable_summary()->add_value();
    value->set_tag(TagFor(key));
    value->set_simple_value(static_cast<float>(number));
  }
  Append(event.SerializeAsString());
}

void TensorBoardWriter::Finish(const fs::path&, RunOutcome) {
  if (file_) std::fflush(file_);
}

}  // namespace bertfleet
