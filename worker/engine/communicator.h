#pragma once
// What data-parallel training needs from the other ranks, named by intent. Implementations:
// SingleProcessCommunicator (world size 1), Gloo (CPU, c10d) and NCCL (CUDA), chosen at build
// time; a fake for unit tests. Every call either completes or throws Error within the timeout.
#include <chrono>
#include <memory>

#include <torch/torch.h>

namespace bertfleet {

class Communicator {
 public:
  virtual ~Communicator() = default;
  virtual int rank() const = 0;
  virtual int world_size() const = 0;

  // In place: every rank ends with the element-wise sum over ranks.
  virtual void AllReduceSum(torch::Tensor& tensor) = 0;
  // In place: every rank ends with root's values.
  virtual void Broadcast(torch::Tensor& tensor, int root) = 0;
  virtual void Barrier() = 0;
};

class SingleProcessCommunicator final : public Communicator {
 public:
  int rank() const override { return 0; }
  int world_size() const override { return 1; }
  void AllReduceSum(torch::Tensor&) override {}
  void Broadcast(torch::Tensor&, int) override {}
  void Barrier() override {}
};

}  // namespace bertfleet
