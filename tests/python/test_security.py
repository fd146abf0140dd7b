"""Security of the control plane against a real coordinator (TLS with certificates made by
`openssl`, bearer tokens in SQLite), the real CLI and a real worker agent: who may call what,
with which status code; --insecure only on loopback; paths stay inside the data root."""
import json
import os
import stat
import subprocess
import time

import grpc
import pytest

from coordinator_harness import Coordinator, FakeWorker, minimal_spec
from tls_material import make_ca, make_client_cert


def code_of(call):
    with pytest.raises(grpc.RpcError) as error:
        call()
    return error.value.code(), error.value.details()


def stubs(coordinator, token=None, client_cert=None):
    channel = coordinator.channel_for(token, client_cert)
    pb = coordinator.pb
    return (pb.jobs_grpc.JobServiceStub(channel), pb.workers_grpc.WorkerServiceStub(channel),
            pb.auth_grpc.AuthServiceStub(channel))


def connect_error(coordinator, token, client_cert=None):
    """The status a WorkerService.Connect stream ends with (None if it got `registered`)."""
    worker = FakeWorker(coordinator, worker_id="probe", token=token, client_cert=client_cert)
    try:
        message = worker.next(10)
        return None if message is not None and message.HasField("registered") else worker.error
    finally:
        worker.close()


def test_no_token_or_a_wrong_token_is_unauthenticated(coordinator, bertfleet_pb):
    jobs, pb = bertfleet_pb.jobs, bertfleet_pb
    for token in (None, "bft_" + "0" * 64, coordinator.admin_token + "x"):
        job_stub, worker_stub, auth_stub = stubs(coordinator, token)
        for call in (lambda: job_stub.SubmitJob(jobs.SubmitJobRequest(spec_yaml=minimal_spec()), timeout=10),
                     lambda: job_stub.ListJobs(jobs.ListJobsRequest(), timeout=10),
                     lambda: list(job_stub.WatchJob(jobs.WatchJobRequest(job_id="job-1"), timeout=10)),
                     lambda: worker_stub.PublishRendezvous(pb.workers.PublishRendezvousRequest(job_id="j"), timeout=10),
                     lambda: auth_stub.ListTokens(pb.auth.ListTokensRequest(), timeout=10)):
            code, details = code_of(call)
            assert code == grpc.StatusCode.UNAUTHENTICATED, (token, details)
        error = connect_error(coordinator, token or "")
        assert error is not None and error.code() == grpc.StatusCode.UNAUTHENTICATED, error
    code, details = code_of(lambda: stubs(coordinator)[0].ListJobs(jobs.ListJobsRequest(), timeout=10))
    assert "no token" in details
    # Nothing was created by the refused calls.
    assert len(coordinator.jobs.ListJobs(jobs.ListJobsRequest(), timeout=10).jobs) == 0


