#pragma once
// The coordinator logs through the shared one-line logger (common/util/log.h).
#include "common/util/log.h"

namespace bertfleet::coordinator {

using bertfleet::Log;
using bertfleet::SetLogFormat;

}  // namespace bertfleet::coordinator
