#pragma once
// A Communicator for unit tests only: the ranks of a group are threads of one process, and each
// collective meets in shared memory. Records what each rank reduced (sizes, in order), so tests
// can check that every rank starts its collectives in the same order.
#include <condition_variable>
#include <mutex>
#include <vector>

#include "worker/engine/collective/communicator.h"

namespace bertfleet {

class FakeGroup {
 public:
  explicit FakeGroup(int world_size) : world_size_(world_size), slots_(world_size) {}
  int world_size() const { return world_size_; }

  // Every rank hands in its tensor; when all are in, `combine` runs once on all of them.
  template <typename Combine>
  void Meet(int rank, torch::Tensor& tensor, Combine combine) {
    std::unique_lock<std::mutex> lock(mutex_);
    const int64_t generation = generation_;
    slots_[rank] = &tensor;
    if (++arrived_ == world_size_) {
      combine(slots_);
      arrived_ = 0;
      ++generation_;
      changed_.notify_all();
    } else {
      changed_.wait(lock, [&] { return generation_ != generation; });
    }
  }

 private:
  int world_size_;
  std::mutex mutex_;
  std::condition_variable changed_;
  std::vector<torch::Tensor*> slots_;
  int arrived_ = 0;
  int64_t generation_ = 0;
};

class FakeCommunicator final : public Communicator {
 public:
  FakeCommunicator(FakeGroup& group, int rank) : group_(group), rank_(rank) {}
  int rank() const override { return rank_; }
  int world_size() const override { return group_.world_size(); }

  void AllReduceSum(torch::Tensor& tensor) override {
    reduced_sizes_.push_back(tensor.numel());
    group_.Meet(rank_, tensor, [](std::vector<torch::Tensor*>& all) {
      torch::NoGradGuard no_grad;
      torch::Tensor sum = torch::zeros_like(*all[0]);
      for (auto* each : all) sum.add_(*each);
      for (auto* each : all) each->copy_(sum);
    });
  }
  void Broadcast(torch::Tensor& tensor, int root) override {
    group_.Meet(rank_, tensor, [root](std::vector<torch::Tensor*>& all) {
      torch::NoGradGuard no_grad;
      for (auto* each : all) {
        if (each != all[root]) each->copy_(*all[root]);
      }
    });
  }
  void Barrier() override {
    torch::Tensor nothing = torch::zeros({1});
    group_.Meet(rank_, nothing, [](std::vector<torch::Tensor*>&) {});
  }

  const std::vector<int64_t>& reduced_sizes() const { return reduced_sizes_; }

 private:
  FakeGroup& group_;
  int rank_;
  std::vector<int64_t> reduced_sizes_;
};

}  // namespace bertfleet
