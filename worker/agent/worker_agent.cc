#include "worker/agent/worker_agent.h"

#include <signal.h>
#include <unistd.h>

#include <cinttypes>
#include <cstdio>
#include <ctime>
#include <thread>

#include <grpcpp/grpcpp.h>

#include "common/util/error.h"
#include "common/util/grpc_status_name.h"
#include "common/util/log.h"
#include "common/util/usable_cores.h"
#include "worker/agent/child_process.h"
#include "worker/agent/grpc_coordinator_link.h"

namespace bertfleet {

namespace {

using std::chrono::milliseconds;

std::string HostName() {
  char name[256] = {0};
  if (::gethostname(name, sizeof(name) - 1) != 0) return "unknown";
  return name;
}

// The last lines of a child's stderr, for a failure message.
std::string Tail(const std::string& text, size_t max_bytes) {
  std::string tail = text;
  while (!tail.empty() && (tail.back() == '\n' || tail.back() == '\r' || tail.back() == ' ')) tail.pop_back();
  if (tail.size() > max_bytes) {
    tail.erase(0, tail.size() - max_bytes);
    const size_t newline = tail.find('\n');
    if (newline != std::string::npos && newline + 1 < tail.size()) tail.erase(0, newline + 1);
    tail = "..." + tail;
  }
  return tail;
}

}  // namespace

WorkerAgent::WorkerAgent(AgentOptions options)
    : options_(std::move(options)),
      host_(HostName()),
      random_(std::random_device{}()),
      reports_(options_.max_buffered_reports) {
  if (options_.advertise_host.empty()) options_.advertise_host = host_;
  if (options_.threads <= 0) options_.threads = UsableCores();
  if (!options_.connector) {
    own_connector_ = std::make_unique<GrpcCoordinatorConnector>(options_.coordinator, options_.connection);
    options_.connector = own_connector_.get();
  }
  if (!options_.launcher) {
    own_launcher_ = std::make_unique<ChildProcessLauncher>();
    options_.launcher = own_launcher_.get();
  }
}

WorkerAgent::~WorkerAgent() {
  if (connection_) CloseConnection("agent exiting");
  running_.clear();  // SIGKILLs any child still there
}

void WorkerAgent::Log(const std::string& line, const std::string& level) const {
  LogFields fields;
  if (!options_.worker_id.empty()) fields.emplace_back("worker", options_.worker_id);
  bertfleet::Log(level, line, fields);
}

void WorkerAgent::Log(const AssignmentKey& key, const std::string& line, const std::string& level) const {
  LogFields fields = {{"job", key.job_id}, {"attempt", std::to_string(key.attempt)}, {"rank", std::to_string(key.rank)}};
  if (!options_.worker_id.empty()) fields.emplace_back("worker", options_.worker_id);
  bertfleet::Log(level, line, fields);
}

void WorkerAgent::Post(InboxItem item) {
  {
    std::lock_guard<std::mutex> lock(inbox_mutex_);
    inbox_.push_back(std::move(item));
  }
  inbox_cv_.notify_one();
}

void WorkerAgent::ScheduleReconnect() {
  // Exponential backoff, capped, with jitter in [delay/2, delay] so that a fleet of workers
  // does not reconnect in lockstep after a coordinator restart.
  const int64_t base = options_.reconnect_initial.count();
  int64_t delay = base;
  for (int i = 0; i < connect_failures_ && delay < options_.reconnect_max.count(); ++i) delay *= 2;
  delay = std::min<int64_t>(delay, options_.reconnect_max.count());
  std::uniform_int_distribution<int64_t> jitter(delay / 2, std::max<int64_t>(delay / 2, delay));
  next_connect_ = Now() + milliseconds(jitter(random_));
  ++connect_failures_;
}

void WorkerAgent::StartConnection() {
  auto connection = std::make_unique<Connection>();
  connection->id = next_connection_id_++;
  connection->started = Now();
  connection->link = options_.connector->NewLink();

  v1::WorkerMessage hello;
  v1::RegisterWorker* reg = hello.mutable_register_();
  reg->set_protocol_version(v1::PROTOCOL_VERSION_1);
  reg->set_worker_id(options_.worker_id);
  reg->set_host(host_);
  reg->set_device(options_.device);
  reg->set_threads(options_.threads);
  reg->set_version(BERTFLEET_VERSION);
  // Running: the children, and the runs whose `finished` is still in the buffer, so that the
  // coordinator holds them as this worker's until the replayed report ends them.
  auto add_running = [reg](const std::string& job_id, int32_t attempt, int32_t rank) {
    v1::RunningAssignment* entry = reg->add_running();
    entry->set_job_id(job_id);
    entry->set_attempt(attempt);
    entry->set_rank(rank);
  };
  for (const auto& [key, run] : running_) add_running(key.job_id, key.attempt, key.rank);
  for (const v1::WorkerMessage& report : reports_) {
    if (report.has_finished()) {
      add_running(report.finished().job_id(), report.finished().attempt(), report.finished().rank());
    }
  }

  // This thread writes only after `registered`.
  const uint64_t id = connection->id;
  connection->link->Open(
      hello,
      [this, id](const v1::CoordinatorMessage& message) {
        InboxItem item;
        item.kind = InboxItem::kCoordinatorMessage;
        item.connection = id;
        item.message = message;
        Post(std::move(item));
      },
      [this, id] {
        InboxItem item;
        item.kind = InboxItem::kStreamClosed;
        item.connection = id;
        Post(std::move(item));
      });
  connection_ = std::move(connection);
}

void WorkerAgent::CloseConnection(const std::string& why, bool drain) {
  if (!connection_) return;
  std::unique_ptr<Connection> connection = std::move(connection_);
  const grpc::Status status = connection->link->Close(drain && connection->registered);
  std::string status_text;
  // An unreachable coordinator is reported once per outage, not at every retry.
  const bool repeated_outage = status.error_code() == grpc::StatusCode::UNAVAILABLE && connect_failures_ > 0;
  if (!status.ok() && status.error_code() != grpc::StatusCode::CANCELLED && !repeated_outage) {
    status_text = " (" + GrpcStatusName(status.error_code()) + ": " + status.error_message() + ")";
  }
  if (connection->registered || !status_text.empty()) {
    Log("connection to coordinator " + options_.coordinator + " closed: " + why + status_text);
  }
  if (connection->registered) connect_failures_ = 0;
  if (connection->registered) RequeueInDoubt();
  if (!stop_requested_) ScheduleReconnect();
}

bool WorkerAgent::Write(const v1::WorkerMessage& message) {
  if (!connection_ || !connection_->registered) return false;
  if (connection_->link->Write(message)) return true;
  CloseConnection("write failed");
  return false;
}

void WorkerAgent::Report(v1::WorkerMessage message) {
  reports_.Push(std::move(message));
  Flush();
}

void WorkerAgent::Flush() {
  while (!reports_.empty() && connection_ && connection_->registered) {
    if (!Write(reports_.front())) return;
    RememberSent(reports_.front());
    reports_.PopFront();
  }
}

void WorkerAgent::RememberSent(const v1::WorkerMessage& message) {
  const auto kind = message.message_case();
  if (kind != v1::WorkerMessage::kEpoch && kind != v1::WorkerMessage::kCheckpoint &&
      kind != v1::WorkerMessage::kFinished) {
    return;  // progress is live only; `started` is implied by `running` at registration
  }
  const auto now = Now();
  in_doubt_.push_back({now, message});
  while (!in_doubt_.empty() && now - in_doubt_.front().first > kInDoubtWindow) in_doubt_.pop_front();
}

void WorkerAgent::RequeueInDoubt() {
  // A written report may still die with the coordinator (SIGKILL before it was read or
  // committed). The coordinator ignores repeats (one epoch per job, one finish per attempt), so
  // the recent ones are sent again, first, on the next connection.
  const auto cutoff = Now() - kInDoubtWindow;
  ReportBuffer replay(options_.max_buffered_reports);
  size_t again = 0;
  for (auto& [sent_at, message] : in_doubt_) {
    if (sent_at < cutoff) continue;
    replay.Push(std::move(message));
    ++again;
  }
  in_doubt_.clear();
  if (again == 0) return;
  for (const v1::WorkerMessage& report : reports_) replay.Push(report);
  reports_ = std::move(replay);
  Log("will send again " + std::to_string(again) + " report(s) written in the last " +
      std::to_string(kInDoubtWindow.count()) + " ms before the connection closed");
}

void WorkerAgent::OnCoordinatorMessage(const v1::CoordinatorMessage& message) {
  switch (message.message_case()) {
    case v1::CoordinatorMessage::kRegistered: {
      const v1::Registered& registered = message.registered();
      if (!registered.worker_id().empty()) options_.worker_id = registered.worker_id();
      heartbeat_interval_ = milliseconds(registered.heartbeat_interval_ms() > 0 ? registered.heartbeat_interval_ms()
                                                                                 : 2000);
      connection_->registered = true;
      if (options_.metrics) options_.metrics->SetWorkerId(options_.worker_id);
      connect_failures_ = 0;
      next_heartbeat_ = Now() + heartbeat_interval_;
      Log("registered with coordinator " + options_.coordinator + " as " + options_.worker_id + " (" +
          std::to_string(running_.size()) + " running, " + std::to_string(reports_.size()) +
          " buffered reports" + (reports_.dropped() ? ", " + std::to_string(reports_.dropped()) + " dropped" : "") +
          ")");
      Flush();
      break;
    }
    case v1::CoordinatorMessage::kAssignment:
      OnAssignment(message.assignment());
      break;
    case v1::CoordinatorMessage::kCancel:
      OnCancel(message.cancel());
      break;
    default:
      Log("ignoring an unknown message from the coordinator");
  }
}

void WorkerAgent::OnAssignment(const v1::Assignment& assignment) {
  const AssignmentKey key{assignment.job_id(), assignment.attempt(), assignment.rank()};
  if (running_.count(key)) {
    Log(key, "already running");
    return;
  }
  LaunchAssignment(assignment);
}

void WorkerAgent::RequestCancel(RunningAssignment& run, const std::string& reason) {
  run.cancel_requested = true;
  run.cancel_reason = reason;
  run.kill_deadline = Now() + options_.cancel_grace;
  if (run.child) run.child->Signal(SIGTERM);
}

void WorkerAgent::OnCancel(const v1::CancelAssignment& cancel) {
  bool found = false;
  for (auto& [key, run] : running_) {
    if (key.job_id != cancel.job_id() || (cancel.attempt() != 0 && key.attempt != cancel.attempt())) continue;
    found = true;
    if (run.cancel_requested) continue;
    const std::string reason = cancel.reason().empty() ? "cancelled" : cancel.reason();
    Log(key, "cancelling (" + reason + ")");
    RequestCancel(run, reason);
    if (!run.child) {
      run.rendezvous.reset();  // still waiting for rank 0: nothing to stop, ends here
      Post({InboxItem::kRendezvousDone, 0, {}, key, {}, "cancelled", {}, static_cast<int>(grpc::StatusCode::CANCELLED)});
    }
  }
  if (!found) {
    Log("cancel for " + cancel.job_id() + " attempt " + std::to_string(cancel.attempt()) +
        ": not running here (already finished)");
  }
}

void WorkerAgent::OnChildEvent(const AssignmentKey& key, v1::AssignmentEvent event) {
  auto it = running_.find(key);
  if (it == running_.end()) return;
  RunningAssignment& run = it->second;
  switch (event.event_case()) {
    case v1::AssignmentEvent::kFinished:
    case v1::AssignmentEvent::kFailed:
    case v1::AssignmentEvent::kStopped:
      run.terminal_event = std::move(event);
      return;
    case v1::AssignmentEvent::kRendezvous:
      return OnRendezvousEvent(key, event.rendezvous());
    default:
      break;
  }
  if (options_.metrics) options_.metrics->OnChildEvent(key, event);
  // A checkpoint written while stopping (SIGTERM saves at the next step boundary) is what the
  // job resumes from: the coordinator wants it even though it no longer wants this run's numbers.
  if (run.cancel_requested && !event.has_checkpoint()) return;
  if (event.has_started()) Log(key, "started");
  if (event.has_progress() || event.has_epoch()) Log(key, EventLogLine(event));
  if (auto report = ReportFromEvent(key, event)) Report(std::move(*report));
}

void WorkerAgent::OnChildStreamError(const AssignmentKey& key, const std::string& error) {
  auto it = running_.find(key);
  if (it == running_.end()) return;
  RunningAssignment& run = it->second;
  if (!run.stream_error.empty()) return;
  // Nothing after a bad frame can be trusted: stop the process and fail the run with the error.
  run.stream_error = error;
  Log(key, "the training process's " + error + "; stopping it", "ERROR");
  if (!run.cancel_requested) RequestCancel(run, error);
}

void WorkerAgent::OnChildExit(const AssignmentKey& key, const ChildExit& exit) {
  auto it = running_.find(key);
  if (it == running_.end()) return;
  RunningAssignment& run = it->second;
  const v1::AssignmentEvent& terminal = run.terminal_event;
  const bool succeeded = terminal.has_finished() && run.stream_error.empty();
  const bool cancelled = !succeeded && run.cancel_requested && run.stream_error.empty();
  v1::WorkerMessage message;
  if (succeeded) {
    message = FinishedMessage(key, true, false, "", &terminal.finished().final_metrics(), terminal.finished().model_dir());
    Log(key, "succeeded");
  } else if (cancelled) {
    message = FinishedMessage(key, false, true, run.cancel_reason, nullptr, "");
    Log(key, "cancelled (training process " + exit.Describe() + ")");
  } else {
    std::string text;
    if (!run.stream_error.empty()) {
      text = "training process " + exit.Describe() + " after a " + run.stream_error;
      const std::string tail = Tail(exit.stderr_tail, 1500);
      if (!tail.empty()) text += ": " + tail;
    } else if (terminal.has_failed()) {
      text = terminal.failed().message().empty() ? "training failed" : terminal.failed().message();
    } else if (terminal.has_stopped()) {
      text = "training process stopped by a signal at step " + std::to_string(terminal.stopped().global_step());
    } else {
      text = "training process " + exit.Describe();
      const std::string tail = Tail(exit.stderr_tail, 1500);
      if (!tail.empty()) text += ": " + tail;
    }
    message = FinishedMessage(key, false, false, text, nullptr, "");
    Log(key, "failed: " + text, "ERROR");
  }
  if (options_.metrics) options_.metrics->OnAssignmentEnded(key, succeeded ? "succeeded" : cancelled ? "cancelled" : "failed");
  running_.erase(it);  // joins the finished reader thread
  Report(std::move(message));
}

void WorkerAgent::Tick() {
  const auto now = Now();
  if (!connection_ && now >= next_connect_) StartConnection();
  if (connection_ && !connection_->registered && now - connection_->started > options_.register_timeout) {
    CloseConnection("no reply to register within " + std::to_string(options_.register_timeout.count()) + " ms");
  }
  if (connection_ && connection_->registered && now >= next_heartbeat_) {
    v1::WorkerMessage heartbeat;
    heartbeat.mutable_heartbeat();
    next_heartbeat_ = now + heartbeat_interval_;
    Write(heartbeat);
  }
  for (auto& [key, run] : running_) {
    if (run.child && run.cancel_requested && !run.killed && now >= run.kill_deadline) {
      Log(key, "still running " + std::to_string(options_.cancel_grace.count()) + " ms after SIGTERM, sending SIGKILL");
      run.child->Signal(SIGKILL);
      run.killed = true;
    }
  }
}

std::deque<WorkerAgent::InboxItem> WorkerAgent::TakeInbox(milliseconds wait) {
  std::deque<InboxItem> items;
  std::unique_lock<std::mutex> lock(inbox_mutex_);
  if (wait.count() > 0) inbox_cv_.wait_for(lock, wait, [this] { return !inbox_.empty(); });
  items.swap(inbox_);
  return items;
}

bool WorkerAgent::Poll(milliseconds wait) {
  if (stopped_) return true;
  if (stop_requested_) {
    if (!shutting_down_) BeginShutdown();
    ShutdownTurn(wait);
    if (!running_.empty()) return false;
    if (connection_) CloseConnection("agent stopped", /*drain=*/true);
    stopped_ = true;
    return true;
  }
  Tick();
  for (InboxItem& item : TakeInbox(wait)) {
    switch (item.kind) {
      case InboxItem::kCoordinatorMessage:
        if (connection_ && connection_->id == item.connection) OnCoordinatorMessage(item.message);
        break;
      case InboxItem::kStreamClosed:
        if (connection_ && connection_->id == item.connection) CloseConnection("stream ended");
        break;
      case InboxItem::kChildEvent:
        OnChildEvent(item.key, std::move(item.event));
        break;
      case InboxItem::kChildStreamError:
        OnChildStreamError(item.key, item.text);
        break;
      case InboxItem::kChildExit:
        OnChildExit(item.key, item.exit);
        break;
      case InboxItem::kRendezvousDone:
        OnRendezvousDone(item.key, item.status_code, item.text);
        break;
    }
  }
  return false;
}

int WorkerAgent::Run() {
  Log("agent for coordinator " + options_.coordinator + " (device " + options_.device + ", " +
      std::to_string(options_.threads) + " threads)");
  next_connect_ = Now();
  while (!Poll(milliseconds(100))) {
  }
  return 0;
}

void WorkerAgent::BeginShutdown() {
  // Stop the children (SIGTERM, then SIGKILL after the grace period) and report them.
  Log("stopping");
  shutting_down_ = true;
  shutdown_deadline_ = Now() + options_.cancel_grace;
  for (auto it = running_.begin(); it != running_.end();) {
    RunningAssignment& run = it->second;
    run.cancel_requested = true;
    run.cancel_reason = "worker " + options_.worker_id + " shut down";
    if (run.child) {
      run.child->Signal(SIGTERM);  // saves a checkpoint at its next step boundary (preemption)
      ++it;
    } else {  // still waiting for the rendezvous: nothing to stop
      v1::WorkerMessage finished = FinishedMessage(it->first, false, false, run.cancel_reason, nullptr, "");
      finished.mutable_finished()->set_worker_stopping(true);
      Report(std::move(finished));
      it = running_.erase(it);
    }
  }
}

void WorkerAgent::ShutdownTurn(milliseconds wait) {
  if (Now() >= shutdown_deadline_) {
    for (auto& [key, run] : running_) {
      if (!run.killed) run.child->Signal(SIGKILL);
      run.killed = true;
    }
  }
  for (InboxItem& item : TakeInbox(wait)) {
    if (item.kind == InboxItem::kChildExit) {
      // A stopped worker's run failed (so the coordinator retries it elsewhere), not cancelled.
      auto it = running_.find(item.key);
      if (it == running_.end()) continue;
      v1::WorkerMessage finished = FinishedMessage(item.key, false, false, it->second.cancel_reason, nullptr, "");
      finished.mutable_finished()->set_worker_stopping(true);  // no new work for us meanwhile
      Report(std::move(finished));
      if (options_.metrics) options_.metrics->OnAssignmentEnded(item.key, "failed");
      running_.erase(it);
    } else if (item.kind == InboxItem::kChildEvent) {
      OnChildEvent(item.key, std::move(item.event));
    }
  }
}

}  // namespace bertfleet
