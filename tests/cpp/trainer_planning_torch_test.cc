// How the trainer cuts epochs into steps and ranks into slices.
#include <gtest/gtest.h>

#include <numeric>
#include <set>

#include "worker/engine/optim/adamw_optimizer.h"
#include "worker/engine/optim/flat_parameters.h"
#include "worker/engine/train/trainer.h"

namespace bertfleet {
namespace {

std::vector<int64_t> Lengths(int n) {
  std::vector<int64_t> lengths(n);
  for (int i = 0; i < n; ++i) lengths[i] = 10 + (i * 37) % 50;
  return lengths;
}

TEST(PlanInitialState, MrpcReferenceHas690Steps) {
  JobSpec spec;
  spec.per_device_train_batch_size = 16;
  spec.num_train_epochs = 3;
  const TrainerState state = PlanInitialState(spec, Lengths(3668), 1);
  EXPECT_EQ(state.steps_per_epoch, 230);
  EXPECT_EQ(state.total_steps, 690);
  EXPECT_EQ(state.num_epochs, 3);
}

TEST(PlanInitialState, MaxStepsWinsAndFractionalEpochsRoundUp) {
  JobSpec spec;
  spec.per_device_train_batch_size = 16;
  spec.max_steps = 300;
  EXPECT_EQ(PlanInitialState(spec, Lengths(3668), 1).total_steps, 300);
  EXPECT_EQ(PlanInitialState(spec, Lengths(3668), 1).num_epochs, 2);
  spec.max_steps = -1;
  spec.num_train_epochs = 1.5;
  EXPECT_EQ(PlanInitialState(spec, Lengths(3668), 1).total_steps, 345);
}

TEST(PlanRankBatches, RankSlicesTileTheGlobalBatchForAnyWorldSize) {
  JobSpec spec;
  spec.per_device_train_batch_size = 8;
  const auto lengths = Lengths(101);  // uneven last global batch
  for (int world : {1, 2, 3}) {
    std::vector<std::vector<std::vector<int64_t>>> per_rank;
    for (int rank = 0; rank < world; ++rank) per_rank.push_back(PlanRankBatches(spec, lengths, rank, world, 2));
    std::multiset<int64_t> seen;
    for (size_t step = 0; step < per_rank[0].size(); ++step) {
      for (int rank = 0; rank < world; ++rank) {
        ASSERT_EQ(per_rank[rank].size(), per_rank[0].size()) << "every rank runs every step";
        EXPECT_LE(per_rank[rank][step].size(), 8u);
        seen.insert(per_rank[rank][step].begin(), per_rank[rank][step].end());
      }
    }
    EXPECT_EQ(seen.size(), 101u);
    EXPECT_EQ(std::set<int64_t>(seen.begin(), seen.end()).size(), 101u) << "each example once";
  }
  // What global step k sees does not depend on the world size: with per-device 8 on two ranks,
  // step k's examples are those of one rank with per-device 16.
  JobSpec single = spec;
  single.per_device_train_batch_size = 16;
  const auto one = PlanRankBatches(single, lengths, 0, 1, 2);
  const auto r0 = PlanRankBatches(spec, lengths, 0, 2, 2);
  const auto r1 = PlanRankBatches(spec, lengths, 1, 2, 2);
  ASSERT_EQ(one.size(), r0.size());
  for (size_t k = 0; k < one.size(); ++k) {
    std::vector<int64_t> joined = r0[k];
    joined.insert(joined.end(), r1[k].begin(), r1[k].end());
    EXPECT_EQ(joined, one[k]) << "step " << k;
  }
}

TEST(FlatParameters, DecayFirstAndGradientsAccumulateInTheFlatBuffer) {
  struct Holder : torch::nn::Module {
    Holder() {
      dense = register_module("dense", torch::nn::Linear(4, 3));
      norm = register_module("LayerNorm", torch::nn::LayerNorm(torch::nn::LayerNormOptions({3})));
    }
    torch::nn::Linear dense{nullptr};
    torch::nn::LayerNorm norm{nullptr};
  } holder;
  const auto before = holder.dense->weight.detach().clone();
  FlatParameters flat(holder);
  EXPECT_EQ(flat.size(), 4 * 3 + 3 + 3 + 3);
  EXPECT_EQ(flat.decay_count(), 12) << "only dense.weight decays";
  EXPECT_TRUE(torch::equal(holder.dense->weight.detach(), before));
  auto x = torch::randn({5, 4});
  holder.norm->forward(holder.dense->forward(x)).sum().backward();
  EXPECT_GT(flat.gradients().abs().sum().item<double>(), 0.0);
  EXPECT_TRUE(torch::equal(flat.gradients().narrow(0, 0, 12).view({3, 4}), holder.dense->weight.grad()));
  AdamWOptimizer optimizer(flat, AdamWOptions{0.9, 0.999, 1e-8, 0.1});
  optimizer.Step(1e-2);
  EXPECT_FALSE(torch::equal(holder.dense->weight.detach(), before)) << "the step moved the module's weights";
}

}  // namespace
}  // namespace bertfleet
