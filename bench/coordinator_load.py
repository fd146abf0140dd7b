#!/usr/bin/env python3
"""Load generator for the real bertfleet-coordinator.

Starts build/coordinator/bertfleet-coordinator on 127.0.0.1:<free port> with a temporary SQLite
db (through tests/python/coordinator_harness.Coordinator, the same config the control-plane tests
use) and drives it with simulated workers over real WorkerService.Connect streams (grpc.aio, all
in this one process). Measures:

  1. submit-to-assignment latency with one free worker: from the SubmitJob call to the worker's
     stream delivering the Assignment (the worker then reports started + finished and the next
     submit waits until the job is SUCCEEDED, so the worker is idle again);
  2. with N connected idle `cpu` workers (default 200, heartbeating at the coordinator's default
     interval) and M queued `device: cuda` jobs (default 1,000): the scheduler only places a job
     on idle workers of the job's device, so the jobs stay QUEUED while every worker message
     still runs a full scheduling pass over them. Measured there:
       - SubmitJob latency (the queue growing from M to M + --extra-submits);
       - heartbeat processing: WorkerService has no heartbeat ack, so a probe worker sends a
         Heartbeat and (a) the coordinator's stamp of it (Worker.last_heartbeat, set when the
         message is processed, floored to 1 ms, same host clock) + 1 ms minus the send time: an
         upper bound on send-to-processed, and (b) the
         time until ListWorkers shows that stamp (an upper bound: includes ListWorkers polling);
       - GetJob and ListWorkers unary latency;
  3. the coordinator's memory: VmRSS / VmHWM from /proc/<pid>/status.

Exits non-zero only on errors (a missed target is reported, not an error).

  .venv/bin/python bench/coordinator_load.py [--workers 200] [--queued 1000] [--submits 50]
"""
import argparse
import asyncio
import os
import pathlib
import random
import statistics
import sys
import tempfile
import time

import grpc

SOURCE_DIR = pathlib.Path(__file__).resolve().parents[1]
sys.path.insert(0, str(SOURCE_DIR / "tests" / "python"))
from coordinator_harness import Coordinator, generate_stubs, minimal_spec  # noqa: E402


def pct(values, q):
    """Nearest-rank percentile (q in 0..100) of a non-empty list."""
    ordered = sorted(values)
    k = max(0, min(len(ordered) - 1, int(round(q / 100 * len(ordered) + 0.5)) - 1))
    return ordered[k]


def summary(values_ms):
    return (len(values_ms), statistics.median(values_ms), pct(values_ms, 99), max(values_ms))


def cpu_s(pid):
    """utime + stime of a process, in seconds."""
    fields = pathlib.Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


T0 = time.perf_counter()


def phase(name, pid=None):
    extra = f", coordinator CPU {cpu_s(pid):.1f} s" if pid else ""
    print(f"[{time.perf_counter() - T0:6.1f} s] {name}{extra}", file=sys.stderr, flush=True)


def memory(pid):
    fields = {}
    for line in pathlib.Path(f"/proc/{pid}/status").read_text().splitlines():
        key, _, value = line.partition(":")
        if key in ("VmRSS", "VmHWM", "Threads"):
            fields[key] = value.strip()
    return fields


def ts_ms(ts):
    return ts.seconds * 1000 + ts.nanos // 1_000_000


class SimWorker:
    """A simulated worker on a grpc.aio Connect stream."""

    def __init__(self, pb, channel, worker_id, device):
        self.pb, self.worker_id, self.device = pb, worker_id, device
        self.stub = pb.workers_grpc.WorkerServiceStub(channel)
        self.call = None
        self.assignments = asyncio.Queue()
        self.unexpected = []
        self.reader = self.beater = None

    async def connect(self, heartbeat_s, timeout=10):
        pb = self.pb.workers
        self.call = self.stub.Connect()
        await asyncio.wait_for(self.call.write(pb.WorkerMessage(register=pb.RegisterWorker(
            protocol_version=pb.PROTOCOL_VERSION_1, worker_id=self.worker_id, host="localhost",
            device=self.device, threads=1, version="bench"))), timeout)
        first = await asyncio.wait_for(self.call.read(), timeout)
        if first is grpc.aio.EOF or not first.HasField("registered"):
            raise RuntimeError(f"{self.worker_id}: no Registered reply: {first}")
        self.reader = asyncio.create_task(self._read())
        if heartbeat_s:
            self.beater = asyncio.create_task(self._beat(heartbeat_s))
        return self

    async def _read(self):
        while True:
            message = await self.call.read()
            if message is grpc.aio.EOF:
                return
            if message.HasField("assignment"):
                await self.assignments.put((time.perf_counter(), message.assignment))
            else:
                self.unexpected.append(message)

    async def _beat(self, interval):
        await asyncio.sleep(random.uniform(0, interval))  # spread the fleet's heartbeats
        while True:
            await self.heartbeat()
            await asyncio.sleep(interval)

    async def heartbeat(self):
        await self.call.write(self.pb.workers.WorkerMessage(heartbeat=self.pb.workers.Heartbeat()))

    async def send(self, **kwargs):
        await self.call.write(self.pb.workers.WorkerMessage(**kwargs))

    async def close(self):
        for task in (self.beater, self.reader):
            if task:
                task.cancel()
        if self.call:
            self.call.cancel()


