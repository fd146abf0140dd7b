#pragma once
// One NCCL communicator (one rank of a group, one GPU) with every blocking wait bounded by a
// timeout: raw NCCL and the CUDA runtime only, no LibTorch, so it compiles in seconds and links
// in CPU-only builds too (tests/cuda/nccl_group_link_check.cc). NcclCommunicator
// (worker/engine/cuda) puts the `Communicator` interface over it for torch tensors.
//
// The communicator is non-blocking (ncclConfig_t.blocking = 0): joining and finalizing are
// polled with ncclCommGetAsyncError, and on timeout or an asynchronous error the communicator is
// aborted (ncclCommAbort) so no rank hangs on a dead peer. Failures throw bertfleet::Error
// naming the rank and NCCL's message.
#include <cuda_runtime_api.h>

#include <chrono>
#include <cstddef>
#include <string>

#include "common/util/error.h"

struct ncclComm;  // nccl.h: typedef struct ncclComm* ncclComm_t

namespace bertfleet {

enum class NcclDataType { kFloat32, kFloat64 };

// What NcclGroup throws when its timeout ran out (the communicator was aborted), as opposed to
// an error NCCL reported.
class NcclTimeout : public Error {
 public:
  using Error::Error;
};

class NcclGroup {
 public:
  static constexpr size_t kUniqueIdBytes = 128;  // sizeof(ncclUniqueId)

  // A fresh group id (ncclGetUniqueId): rank 0 makes it and hands the bytes to the other ranks
  // out of band. It also starts NCCL's bootstrap listener in this process.
  static std::string NewUniqueId();
  // The loaded libnccl's version as NCCL encodes it (2.28.9 -> 22809). Needs no GPU.
  static int LibraryVersion();
  // "2.28.9" from LibraryVersion().
  static std::string VersionString(int version);

  // Joins group `unique_id` as `rank` of `world_size` on CUDA device `cuda_device`. Throws Error
  // when NCCL fails or not every rank joined within `timeout` (the half-made communicator is
  // aborted first). `timeout` also bounds Synchronize(), Barrier() and the destructor's finalize.
  NcclGroup(const std::string& unique_id, int rank, int world_size, int cuda_device,
            std::chrono::milliseconds timeout);
  // Finalizes and destroys the communicator; aborts it instead if that fails or times out.
  ~NcclGroup();
  NcclGroup(const NcclGroup&) = delete;
  NcclGroup& operator=(const NcclGroup&) = delete;

  int rank() const { return rank_; }
  int world_size() const { return world_size_; }
  int device() const { return device_; }
  std::chrono::milliseconds timeout() const { return timeout_; }

  // Enqueue on `stream` (a stream of device()); they return once NCCL has enqueued the work.
  // `buffer` is device memory of `count` elements, reduced / broadcast in place.
  void AllReduceSum(void* buffer, size_t count, NcclDataType type, cudaStream_t stream);
  void Broadcast(void* buffer, size_t count, NcclDataType type, int root, cudaStream_t stream);

  // Waits until `stream` has run everything enqueued so far, polling for NCCL's asynchronous
  // errors; on an error or after timeout() aborts the communicator and throws Error.
  void Synchronize(cudaStream_t stream);

  // Returns when every rank has called Barrier (a 1-element all-reduce on `stream`, then
  // Synchronize).
  void Barrier(cudaStream_t stream);

  // Aborts the communicator (idempotent): pending collectives end, later calls throw.
  void Abort();
  bool aborted() const { return aborted_; }

 private:
  [[noreturn]] void Fail(const std::string& what, int result);
  void CheckUsable(const char* what) const;
  // Polls ncclCommGetAsyncError until it is no longer ncclInProgress; aborts and throws on an
  // error or after the timeout.
  void WaitUntilReady(const char* what);
  std::string Where() const;

  ncclComm* comm_ = nullptr;
  int rank_ = 0;
  int world_size_ = 0;
  int device_ = 0;
  std::chrono::milliseconds timeout_;
  bool aborted_ = false;
  float* barrier_value_ = nullptr;  // one float of device memory for Barrier()
};

}  // namespace bertfleet