def test_users_see_and_cancel_only_their_own_jobs(coordinator, bertfleet_pb, cli_binary):
    jobs = bertfleet_pb.jobs
    alice, _, _ = stubs(coordinator, coordinator.create_token("alice", "user"))
    bob_token = coordinator.create_token("bob", "user")
    bob, _, bob_auth = stubs(coordinator, bob_token)
    job = alice.SubmitJob(jobs.SubmitJobRequest(spec_yaml=minimal_spec()), timeout=10).job
    assert job.owner == "alice"
    bobs_job = bob.SubmitJob(jobs.SubmitJobRequest(spec_yaml=minimal_spec()), timeout=10).job

    for call in (lambda: bob.CancelJob(jobs.CancelJobRequest(job_id=job.id), timeout=10),
                 lambda: bob.GetJob(jobs.GetJobRequest(job_id=job.id), timeout=10),
                 lambda: list(bob.WatchJob(jobs.WatchJobRequest(job_id=job.id), timeout=10))):
        code, details = code_of(call)
        assert code == grpc.StatusCode.PERMISSION_DENIED and job.id in details, details
    assert coordinator.get(job.id).state == jobs.JOB_STATE_QUEUED  # still alive
    assert [j.id for j in bob.ListJobs(jobs.ListJobsRequest(), timeout=10).jobs] == [bobs_job.id]
    # Asking for someone else's jobs by owner does not help a user.
    assert [j.id for j in bob.ListJobs(jobs.ListJobsRequest(owner="alice"), timeout=10).jobs] == [bobs_job.id]
    assert {j.id for j in coordinator.jobs.ListJobs(jobs.ListJobsRequest(), timeout=10).jobs} == {job.id, bobs_job.id}
    assert [j.id for j in coordinator.jobs.ListJobs(jobs.ListJobsRequest(owner="alice"), timeout=10).jobs] == [job.id]
    code, _ = code_of(lambda: bob_auth.CreateToken(bertfleet_pb.auth.CreateTokenRequest(name="mallory",
                                                                                      role=bertfleet_pb.auth.ROLE_ADMIN)))
    assert code == grpc.StatusCode.PERMISSION_DENIED

    # The same refusal through the CLI, with the token from BERTFLEET_TOKEN.
    refused = subprocess.run([str(cli_binary), "--coordinator", coordinator.address, "cancel", job.id],
                             capture_output=True, text=True, timeout=30, env=coordinator.client_env(bob_token))
    assert refused.returncode == 1 and refused.stderr.startswith("bertfleet: PERMISSION_DENIED: "), refused.stderr
    assert alice.CancelJob(jobs.CancelJobRequest(job_id=job.id), timeout=10).state == jobs.JOB_STATE_CANCELLED
    # An admin may cancel anyone's job.
    assert coordinator.jobs.CancelJob(jobs.CancelJobRequest(job_id=bobs_job.id), timeout=10).state == \
        jobs.JOB_STATE_CANCELLED


def test_worker_tokens_are_for_worker_service_only(coordinator, bertfleet_pb):
    jobs, pb = bertfleet_pb.jobs, bertfleet_pb
    worker_jobs, worker_stub, worker_auth = stubs(coordinator, coordinator.worker_token)
    for call in (lambda: worker_jobs.SubmitJob(jobs.SubmitJobRequest(spec_yaml=minimal_spec()), timeout=10),
                 lambda: worker_jobs.ListJobs(jobs.ListJobsRequest(), timeout=10),
                 lambda: worker_jobs.ListWorkers(jobs.ListWorkersRequest(), timeout=10),
                 lambda: worker_auth.ListTokens(pb.auth.ListTokensRequest(), timeout=10)):
        code, details = code_of(call)
        assert code == grpc.StatusCode.PERMISSION_DENIED and "worker token" in details, details
    # ... and WorkerService is for worker tokens only: not users, not even admins.
    for token in (coordinator.create_token("carol", "user"), coordinator.admin_token):
        error = connect_error(coordinator, token)
        assert error is not None and error.code() == grpc.StatusCode.PERMISSION_DENIED, error
    assert connect_error(coordinator, coordinator.worker_token) is None
    worker_stub.PublishRendezvous(pb.workers.PublishRendezvousRequest(job_id="j", attempt=1, payload=b"x"), timeout=10)


