#include "worker/engine/collective_group.h"

#include <tuple>

#include "common/util/error.h"
#include "common/util/host_port.h"
#include "common/util/nccl_rendezvous_text.h"
#ifdef BERTFLEET_GLOO
#include "worker/engine/gloo/gloo_communicator.h"
#endif
#ifdef BERTFLEET_CUDA
#include "worker/engine/cuda/nccl_communicator.h"
#endif

namespace bertfleet {

namespace {

CollectiveGroup JoinGloo(const CollectiveGroupOptions& options) {
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
    if (IsNcclRendezvous(options.rendezvous)) {
      throw Error(options.rendezvous_source + ": rank 0 published an NCCL group (device: cuda), but this rank runs on " +
                  options.device + " (Gloo); every rank of a job must use the same device");
    }
    std::tie(gloo.store_host, gloo.store_port) = ParseHostPort(options.rendezvous, options.rendezvous_source);
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

CollectiveGroup JoinNccl(const CollectiveGroupOptions& options) {
  if (options.rank > 0 && !IsNcclRendezvous(options.rendezvous)) {
    throw Error(options.rendezvous_source + ": rank 0 published \"" + options.rendezvous.substr(0, 60) +
                "\", not an NCCL group (device: cpu uses Gloo), but this rank runs on cuda; every rank of a job "
                "must use the same device");
  }
#ifdef BERTFLEET_CUDA
  CollectiveGroup group;
  auto communicator = JoinNcclGroup(options);
  group.description = communicator->Describe();
  group.cuda_device = communicator->device().index();
  group.communicator = std::move(communicator);
  return group;
#else
  (void)options;
  throw Error("world_size > 1 on device: cuda needs the NCCL communicator: build with -DBERTFLEET_CUDA=ON against a "
              "CUDA LibTorch");
#endif
}

}  // namespace

CollectiveGroup JoinCollectiveGroup(const CollectiveGroupOptions& options) {
  if (options.world_size < 1 || options.rank < 0 || options.rank >= options.world_size) {
    throw Error("rank " + std::to_string(options.rank) + " is outside 0.." + std::to_string(options.world_size - 1));
  }
  if (options.device == "cuda") return JoinNccl(options);
  if (options.device == "cpu") return JoinGloo(options);
  throw Error("device: " + options.device + " has no collective communicator (cpu: Gloo, cuda: NCCL)");
}

}  // namespace bertfleet
