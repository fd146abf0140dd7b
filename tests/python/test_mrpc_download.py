"""`bertfleet-worker data --source download` against a real local HTTP server.

The server serves a copy of ../shared/data/mrpc/raw (byte-identical to what Hugging Face
downloads) and implements single byte ranges, which http.server.SimpleHTTPRequestHandler does not,
so resuming an interrupted download can be observed on the wire.
"""
import hashlib
import http.server
import json
import os
import re
import shutil
import socket
import subprocess
import threading

import pytest

RAW_FILES = {  # name -> published sha256 (datasets/glue download_checksums, shared README)
    "mrpc_dev_ids.tsv": "971d7767d81b997fd9060ade0ec23c4fc31cbb226a55d1bd4a1bac474eb81dc7",
    "msr_paraphrase_train.txt": "60a9b09084528f0673eedee2b69cb941920f0b8cd0eeccefc464a98768457f89",
    "msr_paraphrase_test.txt": "a04e271090879aaba6423d65b94950c089298587d9c084bf9cd7439bd785f784",
}


class RangeHandler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def do_GET(self):  # noqa: N802 (http.server naming)
        server = self.server
        range_header = self.headers.get("Range")
        server.requests.append((self.path, range_header))
        path = server.root / self.path.lstrip("/")
        if "/" in self.path.lstrip("/") or not path.is_file():
            self.send_error(404)
            return
        data = path.read_bytes()
        status, body, extra = 200, data, {}
        if range_header and server.honour_ranges:
            match = re.fullmatch(r"bytes=(\d+)-(\d*)", range_header)
            assert match, f"unexpected Range header {range_header!r}"
            start = int(match.group(1))
            end = int(match.group(2)) if match.group(2) else len(data) - 1
            if start >= len(data):
                self.send_response(416)
                self.send_header("Content-Range", f"bytes */{len(data)}")
                self.send_header("Content-Length", "0")
                self.end_headers()
                return
            status, body = 206, data[start : end + 1]
            extra["Content-Range"] = f"bytes {start}-{start + len(body) - 1}/{len(data)}"
        self.send_response(status)
        self.send_header("Content-Type", "application/octet-stream")
        self.send_header("Content-Length", str(len(body)))
        self.send_header("Accept-Ranges", "bytes" if server.honour_ranges else "none")
        for key, value in extra.items():
            self.send_header(key, value)
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args):
        pass


@pytest.fixture()
def server(tmp_path, shared_data):
    root = tmp_path / "served"
    shutil.copytree(shared_data / "mrpc" / "raw", root)
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), RangeHandler)
    httpd.root = root
    httpd.requests = []
    httpd.honour_ranges = True
    httpd.url = f"http://127.0.0.1:{httpd.server_address[1]}"
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield httpd
    httpd.shutdown()
    httpd.server_close()
    thread.join(timeout=5)


def run_data(worker_binary, base_url, cache, split, *extra):
    env = {k: v for k, v in os.environ.items() if not k.startswith(("BERTFLEET_CACHE", "XDG_"))}
    env["BERTFLEET_MRPC_BASE_URL"] = base_url
    env.pop("http_proxy", None), env.pop("HTTP_PROXY", None), env.pop("all_proxy", None)
    return subprocess.run(
        [str(worker_binary), "data", "--source", "download", "--split", split, "--cache", str(cache), *extra],
        env=env, capture_output=True, text=True, timeout=60,
    )


def sha256(path):
    return hashlib.sha256(path.read_bytes()).hexdigest()


def test_download_verifies_caches_and_splits(worker_binary, server, tmp_path):
    cache = tmp_path / "cache"
    result = run_data(worker_binary, server.url, cache, "validation", "--json")
    assert result.returncode == 0, result.stderr
    report = json.loads(result.stdout)
    assert (report["rows"], report["label0"], report["label1"]) == (408, 129, 279)
    raw = cache / "mrpc-raw"
    assert sorted(p.name for p in raw.iterdir()) == sorted(RAW_FILES)
    for name, digest in RAW_FILES.items():
        assert sha256(raw / name) == digest
    assert [path for path, _ in server.requests] == ["/" + name for name in RAW_FILES]

    # Verified files are reused: no second download.
    result = run_data(worker_binary, server.url, cache, "train")
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "split=train rows=3668 label0=1194 label1=2474 positive_ratio=0.6745"
    assert len(server.requests) == 3


