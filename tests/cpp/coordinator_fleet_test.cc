// The Fleet's state machine driven directly: fake worker sessions, an injected clock, a real
// SQLite store in a temporary directory. No sockets, no sleeps.
#include "coordinator/fleet.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <memory>

#include "coordinator/sqlite_job_store.h"

namespace bertfleet::coordinator {
namespace {

namespace fs = std::filesystem;
using std::chrono::milliseconds;

class ManualClock final : public FleetClock {
 public:
  std::chrono::steady_clock::time_point Now() const override { return now_; }
  int64_t WallMs() const override { return 1'700'000'000'000 + std::chrono::duration_cast<milliseconds>(now_.time_since_epoch()).count(); }
  void Advance(milliseconds by) { now_ += by; }

 private:
  std::chrono::steady_clock::time_point now_{};
};

// What a worker's Connect stream would carry to it.
class RecordingSession final : public WorkerSession {
 public:
  void Send(const v1::CoordinatorMessage& message) override { sent.push_back(message); }
  void Close(const grpc::Status& status) override {
    closed = true;
    close_status = status;
  }
  std::vector<v1::Assignment> Assignments() const {
    std::vector<v1::Assignment> out;
    for (const auto& m : sent) {
      if (m.has_assignment()) out.push_back(m.assignment());
    }
    return out;
  }
  std::vector<v1::CancelAssignment> Cancels() const {
    std::vector<v1::CancelAssignment> out;
    for (const auto& m : sent) {
      if (m.has_cancel()) out.push_back(m.cancel());
    }
    return out;
  }
  std::vector<v1::CoordinatorMessage> sent;
  bool closed = false;
  grpc::Status close_status;
};

class FleetTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() / ("bertfleet-fleet-" + std::to_string(getpid()) + "-" +
                                        ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::remove_all(dir_);
    fs::create_directories(dir_);
    store_ = std::make_unique<SqliteJobStore>((dir_ / "jobs.db").string());
    StartFleet();
  }
  void TearDown() override {
    fleet_.reset();
    store_.reset();
    fs::remove_all(dir_);
  }

  // A coordinator (re)start over the same store.
  void StartFleet() {
    fleet_.reset();
    FleetOptions options;
    options.data_root = dir_.string();
    options.checkpoint_root = (dir_ / "checkpoints").string();
    options.lease_ms = 10'000;
    options.cancel_timeout_ms = 5'000;
    options.recovery_grace_ms = 8'000;
    options.clock = &clock_;
    fleet_ = std::make_unique<Fleet>(store_.get(), &hub_, &rendezvous_, options);
  }

  v1::Job Submit(int world_size, int priority = 0, int max_restarts = 3, int min_world_size = -1) {
    JobSpec spec;
    spec.world_size = world_size;
    spec.min_world_size = min_world_size;
    spec.priority = priority;
    spec.max_restarts = max_restarts;
    spec.device = "cpu";
    v1::Job job;
    EXPECT_TRUE(fleet_->Submit("world_size: " + std::to_string(world_size) + "\n", spec, "alice", "", &job).ok());
    return job;
  }

  uint64_t Attach(RecordingSession& session, const std::string& worker_id,
                  const std::vector<v1::Assignment>& running = {}) {
    v1::RegisterWorker request;
    request.set_protocol_version(v1::PROTOCOL_VERSION_1);
    request.set_worker_id(worker_id);
    request.set_device("cpu");
    for (const auto& a : running) {
      auto* entry = request.add_running();
      entry->set_job_id(a.job_id());
      entry->set_attempt(a.attempt());
      entry->set_rank(a.rank());
    }
    return fleet_->Attach(&session, request);
  }

  v1::Job Job(const std::string& id) {
    v1::Job job;
    EXPECT_TRUE(fleet_->Get(id, &job).ok());
    return job;
  }

