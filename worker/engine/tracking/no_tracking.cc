// BERTFLEET_TRACKING=OFF (builds without protobuf, libcurl or crcutil, such as the GPU check's):
// report_to is refused before training rather than silently ignored.
#include "common/util/error.h"
#include "worker/engine/tracking/make_run_trackers.h"

namespace bertfleet {

std::filesystem::path DefaultLoggingDir(const std::filesystem::path& output_dir) { return output_dir / "runs"; }

std::vector<std::unique_ptr<RunTracker>> MakeRunTrackers(const TrackingOptions& options) {
  if (!options.report_to.empty()) {
    throw Error("report_to: this bertfleet was built without tracking (BERTFLEET_TRACKING=OFF); use report_to: none");
  }
  return {};
}

}  // namespace bertfleet
