"""Certificates for the control-plane tests, made with the `openssl` command: a throw-away CA,
a server certificate for 127.0.0.1/localhost and client certificates for mutual TLS."""
import pathlib
import subprocess
import tempfile
import types

_SHARED = None


def _openssl(*args, cwd):
    subprocess.run(["openssl", *args], cwd=cwd, check=True, capture_output=True)


def _signed(directory: pathlib.Path, name: str, subject: str, extensions: str, ca: str, ca_key: str):
    _openssl("req", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes", "-keyout", f"{name}.key",
             "-out", f"{name}.csr", "-subj", subject, cwd=directory)
    (directory / f"{name}.ext").write_text(extensions)
    _openssl("x509", "-req", "-in", f"{name}.csr", "-CA", ca, "-CAkey", ca_key, "-CAcreateserial",
             "-out", f"{name}.pem", "-days", "2", "-extfile", f"{name}.ext", cwd=directory)
    return directory / f"{name}.pem", directory / f"{name}.key"


def make_ca(directory: pathlib.Path, name="ca") -> types.SimpleNamespace:
    directory.mkdir(parents=True, exist_ok=True)
    _openssl("req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes",
             "-keyout", f"{name}.key", "-out", f"{name}.pem", "-days", "2", "-subj", f"/CN=bertfleet test {name}",
             cwd=directory)
    return types.SimpleNamespace(directory=directory, cert=directory / f"{name}.pem", key=directory / f"{name}.key")


def make_server_cert(ca, name="server"):
    return _signed(ca.directory, name, "/CN=localhost",
                   "subjectAltName=DNS:localhost,IP:127.0.0.1\nextendedKeyUsage=serverAuth\n",
                   str(ca.cert), str(ca.key))


def make_client_cert(ca, name):
    return _signed(ca.directory, name, f"/CN={name}", "extendedKeyUsage=clientAuth\n", str(ca.cert), str(ca.key))


def shared_server_material() -> types.SimpleNamespace:
    """One CA and server certificate per test process (openssl takes ~0.1 s a call)."""
    global _SHARED
    if _SHARED is None:
        ca = make_ca(pathlib.Path(tempfile.mkdtemp(prefix="bertfleet-tls-")))
        cert, key = make_server_cert(ca)
        _SHARED = types.SimpleNamespace(ca=ca.cert, cert=cert, key=key, authority=ca)
    return _SHARED
