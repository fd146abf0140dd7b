#include "worker/engine/collective/communicator.h"

namespace bertfleet {

namespace {
class CompletedCollective final : public PendingCollective {
 public:
  void Wait() override {}
};
}  // namespace

std::unique_ptr<PendingCollective> Communicator::StartAllReduceSum(torch::Tensor& tensor) {
  AllReduceSum(tensor);
  return std::make_unique<CompletedCollective>();
}

void Communicator::AllReduceAverage(torch::Tensor& tensor) {
  AllReduceSum(tensor);
  if (world_size() > 1) {
    torch::NoGradGuard no_grad;
    tensor.div_(static_cast<double>(world_size()));
  }
}

}  // namespace bertfleet
