#include "worker/engine/tracking/mlflow_tracker.h"

#include <algorithm>

namespace bertfleet {

namespace fs = std::filesystem;

namespace {

constexpr size_t kParamsPerBatch = 100;        // MLflow's log-batch limit
constexpr size_t kMaxParamValueLength = 6000;  // MLflow 2.x's limit; Hugging Face drops longer ones

int64_t NowMs() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::system_clock::now().time_since_epoch())
      .count();
}

}  // namespace

MlflowTracker::MlflowTracker(MlflowSettings settings, std::unique_ptr<HttpTransport> transport)
    : settings_(std::move(settings)), transport_(std::move(transport)), rest_(settings_.tracking_uri, *transport_) {
  sender_ = std::thread([this] { Run(); });
}

MlflowTracker::~MlflowTracker() {
  bool finished;
  {
    std::lock_guard<std::mutex> lock(mutex_);
    finished = finished_;
  }
  if (!finished) Finish({}, RunOutcome::kFailed);
}

void MlflowTracker::Warn(const std::string& line) const {
  if (settings_.warn) settings_.warn("mlflow: " + line);
}

int64_t MlflowTracker::dropped() const {
  std::lock_guard<std::mutex> lock(mutex_);
  return dropped_;
}

std::string MlflowTracker::run_id() const {
  std::lock_guard<std::mutex> lock(mutex_);
  return run_id_copy_;
}

void MlflowTracker::Enqueue(Item item) {
  std::lock_guard<std::mutex> lock(mutex_);
  if (finished_) return;
  if (queue_.size() >= settings_.queue_capacity) {
    // The oldest metrics go first; params, the model and the run's end are kept.
    const auto oldest = std::find_if(queue_.begin(), queue_.end(),
                                     [](const Item& queued) { return queued.kind == Item::kMetrics; });
    if (oldest == queue_.end()) return;
    queue_.erase(oldest);
    ++dropped_;
  }
  queue_.push_back(std::move(item));
  changed_.notify_all();
}

void MlflowTracker::LogParams(const std::vector<std::pair<std::string, std::string>>& params) {
  MlflowPairs kept;
  for (const auto& [key, value] : params) {
    if (value.size() > kMaxParamValueLength) {
      Warn("param " + key + " is " + std::to_string(value.size()) + " characters, over MLflow's " +
           std::to_string(kMaxParamValueLength) + ": not logged");
      continue;
    }
    kept.emplace_back(key, value);
  }
  for (size_t start = 0; start < kept.size(); start += kParamsPerBatch) {
    Item item;
    item.kind = Item::kParams;
    item.params.assign(kept.begin() + static_cast<std::ptrdiff_t>(start),
                       kept.begin() + static_cast<std::ptrdiff_t>(std::min(kept.size(), start + kParamsPerBatch)));
    Enqueue(std::move(item));
  }
}

void MlflowTracker::Log(const TrackedLog& log) {
  Item item;
  item.kind = Item::kMetrics;
  const int64_t now = NowMs();
  for (const auto& [key, value] : log.values) item.metrics.push_back({key, value, now, log.step});
  Enqueue(std::move(item));
}

void MlflowTracker::Finish(const fs::path& model_dir, RunOutcome outcome) {
  if (outcome == RunOutcome::kFinished && !model_dir.empty()) {
    std::error_code error;
    for (fs::recursive_directory_iterator it(model_dir, error), end; !error && it != end; it.increment(error)) {
      // The final model, not the intermediate checkpoints saved beside it.
      if (it->is_directory() && it.depth() == 0) {
        it.disable_recursion_pending();
        continue;
      }
      if (!it->is_regular_file()) continue;
      Item item;
      item.kind = Item::kArtifact;
      item.artifact_path = "model/" + fs::relative(it->path(), model_dir).generic_string();
      item.file = it->path();
      Enqueue(std::move(item));
    }
  }
  Item end;
  end.kind = Item::kEnd;
  end.status = outcome == RunOutcome::kFinished ? "FINISHED" : outcome == RunOutcome::kStopped ? "KILLED" : "FAILED";
  Enqueue(std::move(end));

  std::unique_lock<std::mutex> lock(mutex_);
  finished_ = true;
  const bool drained = changed_.wait_for(lock, settings_.flush_timeout, [this] { return queue_.empty() && !sending_; });
  const size_t left = queue_.size() + (sending_ ? 1 : 0);
  stopping_ = true;
  changed_.notify_all();
  lock.unlock();
  if (!drained) transport_->Abort();
  if (sender_.joinable()) sender_.join();
  if (!drained) {
    Warn("gave up after " + std::to_string(settings_.flush_timeout.count() / 1000) + " s with " +
         std::to_string(left) + " records not sent to " + settings_.tracking_uri);
  }
  if (dropped() > 0) Warn(std::to_string(dropped()) + " metric records dropped while the server was unreachable");
}

void MlflowTracker::EnsureRun() {
  if (!run_.run_id.empty()) return;
  std::string experiment = settings_.experiment_id;
  if (experiment.empty()) experiment = settings_.experiment_name.empty() ? "0" : rest_.ExperimentId(settings_.experiment_name);
  run_ = rest_.CreateRun(experiment, settings_.run_name, settings_.tags, NowMs());
  std::lock_guard<std::mutex> lock(mutex_);
  run_id_copy_ = run_.run_id;
}

void MlflowTracker::Send(const Item& item) {
  EnsureRun();
  switch (item.kind) {
    case Item::kParams:
      rest_.LogBatch(run_.run_id, {}, item.params, {});
      break;
    case Item::kMetrics:
      rest_.LogBatch(run_.run_id, item.metrics, {}, {});
      break;
    case Item::kArtifact:
      rest_.UploadArtifact(run_, item.artifact_path, item.file);
      break;
    case Item::kEnd:
      rest_.UpdateRun(run_.run_id, item.status, NowMs());
      break;
  }
}

void MlflowTracker::Run() {
  std::chrono::milliseconds backoff = settings_.first_retry;
  bool failing = false;
  std::unique_lock<std::mutex> lock(mutex_);
  while (true) {
    changed_.wait(lock, [this] { return stopping_ || !queue_.empty(); });
    if (stopping_) return;
    Item item = std::move(queue_.front());
    queue_.pop_front();
    sending_ = true;
    lock.unlock();
    bool retry = false;
    try {
      Send(item);
      if (failing) Warn("reached " + settings_.tracking_uri + " again");
      failing = false;
      backoff = settings_.first_retry;
    } catch (const MlflowCallError& error) {
      if (error.retryable) {
        if (!failing) Warn("cannot reach " + settings_.tracking_uri + " (" + error.what() + "); retrying, training goes on");
        failing = true;
        retry = true;
      } else {
        Warn(std::string("not logged: ") + error.what());
      }
    } catch (const std::exception& error) {  // a malformed reply
      Warn(std::string("not logged: unexpected reply: ") + error.what());
    }
    lock.lock();
    sending_ = false;
    if (retry) {
      queue_.push_front(std::move(item));
      changed_.wait_for(lock, backoff, [this] { return stopping_; });
      backoff = std::min(backoff * 2, settings_.max_retry);
    }
    changed_.notify_all();
  }
}

}  // namespace bertfleet
