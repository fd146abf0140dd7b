#pragma once
// What the coordinator, its metrics and the CLI agree a job state means (hand-written, next to
// the generated jobs.pb.h).
#include "bertfleet/v1/jobs.pb.h"

namespace bertfleet::v1 {

// SUCCEEDED, FAILED and CANCELLED: nothing happens to the job any more.
inline bool IsFinalJobState(JobState state) {
  return state == JOB_STATE_SUCCEEDED || state == JOB_STATE_FAILED || state == JOB_STATE_CANCELLED;
}

}  // namespace bertfleet::v1
