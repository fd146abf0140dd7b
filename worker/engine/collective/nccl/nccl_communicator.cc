#include "worker/engine/collective/nccl/nccl_communicator.h"

#include <c10/cuda/CUDAFunctions.h>
#include <c10/cuda/CUDAGuard.h>
#include <c10/cuda/CUDAStream.h>

#include "common/util/error.h"
#include "worker/engine/collective/rendezvous/arrival_roll.h"
#include "common/util/host_port.h"
#include "worker/engine/collective/rendezvous/nccl_rendezvous_text.h"
#include "worker/engine/collective/nccl/nccl_group.h"

namespace bertfleet {

NcclCommunicator::NcclCommunicator(std::unique_ptr<NcclGroup> group, torch::Device device)
    : group_(std::move(group)), device_(device) {
  if (!device_.is_cuda() || !device_.has_index() || device_.index() != group_->device()) {
    throw Error("NcclCommunicator: device " + device_.str() + " is not the group's cuda:" +
                std::to_string(group_->device()));
  }
}

NcclCommunicator::~NcclCommunicator() = default;

int NcclCommunicator::rank() const { return group_->rank(); }
int NcclCommunicator::world_size() const { return group_->world_size(); }

std::string NcclCommunicator::Describe() const {
  return "nccl " + NcclGroup::VersionString(NcclGroup::LibraryVersion()) + ", rank " + std::to_string(rank()) +
         " of " + std::to_string(world_size()) + ", " + device_.str();
}

void NcclCommunicator::Run(torch::Tensor& tensor, const Collective& collective) {
  if (!tensor.defined() || tensor.numel() == 0) return;
  torch::NoGradGuard no_grad;
  const c10::cuda::CUDAGuard guard(device_);
  const c10::cuda::CUDAStream stream = c10::cuda::getCurrentCUDAStream(device_.index());
  const torch::ScalarType dtype = tensor.scalar_type();
  const bool native = dtype == torch::kFloat32 || dtype == torch::kFloat64;
  const torch::ScalarType wire =
      native ? dtype : (c10::isIntegralType(dtype, /*includeBool=*/true) ? torch::kFloat64 : torch::kFloat32);
  const bool in_place = native && tensor.device() == device_ && tensor.is_contiguous();
  torch::Tensor buffer =
      in_place ? tensor
               : tensor.to(device_, wire, /*non_blocking=*/false, /*copy=*/true, at::MemoryFormat::Contiguous);
  collective(buffer.data_ptr(), static_cast<size_t>(buffer.numel()),
             wire == torch::kFloat64 ? NcclDataType::kFloat64 : NcclDataType::kFloat32, stream.stream());
  group_->Synchronize(stream.stream());
  if (!in_place) tensor.copy_(buffer);
}

void NcclCommunicator::AllReduceSum(torch::Tensor& tensor) {
  Run(tensor, [this](void* data, size_t count, NcclDataType type, cudaStream_t stream) {
    group_->AllReduceSum(data, count, type, stream);
  });
}

void NcclCommunicator::Broadcast(torch::Tensor& tensor, int root) {
  Run(tensor, [this, root](void* data, size_t count, NcclDataType type, cudaStream_t stream) {
    group_->Broadcast(data, count, type, root, stream);
  });
}

void NcclCommunicator::Barrier() {
  const c10::cuda::CUDAGuard guard(device_);
  group_->Barrier(c10::cuda::getCurrentCUDAStream(device_.index()).stream());
}

std::unique_ptr<NcclCommunicator> MakeSingleRankDeviceCommunicator(torch::Device device,
                                                                   std::chrono::milliseconds timeout) {
  if (!device.is_cuda()) throw Error("an NCCL communicator needs a CUDA device, not " + device.str());
  if (!torch::cuda::is_available()) throw Error("device: cuda requested but no CUDA device is available");
  const int index = device.has_index() ? device.index() : 0;
  if (index >= static_cast<int>(torch::cuda::device_count())) {
    throw Error("cuda:" + std::to_string(index) + " requested but there are " +
                std::to_string(torch::cuda::device_count()) + " CUDA devices");
  }
  auto group = std::make_unique<NcclGroup>(NcclGroup::NewUniqueId(), /*rank=*/0, /*world_size=*/1, index, timeout);
  auto communicator =
      std::make_unique<NcclCommunicator>(std::move(group), torch::Device(torch::kCUDA, static_cast<c10::DeviceIndex>(index)));
  communicator->Barrier();  // the group works end to end before training starts
  return communicator;
}

std::unique_ptr<Communicator> MakeSingleRankDeviceCommunicator(torch::Device device) {
  return MakeSingleRankDeviceCommunicator(device, kDefaultNcclTimeout);
}

std::unique_ptr<NcclCommunicator> JoinNcclGroup(const RendezvousOptions& options) {
  if (!torch::cuda::is_available()) throw Error("device: cuda requested but no CUDA device is available");
  const int devices = static_cast<int>(torch::cuda::device_count());
  const int index = options.rank % devices;
  c10::cuda::set_device(static_cast<c10::DeviceIndex>(index));  // this process's work goes there
  // NCCL only says that a group did not form; rank 0's roll says who never came.
  std::unique_ptr<ArrivalRoll> roll;
  NcclRendezvous rendezvous;
  if (options.rank == 0) {
    roll = std::make_unique<ArrivalRoll>(options.listen_host, options.world_size, options.listen_port);
    rendezvous.unique_id = NcclGroup::NewUniqueId();
    rendezvous.roll_host = AdvertisedHost(options.listen_host);
    rendezvous.roll_port = roll->port();
    if (options.publish) options.publish(EncodeNcclRendezvous(rendezvous));
  } else {
    rendezvous = DecodeNcclRendezvous(options.address, options.address_source);
    CheckInWithRoll(rendezvous.roll_host, rendezvous.roll_port, options.rank, options.world_size, options.timeout);
  }
  std::unique_ptr<NcclGroup> group;
  try {
    group = std::make_unique<NcclGroup>(rendezvous.unique_id, options.rank, options.world_size, index, options.timeout);
  } catch (const Error& error) {
    const std::string what = error.what();
    const bool timed_out = dynamic_cast<const NcclTimeout*>(&error) != nullptr;
    if (!roll) throw Error(timed_out ? what + "; rank 0's error names the ranks that did not join" : what);
    const std::string missing = DescribeMissingRanks(roll->Missing());
    if (!missing.empty()) throw Error(what + "; " + missing);
    throw Error(timed_out ? what + "; every rank reached rank 0, but NCCL did not form the group" : what);
  }
  auto communicator = std::make_unique<NcclCommunicator>(
      std::move(group), torch::Device(torch::kCUDA, static_cast<c10::DeviceIndex>(index)));
  communicator->Barrier();  // every rank can reach every other before training starts
  return communicator;
}

}  // namespace bertfleet
