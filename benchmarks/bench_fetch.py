"""Fetch benchmark: ``appc fetch`` against ``curl -o``, the cached re-fetch, discovery against actool.

Makes a signed ACI of ``--size`` bytes (1 GB by default; ``--compression
none`` by default, ``gzip`` possible) in a scratch directory and serves it
from 127.0.0.1 over plain HTTP with ``sendfile`` (what nginx does: the
server costs next to nothing, so the clients are what is measured). Then,
timing whole processes (exec to reap) and alternating the two:

- ``curl -s -o FILE URL`` against ``appc fetch --insecure-options=http URL``
  into an empty store each time: download, signature check, image ID and
  archive check, import. Target: appc at least 0.8x curl's throughput, with
  a peak RSS that does not grow with the image (it is also measured at an
  eighth of the size);
- the same ``appc fetch`` again into the filled store: the server counts
  the requests and body bytes. Target: one conditional request, no bytes;
- discovery of 100 names on local HTTPS pages (a private CA made here):
  ``actool discover`` against ``appc discover``, each one process for the
  100 names, as a ratio (actool's time over appc's: above 1, appc is faster).

    python benchmarks/bench_fetch.py [--size 1G] [--scale 1] [--runs 3] [--compression none]

curl is required (``apt-get install curl``); actool only for the discovery
part (``apt-get install appc-spec``), which is skipped with a message without it.
"""

from __future__ import annotations

import argparse
import datetime as dt
import email.utils
import http.server
import ipaddress
import os
import shutil
import ssl
import statistics
import subprocess
import sys
import tempfile
import threading
import time

from pathlib import Path


GB = 10**9
FETCH_TARGET = 0.8
NAMES = 100
CHUNK = 1 << 20


def parse_size(text: str) -> int:
    units = {"K": 10**3, "M": 10**6, "G": 10**9}
    suffix = text[-1:].upper()
    if suffix in units:
        return int(float(text[:-1]) * units[suffix])
    return int(text)


def timed(command: list[str], env: dict[str, str] | None = None) -> tuple[float, int]:
    """Wall seconds and peak RSS (KiB) of one process, from exec to reap."""
    start = time.perf_counter()
    process = subprocess.Popen(
        command, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE
    )
    _, status, usage = os.wait4(process.pid, 0)
    elapsed = time.perf_counter() - start
    stderr = process.stderr.read().decode(errors="replace") if process.stderr else ""
    if os.waitstatus_to_exitcode(status) != 0:
        raise SystemExit(f"{command[0]} failed: {stderr}")
    return elapsed, usage.ru_maxrss


# -- a server that costs nothing: sendfile, validators, ranges, counters -------------


class Counters:
    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.requests: list[str] = []
        self.body_bytes = 0

    def reset(self) -> None:
        with self.lock:
            self.requests.clear()
            self.body_bytes = 0


class FileHandler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    root: Path
    counters: Counters
    pages: dict[str, bytes]

    def log_message(self, format: str, *args: object) -> None:  # noqa: A002
        pass

    def do_GET(self) -> None:
        path, _, query = self.path.partition("?")
        with self.counters.lock:
            self.counters.requests.append(f"{self.command} {path} {dict(self.headers)}")
        if query == "ac-discovery=1" and path in self.pages:
            self._send(200, self.pages[path], {"Content-Type": "text/html"})
            return
        file = self.root / path.lstrip("/")
        if not file.is_file():
            self._send(404, b"")
            return
        stat = file.stat()
        etag = f'"{stat.st_size:x}-{stat.st_mtime_ns:x}"'
        headers = {
            "ETag": etag,
            "Last-Modified": email.utils.formatdate(stat.st_mtime, usegmt=True),
            "Accept-Ranges": "bytes",
        }
        if self.headers.get("If-None-Match") == etag:
            self._send(304, b"", headers)
            return
        start = 0
        status = 200
        wanted = self.headers.get("Range", "")
        if wanted.startswith("bytes=") and self.headers.get("If-Range", etag) == etag:
            start = int(wanted[6:].split("-")[0])
            status = 206
            headers["Content-Range"] = (
                f"bytes {start}-{stat.st_size - 1}/{stat.st_size}"
            )
        self.send_response(status)
        for key, value in headers.items():
            self.send_header(key, value)
        self.send_header("Content-Length", str(stat.st_size - start))
        self.end_headers()
        self.wfile.flush()
        with file.open("rb") as stream:
            sent = self.connection.sendfile(stream, offset=start)
        with self.counters.lock:
            self.counters.body_bytes += sent

    def _send(
        self, status: int, body: bytes, headers: dict[str, str] | None = None
    ) -> None:
        self.send_response(status)
        for key, value in (headers or {}).items():
            self.send_header(key, value)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)
        with self.counters.lock:
            self.counters.body_bytes += len(body)


