#pragma once
// Checkpoints in Hugging Face's layout (output_dir/checkpoint-<step>/ with config.json,
// model.safetensors, tokenizer files, trainer_state.json) plus what an exact resume needs
// (optimizer.safetensors, rng_state.json) and a manifest of sha256 sums. A checkpoint is built
// in a temporary directory, fsynced and renamed, so a crash never leaves a half-written one
// under the final name; a corrupt one is skipped on load for the previous valid one.
#include <filesystem>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "worker/engine/train/trainer_state.h"
#include "worker/engine/train/training_session.h"

namespace bertfleet {

class CheckpointManager {
 public:
  CheckpointManager(std::filesystem::path output_dir, int64_t save_total_limit,
                    std::filesystem::path tokenizer_dir, nlohmann::json job_spec);

  // Writes output_dir/checkpoint-<global_step>; returns its path.
  std::filesystem::path Save(TrainingSession& session, const TrainerState& state);

  // Restores weights, optimizer, RNG and the trainer state. Throws Error naming the file on
  // any corruption (checksum mismatch, missing file, layout mismatch).
  void Restore(const std::filesystem::path& checkpoint, TrainingSession& session, TrainerState& state) const;

  // The newest checkpoint whose manifest verifies; each skipped one is reported through `log`.
  std::optional<std::filesystem::path> LatestValid(
      const std::function<void(const std::string&)>& log = nullptr) const;

  // Checks every file against the manifest; throws Error naming the first bad file.
  static void Verify(const std::filesystem::path& checkpoint);

  // Copies every parameter of `model` from a model.safetensors written by SavePretrained.
  static void LoadModelWeights(const std::filesystem::path& safetensors, BertForSequenceClassification& model);

  // Checkpoints sorted by step, oldest first.
  std::vector<std::filesystem::path> List() const;

  const std::filesystem::path& output_dir() const { return output_dir_; }

 private:
  void Rotate(const std::string& best_checkpoint) const;

  std::filesystem::path output_dir_;
  int64_t save_total_limit_;
  std::filesystem::path tokenizer_dir_;
  nlohmann::json job_spec_;
};

}  // namespace bertfleet