def test_revoked_tokens_stop_working_and_tokens_survive_a_restart(coordinator, bertfleet_pb, cli_binary):
    jobs = bertfleet_pb.jobs
    env = coordinator.client_env()
    created = subprocess.run([str(cli_binary), "--coordinator", coordinator.address, "token", "create",
                              "--name", "dave", "--role", "user"], capture_output=True, text=True, timeout=30, env=env)
    assert created.returncode == 0, created.stderr
    dave_token = created.stdout.strip()
    assert dave_token.startswith("bft_") and "shown only this once" in created.stderr
    listed = subprocess.run([str(cli_binary), "--coordinator", coordinator.address, "--json", "token", "list"],
                            capture_output=True, text=True, timeout=30, env=env)
    assert {t["name"]: t["role"] for t in json.loads(listed.stdout)["tokens"]} == {"admin": "ROLE_ADMIN",
                                                                                 "dave": "ROLE_USER"}
    dave, _, _ = stubs(coordinator, dave_token)
    dave.ListJobs(jobs.ListJobsRequest(), timeout=10)

    coordinator.stop()
    again = Coordinator(coordinator.binary, coordinator.workdir, coordinator.pb, db=coordinator.db).start()
    try:
        assert again.admin_token == coordinator.admin_token  # not made anew
        dave, _, _ = stubs(again, dave_token)
        dave.ListJobs(jobs.ListJobsRequest(), timeout=10)
        revoked = subprocess.run([str(cli_binary), "--coordinator", again.address, "token", "revoke", "dave"],
                                 capture_output=True, text=True, timeout=30, env=again.client_env())
        assert revoked.returncode == 0, revoked.stderr
        code, _ = code_of(lambda: dave.ListJobs(jobs.ListJobsRequest(), timeout=10))
        assert code == grpc.StatusCode.UNAUTHENTICATED
    finally:
        again.stop()


def test_first_start_writes_the_admin_token_to_a_0600_file_and_prints_it_once(coordinator):
    token_file = coordinator.state_dir / "admin.token"
    assert stat.S_IMODE(token_file.stat().st_mode) == 0o600
    log = coordinator.log.read_text()
    assert log.count(coordinator.admin_token) == 1
    coordinator.stop()
    again = Coordinator(coordinator.binary, coordinator.workdir, coordinator.pb, db=coordinator.db).start()
    again.stop()
    assert coordinator.log.read_text().count(coordinator.admin_token) == 1


def test_health_and_reflection_need_no_token_but_tls(coordinator, bertfleet_pb):
    anonymous = coordinator.channel_for(None)
    health = bertfleet_pb.health_grpc.HealthStub(anonymous)
    reply = health.Check(bertfleet_pb.health.HealthCheckRequest(service=""), timeout=10)
    assert reply.status == bertfleet_pb.health.HealthCheckResponse.SERVING
    reflection = bertfleet_pb.reflection_grpc.ServerReflectionStub(anonymous)
    request = bertfleet_pb.reflection.ServerReflectionRequest(list_services="")
    names = {s.name for s in list(reflection.ServerReflectionInfo(iter([request]), timeout=10))[0]
             .list_services_response.service}
    assert "bertfleet.v1.AuthService" in names
    # A plaintext client does not even reach the health service.
    plaintext = bertfleet_pb.health_grpc.HealthStub(grpc.insecure_channel(coordinator.address))
    code, _ = code_of(lambda: plaintext.Check(bertfleet_pb.health.HealthCheckRequest(service=""), timeout=5))
    assert code == grpc.StatusCode.UNAVAILABLE


