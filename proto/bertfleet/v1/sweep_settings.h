#pragma once
// How a sweep configuration is named to people (hand-written, next to the generated
// sweeps.pb.h), so that the coordinator's errors and the CLI's tables name it alike:
// "learning_rate=3e-05, warmup_ratio=0.1", or "(no grid)".
#include <string>

#include "bertfleet/v1/sweeps.pb.h"

namespace bertfleet::v1 {

inline std::string SettingsText(const google::protobuf::RepeatedPtrField<SweepSetting>& settings) {
  std::string text;
  for (const auto& setting : settings) text += (text.empty() ? "" : ", ") + setting.key() + "=" + setting.value();
  return text.empty() ? "(no grid)" : text;
}

}  // namespace bertfleet::v1
