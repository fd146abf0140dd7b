// WorkerAgent driven turn by turn (Poll) through its seams: a fake coordinator link, fake
// training processes that the test makes speak the real event protocol, and a manual clock.
// No sockets, no processes, no sleeps.
#include "worker/agent/worker_agent.h"

#include <gtest/gtest.h>
#include <signal.h>

#include <memory>
#include <string>
#include <vector>

#include "worker/protocol/assignment_event_stream.h"

namespace bertfleet {
namespace {

using std::chrono::milliseconds;

// One Connect stream as the coordinator would see it.
struct LinkState {
  v1::WorkerMessage hello;
  CoordinatorLink::MessageCallback on_message;
  CoordinatorLink::ClosedCallback on_closed;
  std::vector<v1::WorkerMessage> written;
  bool broken = false;  // writes fail
  bool closed = false;
  bool drained = false;
  std::vector<v1::WorkerMessage> Written(v1::WorkerMessage::MessageCase kind) const {
    std::vector<v1::WorkerMessage> out;
    for (const auto& m : written) {
      if (m.message_case() == kind) out.push_back(m);
    }
    return out;
  }
};

class FakeLink final : public CoordinatorLink {
 public:
  explicit FakeLink(std::shared_ptr<LinkState> state) : state_(std::move(state)) {}
  void Open(const v1::WorkerMessage& hello, MessageCallback on_message, ClosedCallback on_closed) override {
    state_->hello = hello;
    state_->on_message = std::move(on_message);
    state_->on_closed = std::move(on_closed);
  }
  bool Write(const v1::WorkerMessage& message) override {
    if (state_->broken) return false;
    state_->written.push_back(message);
    return true;
  }
  grpc::Status Close(bool drain) override {
    state_->closed = true;
    state_->drained = drain;
    return grpc::Status::CANCELLED;
  }

 private:
  std::shared_ptr<LinkState> state_;
};

class FakeConnector final : public CoordinatorConnector {
 public:
  std::unique_ptr<CoordinatorLink> NewLink() override {
    links.push_back(std::make_shared<LinkState>());
    return std::make_unique<FakeLink>(links.back());
  }
  std::vector<std::shared_ptr<LinkState>> links;
};

// One training process, as its agent sees it.
struct ProcessState {
  std::vector<std::string> argv;
  std::string input;
  TrainingLauncher::OutputCallback on_output;
  TrainingLauncher::ExitCallback on_exit;
  std::vector<int> signals;
  void Emit(const v1::AssignmentEvent& event) { on_output(EncodeAssignmentEventFrame(event)); }
  void Exit(int code, int signal = 0, const std::string& stderr_tail = "") {
    ChildExit exit;
    exit.exit_code = code;
    exit.signal = signal;
    exit.stderr_tail = stderr_tail;
    on_exit(exit);
  }
};

class FakeProcess final : public TrainingProcess {
 public:
  explicit FakeProcess(std::shared_ptr<ProcessState> state) : state_(std::move(state)) {}
  pid_t pid() const override { return 4242; }
  void Signal(int signal_number) override { state_->signals.push_back(signal_number); }

 private:
  std::shared_ptr<ProcessState> state_;
};

class FakeLauncher final : public TrainingLauncher {
 public:
  std::unique_ptr<TrainingProcess> Start(const std::vector<std::string>& argv, const std::string& input,
                                         OutputCallback on_output, ExitCallback on_exit) override {
    auto state = std::make_shared<ProcessState>();
    state->argv = argv;
    state->input = input;
    state->on_output = std::move(on_output);
    state->on_exit = std::move(on_exit);
    processes.push_back(state);
    return std::make_unique<FakeProcess>(state);
  }
  std::vector<std::shared_ptr<ProcessState>> processes;
};

v1::AssignmentEvent Started(int64_t total_steps) {
  v1::AssignmentEvent event;
  event.mutable_started()->set_total_steps(total_steps);
  return event;
}

v1::AssignmentEvent Epoch(int64_t epoch, double accuracy) {
  v1::AssignmentEvent event;
  event.mutable_epoch()->set_epoch(epoch);
  event.mutable_epoch()->set_eval_accuracy(accuracy);
  event.mutable_epoch()->set_evaluated(true);
  return event;
}

class WorkerAgentTest : public ::testing::Test {
 protected:
  void SetUp() override {
    options_.coordinator = "coordinator.test:7000";
    options_.executable = "/opt/bertfleet/bertfleet-worker";
    options_.threads = 2;
    options_.connector = &connector_;
    options_.launcher = &launcher_;
    options_.clock = [this] { return now_; };
    agent_ = std::make_unique<WorkerAgent>(options_);
  }