def test_cli_over_tls_and_a_plaintext_cli_is_refused(coordinator, cli_binary, tmp_path):
    user_token = coordinator.create_token("erin", "user")
    spec = tmp_path / "job.yaml"
    spec.write_text(minimal_spec())
    env = coordinator.client_env(user_token)
    submitted = subprocess.run([str(cli_binary), "--coordinator", coordinator.address, "--json", "submit", str(spec)],
                               capture_output=True, text=True, timeout=30, env=env)
    assert submitted.returncode == 0, submitted.stderr
    assert json.loads(submitted.stdout)["owner"] == "erin"

    # The same settings from a client config file (token in a 0600 token file), no environment.
    token_file = tmp_path / "erin.token"
    token_file.write_text(user_token + "\n")
    token_file.chmod(0o600)
    config = tmp_path / "client.yaml"
    config.write_text(f"coordinator: {coordinator.address}\nca_file: {coordinator.tls.ca}\ntoken_file: {token_file}\n")
    bare = {k: v for k, v in os.environ.items() if not k.startswith("BERTFLEET_")}
    listed = subprocess.run([str(cli_binary), "--json", "jobs"], capture_output=True, text=True, timeout=30,
                            env={**bare, "BERTFLEET_CONFIG": str(config)})
    assert listed.returncode == 0, listed.stderr
    assert [j["owner"] for j in json.loads(listed.stdout)["jobs"]] == ["erin"]
    # A token written into a config file that others can read is refused.
    config.write_text(config.read_text() + f"token: {user_token}\n")
    config.chmod(0o644)
    leaky = subprocess.run([str(cli_binary), "jobs"], capture_output=True, text=True, timeout=30,
                           env={**bare, "BERTFLEET_CONFIG": str(config)})
    assert leaky.returncode == 2 and "chmod 600" in leaky.stderr, leaky.stderr

    plaintext = subprocess.run([str(cli_binary), "--coordinator", coordinator.address, "--insecure", "jobs"],
                               capture_output=True, text=True, timeout=30, env=env)
    assert plaintext.returncode == 1 and "UNAVAILABLE" in plaintext.stderr, plaintext.stderr
    no_ca = {k: v for k, v in env.items() if k != "BERTFLEET_CA_FILE"}  # system CAs do not know the test CA
    untrusted = subprocess.run([str(cli_binary), "--coordinator", coordinator.address, "jobs"],
                               capture_output=True, text=True, timeout=30, env=no_ca)
    assert untrusted.returncode == 1 and "UNAVAILABLE" in untrusted.stderr, untrusted.stderr


def wait_for_worker(coordinator, worker_id, timeout=30):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        listed = coordinator.jobs.ListWorkers(coordinator.pb.jobs.ListWorkersRequest(), timeout=10).workers
        if any(w.id == worker_id and w.state == coordinator.pb.jobs.Worker.STATE_IDLE for w in listed):
            return True
        time.sleep(0.1)
    return False


def start_agent(worker_binary, coordinator, worker_id, env, *extra):
    log = open(coordinator.workdir / f"agent-{worker_id}.log", "ab")
    return subprocess.Popen([str(worker_binary), "--coordinator", coordinator.address, "--device", "cpu",
                             "--threads", "1", "--worker-id", worker_id, "--reconnect-max-ms", "500", *extra],
                            stdout=log, stderr=log, env=env)


def stop_agent(agent):
    agent.terminate()
    try:
        agent.wait(timeout=10)
    except subprocess.TimeoutExpired:
        agent.kill()
        agent.wait()


def test_worker_agent_connects_over_tls_with_a_worker_token_only(coordinator, worker_binary):
    good = start_agent(worker_binary, coordinator, "tls-worker", coordinator.client_env(coordinator.worker_token))
    user = start_agent(worker_binary, coordinator, "user-token-worker",
                       coordinator.client_env(coordinator.create_token("frank", "user")))
    try:
        assert wait_for_worker(coordinator, "tls-worker"), (coordinator.workdir / "agent-tls-worker.log").read_text()
        refused_log = coordinator.workdir / "agent-user-token-worker.log"
        deadline = time.monotonic() + 20
        while "needs a worker token" not in refused_log.read_text() and time.monotonic() < deadline:
            time.sleep(0.1)
        assert "needs a worker token" in refused_log.read_text(), refused_log.read_text()
        ids = {w.id for w in coordinator.jobs.ListWorkers(coordinator.pb.jobs.ListWorkersRequest(), timeout=10).workers}
        assert "user-token-worker" not in ids
    finally:
        stop_agent(good)
        stop_agent(user)


