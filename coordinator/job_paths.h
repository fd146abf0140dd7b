#pragma once
// Where a submitted job may read from: its `data` and local `model` paths must resolve inside
// the coordinator's data root (workers resolve them there too, see Assignment.data_root).
#include <string>

#include "common/config/job_spec.h"

namespace bertfleet::coordinator {

// Throws Error naming the key when `data` or a local `model` path is absolute outside
// `data_root` or escapes it with "..". "download" data and hub model ids pass.
void CheckJobPaths(const JobSpec& spec, const std::string& data_root);

}  // namespace bertfleet::coordinator