  void Poll() { agent_->Poll(milliseconds(0)); }
  void Advance(milliseconds by) { now_ += by; }
  LinkState& Link() { return *connector_.links.back(); }

  // Connects and registers as `worker-7`, heartbeats every second.
  void Register() {
    Poll();
    ASSERT_FALSE(connector_.links.empty());
    v1::CoordinatorMessage registered;
    registered.mutable_registered()->set_worker_id("worker-7");
    registered.mutable_registered()->set_heartbeat_interval_ms(1000);
    Link().on_message(registered);
    Poll();
  }

  ProcessState& Assign(const std::string& job_id, int attempt = 1) {
    v1::CoordinatorMessage message;
    v1::Assignment* assignment = message.mutable_assignment();
    assignment->set_job_id(job_id);
    assignment->set_attempt(attempt);
    assignment->set_rank(0);
    assignment->set_world_size(1);
    assignment->set_spec_yaml("num_train_epochs: 1\n");
    assignment->set_output_dir("/out/" + job_id);
    Link().on_message(message);
    Poll();
    EXPECT_FALSE(launcher_.processes.empty());
    return *launcher_.processes.back();
  }

  v1::AssignmentFinished LastFinished() {
    const auto finished = Link().Written(v1::WorkerMessage::kFinished);
    EXPECT_FALSE(finished.empty());
    return finished.empty() ? v1::AssignmentFinished() : finished.back().finished();
  }

