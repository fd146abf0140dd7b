#include "worker/engine/collective/nccl/nccl_group.h"

#include <nccl.h>

#include <cstring>
#include <thread>

#include "common/util/error.h"
#include "common/util/seconds_text.h"

namespace bertfleet {

namespace {

using Clock = std::chrono::steady_clock;

ncclDataType_t ToNccl(NcclDataType type) {
  switch (type) {
    case NcclDataType::kFloat32: return ncclFloat32;
    case NcclDataType::kFloat64: return ncclFloat64;
  }
  return ncclFloat32;
}

// Short busy polls first (a collective usually finishes within microseconds to milliseconds),
// then sleeps, so a long wait does not burn a core.
void Pause(int iteration) {
  if (iteration < 64) {
    std::this_thread::yield();
  } else {
    std::this_thread::sleep_for(std::chrono::microseconds(iteration < 1000 ? 50 : 1000));
  }
}

// Makes `device` current for one call and restores the caller's device after.
class DeviceScope {
 public:
  explicit DeviceScope(int device) {
    if (cudaGetDevice(&previous_) != cudaSuccess) previous_ = -1;
    if (previous_ != device) cudaSetDevice(device);
  }
  ~DeviceScope() {
    if (previous_ >= 0) cudaSetDevice(previous_);
  }

