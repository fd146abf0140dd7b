// GradientReducer with ranks as threads (FakeCommunicator): bucketed sums equal the sum of each
// rank's gradients, buckets start in the same order on every rank (also one that runs no
// backward at all), the last layer's bucket goes first, and buckets start during backward.
#include <gtest/gtest.h>

#include <thread>

#include "fake_communicator.h"
#include "worker/engine/optim/flat_parameters.h"
#include "worker/engine/collective/gradient_reducer.h"

namespace bertfleet {
namespace {

torch::nn::Sequential MakeModel() {
  torch::manual_seed(3);
  return torch::nn::Sequential(torch::nn::Linear(6, 16), torch::nn::Tanh(), torch::nn::Linear(16, 16),
                               torch::nn::Tanh(), torch::nn::Linear(16, 3));
}

torch::Tensor InputFor(int rank) {
  torch::manual_seed(100 + rank);
  return torch::randn({5, 6});
}

// Gradients of one rank's loss, computed without any reducer.
torch::Tensor ReferenceGradients(int rank) {
  auto model = MakeModel();
  FlatParameters flat(*model);
  model->forward(InputFor(rank)).pow(2).sum().backward();
  return flat.gradients().clone();
}

struct RankResult {
  torch::Tensor gradients;
  std::vector<int64_t> reduced_sizes;
  size_t overlapped = 0;
  size_t buckets = 0;
};

TEST(GradientReducer, SumsBucketsInTheSameOrderOnEveryRank) {
  constexpr int kWorld = 3;
  constexpr int kIdleRank = 2;  // an empty slice: no backward, still joins every collective
  FakeGroup group(kWorld);
  std::vector<RankResult> results(kWorld);
  // Models and inputs come from the global generator, which the rank threads would race on:
  // draw them all here first.
  std::vector<torch::nn::Sequential> models;
  std::vector<torch::Tensor> inputs;
  for (int rank = 0; rank < kWorld; ++rank) {
    models.push_back(MakeModel());
    inputs.push_back(InputFor(rank));
  }
  std::vector<std::thread> ranks;
  for (int rank = 0; rank < kWorld; ++rank) {
    ranks.emplace_back([&, rank] {
      auto& model = models[rank];
      FlatParameters flat(*model);
      FakeCommunicator communicator(group, rank);
      GradientReducer reducer(*model, flat, communicator, /*bucket_bytes=*/300 * sizeof(float));
      for (int step = 0; step < 2; ++step) {  // the second step must start clean
        flat.ZeroGradients();
        if (rank != kIdleRank) {
          reducer.ArmForBackward();
          model->forward(inputs[rank]).pow(2).sum().backward();
        }
        reducer.Finish();
      }
      results[rank] = {flat.gradients().clone(), communicator.reduced_sizes(), reducer.overlapped_buckets(),
                       reducer.bucket_count()};
    });
  }
  for (auto& thread : ranks) thread.join();

  const torch::Tensor expected = ReferenceGradients(0) + ReferenceGradients(1);
  ASSERT_GT(results[0].buckets, 2u) << "the test needs several buckets";
  for (int rank = 0; rank < kWorld; ++rank) {
    EXPECT_TRUE(torch::allclose(results[rank].gradients, expected, 1e-5, 1e-6)) << "rank " << rank;
    EXPECT_EQ(results[rank].reduced_sizes, results[0].reduced_sizes) << "rank " << rank;
  }
  EXPECT_GT(results[0].overlapped, 0u) << "no bucket started during backward";
  EXPECT_EQ(results[kIdleRank].overlapped, 0u);
  // Flat layout: weights 96 | 256 | 48, then biases 16 + 16 + 3; buckets of at most 300 floats
  // cut it into [96] [256] [48] [35]. Backward completes the last layer first, so the start
  // order is [48] (last weight), [256], [35] (biases; the first layer's bias completes before
  // its weight), [96]; once per step.
  const std::vector<int64_t> order = {48, 256, 35, 96};
  std::vector<int64_t> two_steps = order;
  two_steps.insert(two_steps.end(), order.begin(), order.end());
  EXPECT_EQ(results[0].reduced_sizes, two_steps);
}

TEST(GradientReducer, OneBucketPerParameterWhenBucketsAreTiny) {
  auto model = MakeModel();
  FlatParameters flat(*model);
  SingleProcessCommunicator single;
  GradientReducer reducer(*model, flat, single, /*bucket_bytes=*/1);
  EXPECT_EQ(reducer.bucket_count(), model->parameters().size());
}

}  // namespace
}  // namespace bertfleet
