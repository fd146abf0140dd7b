#pragma once
// Sums the flat gradient buffer over ranks in buckets, as PyTorch's DDP does, so that the
// all-reduce of the last layers' gradients runs while backward still computes the first layers'.
//
// A bucket is a contiguous range of FlatParameters::gradients() holding whole parameters (at most
// `bucket_bytes`, unless one parameter alone is larger), so it is reduced in place with no copy.
// Buckets are started in one fixed order on every rank (collectives must match across ranks):
// by when backward completes them, i.e. the bucket whose earliest-in-forward parameter comes
// latest goes first. During an armed backward a bucket starts as soon as autograd has
// accumulated all of its gradients (a post-hook on each parameter's gradient accumulator) and
// every bucket before it has started; Finish() starts the rest (a rank with an empty slice runs
// no backward and starts them all there) and waits.
#include <cstdint>
#include <memory>
#include <vector>

#include <torch/torch.h>

#include "worker/engine/collective/communicator.h"
#include "worker/engine/optim/flat_parameters.h"

namespace bertfleet {

class GradientReducer {
 public:
  // `model`'s trainable parameters must live in `parameters` (FlatParameters took them over).
  GradientReducer(torch::nn::Module& model, FlatParameters& parameters, Communicator& communicator,
                  int64_t bucket_bytes);
  ~GradientReducer();  // removes the hooks
  GradientReducer(const GradientReducer&) = delete;
  GradientReducer& operator=(const GradientReducer&) = delete;

  // The next backward is the step's last one: start buckets from inside it. (Only on CPU: CUDA
  // runs backward on its own threads, where a blocking collective does not belong.)
  void ArmForBackward() {
    armed_ = true;
    overlapped_ = 0;
  }
  // Starts the buckets not started yet, in order, and waits for all: the buffer then holds the
  // sum over ranks. Throws Error (from the communicator) when a rank fails.
  void Finish();

  size_t bucket_count() const { return buckets_.size(); }
  // Buckets started from inside the last backward (the overlapped ones), for tests and benches.
  size_t overlapped_buckets() const { return overlapped_; }

 private:
  struct Bucket {
    int64_t begin = 0;  // into the flat gradient buffer
    int64_t size = 0;
    size_t parameters = 0;
    size_t waiting = 0;  // parameters whose gradient is not accumulated yet
  };

  void OnGradientAccumulated(size_t parameter);
  void StartReadyBuckets();
  void Start(size_t bucket);

  FlatParameters& parameters_;
  Communicator& communicator_;
  std::vector<Bucket> buckets_;               // in start order
  std::vector<size_t> bucket_of_parameter_;   // by the model's parameter order
  std::vector<std::shared_ptr<torch::autograd::Node>> accumulators_;  // keeps hooked nodes alive
  std::vector<uintptr_t> hook_keys_;
  std::vector<std::unique_ptr<PendingCollective>> pending_;
  size_t next_to_start_ = 0;
  size_t overlapped_ = 0;
  bool armed_ = false;
};

}  // namespace bertfleet