def start_server(
    root: Path, pages: dict[str, bytes], tls: ssl.SSLContext | None = None
) -> tuple[http.server.ThreadingHTTPServer, int, Counters]:
    counters = Counters()
    handler = type(
        "Handler", (FileHandler,), {"root": root, "counters": counters, "pages": pages}
    )
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    server.daemon_threads = True
    if tls is not None:
        server.socket = tls.wrap_socket(server.socket, server_side=True)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server, server.server_address[1], counters


def make_tls(directory: Path) -> tuple[Path, ssl.SSLContext]:
    """A private CA (its PEM file) and a server context for 127.0.0.1 signed by it."""
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    now = dt.datetime.now(dt.UTC)
    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca_name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "bench CA")])
    ca = (
        x509.CertificateBuilder()
        .subject_name(ca_name)
        .issuer_name(ca_name)
        .public_key(ca_key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=5))
        .not_valid_after(now + dt.timedelta(days=1))
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .sign(ca_key, hashes.SHA256())
    )
    key = ec.generate_private_key(ec.SECP256R1())
    cert = (
        x509.CertificateBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")]))
        .issuer_name(ca_name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=5))
        .not_valid_after(now + dt.timedelta(days=1))
        .add_extension(
            x509.SubjectAlternativeName(
                [x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]
            ),
            critical=False,
        )
        .sign(ca_key, hashes.SHA256())
    )
    ca_file = directory / "ca.pem"
    ca_file.write_bytes(ca.public_bytes(serialization.Encoding.PEM))
    cert_file = directory / "server.pem"
    cert_file.write_bytes(
        cert.public_bytes(serialization.Encoding.PEM)
        + key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(cert_file)
    return ca_file, context


# -- the image -------------------------------------------------------------------------


def make_image(work: Path, size: int, compression: str) -> tuple[Path, str]:
    """A signed ACI of about ``size`` bytes of random content; returns it and the public key."""
    import appc.aci

    from appc.signing import sign
    from appc.testing.keys import make_key

    layout = work / "layout"
    rootfs = layout / "rootfs"
    rootfs.mkdir(parents=True)
    (layout / "manifest").write_text(
        '{"acKind":"ImageManifest","acVersion":"0.8.11","name":"127.0.0.1/bench",'
        '"labels":[{"name":"version","value":"1.0"}]}'
    )
    for index, share in enumerate((0.4, 0.3, 0.2, 0.1)):
        with (rootfs / f"file{index}").open("wb") as out:
            left = int(size * share)
            while left:
                out.write(os.urandom(min(CHUNK, left)))
                left -= min(CHUNK, left)
    aci = work / "site" / "bench.aci"
    aci.parent.mkdir()
    appc.aci.build(layout, aci, compression=compression)  # type: ignore[arg-type]
    shutil.rmtree(layout)
    key = make_key("Bench Signer <bench@example.com>")
    (work / "site" / "bench.aci.asc").write_text(sign(aci, key.secret))
    (work / "key.asc").write_bytes(key.public)
    return aci, str(work / "key.asc")


def trust(work: Path, key_file: str) -> list[str]:
    from appc.signing import PublicKey
    from appc.trust import Keystore

    config = work / "config"
    Keystore(system=None, local=None, user=config / "trustedkeys").add(
        PublicKey.from_bytes(Path(key_file).read_bytes()), prefix="127.0.0.1/bench"
    )
    return [
        "--system-config",
        str(work / "none"),
        "--local-config",
        str(work / "none"),
        "--user-config",
        str(config),
    ]


# -- the measurements -------------------------------------------------------------


def bench_fetch(args: argparse.Namespace, work: Path, size: int, curl: str) -> bool:
    print(
        f"making a {size / GB:.2f} GB signed ACI ({args.compression}) in {work}",
        flush=True,
    )
    aci, key_file = make_image(work, size, args.compression)
    trust_args = trust(work, key_file)
    server, port, counters = start_server(work / "site", {})
    url = f"http://127.0.0.1:{port}/bench.aci"
    store = work / "store"
    out = work / "curl.aci"
    python = sys.executable
    appc_fetch = [
        python, "-m", "appc", "fetch", "--insecure-options=http",
        "--store", str(store), *trust_args, url,
    ]  # fmt: skip
    curl_get = [curl, "-s", "-S", "-f", "-o", str(out), url]
    # appc fsyncs what it stores; this row shows curl doing the same.
    sync = shutil.which("sync") or "sync"
    curl_sync = [
        "sh",
        "-c",
        '"$0" -s -S -f -o "$1" "$2" && "$3" "$1"',
        curl,
        str(out),
        url,
        sync,
    ]

    def fresh() -> None:
        shutil.rmtree(store, ignore_errors=True)
        out.unlink(missing_ok=True)
        # Neither side pays for the other's dirty pages: write them out first.
        os.sync()

    try:
        fresh()
        timed(curl_get)  # warm-up: page cache, and a check that both work
        fresh()
        timed(appc_fetch)
        results: dict[str, list[tuple[float, int]]] = {
            "curl -o": [],
            "curl + sync": [],
            "appc fetch": [],
        }
        for _ in range(args.runs):
            fresh()
            results["curl -o"].append(timed(curl_get))
            fresh()
            results["curl + sync"].append(timed(curl_sync))
            fresh()
            results["appc fetch"].append(timed(appc_fetch))
        # The store holds the image now: fetch it again and count.
        counters.reset()
        again = timed(appc_fetch)
        requests, body = list(counters.requests), counters.body_bytes
        # Memory at an eighth of the size, for comparison.
        small_dir = work / "small"
        small_dir.mkdir()
        small_aci, small_key = make_image(small_dir, size // 8, args.compression)
        small_trust = trust(small_dir, small_key)
        small_server, small_port, _ = start_server(small_dir / "site", {})
        small_store = small_dir / "store"
        _, small_rss = timed(
            [python, "-m", "appc", "fetch", "--insecure-options=http", "--store",
             str(small_store), *small_trust, f"http://127.0.0.1:{small_port}/bench.aci"]
        )  # fmt: skip
        small_server.shutdown()
    finally:
        server.shutdown()
    mb = aci.stat().st_size / 1e6
    print(
        f"\n{'':<12} {'median s':>9} {'min-max s':>13} {'MB/s':>7} {'peak RSS MiB':>13}"
    )
    medians: dict[str, float] = {}
    for name, runs in results.items():
        times = [t for t, _ in runs]
        medians[name] = statistics.median(times)
        rss = max(r for _, r in runs) / 1024
        print(
            f"{name:<12} {medians[name]:>9.2f} {min(times):>6.2f}-{max(times):<6.2f}"
            f" {mb / medians[name]:>7.0f} {rss:>13.1f}"
        )
    ratio = medians["curl -o"] / medians["appc fetch"]
    synced = medians["curl + sync"] / medians["appc fetch"]
    big_rss = max(r for _, r in results["appc fetch"]) / 1024
    print(
        f"\nfetch: appc is {ratio:.2f}x curl's throughput (target >= {FETCH_TARGET}x); "
        f"peak RSS {big_rss:.1f} MiB at {mb:.0f} MB, {small_rss / 1024:.1f} MiB at "
        f"{small_aci.stat().st_size / 1e6:.0f} MB"
    )
    print(
        f"       appc is {synced:.2f}x the throughput of curl followed by sync FILE (both durable)"
    )
    print(
        f"second fetch of the unchanged image: {again[0]:.2f} s, {len(requests)} request(s), "
        f"{body} body bytes (target: 1 conditional request, 0 bytes)"
    )
    for request in requests:
        print(f"  {request}")
    conditional = len(requests) == 1 and "If-None-Match" in requests[0] and body == 0
    return ratio >= FETCH_TARGET and conditional and big_rss < 2 * small_rss / 1024 + 16


def bench_discover(args: argparse.Namespace, work: Path) -> bool | None:
    actool = shutil.which("actool")
    if actool is None:
        print(
            "\ndiscovery: skipped, actool is not installed (apt-get install appc-spec)"
        )
        return None
    ca_file, context = make_tls(work)
    pages = {
        f"/bench/app{i}": (
            b'<html><head><meta name="ac-discovery" content="127.0.0.1/bench '
            b'https://cdn.example.com/{name}-{version}-{os}-{arch}.{ext}">'
            b'<meta name="ac-discovery-pubkeys" content="127.0.0.1/bench '
            b'https://cdn.example.com/keys.gpg"></head></html>'
        )
        for i in range(NAMES)
    }
    server, port, counters = start_server(work, pages, context)
    names = [f"127.0.0.1/bench/app{i}:1.0,os=linux,arch=amd64" for i in range(NAMES)]
    env = {**os.environ, "SSL_CERT_FILE": str(ca_file), "NO_PROXY": "*"}
    reference = [actool, "discover", "--port", str(port), *names]
    ours = [sys.executable, "-m", "appc", "discover", "--ca-certs", str(ca_file),
            "--port", str(port), *names]  # fmt: skip
    try:
        timed(reference, env)
        timed(ours, env)
        results: dict[str, list[float]] = {"actool": [], "appc": []}
        requests: dict[str, int] = {}
        for _ in range(args.runs):
            counters.reset()
            results["actool"].append(timed(reference, env)[0])
            requests["actool"] = len(counters.requests)
            counters.reset()
            results["appc"].append(timed(ours, env)[0])
            requests["appc"] = len(counters.requests)
    finally:
        server.shutdown()
    print(f"\ndiscovery of {NAMES} names (one process each):")
    medians = {name: statistics.median(times) for name, times in results.items()}
    for name, median in medians.items():
        print(f"  {name:<7} {median:.2f} s ({requests[name]} requests)")
    ratio = medians["actool"] / medians["appc"]
    print(f"  ratio actool/appc: {ratio:.2f} (above 1: appc is faster)")
    return True


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument(
        "--size", default="1G", help="ACI size (bytes, or with K/M/G); default 1G"
    )
    parser.add_argument("--scale", type=float, default=1.0, help="multiply the size")
    parser.add_argument("--runs", type=int, default=3, help="timed runs per side")
    parser.add_argument("--compression", choices=("none", "gzip"), default="none")
    parser.add_argument(
        "--dir", help="work directory (default: a temporary one, removed)"
    )
    parser.add_argument(
        "--only", choices=("fetch", "discover"), help="run one of the two parts"
    )
    args = parser.parse_args()
    curl = shutil.which("curl")
    if curl is None and args.only != "discover":
        print("curl is not installed (apt-get install curl)", file=sys.stderr)
        return 1
    size = int(parse_size(args.size) * args.scale)
    work = Path(args.dir or tempfile.mkdtemp(prefix="bench-fetch-"))
    work.mkdir(parents=True, exist_ok=True)
    try:
        met = True
        if args.only != "discover":
            assert curl is not None
            met = bench_fetch(args, work / "fetch", size, curl)
        if args.only != "fetch":
            (work / "discover").mkdir(exist_ok=True)
            bench_discover(args, work / "discover")
    finally:
        if not args.dir:
            shutil.rmtree(work, ignore_errors=True)
    print("targets met" if met else "TARGETS NOT MET")
    return 0 if met else 1


if __name__ == "__main__":
    raise SystemExit(main())
