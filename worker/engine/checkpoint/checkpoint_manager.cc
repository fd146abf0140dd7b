#include "worker/engine/checkpoint/checkpoint_manager.h"

#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <mutex>

#include "common/data/mrpc_download.h"  // Sha256OfFile
#include "common/util/error.h"
#include "common/util/file_io.h"
#include "worker/engine/checkpoint/pretrained.h"
#include "worker/engine/checkpoint/safetensors_io.h"

namespace bertfleet {

namespace fs = std::filesystem;

namespace {

constexpr char kManifest[] = "bertfleet_manifest.json";
constexpr char kPrefix[] = "checkpoint-";

std::string ToHex(const uint8_t* data, size_t size) {
  static const char digits[] = "0123456789abcdef";
  std::string hex(size * 2, '0');
  for (size_t i = 0; i < size; ++i) {
    hex[2 * i] = digits[data[i] >> 4];
    hex[2 * i + 1] = digits[data[i] & 15];
  }
  return hex;
}

std::vector<uint8_t> FromHex(const std::string& hex, const std::string& where) {
  if (hex.size() % 2) throw Error(where + ": odd-length hex string");
  std::vector<uint8_t> bytes(hex.size() / 2);
  auto nibble = [&](char c) -> int {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    throw Error(where + ": invalid hex digit");
  };
  for (size_t i = 0; i < bytes.size(); ++i) bytes[i] = uint8_t(nibble(hex[2 * i]) << 4 | nibble(hex[2 * i + 1]));
  return bytes;
}

std::string GeneratorState(at::Generator generator) {
  torch::Tensor state;
  {
    std::lock_guard<std::mutex> lock(generator.mutex());
    state = generator.get_state().to(torch::kCPU).contiguous();
  }
  return ToHex(state.data_ptr<uint8_t>(), static_cast<size_t>(state.numel()));
}

void SetGeneratorState(at::Generator generator, const std::string& hex, const std::string& where) {
  const auto bytes = FromHex(hex, where);
  auto state = torch::from_blob(const_cast<uint8_t*>(bytes.data()), {int64_t(bytes.size())}, torch::kUInt8).clone();
  std::lock_guard<std::mutex> lock(generator.mutex());
  generator.set_state(state);
}

// The CPU generator (data order, CPU dropout) and, on a GPU, that device's generator (CUDA
// dropout draws from it). Reached through at::globalContext(), so this file needs no CUDA headers.
nlohmann::json CaptureRngState(torch::Device device) {
  nlohmann::json json = {{"cpu", GeneratorState(at::detail::getDefaultCPUGenerator())}};
  if (device.is_cuda()) {
    const torch::Device cuda(torch::kCUDA, device.has_index() ? device.index() : 0);
    json["cuda"] = GeneratorState(at::globalContext().defaultGenerator(cuda));
    json["cuda_device"] = cuda.index();
  }
  return json;
}

void RestoreRngState(const nlohmann::json& json, torch::Device device, const std::string& where) {
  SetGeneratorState(at::detail::getDefaultCPUGenerator(), json.at("cpu").get<std::string>(), where);
  // A checkpoint from a CPU run resumed on a GPU (or the reverse) keeps the freshly seeded one.
  if (device.is_cuda() && json.contains("cuda")) {
    const torch::Device cuda(torch::kCUDA, device.has_index() ? device.index() : 0);
    SetGeneratorState(at::globalContext().defaultGenerator(cuda), json.at("cuda").get<std::string>(), where);
  }
}

void FsyncDirectory(const fs::path& dir) {
  const int fd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd >= 0) {
    ::fsync(fd);
    ::close(fd);
  }
}

int64_t StepOf(const fs::path& checkpoint) {
  const std::string name = checkpoint.filename().string();
  try {
    return std::stoll(name.substr(sizeof(kPrefix) - 1));
  } catch (const std::exception&) {
    return -1;
  }
}

}  // namespace

CheckpointManager::CheckpointManager(fs::path output_dir, int64_t save_total_limit,
                                     fs::path tokenizer_dir, nlohmann::json job_spec)
    : output_dir_(std::move(output_dir)),
      save_total_limit_(save_total_limit),
      tokenizer_dir_(std::move(tokenizer_dir)),
      job_spec_(std::move(job_spec)) {}

fs::path CheckpointManager::Save(TrainingSession& session, const TrainerState& state) {
  fs::create_directories(output_dir_);
  const fs::path final_dir = output_dir_ / (kPrefix + std::to_string(state.global_step));
  const fs::path staging = output_dir_ / ("." + final_dir.filename().string() + ".tmp");
  fs::remove_all(staging);
  fs::create_directories(staging);

  SavePretrained(session.model(), session.config(), tokenizer_dir_, staging);
  AdamWOptimizer& optimizer = session.optimizer();
  SaveSafetensors(staging / "optimizer.safetensors",
                  {{"exp_avg", optimizer.exp_avg().to(torch::kCPU)},
                   {"exp_avg_sq", optimizer.exp_avg_sq().to(torch::kCPU)}},
                  {{"step", std::to_string(optimizer.step_count())},
                   {"numel", std::to_string(session.parameters().size())}});
  WriteFileAtomically(staging / "trainer_state.json", state.ToJson().dump(2) + "\n");
  WriteFileAtomically(staging / "rng_state.json", CaptureRngState(session.device()).dump() + "\n");
  WriteFileAtomically(staging / "job.json", job_spec_.dump(2) + "\n");

  nlohmann::json manifest = {{"format", 1}, {"global_step", state.global_step}, {"files", nlohmann::json::object()}};
  for (const auto& entry : fs::directory_iterator(staging)) {
    if (entry.is_regular_file()) {
      manifest["files"][entry.path().filename().string()] = Sha256OfFile(entry.path());
    }
  }
  WriteFileAtomically(staging / kManifest, manifest.dump(2) + "\n");
  FsyncDirectory(staging);
  fs::remove_all(final_dir);
  fs::rename(staging, final_dir);
  FsyncDirectory(output_dir_);

  const std::string best = state.best_model_checkpoint;
  Rotate(best);
  return final_dir;
}

