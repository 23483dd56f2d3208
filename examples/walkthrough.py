"""The appc walkthrough: build, sign, trust, serve, discover, fetch, verify, list, extract.

Runs the whole story of an App Container image on this machine, with
nothing but Python and ``appc`` (``pip install 'appc[cli,testing]'``): no
gpg, no actool, no network beyond 127.0.0.1. Every file it makes lives in a
temporary directory, removed at the end (``--keep DIR`` keeps them in DIR).

The image is served the way a real one is: over HTTPS, by a private
certificate authority made for the occasion, which the client is told to
trust (``--ca-certs``). Nothing skips a security check.

    python examples/walkthrough.py [--keep DIR]
"""

from __future__ import annotations

import argparse
import datetime as dt
import functools
import http.server
import ipaddress
import shlex
import shutil
import ssl
import subprocess
import sys
import tempfile
import threading
import urllib.parse

from collections.abc import Sequence
from pathlib import Path

import appc.aci

from appc.cli import main as appc_main
from appc.signing import format_fingerprint
from appc.testing.keys import make_key
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID


HERE = Path(__file__).resolve().parent
NAME = "localhost/hello"


def step(number: int, text: str) -> None:
    print(f"\n== {number}. {text}", flush=True)


def shell_appc(*argv: str) -> None:
    """Run an ``appc`` command in this process, showing it as typed."""
    print("$ appc " + " ".join(shlex.quote(a) for a in argv), flush=True)
    code = appc_main(list(argv))
    if code != 0:
        raise SystemExit(f"appc {argv[0]} failed with exit code {code}")


# -- a private certificate authority, for HTTPS on localhost ----------------------


def make_tls(directory: Path) -> tuple[Path, Path, Path]:
    """A CA certificate, and a server certificate and key for localhost, signed by it."""
    now = dt.datetime.now(dt.UTC)
    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca_name = x509.Name(
        [x509.NameAttribute(NameOID.COMMON_NAME, "appc walkthrough CA")]
    )
    ca_cert = (
        x509.CertificateBuilder()
        .subject_name(ca_name)
        .issuer_name(ca_name)
        .public_key(ca_key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=5))
        .not_valid_after(now + dt.timedelta(days=1))
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(
            x509.KeyUsage(
                digital_signature=False,
                content_commitment=False,
                key_encipherment=False,
                data_encipherment=False,
                key_agreement=False,
                key_cert_sign=True,
                crl_sign=True,
                encipher_only=False,
                decipher_only=False,
            ),
            critical=True,
        )
        .sign(ca_key, hashes.SHA256())
    )
    key = ec.generate_private_key(ec.SECP256R1())
    cert = (
        x509.CertificateBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "localhost")]))
        .issuer_name(ca_name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=5))
        .not_valid_after(now + dt.timedelta(days=1))
        .add_extension(
            x509.SubjectAlternativeName(
                [
                    x509.DNSName("localhost"),
                    x509.IPAddress(ipaddress.ip_address("127.0.0.1")),
                ]
            ),
            critical=False,
        )
        .add_extension(
            x509.ExtendedKeyUsage([x509.oid.ExtendedKeyUsageOID.SERVER_AUTH]),
            critical=False,
        )
        .sign(ca_key, hashes.SHA256())
    )
    ca_file = directory / "ca.pem"
    cert_file = directory / "server.pem"
    key_file = directory / "server.key"
    ca_file.write_bytes(ca_cert.public_bytes(serialization.Encoding.PEM))
    cert_file.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_file.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    return ca_file, cert_file, key_file


# -- the image repository: static files plus a discovery page -----------------------


def discovery_page(base: str) -> bytes:
    return f"""<!DOCTYPE html>
<html>
<head>
  <title>{NAME}</title>
  <meta name="ac-discovery" content="{NAME} {base}/images/{{name}}-{{version}}.{{ext}}">
  <meta name="ac-discovery-pubkeys" content="{NAME} {base}/pubkeys.gpg">
</head>
<body><p>The {NAME} image: fetch it with <code>appc fetch {NAME}:1.0</code>.</p></body>
</html>
""".encode()


class Repository(http.server.SimpleHTTPRequestHandler):
    """Files of the served directory, and the discovery page for ``/hello?ac-discovery=1``."""

    page = b""

    def do_GET(self) -> None:
        url = urllib.parse.urlsplit(self.path)
        if url.path == "/hello" and "ac-discovery=1" in url.query.split("&"):
            self.send_response(200)
            self.send_header("Content-Type", "text/html; charset=utf-8")
            self.send_header("Content-Length", str(len(self.page)))
            self.end_headers()
            self.wfile.write(self.page)
            return
        super().do_GET()

    def log_message(self, format: str, *args: object) -> None:  # noqa: A002, ARG002 - the base's signature
        print(
            f"   [server] {self.command} {self.path} -> {args[1] if len(args) > 1 else ''}"
        )


