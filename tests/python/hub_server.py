"""A stand-in for the Hugging Face hub's file endpoint, for the model download tests.

Serves GET /{org}/{name}/resolve/main/{file} from ROOT/{org}/{name}/{file} the way the hub does:
X-Repo-Commit (from ROOT/{org}/{name}/.commit, if present) and an ETag on every response;
*.safetensors answered with a 302 to a "CDN" URL (with X-Linked-Etag = sha256, as for LFS files)
whose response carries a different ETag; when ROOT/{org}/{name}/.token exists, requests without
"Authorization: Bearer <token>" get 401. Every request is appended to ROOT/requests.jsonl.

Run standalone (the C++ tests do): python3 hub_server.py ROOT PORT_FILE [CDN_HOST]
It binds 127.0.0.1 on a free port and writes the port to PORT_FILE once it is listening.
"""
import hashlib
import http.server
import json
import pathlib
import sys
import threading


def make_handler(root: pathlib.Path, cdn_host: str):
    log_lock = threading.Lock()

    class Handler(http.server.BaseHTTPRequestHandler):
        def log_message(self, *args):  # keep test output quiet
            pass

        def _log(self, status):
            entry = {"path": self.path, "status": status, "authorization": self.headers.get("Authorization")}
            with log_lock, open(root / "requests.jsonl", "a") as log:
                log.write(json.dumps(entry) + "\n")

        def _send(self, status, body=b"", headers=()):
            self._log(status)
            self.send_response(status)
            for name, value in headers:
                self.send_header(name, value)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def do_GET(self):
            parts = self.path.split("/")
            if len(parts) == 3 and parts[1] == "cdn":  # /cdn/<org>--<name>--<file>
                org, name, file = parts[2].split("--", 2)
                path = root / org / name / file
                if not path.is_file():
                    return self._send(404)
                return self._send(200, path.read_bytes(), [("ETag", '"cdn-etag-not-the-hash"')])
            # /{org}/{name}/resolve/main/{file}
            if len(parts) != 6 or parts[3] != "resolve" or parts[4] != "main":
                return self._send(404)
            org, name, file = parts[1], parts[2], parts[5]
            repo = root / org / name
            token_file = repo / ".token"
            if token_file.is_file():
                if self.headers.get("Authorization") != "Bearer " + token_file.read_text().strip():
                    return self._send(401)
            path = repo / file
            if file.startswith(".") or not path.is_file():
                return self._send(404)
            body = path.read_bytes()
            headers = []
            commit_file = repo / ".commit"
            if commit_file.is_file():
                headers.append(("X-Repo-Commit", commit_file.read_text().strip()))
            if file.endswith(".safetensors"):
                sha256 = hashlib.sha256(body).hexdigest()
                host, port = self.server.server_address[:2]
                location = f"http://{cdn_host or host}:{port}/cdn/{org}--{name}--{file}"
                headers += [("Location", location), ("X-Linked-Etag", f'"{sha256}"'), ("ETag", '"git-oid"')]
                return self._send(302, b"", headers)
            headers.append(("ETag", '"' + hashlib.sha1(body).hexdigest() + '"'))
            return self._send(200, body, headers)

    return Handler


def start(root: pathlib.Path, cdn_host: str = "") -> http.server.ThreadingHTTPServer:
    """Starts the server in a daemon thread; the port is server.server_address[1]."""
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), make_handler(pathlib.Path(root), cdn_host))
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server


def write_repo(root: pathlib.Path, repo_id: str, files: dict, commit: str = "", token: str = "") -> None:
    repo = pathlib.Path(root) / repo_id
    repo.mkdir(parents=True, exist_ok=True)
    for name, content in files.items():
        (repo / name).write_bytes(content if isinstance(content, bytes) else content.encode())
    if commit:
        (repo / ".commit").write_text(commit)
    if token:
        (repo / ".token").write_text(token)


if __name__ == "__main__":
    root_dir, port_file = pathlib.Path(sys.argv[1]), pathlib.Path(sys.argv[2])
    server = http.server.ThreadingHTTPServer(
        ("127.0.0.1", 0), make_handler(root_dir, sys.argv[3] if len(sys.argv) > 3 else ""))
    temporary = port_file.with_suffix(".tmp")
    temporary.write_text(str(server.server_address[1]))
    temporary.rename(port_file)
    server.serve_forever()