void CheckpointManager::Verify(const fs::path& checkpoint) {
  const fs::path manifest_path = checkpoint / kManifest;
  nlohmann::json manifest;
  try {
    manifest = nlohmann::json::parse(ReadFileToString(manifest_path));
  } catch (const nlohmann::json::exception& error) {
    throw Error(manifest_path.string() + ": malformed manifest: " + error.what());
  }
  if (!manifest.contains("files") || !manifest["files"].is_object() || manifest["files"].empty()) {
    throw Error(manifest_path.string() + ": manifest lists no files");
  }
  for (const auto& [name, sha] : manifest["files"].items()) {
    const fs::path file = checkpoint / name;
    if (!fs::exists(file)) throw Error(file.string() + ": missing (listed in " + kManifest + ")");
    const std::string actual = Sha256OfFile(file);
    if (actual != sha.get<std::string>()) {
      throw Error(file.string() + ": sha256 mismatch (expected " + sha.get<std::string>() + ", got " + actual + ")");
    }
  }
}

void CheckpointManager::Restore(const fs::path& checkpoint, TrainingSession& session,
                                TrainerState& state) const {
  Verify(checkpoint);
  const std::string where = checkpoint.string();
  torch::NoGradGuard no_grad;

  LoadModelWeights(checkpoint / "model.safetensors", session.model());

  const auto optimizer_state = LoadSafetensors(checkpoint / "optimizer.safetensors");
  const torch::Tensor* exp_avg = optimizer_state.Find("exp_avg");
  const torch::Tensor* exp_avg_sq = optimizer_state.Find("exp_avg_sq");
  if (!exp_avg || !exp_avg_sq || exp_avg->numel() != session.parameters().size() ||
      exp_avg_sq->numel() != session.parameters().size()) {
    throw Error(where + "/optimizer.safetensors: optimizer state does not match the model's " +
                std::to_string(session.parameters().size()) + " parameters");
  }
  const auto trainer_json = nlohmann::json::parse(ReadFileToString(checkpoint / "trainer_state.json"));
  state = TrainerState::FromJson(trainer_json, where + "/trainer_state.json");
  session.optimizer().Restore(state.global_step, *exp_avg, *exp_avg_sq);
  RestoreRngState(nlohmann::json::parse(ReadFileToString(checkpoint / "rng_state.json")), session.device(),
                  where + "/rng_state.json");
}

void CheckpointManager::LoadModelWeights(const fs::path& safetensors, BertForSequenceClassification& model) {
  torch::NoGradGuard no_grad;
  const auto weights = LoadSafetensors(safetensors);
  for (auto& item : model->named_parameters(/*recurse=*/true)) {
    const torch::Tensor* found = weights.Find(item.key());
    if (!found) throw Error(safetensors.string() + ": missing tensor " + item.key());
    if (found->sizes() != item.value().sizes()) {
      throw Error(safetensors.string() + ": tensor " + item.key() + " has the wrong shape");
    }
    item.value().copy_(*found);
  }
}

std::vector<fs::path> CheckpointManager::List() const {
  std::vector<fs::path> checkpoints;
  if (!fs::is_directory(output_dir_)) return checkpoints;
  for (const auto& entry : fs::directory_iterator(output_dir_)) {
    const std::string name = entry.path().filename().string();
    if (entry.is_directory() && name.rfind(kPrefix, 0) == 0 && StepOf(entry.path()) >= 0) {
      checkpoints.push_back(entry.path());
    }
  }
  std::sort(checkpoints.begin(), checkpoints.end(),
            [](const fs::path& a, const fs::path& b) { return StepOf(a) < StepOf(b); });
  return checkpoints;
}

std::optional<fs::path> CheckpointManager::LatestValid(
    const std::function<void(const std::string&)>& log) const {
  auto checkpoints = List();
  for (auto it = checkpoints.rbegin(); it != checkpoints.rend(); ++it) {
    try {
      Verify(*it);
      return *it;
    } catch (const Error& error) {
      if (log) log("skipping checkpoint " + it->string() + ": " + error.what());
    }
  }
  return std::nullopt;
}

void CheckpointManager::Rotate(const std::string& best_checkpoint) const {
  if (save_total_limit_ <= 0) return;
  auto checkpoints = List();
  // As Hugging Face: the best checkpoint is never deleted; it is moved out of the deletion
  // order, and with a limit of 1 the most recent one is kept as well.
  int64_t limit = save_total_limit_;
  if (!best_checkpoint.empty() && limit == 1 && !checkpoints.empty() &&
      checkpoints.back().string() != best_checkpoint) {
    limit = 2;
  }
  std::vector<fs::path> deletable;
  for (const auto& checkpoint : checkpoints) {
    if (checkpoint.string() != best_checkpoint) deletable.push_back(checkpoint);
  }
  const int64_t keep_others = limit - (checkpoints.size() != deletable.size() ? 1 : 0);
  while (static_cast<int64_t>(deletable.size()) > std::max<int64_t>(0, keep_others)) {
    fs::remove_all(deletable.front());
    deletable.erase(deletable.begin());
  }
}

}  // namespace bertfleet
