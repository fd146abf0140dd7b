#pragma once
// `Communicator` over NCCL (worker/engine/collective/nccl/nccl_group.h) for torch tensors. Only in builds
// with BERTFLEET_CUDA (a CUDA LibTorch); include it under #ifdef BERTFLEET_CUDA.
#include <chrono>
#include <functional>
#include <memory>
#include <string>

#include <cuda_runtime_api.h>

#include "worker/engine/collective/make_communicator.h"
#include "worker/engine/collective/communicator.h"

namespace bertfleet {

class NcclGroup;
enum class NcclDataType;

// Collectives run on the current CUDA stream of the group's device and are waited for (with the
// group's timeout) before a call returns. Tensors on that device that are contiguous float32 or
// float64 are reduced in place; any other tensor (CPU, another device, non-contiguous, other
// dtypes) goes through a device copy (float64 for integer types, float32 for half/bfloat16) that
// is copied back into it.
class NcclCommunicator final : public Communicator {
 public:
  NcclCommunicator(std::unique_ptr<NcclGroup> group, torch::Device device);
  ~NcclCommunicator() override;

  int rank() const override;
  int world_size() const override;
  void AllReduceSum(torch::Tensor& tensor) override;
  void Broadcast(torch::Tensor& tensor, int root) override;
  void Barrier() override;

  // "nccl 2.28.9, rank 0 of 1, cuda:0"
  std::string Describe() const;
  torch::Device device() const { return device_; }

 private:
  using Collective = std::function<void(void* data, size_t count, NcclDataType type, cudaStream_t stream)>;
  void Run(torch::Tensor& tensor, const Collective& collective);

  std::unique_ptr<NcclGroup> group_;
  torch::Device device_;
};

constexpr std::chrono::milliseconds kDefaultNcclTimeout = std::chrono::minutes(5);

// A 1-rank NCCL group on `device` (cuda or cuda:N): what `bertfleet-worker train` uses for
// `device: cuda`, so single-GPU runs go through the same collectives as multi-GPU ones. Throws
// Error when there is no CUDA device or NCCL fails.
std::unique_ptr<NcclCommunicator> MakeSingleRankDeviceCommunicator(torch::Device device,
                                                                   std::chrono::milliseconds timeout);
std::unique_ptr<Communicator> MakeSingleRankDeviceCommunicator(torch::Device device);

// Joins on the local GPU rank % (visible CUDA devices), torchrun's local-rank rule: with one
// GPU per worker (Kubernetes, CUDA_VISIBLE_DEVICES) that is cuda:0. Throws Error naming the
// rank(s) that did not join within the timeout, or NCCL's reason. Of `options`, NCCL uses rank,
// world size, timeout, and on rank 0 listen_host/listen_port (its arrival roll, which names the
// ranks that never came: worker/engine/collective/rendezvous/arrival_roll.h) and publish, on the others rendezvous.
std::unique_ptr<NcclCommunicator> JoinNcclGroup(const RendezvousOptions& options);

}  // namespace bertfleet