 private:
  int previous_ = -1;
};

}  // namespace

std::string NcclGroup::NewUniqueId() {
  static_assert(sizeof(ncclUniqueId) == kUniqueIdBytes, "ncclUniqueId size changed");
  ncclUniqueId id;
  const ncclResult_t result = ncclGetUniqueId(&id);
  if (result != ncclSuccess) {
    throw Error(std::string("NCCL: ncclGetUniqueId failed: ") + ncclGetErrorString(result));
  }
  return std::string(id.internal, sizeof id.internal);
}

int NcclGroup::LibraryVersion() {
  int version = 0;
  if (ncclGetVersion(&version) != ncclSuccess) return 0;
  return version;
}

std::string NcclGroup::VersionString(int version) {
  // NCCL_VERSION(X, Y, Z) is X*1000 + Y*100 + Z before 2.9 and X*10000 + Y*100 + Z since.
  const int major = version >= 10000 ? version / 10000 : version / 1000;
  const int minor = version >= 10000 ? version / 100 % 100 : version / 100 % 10;
  return std::to_string(major) + "." + std::to_string(minor) + "." + std::to_string(version % 100);
}

NcclGroup::NcclGroup(const std::string& unique_id, int rank, int world_size, int cuda_device,
                     std::chrono::milliseconds timeout)
    : rank_(rank), world_size_(world_size), device_(cuda_device), timeout_(timeout) {
  if (world_size < 1 || rank < 0 || rank >= world_size) {
    throw Error(Where() + ": invalid rank/world size");
  }
  if (unique_id.size() != kUniqueIdBytes) {
    throw Error(Where() + ": the group id has " + std::to_string(unique_id.size()) + " bytes, expected " +
                std::to_string(kUniqueIdBytes));
  }
  ncclUniqueId id;
  std::memcpy(id.internal, unique_id.data(), kUniqueIdBytes);

  DeviceScope device_scope(device_);
  const cudaError_t set = cudaSetDevice(device_);
  if (set != cudaSuccess) {
    throw Error(Where() + ": cudaSetDevice failed: " + cudaGetErrorString(set));
  }
  if (const cudaError_t malloc_result = cudaMalloc(reinterpret_cast<void**>(&barrier_value_), sizeof(float));
      malloc_result != cudaSuccess) {
    barrier_value_ = nullptr;
    throw Error(Where() + ": cudaMalloc failed: " + cudaGetErrorString(malloc_result));
  }

  ncclConfig_t config = NCCL_CONFIG_INITIALIZER;
  config.blocking = 0;
  ncclComm_t comm = nullptr;
  const ncclResult_t result = ncclCommInitRankConfig(&comm, world_size_, id, rank_, &config);
  comm_ = comm;
  if (result != ncclSuccess && result != ncclInProgress) {
    const std::string detail = comm_ ? std::string(ncclGetLastError(comm_)) : std::string();
    if (comm_) ncclCommAbort(comm_);
    comm_ = nullptr;
    cudaFree(barrier_value_);
    barrier_value_ = nullptr;
    throw Error(Where() + ": ncclCommInitRankConfig failed: " + ncclGetErrorString(result) +
                (detail.empty() ? "" : " (" + detail + ")"));
  }
  try {
    WaitUntilReady("joining the group (ncclCommInitRankConfig)");
  } catch (...) {
    comm_ = nullptr;  // aborted by WaitUntilReady
    cudaFree(barrier_value_);
    barrier_value_ = nullptr;
    throw;
  }
}

NcclGroup::~NcclGroup() {
  if (comm_ != nullptr) {
    DeviceScope device_scope(device_);
    bool clean = false;
    if (!aborted_) {
      ncclResult_t result = ncclCommFinalize(comm_);
      if (result == ncclSuccess || result == ncclInProgress) {
        ncclResult_t state = ncclInProgress;
        const auto deadline = Clock::now() + timeout_;
        for (int i = 0; Clock::now() < deadline; ++i) {
          if (ncclCommGetAsyncError(comm_, &state) != ncclSuccess || state != ncclInProgress) break;
          Pause(i);
        }
        clean = state == ncclSuccess;
      }
    }
    if (clean) {
      ncclCommDestroy(comm_);
    } else {
      ncclCommAbort(comm_);
    }
    comm_ = nullptr;
  }
  if (barrier_value_ != nullptr) cudaFree(barrier_value_);
}

std::string NcclGroup::Where() const {
  return "NCCL rank " + std::to_string(rank_) + "/" + std::to_string(world_size_) + " (cuda:" +
         std::to_string(device_) + ")";
}

void NcclGroup::Abort() {
  if (comm_ != nullptr && !aborted_) {
    DeviceScope device_scope(device_);
    ncclCommAbort(comm_);
  }
  aborted_ = true;
}

void NcclGroup::Fail(const std::string& what, int result) {
  const auto nccl_result = static_cast<ncclResult_t>(result);
  std::string message = Where() + ": " + what + " failed: " + ncclGetErrorString(nccl_result);
  if (comm_ != nullptr) {
    const char* last = ncclGetLastError(comm_);
    if (last != nullptr && *last != '\0') message += " (" + std::string(last) + ")";
  }
  Abort();
  if (nccl_result == ncclUnhandledCudaError || nccl_result == ncclSystemError || nccl_result == ncclInternalError) {
    message += "; run with NCCL_DEBUG=INFO for details";
  }
  throw Error(message);
}

void NcclGroup::CheckUsable(const char* what) const {
  if (comm_ == nullptr || aborted_) {
    throw Error(Where() + ": " + what + ": the communicator was aborted after an earlier error or timeout");
  }
}

void NcclGroup::WaitUntilReady(const char* what) {
  const auto deadline = Clock::now() + timeout_;
  for (int i = 0;; ++i) {
    ncclResult_t state = ncclSuccess;
    const ncclResult_t query = ncclCommGetAsyncError(comm_, &state);
    if (query != ncclSuccess) Fail(std::string(what) + " (ncclCommGetAsyncError)", query);
    if (state == ncclSuccess) return;
    if (state != ncclInProgress) Fail(what, state);
    if (Clock::now() >= deadline) {
      Abort();
      throw NcclTimeout(Where() + ": " + what + ": timed out after " + SecondsText(timeout_) + " (the communicator was aborted)");
    }
    Pause(i);
  }
}

void NcclGroup::AllReduceSum(void* buffer, size_t count, NcclDataType type, cudaStream_t stream) {
  CheckUsable("all-reduce");
  if (count == 0) return;
  DeviceScope device_scope(device_);
  const ncclResult_t result = ncclAllReduce(buffer, buffer, count, ToNccl(type), ncclSum, comm_, stream);
  if (result != ncclSuccess && result != ncclInProgress) Fail("ncclAllReduce", result);
  WaitUntilReady("ncclAllReduce");
}

void NcclGroup::Broadcast(void* buffer, size_t count, NcclDataType type, int root, cudaStream_t stream) {
  CheckUsable("broadcast");
  if (root < 0 || root >= world_size_) throw Error(Where() + ": broadcast root " + std::to_string(root) + " out of range");
  if (count == 0) return;
  DeviceScope device_scope(device_);
  const ncclResult_t result = ncclBroadcast(buffer, buffer, count, ToNccl(type), root, comm_, stream);
  if (result != ncclSuccess && result != ncclInProgress) Fail("ncclBroadcast", result);
  WaitUntilReady("ncclBroadcast");
}

void NcclGroup::Synchronize(cudaStream_t stream) {
  CheckUsable("synchronize");
  DeviceScope device_scope(device_);
  const auto deadline = Clock::now() + timeout_;
  for (int i = 0;; ++i) {
    const cudaError_t query = cudaStreamQuery(stream);
    if (query == cudaSuccess) return;
    if (query != cudaErrorNotReady) {
      Abort();
      throw Error(Where() + ": waiting for the collective: CUDA error: " + cudaGetErrorString(query));
    }
    ncclResult_t state = ncclSuccess;
    const ncclResult_t async = ncclCommGetAsyncError(comm_, &state);
    if (async != ncclSuccess) Fail("waiting for the collective (ncclCommGetAsyncError)", async);
    if (state != ncclSuccess && state != ncclInProgress) Fail("waiting for the collective", state);
    if (Clock::now() >= deadline) {
      Abort();
      throw NcclTimeout(Where() + ": collective timed out after " + SecondsText(timeout_) +
                  " (a peer is gone or stuck; the communicator was aborted)");
    }
    Pause(i);
  }
}

void NcclGroup::Barrier(cudaStream_t stream) {
  CheckUsable("barrier");
  DeviceScope device_scope(device_);
  const cudaError_t set = cudaMemsetAsync(barrier_value_, 0, sizeof(float), stream);
  if (set != cudaSuccess) throw Error(Where() + ": barrier: cudaMemsetAsync failed: " + cudaGetErrorString(set));
  AllReduceSum(barrier_value_, 1, NcclDataType::kFloat32, stream);
  Synchronize(stream);
}

}  // namespace bertfleet