def test_mutual_tls_for_workers(coordinator_binary, bertfleet_pb, worker_binary, tmp_path):
    clients = make_ca(tmp_path / "client-ca", "workers-ca")
    cert = make_client_cert(clients, "worker-1")
    rogue_ca = make_ca(tmp_path / "rogue-ca", "rogue-ca")
    rogue = make_client_cert(rogue_ca, "rogue")
    coordinator = Coordinator(coordinator_binary, tmp_path / "coordinator", bertfleet_pb,
                              security_extra=f"tls_client_ca_file: {clients.cert}\nrequire_worker_client_cert: true")
    coordinator.start()
    agent = None
    try:
        error = connect_error(coordinator, coordinator.worker_token)
        assert error.code() == grpc.StatusCode.UNAUTHENTICATED and "client certificate" in error.details()
        assert connect_error(coordinator, coordinator.worker_token, client_cert=cert) is None
        # A certificate from another CA fails the TLS handshake itself.
        error = connect_error(coordinator, coordinator.worker_token, client_cert=rogue)
        assert error.code() == grpc.StatusCode.UNAVAILABLE
        # Users need no client certificate.
        assert coordinator.jobs.ListJobs(bertfleet_pb.jobs.ListJobsRequest(), timeout=10) is not None
        agent = start_agent(worker_binary, coordinator, "mtls-worker", coordinator.client_env(coordinator.worker_token),
                            "--cert-file", str(cert[0]), "--key-file", str(cert[1]))
        assert wait_for_worker(coordinator, "mtls-worker"), (coordinator.workdir / "agent-mtls-worker.log").read_text()
    finally:
        if agent:
            stop_agent(agent)
        coordinator.stop()


def run_coordinator(coordinator_binary, tmp_path, *flags):
    return subprocess.run([str(coordinator_binary), "--db", str(tmp_path / "jobs.db"), "--data-root", str(tmp_path),
                           "--checkpoint-root", str(tmp_path / "ckpt"), *flags],
                          capture_output=True, text=True, timeout=30)


def test_insecure_is_refused_unless_every_listen_address_is_loopback(coordinator_binary, tmp_path):
    for flags in (["--insecure", "--listen", "0.0.0.0:0"], ["--insecure", "--listen", ":0"],
                  ["--insecure", "--listen", "127.0.0.1:0", "--metrics-listen", "0.0.0.0:0"]):
        refused = run_coordinator(coordinator_binary, tmp_path, *flags)
        assert refused.returncode == 1, (flags, refused.stdout, refused.stderr)
        assert "--insecure" in refused.stderr and "loopback" in refused.stderr, refused.stderr
        assert "listening on" not in refused.stdout
    no_tls = run_coordinator(coordinator_binary, tmp_path, "--listen", "127.0.0.1:0")
    assert no_tls.returncode == 1 and "security.tls_cert_file" in no_tls.stderr, no_tls.stderr


def test_insecure_on_loopback_serves_without_tokens(coordinator_binary, bertfleet_pb, cli_binary, tmp_path):
    coordinator = Coordinator(coordinator_binary, tmp_path, bertfleet_pb, insecure=True).start()
    try:
        job = coordinator.submit(minimal_spec())
        listed = subprocess.run([str(cli_binary), "--coordinator", coordinator.address, "--json", "jobs"],
                                capture_output=True, text=True, timeout=30, env=coordinator.client_env())
        assert listed.returncode == 0 and job.id in listed.stdout, listed.stderr
        assert not (coordinator.state_dir / "admin.token").exists()
    finally:
        coordinator.stop()


def test_paths_escaping_the_data_root_through_a_symlink_are_refused(coordinator):
    (coordinator.data_root / "escape").symlink_to("/etc")
    (coordinator.data_root / "models").mkdir()
    for key, value in [("data", "escape"), ("model", "escape/ssl"), ("data", "escape/../mrpc")]:
        code, details = code_of(lambda: coordinator.submit(minimal_spec(**{key: value})))
        assert code == grpc.StatusCode.INVALID_ARGUMENT, (key, value)
        assert details.startswith(f"<submitted spec>: {key}: {value}"), details
    code, details = code_of(lambda: coordinator.submit(minimal_spec(resume_from_checkpoint="/etc")))
    assert code == grpc.StatusCode.INVALID_ARGUMENT and "resume_from_checkpoint: /etc" in details