def test_tampered_file_is_rejected_and_deleted(worker_binary, server, tmp_path):
    served = server.root / "msr_paraphrase_train.txt"
    served.write_bytes(served.read_bytes().replace(b"Amrozi", b"Amrozy", 1))
    tampered_digest = sha256(served)
    cache = tmp_path / "cache"
    result = run_data(worker_binary, server.url, cache, "train")
    assert result.returncode != 0
    assert "msr_paraphrase_train.txt: sha256 mismatch" in result.stderr
    assert RAW_FILES["msr_paraphrase_train.txt"] in result.stderr
    assert tampered_digest in result.stderr
    left = sorted(p.name for p in (cache / "mrpc-raw").iterdir())
    assert left == ["mrpc_dev_ids.tsv"], left  # only the file that verified stays
    assert sha256(cache / "mrpc-raw" / "mrpc_dev_ids.tsv") == RAW_FILES["mrpc_dev_ids.tsv"]


def test_interrupted_download_resumes_with_range(worker_binary, server, tmp_path):
    full = (server.root / "msr_paraphrase_train.txt").read_bytes()
    raw = tmp_path / "cache" / "mrpc-raw"
    raw.mkdir(parents=True)
    half = len(full) // 2
    (raw / "msr_paraphrase_train.txt.part").write_bytes(full[:half])
    result = run_data(worker_binary, server.url, tmp_path / "cache", "train", "--json")
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout)["rows"] == 3668
    assert ("/msr_paraphrase_train.txt", f"bytes={half}-") in server.requests
    assert sha256(raw / "msr_paraphrase_train.txt") == RAW_FILES["msr_paraphrase_train.txt"]
    assert not (raw / "msr_paraphrase_train.txt.part").exists()


def test_server_without_range_support_restarts_from_zero(worker_binary, server, tmp_path):
    server.honour_ranges = False
    full = (server.root / "msr_paraphrase_test.txt").read_bytes()
    raw = tmp_path / "cache" / "mrpc-raw"
    raw.mkdir(parents=True)
    (raw / "msr_paraphrase_test.txt.part").write_bytes(full[:1000])
    result = run_data(worker_binary, server.url, tmp_path / "cache", "test", "--json")
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout)["rows"] == 1725
    test_requests = [r for r in server.requests if r[0] == "/msr_paraphrase_test.txt"]
    assert test_requests == [("/msr_paraphrase_test.txt", "bytes=1000-"), ("/msr_paraphrase_test.txt", None)]
    assert sha256(raw / "msr_paraphrase_test.txt") == RAW_FILES["msr_paraphrase_test.txt"]


def test_http_error_names_the_url(worker_binary, server, tmp_path):
    (server.root / "msr_paraphrase_test.txt").unlink()
    result = run_data(worker_binary, server.url, tmp_path / "cache", "test")
    assert result.returncode != 0
    assert f"cannot download {server.url}/msr_paraphrase_test.txt" in result.stderr
    assert "404" in result.stderr
    assert not (tmp_path / "cache" / "mrpc-raw" / "msr_paraphrase_test.txt.part").exists()


def test_server_not_running_names_the_url(worker_binary, tmp_path):
    with socket.socket() as probe:  # a port that was free a moment ago and has no listener now
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    base = f"http://127.0.0.1:{port}"
    result = run_data(worker_binary, base, tmp_path / "cache", "validation")
    assert result.returncode != 0
    assert f"cannot download {base}/mrpc_dev_ids.tsv" in result.stderr
    assert "connect" in result.stderr.lower(), result.stderr
    assert list((tmp_path / "cache" / "mrpc-raw").iterdir()) == []
