#include "worker/engine/report/step_log.h"

#include <nlohmann/json.hpp>

#include "common/util/error.h"

namespace bertfleet {

StepLog::StepLog(const std::filesystem::path& path) : file_(std::fopen(path.c_str(), "w")) {
  if (!file_) throw Error("--step-log: cannot write " + path.string());
}

StepLog::~StepLog() { std::fclose(file_); }

void StepLog::OnStepEnd(TrainerState& state, const StepStats& stats) {
  const nlohmann::json line = {{"step", stats.step},
                               {"epoch", state.epoch_index + 1},
                               {"loss", stats.loss},
                               {"grad_norm", stats.grad_norm},
                               {"learning_rate", stats.learning_rate},
                               {"examples", stats.examples},
                               {"seconds", stats.seconds},
                               {"compute_seconds", stats.compute_seconds},
                               {"allreduce_seconds", stats.allreduce_seconds}};
  // nlohmann writes doubles with enough digits to round-trip.
  std::fprintf(file_, "%s\n", line.dump().c_str());
  std::fflush(file_);
}

}  // namespace bertfleet
