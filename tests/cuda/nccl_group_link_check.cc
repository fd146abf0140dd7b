// Links worker/engine/collective/nccl/nccl_group.cc against libnccl and cudart (built whenever a CUDA
// toolkit with NCCL is found, also in CPU-only builds; CTest: cuda.nccl_link_check).
// Without a CUDA device it says so and exits 0. With one it runs a 1-rank group on device 0:
// join with a timeout, all-reduce of float and double buffers, broadcast and barrier.
// --timeout-check also joins a 2-rank group whose second rank never comes and expects the join
// to be aborted with an Error after the timeout (2 s).
#include <cuda_runtime_api.h>

#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <string>
#include <vector>

#include "common/util/error.h"
#include "worker/engine/collective/nccl/nccl_group.h"

namespace {

using bertfleet::NcclDataType;
using bertfleet::NcclGroup;
using Clock = std::chrono::steady_clock;

double MillisecondsSince(Clock::time_point start) {
  return std::chrono::duration<double, std::milli>(Clock::now() - start).count();
}

void Check(cudaError_t result, const char* what) {
  if (result != cudaSuccess) throw bertfleet::Error(std::string(what) + ": " + cudaGetErrorString(result));
}

template <typename T>
bool RoundTrip(NcclGroup& group, NcclDataType type, cudaStream_t stream) {
  const std::vector<T> host = {1, 2.5, -3, 1e6};
  T* device = nullptr;
  Check(cudaMalloc(reinterpret_cast<void**>(&device), host.size() * sizeof(T)), "cudaMalloc");
  Check(cudaMemcpy(device, host.data(), host.size() * sizeof(T), cudaMemcpyHostToDevice), "cudaMemcpy");
  group.AllReduceSum(device, host.size(), type, stream);
  group.Broadcast(device, host.size(), type, 0, stream);
  group.Synchronize(stream);
  std::vector<T> back(host.size());
  Check(cudaMemcpy(back.data(), device, host.size() * sizeof(T), cudaMemcpyDeviceToHost), "cudaMemcpy");
  cudaFree(device);
  // One rank: the sum over ranks is the buffer itself, times world size 1.
  for (size_t i = 0; i < host.size(); ++i) {
    if (back[i] != host[i] * static_cast<T>(group.world_size())) return false;
  }
  return true;
}

}  // namespace

int main(int argc, char** argv) {
  const bool timeout_check = argc > 1 && std::strcmp(argv[1], "--timeout-check") == 0;
  const int version = NcclGroup::LibraryVersion();
  std::printf("nccl_group_link_check: libnccl %s loaded\n", NcclGroup::VersionString(version).c_str());

  int devices = 0;
  const cudaError_t count = cudaGetDeviceCount(&devices);
  if (count != cudaSuccess || devices == 0) {
    std::printf("no CUDA device (%s): NCCL not run; nccl_group compiled and linked\n",
                count != cudaSuccess ? cudaGetErrorString(count) : "0 devices");
    return 0;
  }

  try {
    cudaDeviceProp properties{};
    Check(cudaGetDeviceProperties(&properties, 0), "cudaGetDeviceProperties");
    std::printf("CUDA devices: %d; using 0: %s\n", devices, properties.name);
    Check(cudaSetDevice(0), "cudaSetDevice");
    cudaStream_t stream = nullptr;
    Check(cudaStreamCreateWithFlags(&stream, cudaStreamNonBlocking), "cudaStreamCreate");

    auto start = Clock::now();
    bool ok = true;
    {
      NcclGroup group(NcclGroup::NewUniqueId(), 0, 1, 0, std::chrono::seconds(30));
      std::printf("1-rank group joined in %.0f ms\n", MillisecondsSince(start));
      start = Clock::now();
      ok = RoundTrip<float>(group, NcclDataType::kFloat32, stream) && ok;
      ok = RoundTrip<double>(group, NcclDataType::kFloat64, stream) && ok;
      group.Barrier(stream);
      std::printf("all-reduce float/double, broadcast, barrier: %s in %.1f ms\n", ok ? "ok" : "WRONG VALUES",
                  MillisecondsSince(start));
    }
    if (!ok) return 1;

    if (timeout_check) {
      start = Clock::now();
      try {
        NcclGroup lonely(NcclGroup::NewUniqueId(), 0, 2, 0, std::chrono::seconds(2));
        std::printf("timeout check: FAILED, a 2-rank group joined with one rank\n");
        return 1;
      } catch (const bertfleet::Error& error) {
        std::printf("timeout check: ok after %.1f s: %s\n", MillisecondsSince(start) / 1000.0, error.what());
      }
    }
    cudaStreamDestroy(stream);
  } catch (const std::exception& error) {
    std::printf("FAILED: %s\n", error.what());
    return 1;
  }
  std::printf("nccl_group_link_check: ok\n");
  return 0;
}
