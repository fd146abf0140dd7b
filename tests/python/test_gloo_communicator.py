"""The Gloo communicator across real processes (tests/tools/gloo_collective_tool.cc): results of
all-reduce / average / broadcast / barrier, and failures that name the rank at fault within the
configured timeout: a rank SIGKILLed while the others wait inside an all-reduce, a rank that is
alive but never reaches the all-reduce, and a rank that never arrives at the rendezvous."""
import json
import pathlib
import signal
import subprocess
import time

import pytest

TIMEOUT_SECONDS = 6  # the communicator's; every failure must come within it (plus process slack)


@pytest.fixture(scope="module")
def tool(build_dir) -> pathlib.Path:
    path = build_dir / "tests" / "tools" / "gloo_collective_tool"
    assert path.exists(), f"{path} not built"
    probe = subprocess.run([str(path), "--help"], capture_output=True, text=True)
    if probe.returncode == 77:
        pytest.skip("this build has no Gloo communicator")
    return path


def start_group(tool, world_size, extra_args=None, skip_ranks=(), timeout=TIMEOUT_SECONDS):
    """Starts rank 0, reads its port, then the other ranks (except skip_ranks)."""
    extra_args = extra_args or {}
    def command(rank, address=None):
        args = [str(tool), "--rank", str(rank), "--world-size", str(world_size), "--timeout-seconds", str(timeout)]
        if address:
            args += ["--address", address]
        return args + extra_args.get(rank, [])

    rank0 = subprocess.Popen(command(0), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    line = rank0.stdout.readline()
    assert line.startswith("port "), (line, rank0.stderr.read() if rank0.poll() is not None else "")
    address = f"127.0.0.1:{int(line.split()[1])}"
    processes = {0: rank0}
    for rank in range(1, world_size):
        if rank not in skip_ranks:
            processes[rank] = subprocess.Popen(command(rank, address), stdout=subprocess.PIPE,
                                               stderr=subprocess.PIPE, text=True)
    return processes


def finish(process, limit=60):
    stdout, stderr = process.communicate(timeout=limit)
    return process.returncode, stdout, stderr


def test_collectives_give_the_same_results_on_every_rank(tool):
    world = 3
    processes = start_group(tool, world)
    for rank, process in processes.items():
        code, stdout, stderr = finish(process)
        assert code == 0, stderr
        rounds = [json.loads(line) for line in stdout.splitlines() if line.startswith("{")]
        assert len(rounds) == 3
        for result in rounds:
            r = result["round"]
            expected_sum = sum((k + 1) * (r + 1) for k in range(world))
            assert result["sum_min"] == result["sum_max"] == expected_sum
            assert result["strided"] == 16 * sum(k + 1 for k in range(world))
            assert result["average"] == pytest.approx(sum(range(world)) / world)
            assert result["root"] == r % world
            assert result["broadcast"] == result["root"] * 10 + 7


def assert_names_rank(stderr, text):
    assert text in stderr, stderr


def test_a_rank_killed_inside_an_allreduce_is_named_by_the_others(tool):
    processes = start_group(tool, 3, extra_args={1: ["--pause-at-round", "1"]})
    victim = processes[1]
    assert victim.stdout.readline().startswith("{")  # round 0 done
    assert victim.stdout.readline().strip() == "paused"
    time.sleep(0.5)  # ranks 0 and 2 are inside round 1's all-reduce by now
    killed_at = time.monotonic()
    victim.send_signal(signal.SIGKILL)
    victim.wait()
    for rank in (0, 2):
        code, _, stderr = finish(processes[rank], limit=TIMEOUT_SECONDS + 30)
        elapsed = time.monotonic() - killed_at
        assert code == 1
        assert_names_rank(stderr, "rank 1 is gone")
        assert "all-reduce" in stderr
        assert elapsed < TIMEOUT_SECONDS + 5, elapsed


def test_a_rank_that_never_reaches_the_allreduce_is_named_after_the_timeout(tool):
    processes = start_group(tool, 2, extra_args={1: ["--pause-at-round", "0"]})
    assert processes[1].stdout.readline().strip() == "paused"
    started = time.monotonic()
    code, _, stderr = finish(processes[0], limit=TIMEOUT_SECONDS + 30)
    elapsed = time.monotonic() - started
    processes[1].kill()
    processes[1].wait()
    assert code == 1
    assert_names_rank(stderr, "rank 1 is alive but has not arrived")
    assert elapsed < TIMEOUT_SECONDS + 5, elapsed


def test_a_rank_that_never_arrives_at_the_rendezvous_is_named(tool):
    started = time.monotonic()
    processes = start_group(tool, 3, skip_ranks=(2,))
    for rank in (0, 1):
        code, _, stderr = finish(processes[rank], limit=TIMEOUT_SECONDS + 30)
        assert code == 1
        assert_names_rank(stderr, "rank 2 of 3 did not arrive")
    assert time.monotonic() - started < TIMEOUT_SECONDS + 5


def test_without_rank_zero_the_others_name_it(tool):
    # Nobody serves the store: a closed port on localhost.
    import socket

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    code, _, stderr = finish(subprocess.Popen(
        [str(tool), "--rank", "1", "--world-size", "2", "--timeout-seconds", "2", "--address", f"127.0.0.1:{port}"],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True))
    assert code == 1
    assert_names_rank(stderr, "rank 0 did not arrive")
