#pragma once
// The worker agent: keeps one WorkerService.Connect stream to the coordinator (register,
// heartbeats, reports), reconnecting with capped, jittered exponential backoff whenever the
// stream breaks or the coordinator is down; runs every assignment in a `run-assignment` child
// process (a crash fails the assignment, never the agent); cancels with SIGTERM, then SIGKILL
// after a grace period. Reports made while the coordinator is unreachable are buffered (bounded)
// and replayed after the next registration, which lists the assignments still running.
//
// One thread (Run's, or a test's calling Poll) owns all state and does every write on the
// stream; the stream reader and the child readers only post to its inbox. The coordinator link,
// the training processes and the clock are seams (AgentOptions) for unit tests.
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <random>
#include <string>

#include "bertfleet/v1/workers.pb.h"
#include "client/connection_settings.h"
#include "worker/agent/assignment_events.h"
#include "worker/agent/coordinator_link.h"
#include "worker/agent/rendezvous_client.h"
#include "worker/agent/training_launcher.h"
#include "worker/agent/report_buffer.h"
#include "worker/agent/worker_metrics.h"
#include "worker/protocol/assignment_event_stream.h"

namespace bertfleet {

struct AgentOptions {
  std::string coordinator;  // host:port
  client::ConnectionSettings connection;  // TLS files and worker token (or --insecure)
  std::string device = "cpu";
  int threads = 0;           // 0: every core
  std::string worker_id;     // empty: the coordinator assigns one (kept across reconnects)
  std::string data_root;     // overrides Assignment.data_root when set
  std::string executable;    // this binary, for the run-assignment children
  int64_t progress_steps = 10;
  std::chrono::milliseconds cancel_grace{3000};       // SIGTERM -> SIGKILL
  std::chrono::milliseconds reconnect_initial{200};
  std::chrono::milliseconds reconnect_max{5000};
  std::chrono::milliseconds register_timeout{10000};  // no `registered` reply: reconnect
  size_t max_buffered_reports = 10000;
  // Data-parallel attempts (worker_agent_launch.cc): the host other ranks reach this worker's
  // rank-0 store on; how long rendezvous calls wait; the training processes' collective timeout
  // (0: their default).
  std::string advertise_host;
  std::chrono::milliseconds rendezvous_timeout{120000};
  int64_t collective_timeout_seconds = 0;
  WorkerMetrics* metrics = nullptr;  // optional: fed with every assignment's events
  // Seams for unit tests; null: gRPC to `coordinator`, fork+exec of `executable`, steady_clock.
  CoordinatorConnector* connector = nullptr;
  TrainingLauncher* launcher = nullptr;
  std::function<std::chrono::steady_clock::time_point()> clock;
};

class WorkerAgent {
 public:
  explicit WorkerAgent(AgentOptions options);
  ~WorkerAgent();

  // Runs until Stop(); then stops the running assignments (reported as failed) and returns 0.
  int Run();
  // One turn of Run's loop: timers (connect, register timeout, heartbeat, SIGKILL after the
  // cancel grace), then what arrived within `wait`. Returns true once the agent has stopped.
  bool Poll(std::chrono::milliseconds wait);
  // Async-signal-safe.
  void Stop() { stop_requested_ = true; }

 private:
  using Clock = std::chrono::steady_clock;
  struct Connection {
    uint64_t id = 0;
    std::unique_ptr<CoordinatorLink> link;
    bool registered = false;
    Clock::time_point started;
  };
  struct RunningAssignment {
    AssignmentKey key;
    v1::Assignment assignment;
    std::unique_ptr<TrainingProcess> child;  // null while a rank > 0 waits for the rendezvous
    // Decodes the child's stdout on its reader thread; the agent's thread sees only events.
    std::shared_ptr<AssignmentEventReader> events;
    std::string stream_error;  // the child's event stream was malformed: the run fails with this
    std::unique_ptr<RendezvousCall> rendezvous;  // the publish (rank 0) or get (others) in flight
    bool cancel_requested = false;
    std::string cancel_reason;
    bool killed = false;
    Clock::time_point kill_deadline;
    v1::AssignmentEvent terminal_event;  // finished / failed / stopped, as the child said
  };
  struct InboxItem {
    enum Kind { kCoordinatorMessage, kStreamClosed, kChildEvent, kChildStreamError, kChildExit, kRendezvousDone };
    Kind kind = kCoordinatorMessage;
    uint64_t connection = 0;
    v1::CoordinatorMessage message{};
    AssignmentKey key{};
    v1::AssignmentEvent event{};
    std::string text{};  // kChildStreamError: the error; kRendezvousDone: the payload or error
    ChildExit exit{};
    int status_code = 0;  // kRendezvousDone: a grpc::StatusCode
  };