  std::chrono::steady_clock::time_point now_{std::chrono::hours(1)};
  FakeConnector connector_;
  FakeLauncher launcher_;
  AgentOptions options_;
  std::unique_ptr<WorkerAgent> agent_;
};

TEST_F(WorkerAgentTest, RegistersThenStartsATrainingProcessAndRelaysItsEvents) {
  Poll();
  ASSERT_EQ(connector_.links.size(), 1u);
  const v1::RegisterWorker& hello = Link().hello.register_();
  EXPECT_EQ(hello.protocol_version(), v1::PROTOCOL_VERSION_1);
  EXPECT_EQ(hello.threads(), 2);
  EXPECT_EQ(hello.device(), "cpu");
  Register();

  ProcessState& child = Assign("job-1");
  ASSERT_GE(child.argv.size(), 4u);
  EXPECT_EQ(child.argv[0], "/opt/bertfleet/bertfleet-worker");
  EXPECT_EQ(child.argv[1], "run-assignment");
  EXPECT_EQ(child.argv[3], "2") << "--threads";
  EXPECT_NE(child.input.find("\"job_id\":\"job-1\""), std::string::npos) << child.input;

  child.Emit(Started(20));
  child.Emit(Epoch(1, 0.8));
  Poll();
  ASSERT_EQ(Link().Written(v1::WorkerMessage::kStarted).size(), 1u);
  EXPECT_EQ(Link().Written(v1::WorkerMessage::kStarted)[0].started().total_steps(), 20);
  ASSERT_EQ(Link().Written(v1::WorkerMessage::kEpoch).size(), 1u);
  EXPECT_DOUBLE_EQ(Link().Written(v1::WorkerMessage::kEpoch)[0].epoch().metrics().eval_accuracy(), 0.8);

  v1::AssignmentEvent finished;
  finished.mutable_finished()->mutable_final_metrics()->set_eval_f1(0.9);
  finished.mutable_finished()->set_model_dir("/out/job-1");
  child.Emit(finished);
  child.Exit(0);
  Poll();
  const v1::AssignmentFinished report = LastFinished();
  EXPECT_EQ(report.job_id(), "job-1");
  EXPECT_TRUE(report.success());
  EXPECT_DOUBLE_EQ(report.final_metrics().eval_f1(), 0.9);
  EXPECT_EQ(report.model_dir(), "/out/job-1");
}

TEST_F(WorkerAgentTest, ChildExitsBecomeFailureMessages) {
  Register();
  {
    ProcessState& child = Assign("job-failed");
    v1::AssignmentEvent failed;
    failed.mutable_failed()->set_message("train.tsv line 4: expected 5 columns, got 3");
    child.Emit(failed);
    child.Exit(1);
    Poll();
    EXPECT_FALSE(LastFinished().success());
    EXPECT_FALSE(LastFinished().cancelled());
    EXPECT_EQ(LastFinished().message(), "train.tsv line 4: expected 5 columns, got 3");
  }
  {
    ProcessState& child = Assign("job-killed");
    child.Emit(Started(20));
    child.Exit(-1, SIGKILL, "step 3\nKilled\n");
    Poll();
    EXPECT_EQ(LastFinished().job_id(), "job-killed");
    EXPECT_FALSE(LastFinished().success());
    EXPECT_NE(LastFinished().message().find("training process killed by signal 9"), std::string::npos)
        << LastFinished().message();
    EXPECT_NE(LastFinished().message().find("Killed"), std::string::npos) << "the stderr tail";
  }
  {
    ProcessState& child = Assign("job-stopped");
    v1::AssignmentEvent stopped;
    stopped.mutable_stopped()->set_global_step(7);
    child.Emit(stopped);
    child.Exit(3);
    Poll();
    EXPECT_EQ(LastFinished().message(), "training process stopped by a signal at step 7");
  }
}

TEST_F(WorkerAgentTest, HeartbeatsFollowTheIntervalTheCoordinatorGave) {
  Register();
  const size_t before = Link().Written(v1::WorkerMessage::kHeartbeat).size();
  Advance(milliseconds(999));
  Poll();
  EXPECT_EQ(Link().Written(v1::WorkerMessage::kHeartbeat).size(), before);
  Advance(milliseconds(2));
  Poll();
  EXPECT_EQ(Link().Written(v1::WorkerMessage::kHeartbeat).size(), before + 1);
}

TEST_F(WorkerAgentTest, LostCoordinatorReportsAreBufferedAndReplayedAfterReconnecting) {
  Register();
  ProcessState& child = Assign("job-1");
  child.Emit(Epoch(1, 0.7));
  Poll();
  ASSERT_EQ(Link().Written(v1::WorkerMessage::kEpoch).size(), 1u);

  Link().on_closed();  // the coordinator went away (SIGKILL): its stream ended
  Poll();
  EXPECT_TRUE(connector_.links[0]->closed);
  child.Emit(Epoch(2, 0.75));  // while nobody listens
  Poll();
  EXPECT_EQ(connector_.links.size(), 1u) << "the reconnect waits for its backoff";

  Advance(milliseconds(options_.reconnect_initial));
  Poll();
  ASSERT_EQ(connector_.links.size(), 2u);
  const v1::RegisterWorker& hello = Link().hello.register_();
  EXPECT_EQ(hello.worker_id(), "worker-7") << "the id is kept across reconnects";
  ASSERT_EQ(hello.running_size(), 1);
  EXPECT_EQ(hello.running(0).job_id(), "job-1");

  v1::CoordinatorMessage registered;
  registered.mutable_registered()->set_worker_id("worker-7");
  Link().on_message(registered);
  Poll();
  // Epoch 1 was written just before the stream broke (it may not have been committed): sent
  // again, before epoch 2, which was buffered.
  const auto epochs = Link().Written(v1::WorkerMessage::kEpoch);
  ASSERT_EQ(epochs.size(), 2u);
  EXPECT_EQ(epochs[0].epoch().metrics().epoch(), 1);
  EXPECT_EQ(epochs[1].epoch().metrics().epoch(), 2);
}

TEST_F(WorkerAgentTest, UnansweredRegisterTimesOutAndReconnects) {
  Poll();
  ASSERT_EQ(connector_.links.size(), 1u);
  Advance(options_.register_timeout + milliseconds(1));
  Poll();
  EXPECT_TRUE(connector_.links[0]->closed);
  Advance(options_.reconnect_max);
  Poll();
  EXPECT_EQ(connector_.links.size(), 2u);
}

TEST_F(WorkerAgentTest, StopWhileTrainingTermsThenKillsAndReportsWorkerStopping) {
  Register();
  ProcessState& child = Assign("job-1");
  child.Emit(Started(20));
  Poll();
  agent_->Stop();
  EXPECT_FALSE(agent_->Poll(milliseconds(0)));
  ASSERT_EQ(child.signals, std::vector<int>{SIGTERM});
  EXPECT_FALSE(agent_->Poll(milliseconds(0))) << "waits for the child";
  Advance(options_.cancel_grace);
  EXPECT_FALSE(agent_->Poll(milliseconds(0)));
  EXPECT_EQ(child.signals, (std::vector<int>{SIGTERM, SIGKILL}));
  child.Exit(-1, SIGKILL);
  EXPECT_TRUE(agent_->Poll(milliseconds(0)));
  const v1::AssignmentFinished report = LastFinished();
  EXPECT_FALSE(report.success());
  EXPECT_TRUE(report.worker_stopping());
  EXPECT_EQ(report.message(), "worker worker-7 shut down");
  EXPECT_TRUE(Link().closed);
  EXPECT_TRUE(Link().drained) << "the last report must reach the coordinator";
}

TEST_F(WorkerAgentTest, CoordinatorCancelIsReportedAsCancelled) {
  Register();
  ProcessState& child = Assign("job-1");
  v1::CoordinatorMessage cancel;
  cancel.mutable_cancel()->set_job_id("job-1");
  cancel.mutable_cancel()->set_attempt(1);
  cancel.mutable_cancel()->set_reason("rank 1 failed");
  Link().on_message(cancel);
  Poll();
  ASSERT_EQ(child.signals, std::vector<int>{SIGTERM});
  child.Exit(-1, SIGTERM);
  Poll();
  EXPECT_TRUE(LastFinished().cancelled());
  EXPECT_EQ(LastFinished().message(), "rank 1 failed");
}

TEST_F(WorkerAgentTest, MalformedChildOutputStopsTheChildAndFailsTheRunNamingTheError) {
  Register();
  ProcessState& child = Assign("job-1");
  child.Emit(Started(20));
  child.on_output(std::string("\x05hello", 6));  // a whole frame whose body is not an event
  Poll();
  ASSERT_EQ(child.signals, std::vector<int>{SIGTERM});
  child.Exit(-1, SIGTERM, "traceback\n");
  Poll();
  const v1::AssignmentFinished report = LastFinished();
  EXPECT_FALSE(report.success());
  EXPECT_FALSE(report.cancelled()) << "a broken run fails, so the coordinator restarts it";
  EXPECT_NE(report.message().find("malformed event stream: frame 2 at byte"), std::string::npos) << report.message();
  EXPECT_NE(report.message().find("5 bytes that are not a bertfleet.v1.AssignmentEvent"), std::string::npos)
      << report.message();
}

TEST_F(WorkerAgentTest, TruncatedChildOutputFailsTheRun) {
  Register();
  ProcessState& child = Assign("job-1");
  const std::string frame = EncodeAssignmentEventFrame(Epoch(1, 0.5));
  child.on_output(frame.substr(0, frame.size() - 2));  // killed mid-write
  child.Exit(0);
  Poll();
  EXPECT_TRUE(Link().Written(v1::WorkerMessage::kEpoch).empty());
  EXPECT_FALSE(LastFinished().success());
  EXPECT_NE(LastFinished().message().find("truncated event stream"), std::string::npos) << LastFinished().message();
}

}  // namespace
}  // namespace bertfleet
