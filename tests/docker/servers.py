"""Real counterparts on 127.0.0.1: Debian's docker-registry, skopeo, a token service.

Each server runs on a free loopback port, with its files in a temporary
directory, and is stopped by its PID when the test (or fixture) ends.
"""

from __future__ import annotations

import base64
import contextlib
import datetime as dt
import http.server
import json
import socket
import subprocess
import threading
import time
import urllib.error
import urllib.request
import warnings

from collections.abc import Generator
from pathlib import Path
from typing import Any

import attrs

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa
from cryptography.x509.oid import NameOID


# How long a server may take to start on a busy 2-core machine.
STARTUP_SECONDS = 30.0


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def bcrypt_hash(password: str) -> str:
    """A bcrypt hash for an htpasswd file (Python's crypt, deprecated but present)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        import crypt

        # bcrypt ($2b$), what docker-registry's htpasswd accepts.
        return crypt.crypt(password, crypt.mksalt(crypt.METHOD_BLOWFISH))  # noqa: S324


@attrs.frozen
class Registry:
    host: str  # 127.0.0.1:PORT
    scheme: str
    ca_file: Path | None = None
    credentials: tuple[str, str] | None = None


def _wait_ready(process: subprocess.Popen[bytes], port: int, log: Path) -> None:
    deadline = time.monotonic() + STARTUP_SECONDS
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"docker-registry exited: {log.read_text()}")
        with (
            contextlib.suppress(OSError),
            socket.create_connection(("127.0.0.1", port), 0.5),
        ):
            return
        time.sleep(0.05)
    raise RuntimeError(f"docker-registry did not start: {log.read_text()}")


@contextlib.contextmanager
def docker_registry(
    binary: str,
    workdir: Path,
    *,
    tls: tuple[Path, Path] | None = None,
    htpasswd: tuple[str, str] | None = None,
    token: dict[str, str] | None = None,
) -> Generator[int, None, None]:
    """Run ``docker-registry serve`` on a free port; yield the port."""
    port = free_port()
    storage = workdir / "storage"
    storage.mkdir(parents=True, exist_ok=True)
    config: dict[str, Any] = {
        "version": 0.1,
        "log": {"level": "warn", "accesslog": {"disabled": True}},
        "storage": {
            "filesystem": {"rootdirectory": str(storage)},
            "delete": {"enabled": True},
        },
        "http": {"addr": f"127.0.0.1:{port}", "secret": "test-secret"},
    }
    if tls is not None:
        config["http"]["tls"] = {"certificate": str(tls[0]), "key": str(tls[1])}
    if htpasswd is not None:
        users = workdir / "htpasswd"
        users.write_text(f"{htpasswd[0]}:{bcrypt_hash(htpasswd[1])}\n")
        config["auth"] = {"htpasswd": {"realm": "test-realm", "path": str(users)}}
    if token is not None:
        config["auth"] = {"token": token}
    config_file = workdir / "config.yml"
    # JSON is YAML: no YAML writer needed.
    config_file.write_text(json.dumps(config))
    log = workdir / "registry.log"
    with log.open("wb") as log_file:
        process = subprocess.Popen(
            [binary, "serve", str(config_file)],
            stdout=log_file,
            stderr=subprocess.STDOUT,
        )
    try:
        _wait_ready(process, port, log)
        yield port
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def skopeo_copy(
    skopeo: str,
    source: str,
    destination: str,
    *,
    cert_dir: Path | None = None,
    creds: tuple[str, str] | None = None,
    extra: tuple[str, ...] = (),
) -> None:
    """``skopeo copy`` into a registry on 127.0.0.1."""
    command = [skopeo, "--insecure-policy", "copy", "--quiet", *extra]
    if cert_dir is None:
        command.append("--dest-tls-verify=false")
    else:
        command.append(f"--dest-cert-dir={cert_dir}")
    if creds is not None:
        command.append(f"--dest-creds={creds[0]}:{creds[1]}")
    command += [source, destination]
    result = subprocess.run(command, capture_output=True, check=False, timeout=300)
    if result.returncode != 0:
        raise RuntimeError(f"skopeo copy failed: {result.stderr.decode()}")


# --------------------------------------------------------------------------
# A bearer token service: the registry's `auth: token` trusts its certificate.


def _b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


@attrs.define
class TokenService:
    """Issues registry tokens (RS256 JWTs with an ``x5c`` chain) to one user."""

    port: int
    issuer: str
    service: str
    certificate_file: Path
    key: rsa.RSAPrivateKey
    certificate: x509.Certificate
    credentials: tuple[str, str]
    requests: list[dict[str, str]] = attrs.field(factory=list[dict[str, str]])

    @property
    def realm(self) -> str:
        return f"http://127.0.0.1:{self.port}/token"

    def registry_config(self) -> dict[str, str]:
        return {
            "realm": self.realm,
            "service": self.service,
            "issuer": self.issuer,
            "rootcertbundle": str(self.certificate_file),
        }

    def issue(self, scope: str) -> str:
        now = int(time.time())
        access: list[dict[str, Any]] = []
        if scope:
            kind, name, actions = scope.split(":", 2)
            access.append({"type": kind, "name": name, "actions": actions.split(",")})
        header = {
            "typ": "JWT",
            "alg": "RS256",
            "x5c": [
                base64.b64encode(
                    self.certificate.public_bytes(serialization.Encoding.DER)
                ).decode()
            ],
        }
        claims: dict[str, Any] = {
            "iss": self.issuer,
            "sub": self.credentials[0],
            "aud": self.service,
            "exp": now + 600,
            "nbf": now - 60,
            "iat": now,
            "jti": str(now),
            "access": access,
        }
        signing_input = f"{_b64url(json.dumps(header).encode())}.{_b64url(json.dumps(claims).encode())}"
        signature = self.key.sign(
            signing_input.encode(), padding.PKCS1v15(), hashes.SHA256()
        )
        return f"{signing_input}.{_b64url(signature)}"


def _self_signed(workdir: Path) -> tuple[rsa.RSAPrivateKey, x509.Certificate, Path]:
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    name = x509.Name(
        [x509.NameAttribute(NameOID.COMMON_NAME, "appc test token issuer")]
    )
    now = dt.datetime.now(dt.UTC)
    certificate = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(days=1))
        .not_valid_after(now + dt.timedelta(days=1))
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    path = workdir / "token-ca.pem"
    path.write_bytes(certificate.public_bytes(serialization.Encoding.PEM))
    return key, certificate, path


@contextlib.contextmanager
def token_service(
    workdir: Path, credentials: tuple[str, str]
) -> Generator[TokenService, None, None]:
    """Serve ``GET /token?service=&scope=`` on a free port, basic auth required."""
    key, certificate, path = _self_signed(workdir)
    service = TokenService(
        port=0,
        issuer="appc-test-issuer",
        service="appc-test-registry",
        certificate_file=path,
        key=key,
        certificate=certificate,
        credentials=credentials,
    )
    expected = (
        "Basic "
        + base64.b64encode(f"{credentials[0]}:{credentials[1]}".encode()).decode()
    )

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            import urllib.parse

            url = urllib.parse.urlsplit(self.path)
            query = dict(urllib.parse.parse_qsl(url.query))
            service.requests.append(query)
            if url.path != "/token" or self.headers.get("Authorization") != expected:
                self.send_response(401)
                self.end_headers()
                return
            body = json.dumps({"token": service.issue(query.get("scope", ""))}).encode()
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, format: str, *args: Any) -> None:  # noqa: A002
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    service.port = server.server_address[1]
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield service
    finally:
        server.shutdown()
        server.server_close()
        thread.join()


def http_status(url: str) -> int:
    try:
        with urllib.request.urlopen(url, timeout=5) as response:  # noqa: S310
            status: int = response.status
            return status
    except urllib.error.HTTPError as exc:
        return exc.code