  static v1::WorkerMessage Started(const v1::Assignment& a) {
    v1::WorkerMessage m;
    m.mutable_started()->set_job_id(a.job_id());
    m.mutable_started()->set_attempt(a.attempt());
    m.mutable_started()->set_rank(a.rank());
    m.mutable_started()->set_total_steps(10);
    return m;
  }
  static v1::WorkerMessage Finished(const v1::Assignment& a, bool success, bool cancelled = false) {
    v1::WorkerMessage m;
    auto* f = m.mutable_finished();
    f->set_job_id(a.job_id());
    f->set_attempt(a.attempt());
    f->set_rank(a.rank());
    f->set_success(success);
    f->set_cancelled(cancelled);
    if (success) f->mutable_final_metrics()->set_eval_accuracy(0.75);
    return m;
  }

  fs::path dir_;
  ManualClock clock_;
  WatchHub hub_;
  Rendezvous rendezvous_;
  std::unique_ptr<SqliteJobStore> store_;
  std::unique_ptr<Fleet> fleet_;
};

TEST_F(FleetTest, GangStartsOnlyWhenEveryRankHasAnIdleWorker) {
  const v1::Job job = Submit(2);
  RecordingSession a, b;
  const uint64_t sa = Attach(a, "a");
  EXPECT_TRUE(a.Assignments().empty()) << "a partial gang must not start";
  EXPECT_EQ(Job(job.id()).state(), v1::JOB_STATE_QUEUED);
  const uint64_t sb = Attach(b, "b");
  ASSERT_EQ(a.Assignments().size(), 1u);
  ASSERT_EQ(b.Assignments().size(), 1u);
  EXPECT_EQ(a.Assignments()[0].rank(), 0);
  EXPECT_EQ(b.Assignments()[0].rank(), 1);
  EXPECT_EQ(a.Assignments()[0].world_size(), 2);
  EXPECT_EQ(Job(job.id()).state(), v1::JOB_STATE_SCHEDULED);

  fleet_->OnMessage(sa, Started(a.Assignments()[0]));
  EXPECT_EQ(Job(job.id()).state(), v1::JOB_STATE_SCHEDULED) << "RUNNING needs every rank";
  fleet_->OnMessage(sb, Started(b.Assignments()[0]));
  EXPECT_EQ(Job(job.id()).state(), v1::JOB_STATE_RUNNING);

  fleet_->OnMessage(sb, Finished(b.Assignments()[0], true));
  EXPECT_EQ(Job(job.id()).state(), v1::JOB_STATE_RUNNING);
  fleet_->OnMessage(sa, Finished(a.Assignments()[0], true));
  const v1::Job done = Job(job.id());
  EXPECT_EQ(done.state(), v1::JOB_STATE_SUCCEEDED);
  EXPECT_DOUBLE_EQ(done.final_metrics().eval_accuracy(), 0.75);
}

TEST_F(FleetTest, HigherPriorityFirstFifoAmongEquals) {
  const v1::Job low = Submit(1, /*priority=*/0);
  const v1::Job first_high = Submit(1, /*priority=*/5);
  const v1::Job second_high = Submit(1, /*priority=*/5);
  RecordingSession w1, w2, w3;
  Attach(w1, "w1");
  Attach(w2, "w2");
  ASSERT_EQ(w1.Assignments().size(), 1u);
  ASSERT_EQ(w2.Assignments().size(), 1u);
  EXPECT_EQ(w1.Assignments()[0].job_id(), first_high.id());
  EXPECT_EQ(w2.Assignments()[0].job_id(), second_high.id());
  EXPECT_EQ(Job(low.id()).state(), v1::JOB_STATE_QUEUED);
  Attach(w3, "w3");
  ASSERT_EQ(w3.Assignments().size(), 1u);
  EXPECT_EQ(w3.Assignments()[0].job_id(), low.id());
}

TEST_F(FleetTest, ExpiredLeaseLosesTheWorkerAndRequeuesItsJob) {
  const v1::Job job = Submit(1);
  RecordingSession w;
  const uint64_t session = Attach(w, "w");
  ASSERT_EQ(w.Assignments().size(), 1u);
  clock_.Advance(milliseconds(9'000));
  fleet_->OnMessage(session, v1::WorkerMessage());  // any message renews the lease (a heartbeat)
  clock_.Advance(milliseconds(9'000));
  fleet_->Tick();
  EXPECT_FALSE(w.closed) << "18 s of a 10 s lease, but renewed after 9 s";
  clock_.Advance(milliseconds(1'001));
  fleet_->Tick();
  EXPECT_TRUE(w.closed);
  EXPECT_EQ(w.close_status.error_code(), grpc::StatusCode::UNAVAILABLE);
  const v1::Job requeued = Job(job.id());
  EXPECT_EQ(requeued.state(), v1::JOB_STATE_QUEUED);
  EXPECT_EQ(requeued.restarts(), 1);
  EXPECT_NE(requeued.message().find("lease expired"), std::string::npos) << requeued.message();
}

TEST_F(FleetTest, LosingOneRankMidGangCancelsTheOthersAndRestartsFromTheCheckpoint) {
  const v1::Job job = Submit(2);
  RecordingSession a, b, c;
  const uint64_t sa = Attach(a, "a");
  const uint64_t sb = Attach(b, "b");
  fleet_->OnMessage(sa, Started(a.Assignments()[0]));
  fleet_->OnMessage(sb, Started(b.Assignments()[0]));
  v1::WorkerMessage checkpoint;
  checkpoint.mutable_checkpoint()->set_job_id(job.id());
  checkpoint.mutable_checkpoint()->set_attempt(1);
  checkpoint.mutable_checkpoint()->set_global_step(5);
  checkpoint.mutable_checkpoint()->set_path("/ckpt/checkpoint-5");
  fleet_->OnMessage(sa, checkpoint);

  fleet_->Detach(sb, "stream broke");
  ASSERT_EQ(a.Cancels().size(), 1u) << "rank 0 must stop: its collectives would time out";
  EXPECT_EQ(a.Cancels()[0].attempt(), 1);
  v1::Job requeued = Job(job.id());
  EXPECT_EQ(requeued.state(), v1::JOB_STATE_QUEUED);
  EXPECT_EQ(requeued.latest_checkpoint(), "/ckpt/checkpoint-5");

  // Rank 0 confirms; a new worker makes a full gang again: attempt 2 resumes.
  fleet_->OnMessage(sa, Finished(a.Assignments()[0], false, /*cancelled=*/true));
  Attach(c, "c");
  ASSERT_EQ(a.Assignments().size(), 2u);
  ASSERT_EQ(c.Assignments().size(), 1u);
  EXPECT_EQ(a.Assignments()[1].attempt(), 2);
  EXPECT_EQ(a.Assignments()[1].resume_from(), "last");
  EXPECT_EQ(Job(job.id()).attempt(), 2);
}

TEST_F(FleetTest, NoRestartsLeftFailsTheJob) {
  const v1::Job job = Submit(1, 0, /*max_restarts=*/0);
  RecordingSession w;
  const uint64_t session = Attach(w, "w");
  v1::WorkerMessage failed = Finished(w.Assignments()[0], false);
  failed.mutable_finished()->set_message("CUDA out of memory");
  fleet_->OnMessage(session, failed);
  const v1::Job result = Job(job.id());
  EXPECT_EQ(result.state(), v1::JOB_STATE_FAILED);
  EXPECT_NE(result.message().find("CUDA out of memory"), std::string::npos) << result.message();
}

TEST_F(FleetTest, UnconfirmedCancelEndsAfterTheCancelTimeoutNamingTheWorker) {
  const v1::Job job = Submit(1);
  RecordingSession w;
  Attach(w, "w");
  bool done = false;
  ASSERT_TRUE(fleet_->Cancel(job.id(), [&](const v1::Job&) { done = true; }).ok());
  ASSERT_EQ(w.Cancels().size(), 1u);
  clock_.Advance(milliseconds(4'999));
  fleet_->Tick();
  EXPECT_NE(Job(job.id()).state(), v1::JOB_STATE_CANCELLED) << "the worker still has 1 ms to confirm";
  EXPECT_FALSE(done);
  clock_.Advance(milliseconds(2));
  fleet_->Tick();
  const v1::Job cancelled = Job(job.id());
  EXPECT_EQ(cancelled.state(), v1::JOB_STATE_CANCELLED);
  EXPECT_TRUE(done);
  EXPECT_NE(cancelled.message().find("not confirmed within 5000 ms by w"), std::string::npos) << cancelled.message();
}

TEST_F(FleetTest, RestartedCoordinatorResumesAJobWhoseWorkersReportIt) {
  const v1::Job job = Submit(1);
  RecordingSession before;
  const uint64_t session = Attach(before, "w");
  fleet_->OnMessage(session, Started(before.Assignments()[0]));
  ASSERT_EQ(Job(job.id()).state(), v1::JOB_STATE_RUNNING);

  StartFleet();  // the coordinator restarts; the worker's child kept training
  RecordingSession after;
  Attach(after, "w", before.Assignments());
  EXPECT_TRUE(after.Cancels().empty());
  EXPECT_TRUE(after.Assignments().empty()) << "the running attempt continues; no new one";
  const v1::Job resumed = Job(job.id());
  EXPECT_EQ(resumed.state(), v1::JOB_STATE_RUNNING);
  EXPECT_EQ(resumed.attempt(), 1);
}

TEST_F(FleetTest, RestartedCoordinatorRequeuesAJobNobodyReportsWithinTheGrace) {
  const v1::Job job = Submit(1);
  RecordingSession before;
  const uint64_t session = Attach(before, "w");
  fleet_->OnMessage(session, Started(before.Assignments()[0]));

  StartFleet();
  clock_.Advance(milliseconds(7'999));
  fleet_->Tick();
  EXPECT_EQ(Job(job.id()).state(), v1::JOB_STATE_RUNNING) << "still inside the recovery grace";
  clock_.Advance(milliseconds(2));
  fleet_->Tick();
  EXPECT_EQ(Job(job.id()).state(), v1::JOB_STATE_QUEUED);

  // A worker that reports an attempt this coordinator no longer runs is told to cancel it.
  RecordingSession late;
  Attach(late, "w", before.Assignments());
  ASSERT_FALSE(late.Cancels().empty());
  EXPECT_EQ(late.Cancels()[0].attempt(), 1);
}

TEST_F(FleetTest, RetriedSubmitWithTheSameRequestIdReturnsTheFirstJobEvenAfterARestart) {
  JobSpec spec;
  v1::Job first, retry, other_user, restarted;
  ASSERT_TRUE(fleet_->Submit("a: 1\n", spec, "alice", "req-1", &first).ok());
  ASSERT_TRUE(fleet_->Submit("a: 1\n", spec, "alice", "req-1", &retry).ok());
  EXPECT_EQ(retry.id(), first.id());
  ASSERT_TRUE(fleet_->Submit("a: 1\n", spec, "bob", "req-1", &other_user).ok());
  EXPECT_NE(other_user.id(), first.id()) << "request ids are per user";
  v1::Job clash;
  const grpc::Status reused = fleet_->Submit("a: 2\n", spec, "alice", "req-1", &clash);
  EXPECT_EQ(reused.error_code(), grpc::StatusCode::ALREADY_EXISTS);
  EXPECT_NE(reused.error_message().find(first.id()), std::string::npos) << reused.error_message();

  StartFleet();  // the request id is in the store
  ASSERT_TRUE(fleet_->Submit("a: 1\n", spec, "alice", "req-1", &restarted).ok());
  EXPECT_EQ(restarted.id(), first.id());
  v1::ListJobsResponse listed;
  ASSERT_TRUE(fleet_->List(v1::ListJobsRequest(), &listed).ok());
  EXPECT_EQ(listed.jobs_size(), 2);
}


namespace elastic {

v1::WorkerMessage Checkpoint(const v1::Assignment& a, int64_t step) {
  v1::WorkerMessage m;
  m.mutable_checkpoint()->set_job_id(a.job_id());
  m.mutable_checkpoint()->set_attempt(a.attempt());
  m.mutable_checkpoint()->set_global_step(step);
  m.mutable_checkpoint()->set_path("/ckpt/checkpoint-" + std::to_string(step));
  return m;
}

v1::WorkerMessage Epoch(const v1::Assignment& a, int64_t epoch, int64_t step) {
  v1::WorkerMessage m;
  m.mutable_epoch()->set_job_id(a.job_id());
  m.mutable_epoch()->set_attempt(a.attempt());
  m.mutable_epoch()->mutable_metrics()->set_epoch(epoch);
  m.mutable_epoch()->mutable_metrics()->set_global_step(step);
  return m;
}

}  // namespace elastic

TEST_F(FleetTest, AnElasticJobShrinksToTheSurvivorAndGrowsBackAtACheckpointKeepingItsEpochs) {
  const v1::Job job = Submit(2, 0, 3, /*min_world_size=*/1);
  RecordingSession a, b, b2;
  const uint64_t sa = Attach(a, "a");
  const uint64_t sb = Attach(b, "b");
  ASSERT_EQ(a.Assignments().size(), 1u) << "with one idle worker an elastic job starts (on it alone)";
  EXPECT_EQ(a.Assignments()[0].world_size(), 1);
  EXPECT_EQ(Job(job.id()).current_world_size(), 1);
  // b arrived while a ran alone: at a's next checkpoint the job stops to grow... but first run on.
  fleet_->OnMessage(sa, Started(a.Assignments()[0]));
  ASSERT_EQ(b.Assignments().size(), 0u);
  fleet_->OnMessage(sa, elastic::Checkpoint(a.Assignments()[0], 4));
  ASSERT_EQ(a.Cancels().size(), 1u) << "the checkpoint is the boundary: the lone rank stops";
  EXPECT_EQ(Job(job.id()).state(), v1::JOB_STATE_RUNNING) << "active until its rank stopped";
  // The epoch reported after that checkpoint still counts, and b is not given the job yet.
  fleet_->OnMessage(sa, elastic::Epoch(a.Assignments()[0], 1, 4));
  EXPECT_EQ(Job(job.id()).epochs_size(), 1);
  EXPECT_EQ(b.Assignments().size(), 0u);
  fleet_->OnMessage(sa, Finished(a.Assignments()[0], false, /*cancelled=*/true));
  ASSERT_EQ(a.Assignments().size(), 2u);
  ASSERT_EQ(b.Assignments().size(), 1u);
  EXPECT_EQ(a.Assignments()[1].world_size(), 2);
  v1::Job grown = Job(job.id());
  EXPECT_EQ(grown.current_world_size(), 2);
  EXPECT_EQ(grown.restarts(), 0) << "growing is no failure";
  ASSERT_EQ(grown.attempts_size(), 2);
  EXPECT_EQ(grown.attempts(0).outcome(), "RESIZED");
  EXPECT_NE(grown.attempts(0).message().find("growing from 1 worker to 2 at /ckpt/checkpoint-4"), std::string::npos)
      << grown.attempts(0).message();

  // b is lost with no replacement: the job goes on on a alone, resuming from the checkpoint.
  fleet_->OnMessage(sa, Started(a.Assignments()[1]));
  fleet_->OnMessage(sb, Started(b.Assignments()[0]));
  fleet_->Detach(sb, "stream broke");
  fleet_->OnMessage(sa, Finished(a.Assignments()[1], false, /*cancelled=*/true));
  ASSERT_EQ(a.Assignments().size(), 3u);
  EXPECT_EQ(a.Assignments()[2].world_size(), 1);
  EXPECT_EQ(a.Assignments()[2].resume_from(), "last");
  const v1::Job shrunk = Job(job.id());
  EXPECT_EQ(shrunk.current_world_size(), 1);
  EXPECT_EQ(shrunk.world_size(), 2);
  EXPECT_EQ(shrunk.restarts(), 1);
  // A resize event per change of size, stored with the job's history.
  std::vector<std::pair<int, int>> resizes;
  for (const auto& event : store_->LoadEvents(job.id())) {
    if (event.has_resize()) resizes.emplace_back(event.resize().from_world_size(), event.resize().to_world_size());
  }
  EXPECT_EQ(resizes, (std::vector<std::pair<int, int>>{{0, 1}, {1, 2}, {2, 1}}));
  // b comes back after the last step's checkpoint: no growth, nothing left to train.
  fleet_->OnMessage(sa, Started(a.Assignments()[2]));
  Attach(b2, "b");
  fleet_->OnMessage(sa, elastic::Checkpoint(a.Assignments()[2], 10));  // total_steps is 10 (Started)
  EXPECT_EQ(a.Cancels().size(), 2u) << "only the cancels of the growth and of b's loss";
}

}  // namespace
}  // namespace bertfleet::coordinator
