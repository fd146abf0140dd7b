"""Helpers for the control-plane tests: Python gRPC stubs generated at test time from proto/,
a real bertfleet-coordinator process on a free localhost port, and simulated workers that speak
WorkerService over a real gRPC stream.

Coordinators run secure by default, as in production: TLS with a certificate made by `openssl`
(tls_material.py) and bearer tokens. The harness talks to it with the admin token the
coordinator writes to its state directory on first start; simulated workers use a worker token;
`client_env()` gives CLI and worker-agent subprocesses what they need (token, CA file).
`Coordinator(..., insecure=True)` runs it with --insecure on 127.0.0.1 instead."""
import importlib
import os
import pathlib
import queue
import shutil
import signal
import subprocess
import sys
import threading
import time
import types
import uuid

import grpc

from tls_material import shared_server_material

HERE = pathlib.Path(__file__).parent


def generate_stubs(source_dir: pathlib.Path, out_dir: pathlib.Path) -> types.SimpleNamespace:
    """protoc-generated Python modules for bertfleet.v1 and the health/reflection subsets."""
    out_dir.mkdir(parents=True, exist_ok=True)
    proto_root = source_dir / "proto"
    test_protos = HERE / "protos"
    files = [str(p) for p in sorted((proto_root / "bertfleet" / "v1").glob("*.proto"))]
    files += [str(p) for p in sorted(test_protos.glob("*.proto"))]
    includes = [f"-I{proto_root}", f"-I{test_protos}"]
    try:
        from grpc_tools import protoc  # noqa: F401

        import grpc_tools

        includes.append(f"-I{pathlib.Path(grpc_tools.__file__).parent / '_proto'}")
        command = [sys.executable, "-m", "grpc_tools.protoc", *includes,
                   f"--python_out={out_dir}", f"--grpc_python_out={out_dir}", *files]
    except ImportError:
        protoc, plugin = shutil.which("protoc"), shutil.which("grpc_python_plugin")
        assert protoc and plugin, "need grpcio-tools or protoc + grpc_python_plugin (protobuf-compiler-grpc)"
        includes.append("-I/usr/include")
        command = [protoc, *includes, f"--python_out={out_dir}", f"--grpc_python_out={out_dir}",
                   f"--plugin=protoc-gen-grpc_python={plugin}", *files]
    subprocess.run(command, check=True)
    if str(out_dir) not in sys.path:
        sys.path.insert(0, str(out_dir))
    names = {"auth": "bertfleet.v1.auth_pb2", "auth_grpc": "bertfleet.v1.auth_pb2_grpc",
             "jobs": "bertfleet.v1.jobs_pb2", "jobs_grpc": "bertfleet.v1.jobs_pb2_grpc",
             "files": "bertfleet.v1.files_pb2", "files_grpc": "bertfleet.v1.files_pb2_grpc",
             "sweeps": "bertfleet.v1.sweeps_pb2", "sweeps_grpc": "bertfleet.v1.sweeps_pb2_grpc",
             "workers": "bertfleet.v1.workers_pb2", "workers_grpc": "bertfleet.v1.workers_pb2_grpc",
             "health": "grpc_health_v1_pb2", "health_grpc": "grpc_health_v1_pb2_grpc",
             "reflection": "grpc_reflection_v1alpha_pb2",
             "reflection_grpc": "grpc_reflection_v1alpha_pb2_grpc"}
    return types.SimpleNamespace(**{k: importlib.import_module(v) for k, v in names.items()})