def test_request_sizes_and_streams_per_client_are_bounded(coordinator_binary, bertfleet_pb, tmp_path):
    coordinator = Coordinator(coordinator_binary, tmp_path, bertfleet_pb, security_extra="max_streams_per_client: 2")
    coordinator.start()
    jobs = bertfleet_pb.jobs
    try:
        huge = "model: x\n# " + "a" * (5 * 1024 * 1024) + "\n"  # over the 4 MiB message limit
        code, _ = code_of(lambda: coordinator.jobs.SubmitJob(jobs.SubmitJobRequest(spec_yaml=huge), timeout=10))
        assert code == grpc.StatusCode.RESOURCE_EXHAUSTED
        large = minimal_spec() + "# " + "a" * (2 * 1024 * 1024) + "\n"  # fits gRPC, not the spec limit
        code, details = code_of(lambda: coordinator.jobs.SubmitJob(jobs.SubmitJobRequest(spec_yaml=large), timeout=10))
        assert code == grpc.StatusCode.INVALID_ARGUMENT and "too large" in details, details
        code, details = code_of(lambda: coordinator.submit(minimal_spec(num_train_epochs=1e12)))
        assert code == grpc.StatusCode.INVALID_ARGUMENT and "num_train_epochs" in details, details

        user = coordinator.create_token("gina", "user")
        job_stub, _, _ = stubs(coordinator, user)
        job = job_stub.SubmitJob(jobs.SubmitJobRequest(spec_yaml=minimal_spec()), timeout=10).job
        open_streams = [job_stub.WatchJob(jobs.WatchJobRequest(job_id=job.id), timeout=30) for _ in range(2)]
        for stream in open_streams:
            next(stream)  # the QUEUED event: the stream is open
        code, details = code_of(lambda: next(job_stub.WatchJob(jobs.WatchJobRequest(job_id=job.id), timeout=10)))
        assert code == grpc.StatusCode.RESOURCE_EXHAUSTED and "max_streams_per_client" in details
        # Another caller is not affected, and a closed stream frees its slot.
        next(coordinator.jobs.WatchJob(jobs.WatchJobRequest(job_id=job.id), timeout=10))
        open_streams[0].cancel()
        deadline = time.monotonic() + 10
        while True:
            try:
                next(job_stub.WatchJob(jobs.WatchJobRequest(job_id=job.id), timeout=10))
                break
            except grpc.RpcError as error:
                assert error.code() == grpc.StatusCode.RESOURCE_EXHAUSTED and time.monotonic() < deadline
                time.sleep(0.1)
    finally:
        coordinator.stop()


def test_refusals_are_counted_by_method_and_code(coordinator_binary, bertfleet_pb, tmp_path):
    import re
    import urllib.request

    coordinator = Coordinator(coordinator_binary, tmp_path, bertfleet_pb, extra_config="metrics_listen: 127.0.0.1:0\n")
    coordinator.start()
    jobs = bertfleet_pb.jobs
    try:
        anonymous, _, _ = stubs(coordinator, None)
        for _ in range(2):
            code_of(lambda: anonymous.ListJobs(jobs.ListJobsRequest(), timeout=10))
        worker_jobs, _, _ = stubs(coordinator, coordinator.worker_token)
        code_of(lambda: worker_jobs.SubmitJob(jobs.SubmitJobRequest(spec_yaml=minimal_spec()), timeout=10))
        coordinator.jobs.ListJobs(jobs.ListJobsRequest(), timeout=10)  # allowed: not counted
        address = re.search(r"metrics listening.*address=(\S+)", coordinator.log.read_text()).group(1)
        text = urllib.request.urlopen(f"http://{address}/metrics", timeout=10).read().decode()
        counts = {}
        for labels, value in re.findall(r"^bertfleet_auth_failures_total\{([^}]*)\} (\S+)$", text, re.M):
            key = dict(re.findall(r'(\w+)="([^"]*)"', labels))
            counts[(key["method"], key["code"])] = float(value)
        assert counts == {("bertfleet.v1.JobService/ListJobs", "UNAUTHENTICATED"): 2.0,
                          ("bertfleet.v1.JobService/SubmitJob", "PERMISSION_DENIED"): 1.0}, text
    finally:
        coordinator.stop()
