"""Data-parallel jobs end to end (issue 5): a real coordinator and real worker agents whose
`run-assignment` processes train a tiny BERT together over Gloo. The ranks meet only through the
coordinator's rendezvous (rank 0 publishes its store address, the others fetch it): no fixed
ports, no environment variables."""
import re

import pytest

from coordinator_harness import FakeWorker
from worker_fleet import AgentFleet, tiny_job, wait_for


@pytest.fixture(scope="module")
def fleet(coordinator_binary, worker_binary, cli_binary, bertfleet_pb, tmp_path_factory, tiny_model_dir,
          shared_data):
    instance = AgentFleet(coordinator_binary, worker_binary, cli_binary, bertfleet_pb,
                          tmp_path_factory.mktemp("dp-fleet"), tiny_model_dir, shared_data, workers=("w1", "w2"))
    yield instance
    instance.stop()


def test_two_rank_job_succeeds_with_rank0_metrics_once_per_epoch(fleet):
    job_id = fleet.submit(tiny_job(train=64, epochs=2, world_size=2), "two-ranks")
    job = fleet.wait_state(job_id, "SUCCEEDED", timeout=120)
    assert list(job.worker_ids) == ["w1", "w2"], fleet.logs()
    # 64 rows, global batch 8 x 2 ranks = 16: 4 optimizer steps per epoch, whatever the world size.
    assert (job.global_step, job.total_steps) == (8, 8)
    assert [(m.epoch, m.global_step) for m in job.epochs] == [(1, 4), (2, 8)]
    assert all(m.evaluated and 0.0 <= m.eval_accuracy <= 1.0 for m in job.epochs)
    assert job.final_metrics.evaluated and job.restarts == 0
    assert fleet.epoch_rows(job_id) == [(1, 4), (2, 8)]  # once per epoch in SQLite
    replay = list(fleet.coordinator.jobs.WatchJob(fleet.pb.jobs.WatchJobRequest(job_id=job_id), timeout=10))
    assert [e.epoch.epoch for e in replay if e.WhichOneof("event") == "epoch"] == [1, 2]

    # The ranks met through the coordinator: rank 0 published its store, rank 1 dialled that address.
    published = re.findall(r"publishing rendezvous address (127\.0\.0\.1:\d+)",
                           (fleet.workdir / "agent-w1.log").read_text())
    fetched = re.findall(r"rank 0's rendezvous: (127\.0\.0\.1:\d+)", (fleet.workdir / "agent-w2.log").read_text())
    assert published and published[-1] == fetched[-1], fleet.logs()
    assert (fleet.job(job_id).output_dir and
            (fleet.coordinator.workdir / "checkpoints" / job_id / "model.safetensors").exists())


def test_a_rank_whose_rank0_never_publishes_fails_naming_rank0(fleet):
    # A simulated worker that sorts first becomes rank 0 and never starts a store; the real agent
    # (rank 1) gives up after its rendezvous timeout and the attempt fails saying who is missing.
    for name in ("w1", "w2"):
        fleet.signal_agent(name)
    fleet.start_agent("w1", rendezvous_timeout_ms=1500)  # only w1 is idle beside the silent one
    wait_for(lambda: "w1" in fleet.idle_workers(), 30, "w1 back")
    silent = FakeWorker(fleet.coordinator, worker_id="a-silent")
    silent.registered()
    silent.heartbeats()
    try:
        job_id = fleet.submit(tiny_job(epochs=1, world_size=2, max_restarts=0), "silent-rank0")
        assert silent.next_of("assignment", timeout=10).rank == 0
        job = fleet.wait_state(job_id, "FAILED", timeout=60)
        assert job.message.startswith("rank 1 (worker w1) failed: no rendezvous with rank 0"), job.message
        assert "rank 0 has not published its rendezvous" in job.message
    finally:
        silent.close()
        fleet.signal_agent("w1")
        fleet.start_agent("w1")
        fleet.start_agent("w2")
        wait_for(lambda: {"w1", "w2"} <= fleet.idle_workers(), 30, "w1 and w2 idle again")