class Coordinator:
    """A bertfleet-coordinator process listening on 127.0.0.1:<free port>."""

    def __init__(self, binary, workdir: pathlib.Path, pb, lease_ms=1500, heartbeat_ms=300,
                 extra_config="", db=None, insecure=False, security_extra=""):
        """`security_extra`: more lines for the config's `security:` mapping (e.g. client CA)."""
        self.binary, self.workdir, self.pb = binary, pathlib.Path(workdir), pb
        self.db = pathlib.Path(db) if db else self.workdir / "jobs.db"
        self.data_root = self.workdir / "data"
        self.data_root.mkdir(parents=True, exist_ok=True)
        self.state_dir = self.workdir / "state"
        self.insecure = insecure
        self.tls = None if insecure else shared_server_material()
        security = ""
        if not insecure:
            security = (f"security:\n  tls_cert_file: {self.tls.cert}\n  tls_key_file: {self.tls.key}\n"
                        + "".join(f"  {line}\n" for line in security_extra.splitlines() if line.strip()))
        self.config = self.workdir / "coordinator.yaml"
        self.config.write_text(
            f"listen: 127.0.0.1:0\ndb: {self.db}\ndata_root: {self.data_root}\n"
            f"checkpoint_root: {self.workdir / 'checkpoints'}\nheartbeat_interval_ms: {heartbeat_ms}\n"
            f"lease_ms: {lease_ms}\nstate_dir: {self.state_dir}\n{security}{extra_config}")
        self.proc = None
        self.address = None
        self.log = self.workdir / "coordinator.log"
        self.admin_token = None
        self._worker_token = None

    def start(self, timeout=20.0):
        flags = ["--insecure"] if self.insecure else []
        self.proc = subprocess.Popen([str(self.binary), "--config", str(self.config), *flags],
                                     stdout=subprocess.PIPE, stderr=open(self.log, "ab"), text=True)
        lines = queue.Queue()
        threading.Thread(target=lambda: lines.put(self.proc.stdout.readline()), daemon=True).start()
        try:
            line = lines.get(timeout=timeout)
        except queue.Empty:
            raise AssertionError(f"coordinator did not start: {self.log.read_text()}")
        assert line.startswith("listening on 127.0.0.1:"), f"{line!r} / {self.log.read_text()}"
        self.address = line.split()[-1]
        if not self.insecure:
            self.admin_token = (self.state_dir / "admin.token").read_text().strip()
        self.channel = self.channel_for(self.admin_token)
        grpc.channel_ready_future(self.channel).result(timeout=timeout)
        self.jobs = self.pb.jobs_grpc.JobServiceStub(self.channel)
        self.sweeps = self.pb.sweeps_grpc.SweepServiceStub(self.channel)
        self.auth = self.pb.auth_grpc.AuthServiceStub(self.channel)
        return self

    def credentials(self, token=None, client_cert=None):
        """TLS channel credentials trusting the test CA, with `token` as bearer token and
        `client_cert` ((cert, key) paths) for mutual TLS."""
        chain = key = None
        if client_cert:
            chain, key = (pathlib.Path(p).read_bytes() for p in client_cert)
        tls = grpc.ssl_channel_credentials(root_certificates=self.tls.ca.read_bytes(), private_key=key,
                                           certificate_chain=chain)
        return grpc.composite_channel_credentials(tls, grpc.access_token_call_credentials(token)) if token else tls

    def channel_for(self, token=None, client_cert=None):
        """A new channel to the coordinator as the holder of `token` (plaintext when insecure)."""
        if self.insecure:
            return grpc.insecure_channel(self.address)
        return grpc.secure_channel(self.address, self.credentials(token, client_cert))

    def create_token(self, name, role):
        """A new token's secret, made with the admin token (role: "admin", "user" or "worker")."""
        roles = {"admin": self.pb.auth.ROLE_ADMIN, "user": self.pb.auth.ROLE_USER, "worker": self.pb.auth.ROLE_WORKER}
        return self.auth.CreateToken(self.pb.auth.CreateTokenRequest(name=name, role=roles[role]), timeout=10).token

    @property
    def worker_token(self):
        """One worker token for this coordinator process's simulated and real workers."""
        if self._worker_token is None and not self.insecure:
            self._worker_token = self.create_token(f"workers-{uuid.uuid4().hex[:8]}", "worker")
        return self._worker_token

    def client_env(self, token=None, base=None):
        """Environment for a `bertfleet` / `bertfleet-worker` subprocess: `token` (default: the
        admin token) and the test CA, or BERTFLEET_INSECURE=1; no user config file."""
        env = dict(os.environ if base is None else base)
        for name in ("BERTFLEET_TOKEN", "BERTFLEET_TOKEN_FILE", "BERTFLEET_CA_FILE", "BERTFLEET_INSECURE",
                     "BERTFLEET_CERT_FILE", "BERTFLEET_KEY_FILE"):
            env.pop(name, None)
        env["BERTFLEET_CONFIG"] = str(self.workdir / "no-client-config.yaml")
        if self.insecure:
            env["BERTFLEET_INSECURE"] = "1"
        else:
            env["BERTFLEET_TOKEN"] = token or self.admin_token
            env["BERTFLEET_CA_FILE"] = str(self.tls.ca)
        return env

    def kill(self):
        self.proc.send_signal(signal.SIGKILL)
        self.proc.wait(timeout=10)
        self.channel.close()

    def stop(self):
        if self.proc and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        if self.address:
            self.channel.close()

    def submit(self, spec_yaml: str):
        return self.jobs.SubmitJob(self.pb.jobs.SubmitJobRequest(spec_yaml=spec_yaml), timeout=10).job

    def get(self, job_id):
        return self.jobs.GetJob(self.pb.jobs.GetJobRequest(job_id=job_id), timeout=10)

    def wait_state(self, job_id, state, timeout=10.0):
        deadline = time.monotonic() + timeout
        while True:
            job = self.get(job_id)
            if job.state == state:
                return job
            assert time.monotonic() < deadline, f"{job_id} stayed {job.state} ({job.message}), wanted {state}"
            time.sleep(0.05)

    def wait_epochs(self, job_id, count, timeout=10.0):
        """The job once it has `count` epochs: reports on one worker's stream are not ordered with
        those on another's, so a test waits for them before acting on a second stream."""
        deadline = time.monotonic() + timeout
        while True:
            job = self.get(job_id)
            if len(job.epochs) >= count:
                return job
            assert time.monotonic() < deadline, f"{job_id} has {len(job.epochs)} epoch(s), wanted {count}"
            time.sleep(0.05)