def channel(address):
    # A local subchannel pool: every channel gets its own TCP connection.
    return grpc.aio.insecure_channel(address, options=[("grpc.use_local_subchannel_pool", 1)])


async def part1(args, coord, pb, results):
    jobs = pb.jobs
    ch = channel(coord.address)
    stub = pb.jobs_grpc.JobServiceStub(ch)
    worker = await SimWorker(pb, ch, "free-1", "cpu").connect(args.heartbeat_ms / 1000)
    spec = minimal_spec(model="models/dummy", data="mrpc")
    to_assignment, submit_rpc = [], []
    for i in range(args.submits):
        t0 = time.perf_counter()
        job = (await stub.SubmitJob(jobs.SubmitJobRequest(spec_yaml=spec), timeout=10)).job
        submit_rpc.append((time.perf_counter() - t0) * 1e3)
        t_recv, a = await asyncio.wait_for(worker.assignments.get(), 10)
        if a.job_id != job.id:
            raise RuntimeError(f"assignment for {a.job_id}, submitted {job.id}")
        to_assignment.append((t_recv - t0) * 1e3)
        await worker.send(started=pb.workers.AssignmentStarted(
            job_id=a.job_id, attempt=a.attempt, rank=a.rank, total_steps=1))
        await worker.send(finished=pb.workers.AssignmentFinished(
            job_id=a.job_id, attempt=a.attempt, rank=a.rank, success=True))
        deadline = time.monotonic() + 10
        while (await stub.GetJob(jobs.GetJobRequest(job_id=job.id), timeout=10)).state != \
                jobs.JOB_STATE_SUCCEEDED:
            if time.monotonic() > deadline:
                raise RuntimeError(f"{job.id} did not succeed")
            await asyncio.sleep(0.002)
    if worker.unexpected:
        raise RuntimeError(f"unexpected messages to the free worker: {worker.unexpected[:3]}")
    await worker.close()
    await ch.close()
    results["p1_assign"] = summary(to_assignment)
    results["p1_submit"] = summary(submit_rpc)
    phase("p1_submit", coord.proc.pid)