def serve(
    directory: Path, cert: Path, key: Path
) -> tuple[http.server.ThreadingHTTPServer, int]:
    handler = functools.partial(Repository, directory=str(directory))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(cert, key)
    server.socket = context.wrap_socket(server.socket, server_side=True)
    port = server.server_address[1]
    Repository.page = discovery_page(f"https://localhost:{port}")
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server, port


# -- the story ------------------------------------------------------------------------


def run(work: Path) -> None:
    site = work / "site"
    (site / "images" / "localhost").mkdir(parents=True)
    config = work / "config"  # the trust store lives in config/trustedkeys
    store = work / "store"

    step(1, f"Build hello.aci from {HERE / 'hello'} (manifest + rootfs/bin/hello)")
    aci = site / "images" / "localhost" / "hello-1.0.aci"
    shell_appc("build", str(HERE / "hello"), str(aci))
    shell_appc("validate", str(aci))
    image_id = appc.aci.image_id(aci)
    print(f"{aci.name}: {aci.stat().st_size} bytes, image ID {image_id.short()}...")

    step(2, "Make a throwaway signing key (never use it for anything real)")
    key = make_key("Walkthrough Signer <walkthrough@example.com>")
    print(f"key fingerprint: {format_fingerprint(key.fingerprint)}")
    (site / "pubkeys.gpg").write_bytes(key.public)
    (work / "signing-key.asc").write_bytes(key.secret)

    step(3, "Sign the image: an armored detached signature, hello-1.0.aci.asc")
    shell_appc("sign", "--key", str(work / "signing-key.asc"), str(aci))

    step(4, f"Trust the key for the prefix {NAME} (in {config / 'trustedkeys'})")
    trust = [
        "--system-config", str(work / "no-system"),
        "--local-config", str(work / "no-local"),
        "--user-config", str(config),
    ]  # fmt: skip
    # --skip-fingerprint-review: the script made the key; a person checks it.
    shell_appc(
        "trust", "--prefix", NAME, "--skip-fingerprint-review", *trust,
        str(site / "pubkeys.gpg"),
    )  # fmt: skip
    shell_appc("verify", *trust, str(aci))

    step(5, "Serve the directory over HTTPS on 127.0.0.1, with a discovery page")
    ca_file, cert, server_key = make_tls(work)
    server, port = serve(site, cert, server_key)
    print(
        f"serving {site} at https://localhost:{port}/ (certificate from a private CA: {ca_file.name})"
    )
    try:
        tls = ["--ca-certs", str(ca_file), "--port", str(port)]

        step(6, f"Discover {NAME}:1.0 (meta discovery, as actool discover)")
        shell_appc("discover", *tls, f"{NAME}:1.0")

        step(
            7, "Fetch it: discovery, signature, download, verification, into the store"
        )
        shell_appc("fetch", *tls, "--store", str(store), *trust, f"{NAME}:1.0")

        step(8, "Fetch it again: unchanged, so one conditional request and no download")
        shell_appc("fetch", *tls, "--store", str(store), *trust, f"{NAME}:1.0")
    finally:
        server.shutdown()
        server.server_close()

    step(
        9,
        "Verify the stored image again: its hash, and its signature against the trust store",
    )
    shell_appc("image", "verify", "--store", str(store), *trust)

    step(10, "List the store")
    shell_appc("image", "list", "--store", str(store))

    step(11, "Extract it to a directory: the image layout, manifest and rootfs")
    layout = work / "hello-layout"
    shell_appc("image", "extract", "--store", str(store), f"{NAME}:1.0", str(layout))
    for path in sorted(layout.rglob("*")):
        print(f"   {path.relative_to(layout)}")
    shell = shutil.which("sh")
    if shell is not None:
        print("$ sh hello-layout/rootfs/bin/hello")
        result = subprocess.run(
            [shell, str(layout / "rootfs" / "bin" / "hello")],
            check=True,
            capture_output=True,
            text=True,
        )
        print(result.stdout, end="")

    print(
        "\nDone: built, signed, trusted, served, discovered, fetched, verified, stored, listed, extracted."
    )


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument(
        "--keep",
        metavar="DIR",
        help="work in DIR (kept) instead of a temporary directory",
    )
    args = parser.parse_args(argv)
    if args.keep:
        work = Path(args.keep).resolve()
        work.mkdir(parents=True, exist_ok=False)
        run(work)
        print(f"(files kept in {work})")
        return 0
    with tempfile.TemporaryDirectory(prefix="appc-walkthrough-") as tmp:
        run(Path(tmp))
    return 0


if __name__ == "__main__":
    sys.exit(main())