class FakeWorker:
    """A simulated worker: a real WorkerService.Connect stream driven from Python."""

    def __init__(self, coordinator: Coordinator, worker_id="", device="cpu", protocol=None, running=(),
                 token=None, client_cert=None):
        """`token`: default the coordinator's worker token; "" for none."""
        pb = coordinator.pb
        self.pb = pb
        self.outgoing = queue.Queue()
        self.incoming = queue.Queue()
        self.channel = coordinator.channel_for(coordinator.worker_token if token is None else token or None,
                                               client_cert)
        stub = pb.workers_grpc.WorkerServiceStub(self.channel)
        self.stub = stub
        register = pb.workers.RegisterWorker(
            protocol_version=pb.workers.PROTOCOL_VERSION_1 if protocol is None else protocol,
            worker_id=worker_id, host="localhost", device=device, threads=1, version="test")
        for job_id, attempt, rank in running:
            register.running.add(job_id=job_id, attempt=attempt, rank=rank)
        self.outgoing.put(pb.workers.WorkerMessage(register=register))
        self.call = stub.Connect(self._requests())
        self.error = None
        self.reader = threading.Thread(target=self._read, daemon=True)
        self.reader.start()
        self.worker_id = None

    def _requests(self):
        while True:
            message = self.outgoing.get()
            if message is None:
                return
            yield message

    def _read(self):
        try:
            for message in self.call:
                self.incoming.put(message)
        except grpc.RpcError as error:
            self.error = error
        self.incoming.put(None)

    def registered(self, timeout=5.0):
        message = self.next(timeout)
        assert message is not None and message.HasField("registered"), f"{message} {self.error}"
        self.worker_id = message.registered.worker_id
        return message.registered

    def next(self, timeout=5.0):
        return self.incoming.get(timeout=timeout)

    def next_of(self, kind, timeout=5.0):
        """The next coordinator message of this kind (assignment, cancel), skipping none."""
        message = self.next(timeout)
        assert message is not None, f"stream ended: {self.error}"
        assert message.HasField(kind), f"expected {kind}, got {message}"
        return getattr(message, kind)

    def no_message(self, seconds=0.5):
        try:
            message = self.incoming.get(timeout=seconds)
        except queue.Empty:
            return True
        raise AssertionError(f"unexpected message {message}")

    def send(self, **kwargs):
        self.outgoing.put(self.pb.workers.WorkerMessage(**kwargs))

    def started(self, assignment, total_steps=100):
        self.send(started=self.pb.workers.AssignmentStarted(
            job_id=assignment.job_id, attempt=assignment.attempt, rank=assignment.rank,
            total_steps=total_steps))

    def finished(self, assignment, success=True, message="", cancelled=False, **extra):
        self.send(finished=self.pb.workers.AssignmentFinished(
            job_id=assignment.job_id, attempt=assignment.attempt, rank=assignment.rank,
            success=success, message=message, cancelled=cancelled, **extra))

    def heartbeats(self, interval=0.2):
        """Keeps the lease alive from a background thread until close()."""
        self._beating = True

        def beat():
            while self._beating:
                self.send(heartbeat=self.pb.workers.Heartbeat())
                time.sleep(interval)
        threading.Thread(target=beat, daemon=True).start()
        return self

    def close(self):
        self._beating = False
        self.outgoing.put(None)
        self.channel.close()


def minimal_spec(**overrides) -> str:
    """A valid job spec (hub model id, downloaded data) with extra keys."""
    keys = {"model": "sentence-transformers/all-MiniLM-L6-v2", "task": "mrpc", "data": "download",
            "num_train_epochs": 1}
    keys.update(overrides)
    return "".join(f"{k}: {v}\n" for k, v in keys.items())