async def part2(args, coord, pb, results):
    jobs = pb.jobs
    n_channels = max(1, (args.workers + args.streams_per_channel - 1) // args.streams_per_channel)
    worker_channels = [channel(coord.address) for _ in range(n_channels)]
    client_ch = channel(coord.address)
    stub = pb.jobs_grpc.JobServiceStub(client_ch)

    t = time.perf_counter()
    fleet = []
    for start in range(0, args.workers, 50):
        batch = [SimWorker(pb, worker_channels[i % n_channels], f"load-{i:04d}", "cpu")
                 for i in range(start, min(args.workers, start + 50))]
        fleet += await asyncio.gather(*(w.connect(args.heartbeat_ms / 1000) for w in batch))
    results["p2_connect_s"] = time.perf_counter() - t
    phase("p2_connect_s", coord.proc.pid)

    spec = minimal_spec(model="models/dummy", data="mrpc", device="cuda")
    request = jobs.SubmitJobRequest(spec_yaml=spec)
    fill, ids = [], []
    t = time.perf_counter()
    for _ in range(args.queued):
        t0 = time.perf_counter()
        ids.append((await stub.SubmitJob(request, timeout=10)).job.id)
        fill.append((time.perf_counter() - t0) * 1e3)
    results["p2_fill"] = summary(fill)
    results["p2_fill_s"] = time.perf_counter() - t
    phase("p2_fill_s", coord.proc.pid)
    await asyncio.sleep(args.heartbeat_ms / 1000 * 1.5)  # a full heartbeat round at this size

    # SubmitJob with the queue at `queued` (growing by extra_submits).
    submits = []
    for _ in range(args.extra_submits):
        t0 = time.perf_counter()
        ids.append((await stub.SubmitJob(request, timeout=10)).job.id)
        submits.append((time.perf_counter() - t0) * 1e3)
        await asyncio.sleep(0.005)
    results["p2_submit"] = summary(submits)
    phase("p2_submit", coord.proc.pid)

    # Heartbeat processing, through a probe worker that only heartbeats when probing.
    probe = await SimWorker(pb, worker_channels[0], "probe", "cpu").connect(0)
    stamped, visible = [], []
    list_req = jobs.ListWorkersRequest()
    for _ in range(args.probes):
        await asyncio.sleep(0.02)
        sent_ms = time.time() * 1e3
        t0 = time.perf_counter()
        await probe.heartbeat()
        while True:
            listed = await stub.ListWorkers(list_req, timeout=10)
            mine = next(w for w in listed.workers if w.id == "probe")
            if ts_ms(mine.last_heartbeat) >= int(sent_ms):
                visible.append((time.perf_counter() - t0) * 1e3)
                # stamp is floor(processing time) in ms, so stamp + 1 - send is an upper bound.
                stamped.append(ts_ms(mine.last_heartbeat) + 1 - sent_ms)
                break
            if time.perf_counter() - t0 > 5:
                raise RuntimeError("probe heartbeat not seen within 5 s")
    probe.beater = asyncio.create_task(probe._beat(args.heartbeat_ms / 1000))  # keep its lease
    results["p2_hb_stamp"] = summary(stamped)
    results["p2_hb_visible"] = summary(visible)
    phase("p2_hb_visible", coord.proc.pid)

    getjob, listw = [], []
    for i in range(args.probes * 2):
        t0 = time.perf_counter()
        job = await stub.GetJob(jobs.GetJobRequest(job_id=random.choice(ids)), timeout=10)
        getjob.append((time.perf_counter() - t0) * 1e3)
        if job.state != jobs.JOB_STATE_QUEUED:
            raise RuntimeError(f"{job.id} is {jobs.JobState.Name(job.state)}, expected QUEUED")
        await asyncio.sleep(0.005)
    for _ in range(args.probes):
        t0 = time.perf_counter()
        listed = await stub.ListWorkers(list_req, timeout=10)
        listw.append((time.perf_counter() - t0) * 1e3)
        await asyncio.sleep(0.005)
    results["p2_getjob"] = summary(getjob)
    results["p2_listworkers"] = summary(listw)
    phase("p2_listworkers", coord.proc.pid)
    idle = sum(1 for w in listed.workers if w.state == jobs.Worker.STATE_IDLE)
    if idle != args.workers + 1:
        raise RuntimeError(f"{idle} idle workers listed, expected {args.workers + 1}")
    stray = [w.worker_id for w in fleet + [probe] if w.unexpected or not w.assignments.empty()
             or w.reader.done()]
    if stray:
        raise RuntimeError(f"workers with assignments, other messages or a closed stream: {stray[:5]}")
    results["p2_queued"] = len(ids)
    results["mem_load"] = memory(coord.proc.pid)

    for w in fleet + [probe]:
        await w.close()
    for ch in worker_channels + [client_ch]:
        await ch.close()


async def run(args, coord, pb, results):
    results["mem_start"] = memory(coord.proc.pid)
    await part1(args, coord, pb, results)
    results["mem_p1"] = memory(coord.proc.pid)
    await part2(args, coord, pb, results)


def report(args, results):
    rows = []

    def row(name, key, target=None):
        n, p50, p99, mx = results[key]
        met = "" if target is None else ("yes" if p99 < target else "NO")
        rows.append((name, n, f"{p50:.2f}", f"{p99:.2f}", f"{mx:.2f}",
                     "" if target is None else f"p99<{target:g}", met))

    row("1. submit -> Assignment received (1 free worker)", "p1_assign", args.target_assign_ms)
    row("   SubmitJob RPC alone (empty queue)", "p1_submit")
    row(f"2. SubmitJob, {args.queued}->{results['p2_queued']} queued jobs", "p2_submit",
        args.target_load_ms)
    row("   heartbeat send -> processed (coordinator stamp + 1 ms, bound)", "p2_hb_stamp",
        args.target_load_ms)
    row("   heartbeat send -> visible in ListWorkers (upper bound)", "p2_hb_visible")
    row("   GetJob", "p2_getjob", args.target_load_ms)
    row(f"   ListWorkers ({args.workers + 1} workers)", "p2_listworkers", args.target_load_ms)
    row(f"   (fill: SubmitJob 0->{args.queued} queued)", "p2_fill")
    headers = ("measurement (ms)", "n", "p50", "p99", "max", "target", "met")
    widths = [max(len(str(r[i])) for r in rows + [headers]) for i in range(len(headers))]
    fmt = lambda r: "  ".join(str(c).ljust(w) if i == 0 else str(c).rjust(w)  # noqa: E731
                              for i, (c, w) in enumerate(zip(r, widths)))
    print(fmt(headers))
    print("  ".join("-" * w for w in widths))
    for r in rows:
        print(fmt(r))
    print()
    print(f"load: {args.workers} idle cpu workers (+1 probe) heartbeating every {args.heartbeat_ms} ms, "
          f"connected in {results['p2_connect_s']:.2f} s; {args.queued} cuda jobs queued in "
          f"{results['p2_fill_s']:.2f} s")
    for key, label in (("mem_start", "coordinator memory at start"),
                       ("mem_p1", f"after part 1 ({args.submits} jobs run)"),
                       ("mem_load", f"at load ({args.workers + 1} streams, {results['p2_queued']} queued)")):
        m = results[key]
        print(f"{label}: VmRSS {m['VmRSS']}, VmHWM {m['VmHWM']}, threads {m['Threads']}")


def main():
    import faulthandler
    import signal
    faulthandler.register(signal.SIGUSR1, all_threads=True)  # `kill -USR1 <pid>`: where it hangs
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--build-dir", type=pathlib.Path, default=SOURCE_DIR / "build")
    parser.add_argument("--submits", type=int, default=50, help="part 1 repetitions")
    parser.add_argument("--workers", type=int, default=200)
    parser.add_argument("--queued", type=int, default=1000)
    parser.add_argument("--extra-submits", type=int, default=200, help="SubmitJob samples at load")
    parser.add_argument("--probes", type=int, default=200, help="heartbeat / unary samples at load")
    parser.add_argument("--heartbeat-ms", type=int, default=2000,
                        help="worker heartbeat interval (coordinator default 2000)")
    parser.add_argument("--lease-ms", type=int, default=10000, help="coordinator default 10000")
    parser.add_argument("--streams-per-channel", type=int, default=25)
    parser.add_argument("--target-assign-ms", type=float, default=100)
    parser.add_argument("--target-load-ms", type=float, default=20)
    parser.add_argument("--run-timeout", type=float, default=150, help="seconds, then fail")
    parser.add_argument("--keep", action="store_true", help="keep the temp dir (db, log)")
    args = parser.parse_args()

    binary = args.build_dir / "coordinator" / "bertfleet-coordinator"
    if not binary.exists():
        sys.exit(f"{binary} not built")
    tmp = pathlib.Path(tempfile.mkdtemp(prefix="bertfleet-load-"))
    pb = generate_stubs(SOURCE_DIR, tmp / "stubs")
    # --insecure (loopback): the benchmark measures the scheduler and store, as the earlier runs did;
    # the harness's default is TLS + tokens.
    coord = Coordinator(binary, tmp / "coord", pb, lease_ms=args.lease_ms, heartbeat_ms=args.heartbeat_ms,
                        insecure=True)
    for sub in ("models/dummy", "mrpc"):  # local paths in the spec (only checked to be inside)
        (coord.data_root / sub).mkdir(parents=True, exist_ok=True)
    phase("stubs generated")
    coord.start()
    phase("coordinator started")
    results = {}
    try:
        print(f"coordinator pid {coord.proc.pid} on {coord.address}, db {coord.db}, "
              f"{os.cpu_count()} CPUs (load generator on the same machine)", flush=True)
        try:
            asyncio.run(asyncio.wait_for(run(args, coord, pb, results), args.run_timeout))
        except asyncio.TimeoutError:
            raise RuntimeError(f"the benchmark did not finish within {args.run_timeout} s "
                               f"(--run-timeout); phases done: {sorted(results)}") from None
    finally:
        phase("stopping", coord.proc.pid)
        coord.stop()
        phase("stopped")
        if args.keep:
            print(f"kept {tmp}")
        else:
            import shutil
            shutil.rmtree(tmp, ignore_errors=True)
    print()
    report(args, results)


if __name__ == "__main__":
    # grpcio 1.51's aio layer can spin forever in interpreter shutdown after its event loop is
    # gone, so leave with os._exit once everything is printed and the coordinator is stopped.
    code = 0
    try:
        main()
    except SystemExit as e:
        code = e.code if isinstance(e.code, int) else (print(e.code, file=sys.stderr) or 1)
    except BaseException:
        import traceback
        traceback.print_exc()
        code = 1
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(code)
