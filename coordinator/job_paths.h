#pragma once
// Where a submitted job may read from: its `data`, own files (`train_file`, `validation_file`,
// `test_file`) and local `model` paths must resolve inside
// the coordinator's data root (workers resolve them there too, see Assignment.data_root), and
// `resume_from_checkpoint` inside its checkpoint root. Resolution follows symlinks, so a link
// inside a root that points outside it is refused like "..": a root's contents are what the
// coordinator's operator put there, never a way out of it.
#include <string>

#include "common/config/job_spec.h"

namespace bertfleet::coordinator {

// Throws Error naming the key when a path uses "..", is absolute outside its root, or resolves
// (through symlinks) outside it. "download" data and hub model ids pass.
void CheckJobPaths(const JobSpec& spec, const std::string& data_root, const std::string& checkpoint_root);

}  // namespace bertfleet::coordinator
