#include "worker/engine/collective/gloo/gloo_communicator.h"

#include <torch/csrc/distributed/c10d/ProcessGroupGloo.hpp>

#include "common/util/error.h"
#include "common/util/host_port.h"
#include "worker/engine/collective/gloo/peer_monitor.h"
#include "worker/engine/collective/gloo/rendezvous_store.h"
#include "worker/engine/torch/torch_error_text.h"

namespace bertfleet {

namespace {

class GlooCommunicatorImpl;

// One started collective. Gloo reduces `buffer` in place on its own threads; a tensor that
// Gloo cannot take as is (non-contiguous) gets a contiguous buffer copied back on Wait().
class GlooPendingCollective final : public PendingCollective {
 public:
  GlooPendingCollective(GlooCommunicatorImpl& owner, const char* what, int64_t collective,
                        c10::intrusive_ptr<c10d::Work> work, torch::Tensor buffer, torch::Tensor target)
      : owner_(owner), what_(what), collective_(collective), work_(std::move(work)),
        buffer_(std::move(buffer)), target_(std::move(target)) {}
  void Wait() override;

 private:
  GlooCommunicatorImpl& owner_;
  const char* what_;
  int64_t collective_;
  c10::intrusive_ptr<c10d::Work> work_;
  torch::Tensor buffer_;
  torch::Tensor target_;
  bool done_ = false;
};

class GlooCommunicatorImpl final : public GlooCommunicator {
 public:
  explicit GlooCommunicatorImpl(const GlooOptions& options);
  ~GlooCommunicatorImpl() override;

  int rank() const override { return options_.rank; }
  int world_size() const override { return options_.world_size; }
  int store_port() const override { return store_.port(); }
  std::string Describe() const override {
    return "gloo, rank " + std::to_string(rank()) + " of " + std::to_string(world_size()) + ", store " +
           store_.address() + ", timeout " +
           std::to_string(std::chrono::duration_cast<std::chrono::seconds>(options_.timeout).count()) + " s";
  }

  void AllReduceSum(torch::Tensor& tensor) override { StartAllReduceSum(tensor)->Wait(); }
  std::unique_ptr<PendingCollective> StartAllReduceSum(torch::Tensor& tensor) override {
    return Start("all-reduce", tensor, [](c10d::ProcessGroupGloo& group, std::vector<at::Tensor>& tensors) {
      return group.allreduce(tensors);
    });
  }
  void Broadcast(torch::Tensor& tensor, int root) override {
    if (root < 0 || root >= world_size()) throw Error("gloo broadcast: root rank " + std::to_string(root) + " out of range");
    Start("broadcast", tensor, [root](c10d::ProcessGroupGloo& group, std::vector<at::Tensor>& tensors) {
      c10d::BroadcastOptions broadcast;
      broadcast.rootRank = root;
      return group.broadcast(tensors, broadcast);
    })->Wait();
  }
  void Barrier() override {
    const int64_t collective = Enter("barrier");
    c10::intrusive_ptr<c10d::Work> work;
    try {
      work = group_->barrier();
    } catch (const std::exception& error) {
      Fail("barrier", collective, error);
    }
    Complete("barrier", collective, *work);
  }

  // Waits for `work` (bounded by the timeout); on failure names the culprit and throws.
  void Complete(const char* what, int64_t collective, c10d::Work& work) {
    try {
      work.wait(options_.timeout);
    } catch (const std::exception& error) {
      Fail(what, collective, error);
    }
  }

 private:
  using Launch = std::function<c10::intrusive_ptr<c10d::Work>(c10d::ProcessGroupGloo&, std::vector<at::Tensor>&)>;

  std::unique_ptr<PendingCollective> Start(const char* what, torch::Tensor& tensor, const Launch& launch) {
    if (!tensor.device().is_cpu()) throw Error(std::string("gloo ") + what + ": tensor is on " + tensor.device().str());
    const int64_t collective = Enter(what);
    torch::Tensor buffer = tensor.is_contiguous() ? tensor : tensor.contiguous();
    std::vector<at::Tensor> tensors = {buffer};
    c10::intrusive_ptr<c10d::Work> work;
    try {
      work = launch(*group_, tensors);
    } catch (const std::exception& error) {
      Fail(what, collective, error);
    }
    return std::make_unique<GlooPendingCollective>(*this, what, collective, std::move(work), buffer, tensor);
  }

  int64_t Enter(const char* what) {
    if (!failure_.empty()) throw Error(std::string("gloo ") + what + " after an earlier failure: " + failure_);
    monitor_->EnterCollective(++collectives_);
    return collectives_;
  }

  [[noreturn]] void Fail(const std::string& what, int64_t collective, const std::exception& error) {
    const std::string cause = TorchErrorText(error);
    const std::string culprit = monitor_ ? monitor_->Diagnose(collective, PeerMonitor::PatienceFor(options_.timeout), cause)
                                         : std::string("the group never formed");
    failure_ = "gloo " + what + " (collective #" + std::to_string(collective) + ") failed on rank " +
               std::to_string(rank()) + " of " + std::to_string(world_size()) + ": " + culprit + " [gloo: " + cause + "]";
    throw Error(failure_);
  }

  GlooOptions options_;
  RendezvousStore store_;
  std::unique_ptr<PeerMonitor> monitor_;
  c10::intrusive_ptr<c10d::ProcessGroupGloo> group_;
  int64_t collectives_ = 0;
  std::string failure_;  // non-empty: unusable
};

void GlooPendingCollective::Wait() {
  if (done_) return;
  done_ = true;
  owner_.Complete(what_, collective_, *work_);
  if (!buffer_.is_same(target_)) {
    torch::NoGradGuard no_grad;
    target_.copy_(buffer_);
  }
}

GlooCommunicatorImpl::GlooCommunicatorImpl(const GlooOptions& options) : options_(options), store_(options) {
  if (options_.timeout < std::chrono::seconds(1)) throw Error("gloo: the collective timeout must be at least 1 s");
  store_.AwaitAllRanks();
  const auto interval = PeerMonitor::IntervalFor(options_.timeout);
  monitor_ = std::make_unique<PeerMonitor>(store_.Connect(4 * interval), rank(), world_size(), interval);

  // Gloo times out first, leaving PeerMonitor time to name the culprit within options.timeout.
  auto group_options = c10d::ProcessGroupGloo::Options::create(options_.timeout - PeerMonitor::PatienceFor(options_.timeout));
  // Loopback rendezvous: every rank is on this machine. Otherwise Gloo listens on the address
  // that routes to rank 0's store, which the peers can most likely reach too.
  const std::string local = IsLoopbackHost(store_.host()) ? "127.0.0.1" : LocalAddressToward(store_.host(), store_.port());
  group_options->devices.push_back(c10d::ProcessGroupGloo::createDeviceForHostname(local));
  group_options->threads = 2;
  try {
    group_ = c10::make_intrusive<c10d::ProcessGroupGloo>(store_.Keys("gloo"), rank(), world_size(), group_options);
  } catch (const std::exception& error) {
    Fail("connect", 0, error);
  }
}

GlooCommunicatorImpl::~GlooCommunicatorImpl() {
  if (failure_.empty()) return;
  // Gloo's worker threads may still be blocked on the dead peer and ~ProcessGroupGloo would join
  // them; the process is on its way out, so leave the group (and the heartbeat) be.
  if (group_) group_.release();
  if (monitor_) monitor_->Abandon();
}

}  // namespace

std::unique_ptr<GlooCommunicator> MakeGlooCommunicator(const GlooOptions& options) {
  return std::make_unique<GlooCommunicatorImpl>(options);
}

}  // namespace bertfleet
