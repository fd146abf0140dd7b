#!/usr/bin/env python3
"""Chaos: kill random workers of a running multi-worker job, N times, and check that the job still
ends SUCCEEDED with every epoch recorded exactly once.

Real coordinator, real worker agents (tests/python/worker_fleet.py), a tiny BERT on real MRPC
rows. Each round waits a random moment while the job is RUNNING, SIGKILLs the agent of a random
rank (its training process dies with it), and starts that agent again, so a fresh gang can form.
The job allows N restarts. CTest runs it with a small N; run it longer by hand:

    .venv/bin/python tests/chaos/kill_workers.py --kills 10 --seed 7 --build-dir build
"""
import argparse
import os
import pathlib
import random
import signal
import sys
import tempfile
import time

SOURCE_DIR = pathlib.Path(__file__).resolve().parents[2]
sys.path.insert(0, str(SOURCE_DIR / "tests" / "python"))

from conftest import make_tiny_model  # noqa: E402
from coordinator_harness import generate_stubs  # noqa: E402
from worker_fleet import AgentFleet, tiny_job, wait_for  # noqa: E402


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--kills", type=int, default=3, help="how many workers to kill (default 3)")
    parser.add_argument("--workers", type=int, default=3, help="agents in the fleet (default 3)")
    parser.add_argument("--world-size", type=int, default=2)
    parser.add_argument("--epochs", type=int, default=3)
    parser.add_argument("--seed", type=int, default=int(time.time()))
    parser.add_argument("--build-dir", default=os.environ.get("BERTFLEET_BUILD_DIR", SOURCE_DIR / "build"))
    args = parser.parse_args()
    if args.workers < args.world_size:
        parser.error("--workers must be at least --world-size")
    rng = random.Random(args.seed)
    build = pathlib.Path(args.build_dir)
    shared = SOURCE_DIR.parent / "shared" / "data"
    print(f"chaos: seed {args.seed}, {args.kills} kills, {args.workers} workers, world_size {args.world_size}",
          flush=True)

    with tempfile.TemporaryDirectory(prefix="bertfleet-chaos-") as tmp:
        tmp = pathlib.Path(tmp)
        pb = generate_stubs(SOURCE_DIR, tmp / "pb")
        model = make_tiny_model(tmp / "tiny-model", shared / "bert-base-uncased")
        names = [f"w{i + 1}" for i in range(args.workers)]
        (tmp / "fleet").mkdir()
        fleet = AgentFleet(build / "coordinator" / "bertfleet-coordinator", build / "worker" / "bertfleet-worker",
                           build / "cli" / "bertfleet", pb, tmp / "fleet", model, shared, workers=names)
        try:
            # 960 rows / (8 x world_size) steps per epoch, a checkpoint every 5 steps (last 2 kept).
            spec = tiny_job(train=960, epochs=args.epochs, save="steps", save_steps=5, save_total_limit=2,
                            world_size=args.world_size, max_restarts=args.kills)
            job_id = fleet.submit(spec, "chaos")
            jobs = fleet.pb.jobs
            kills = 0
            while kills < args.kills:
                wait_for(lambda: fleet.job(job_id).state in (jobs.JOB_STATE_RUNNING, jobs.JOB_STATE_SUCCEEDED,
                                                             jobs.JOB_STATE_FAILED), 180, f"{job_id} running")
                time.sleep(rng.uniform(0.2, 1.5))
                job = fleet.job(job_id)
                if job.state in (jobs.JOB_STATE_SUCCEEDED, jobs.JOB_STATE_FAILED):
                    break
                if job.state != jobs.JOB_STATE_RUNNING:
                    continue  # between attempts: wait for the next one
                victim = rng.choice(list(job.worker_ids))
                kills += 1
                print(f"chaos: kill {kills}: SIGKILL {victim} (rank {list(job.worker_ids).index(victim)}) "
                      f"at step {job.global_step}/{job.total_steps}", flush=True)
                fleet.signal_agent(victim, signal.SIGKILL)
                fleet.start_agent(victim)
            done = fleet.wait_state(job_id, "SUCCEEDED", timeout=300)
            assert kills == args.kills, f"the job ended after {kills} of {args.kills} kills: make it longer"
            steps_per_epoch = 960 // (8 * args.world_size)
            expected = [(e, e * steps_per_epoch) for e in range(1, args.epochs + 1)]
            rows = fleet.epoch_rows(job_id)
            assert rows == expected, f"epoch rows {rows}, expected {expected}"
            assert [m.epoch for m in done.epochs] == [e for e, _ in expected]
            print(f"chaos: {job_id} SUCCEEDED after {done.restarts} restart(s) in {len(done.attempts)} attempt(s); "
                  f"epochs {[e for e, _ in rows]} recorded once each", flush=True)
            for attempt in done.attempts:
                print(f"  attempt {attempt.attempt} {','.join(attempt.worker_ids)} {attempt.outcome} "
                      f"from {attempt.resumed_from or '-'}: {attempt.message}", flush=True)
        except BaseException:
            print(fleet.logs(), file=sys.stderr)
            raise
        finally:
            fleet.stop()


if __name__ == "__main__":
    main()
