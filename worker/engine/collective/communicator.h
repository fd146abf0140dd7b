#pragma once
// What data-parallel training needs from the other ranks, named by intent. Implementations:
// SingleProcessCommunicator (world size 1), Gloo (CPU, c10d: worker/engine/gloo) and NCCL (CUDA),
// chosen at build time; a fake for unit tests. Every call either completes or throws Error within
// the implementation's timeout, and the Error names the rank that is missing or dead.
#include <chrono>
#include <memory>

#include <torch/torch.h>

namespace bertfleet {

// A collective that was started but may still run (Communicator::StartAllReduceSum). The
// tensor it was started on must stay alive and untouched until Wait() returns.
class PendingCollective {
 public:
  virtual ~PendingCollective() = default;
  // Returns once the result is in the tensor; throws Error on failure or timeout.
  virtual void Wait() = 0;
};

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

  // AllReduceSum that may run in the background (gradient buckets overlapping backward). Every
  // rank must start its collectives in the same order. Default: runs to completion at once.
  virtual std::unique_ptr<PendingCollective> StartAllReduceSum(torch::Tensor& tensor);

  // In place: the element-wise mean over ranks (a floating-point tensor).
  void AllReduceAverage(torch::Tensor& tensor);
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