  void Post(InboxItem item);
  void StartConnection();
  // `drain`: half-close and give the coordinator a few seconds to end the stream, so it reads
  // every report written before (a shutdown's last `finished`); a cancel could overtake them.
  void CloseConnection(const std::string& why, bool drain = false);
  void OnCoordinatorMessage(const v1::CoordinatorMessage& message);
  void OnAssignment(const v1::Assignment& assignment);
  // worker_agent_launch.cc
  void LaunchAssignment(const v1::Assignment& assignment);
  bool StartTraining(RunningAssignment& run, const std::vector<std::string>& extra_args);
  void OnRendezvousEvent(const AssignmentKey& key, const v1::RendezvousPublished& event);
  void OnRendezvousDone(const AssignmentKey& key, int status_code, const std::string& text);
  void ReportFailure(const AssignmentKey& key, const std::string& message);
  RendezvousClient& Rendezvous();
  void OnCancel(const v1::CancelAssignment& cancel);
  void OnChildEvent(const AssignmentKey& key, v1::AssignmentEvent event);
  void OnChildStreamError(const AssignmentKey& key, const std::string& error);
  void OnChildExit(const AssignmentKey& key, const ChildExit& exit);
  void RequestCancel(RunningAssignment& run, const std::string& reason);
  void Tick();
  std::deque<InboxItem> TakeInbox(std::chrono::milliseconds wait);
  void BeginShutdown();
  void ShutdownTurn(std::chrono::milliseconds wait);
  Clock::time_point Now() const { return options_.clock ? options_.clock() : Clock::now(); }
  void Report(v1::WorkerMessage message);
  void Flush();
  void RememberSent(const v1::WorkerMessage& message);
  void RequeueInDoubt();  // after a registered connection closed
  bool Write(const v1::WorkerMessage& message);
  void ScheduleReconnect();
  void Log(const std::string& line, const std::string& level = "INFO") const;
  // With the assignment's job, attempt and rank as fields.
  void Log(const AssignmentKey& key, const std::string& line, const std::string& level = "INFO") const;

  AgentOptions options_;
  std::string host_;
  std::atomic<bool> stop_requested_{false};
  bool shutting_down_ = false;
  Clock::time_point shutdown_deadline_;
  bool stopped_ = false;
  std::unique_ptr<CoordinatorConnector> own_connector_;  // when options_.connector is null
  std::unique_ptr<TrainingLauncher> own_launcher_;        // when options_.launcher is null

  std::mutex inbox_mutex_;
  std::condition_variable inbox_cv_;
  std::deque<InboxItem> inbox_;

  std::unique_ptr<Connection> connection_;
  uint64_t next_connection_id_ = 1;
  int connect_failures_ = 0;
  Clock::time_point next_connect_;
  std::chrono::milliseconds heartbeat_interval_{2000};
  Clock::time_point next_heartbeat_;
  std::mt19937_64 random_;

  std::unique_ptr<RendezvousClient> rendezvous_client_;  // before running_: their calls use it
  std::map<AssignmentKey, RunningAssignment> running_;
  ReportBuffer reports_;
  // Epoch, checkpoint and finished reports written in the last kInDoubtWindow: sent again after a
  // reconnect, since the coordinator may have died before committing them.
  static constexpr std::chrono::milliseconds kInDoubtWindow{10000};
  std::deque<std::pair<Clock::time_point, v1::WorkerMessage>> in_doubt_;
};

}  // namespace bertfleet
