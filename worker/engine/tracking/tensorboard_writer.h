#pragma once
// `report_to: tensorboard`: one TensorBoard event file under the logging directory
// (OUTPUT/runs/<date>_<host> by default, as Hugging Face's logging_dir). Records are TFRecord
// framed (length, masked CRC-32C of the length, data, masked CRC-32C of the data) around Event
// protos (tensorboard_events.proto); tags are Hugging Face's TensorBoardCallback names:
// `eval_accuracy` -> `eval/accuracy`, `test_x` -> `test/x`, anything else `train/<key>`.
#include <cstdio>
#include <filesystem>
#include <string>

#include "worker/engine/tracking/run_tracker.h"

namespace bertfleet {

class TensorBoardWriter : public RunTracker {
 public:
  // Creates the directory and the file (events.out.tfevents.<time>.<host>.<pid>.0); throws Error
  // naming the path when it cannot.
  explicit TensorBoardWriter(const std::filesystem::path& logging_dir);
  ~TensorBoardWriter() override;
  TensorBoardWriter(const TensorBoardWriter&) = delete;
  TensorBoardWriter& operator=(const TensorBoardWriter&) = delete;

  std::string name() const override { return "tensorboard"; }
  // As TensorBoardCallback: the arguments as one `args` text summary.
  void LogParams(const std::vector<std::pair<std::string, std::string>>& params) override;
  void Log(const TrackedLog& log) override;
  void Finish(const std::filesystem::path& model_dir, RunOutcome outcome) override;

  const std::filesystem::path& path() const { return path_; }

  static std::string TagFor(const std::string& key);  // Hugging Face's rewrite_logs
  // One TFRecord: what the writer appends for a serialized proto.
  static std::string FrameRecord(const std::string& data);

 private:
  void Append(const std::string& serialized_event);

  std::filesystem::path path_;
  std::FILE* file_ = nullptr;
};

}  // namespace bertfleet
