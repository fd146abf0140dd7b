#include "worker/engine/collective/make_communicator.h"

#include <cstdlib>
#include <tuple>

#include "common/util/error.h"
#include "common/util/host_port.h"
#include "worker/engine/collective/rendezvous/nccl_rendezvous_text.h"
#ifdef BERTFLEET_GLOO
#include "worker/engine/collective/gloo/gloo_communicator.h"
#endif
#ifdef BERTFLEET_CUDA
#include "worker/engine/collective/nccl/nccl_communicator.h"
#endif

namespace bertfleet {

namespace {

CollectiveGroup JoinGloo(const std::string& device, const RendezvousOptions& options) {
#ifdef BERTFLEET_GLOO
  GlooOptions gloo;
  gloo.rank = options.rank;
  gloo.world_size = options.world_size;
  gloo.key_prefix = options.key_prefix;
  gloo.timeout = options.timeout;
  if (options.rank == 0) {
    const std::string advertised = AdvertisedHost(options.listen_host);
    gloo.store_host = advertised;
    gloo.store_port = options.listen_port;
    gloo.on_store_listening = [advertised, publish = options.publish](int port) {
      if (publish) publish(FormatHostPort(advertised, port));
    };
  } else {
    if (IsNcclRendezvous(options.address)) {
      throw Error(options.address_source + ": rank 0 published an NCCL group (device: cuda), but this rank runs on " +
                  device + " (Gloo); every rank of a job must use the same device");
    }
    std::tie(gloo.store_host, gloo.store_port) = ParseHostPort(options.address, options.address_source);
  }
  CollectiveGroup group;
  auto communicator = MakeGlooCommunicator(gloo);
  group.description = communicator->Describe();
  group.communicator = std::move(communicator);
  return group;
#else
  (void)options;
  throw Error("world_size > 1 on device: cpu needs the Gloo communicator, which this build lacks (Gloo headers: "
              "Debian's libgloo-dev; PyTorch wheels ship none)");
#endif
}

CollectiveGroup JoinNccl(const RendezvousOptions& options) {
#ifdef BERTFLEET_CUDA
  CollectiveGroup group;
  // One rank needs no meeting point: no arrival roll, no published address.
  auto communicator = options.world_size == 1 ? MakeSingleRankDeviceCommunicator(torch::Device(torch::kCUDA, 0), options.timeout)
                                              : JoinNcclGroup(options);
  group.description = communicator->Describe();
  group.cuda_device = communicator->device().index();
  group.communicator = std::move(communicator);
  return group;
#else
  (void)options;
  throw Error("device: cuda needs the NCCL communicator: build with -DBERTFLEET_CUDA=ON against a CUDA LibTorch");
#endif
}

}  // namespace

CollectiveGroup MakeCommunicator(const JobSpec& spec, const RendezvousOptions& options) {
  if (options.world_size < 1 || options.rank < 0 || options.rank >= options.world_size) {
    throw Error("rank " + std::to_string(options.rank) + " is outside 0.." + std::to_string(options.world_size - 1));
  }
  const std::string& device = spec.device;
  if (device != "cpu" && device != "cuda") {
    throw Error("device: " + device + " has no collective communicator (cpu: Gloo, cuda: NCCL)");
  }
  if (options.world_size == 1) {
#ifdef BERTFLEET_CUDA
    if (device == "cuda") {
      const char* nccl_setting = std::getenv("BERTFLEET_NCCL");
      if (nccl_setting == nullptr || std::string(nccl_setting) != "0") return JoinNccl(options);
    }
#endif
    // A CPU-only build given device: cuda gets here too: the engine then says that no CUDA
    // device is available, as it did before the communicator was chosen here.
    CollectiveGroup group;
    group.communicator = std::make_unique<SingleProcessCommunicator>();
    group.description = device == "cuda" ? "single process (BERTFLEET_NCCL=0)" : "single process";
    return group;
  }
  if (device == "cuda") {
    if (options.rank > 0 && !IsNcclRendezvous(options.address)) {
      throw Error(options.address_source + ": rank 0 published \"" + options.address.substr(0, 60) +
                  "\", not an NCCL group (device: cpu uses Gloo), but this rank runs on cuda; every rank of a job "
                  "must use the same device");
    }
    return JoinNccl(options);
  }
  return JoinGloo(device, options);
}

}  // namespace bertfleet
