#pragma once
// Seeds derived from (seed, counter) by splitmix64, the same on every compiler and platform.
// Neighbouring counters give unrelated streams, so a stream can be re-created from its
// coordinates (epoch, rank, step) instead of being carried along in a checkpoint.
#include <cstdint>

namespace bertfleet {

uint64_t DeriveSeed(uint64_t seed, uint64_t counter);

}  // namespace bertfleet
