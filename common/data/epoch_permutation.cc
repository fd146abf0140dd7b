// Epoch order as Hugging Face Trainer draws it. Trainer (through accelerate's
// SeedableRandomSampler) reseeds a torch.Generator with seed + epoch each epoch and takes
// torch.randperm(n, generator). On the CPU that is a forward Fisher-Yates pass, position i
// swapped with i + draw % (n - i), where each draw is one 32-bit output of MT19937 seeded with the
// seed's low 32 bits: the engine std::mt19937 specifies exactly, so no LibTorch is needed here.
#include <random>
#include <utility>

#include "common/data/batching.h"
#include "common/util/error.h"

namespace bertfleet {

std::vector<int64_t> EpochPermutation(int64_t n, uint64_t seed, int64_t epoch) {
  if (n < 0) throw Error("EpochPermutation: n must be >= 0, got " + std::to_string(n));
  if (epoch < 0) throw Error("EpochPermutation: epoch must be >= 0, got " + std::to_string(epoch));
  std::vector<int64_t> order(static_cast<size_t>(n));
  for (int64_t i = 0; i < n; ++i) order[static_cast<size_t>(i)] = i;
  std::mt19937 engine(static_cast<std::mt19937::result_type>((seed + static_cast<uint64_t>(epoch)) & 0xffffffffULL));
  for (int64_t i = 0; i + 1 < n; ++i) {
    const auto offset = static_cast<int64_t>(static_cast<uint64_t>(engine()) % static_cast<uint64_t>(n - i));
    std::swap(order[static_cast<size_t>(i)], order[static_cast<size_t>(i + offset)]);
  }
  return order;
}

}  // namespace bertfleet
