"""A repository on 127.0.0.1 for the fetch tests: discovery page, image, signature, key.

``repo`` serves, over TLS (a trustme CA), ``/app?ac-discovery=1`` for
``127.0.0.1/app``, the image and its signature under ``/images/``, and the
signing key at ``/keys/repo.gpg``; it comes with an empty store and trust
store in the test's directory.
"""

from __future__ import annotations

import contextlib
import io

from collections.abc import Generator
from pathlib import Path

import attrs
import trustme

from appc.discovery import HostHeaders, Insecure, Urllib3Transport
from appc.fetch import AcceptKey, FetchResult, ProgressCallback, fetch
from appc.signing import PublicKey, sign
from appc.store import Store
from appc.testing.keys import ThrowawayKey, make_key
from appc.trust import Keystore

from tests.discovery.images import Built, make_aci
from tests.discovery.servers import PageServer, ServedFile, meta_page, page_server


__all__ = [
    "ACI_PATH",
    "KEY",
    "LABELS",
    "NAME",
    "OTHER_KEY",
    "Repo",
    "big_image",
    "running_repo",
]

KEY = make_key("Repo Signer <repo@example.com>")
OTHER_KEY = make_key("Someone Else <else@example.com>")
NAME = "127.0.0.1/app"
LABELS = {"version": "1.0", "os": "linux", "arch": "amd64"}
ACI_PATH = "/images/127.0.0.1/app-1.0-linux-amd64.aci"


@attrs.define
class Repo:
    """A TLS server with a discovery page, an image, its signature and the key."""

    server: PageServer
    built: Built
    aci: ServedFile
    store: Store
    keystore: Keystore
    transport: Urllib3Transport
    ca: trustme.CA
    ca_file: Path

    @property
    def url(self) -> str:
        return self.server.url + ACI_PATH

    def serve(
        self,
        built: Built,
        *,
        key: ThrowawayKey = KEY,
        etag: bool = True,
        ranges: bool = True,
        cache_control: str | None = None,
    ) -> ServedFile:
        self.built = built
        self.aci = self.server.add_file(
            ACI_PATH, built.data, etag=etag, ranges=ranges, cache_control=cache_control
        )
        self.server.add_file(
            ACI_PATH + ".asc", sign(io.BytesIO(built.data), key.secret).encode()
        )
        return self.aci

    def trust(self, key: ThrowawayKey = KEY, prefix: str = NAME) -> None:
        self.keystore.add(PublicKey.from_bytes(key.public), prefix=prefix)

    def fetch(
        self,
        image: str = f"{NAME}:1.0",
        *,
        insecure: Insecure = Insecure.NONE,
        trust_keys_from_https: bool = False,
        accept_key: AcceptKey | None = None,
        progress: ProgressCallback | None = None,
        host_headers: HostHeaders | None = None,
    ) -> FetchResult:
        return fetch(
            image,
            store=self.store,
            keystore=self.keystore,
            transport=self.transport,
            port=self.server.port,
            insecure=insecure,
            trust_keys_from_https=trust_keys_from_https,
            accept_key=accept_key,
            progress=progress,
            host_headers=host_headers,
        )

    def requests_to(self, path: str) -> list[str]:
        return [r.method for r in self.server.requests if r.bare_path == path]


def big_image(
    name: str = NAME, labels: dict[str, str] | None = None, seed: bytes = b""
) -> Built:
    # 2.5 MB of incompressible bytes, stored uncompressed: several read chunks.
    data = b"".join((seed + i.to_bytes(4, "big")) * 16 for i in range(40_000))
    return make_aci(
        name, labels or LABELS, files={"blob": data[:2_500_000]}, compression="none"
    )


@contextlib.contextmanager
def running_repo(tmp_path: Path) -> Generator[Repo]:
    """Start the repository's server for one test; stop it at the end."""
    ca = trustme.CA()
    ca_file = tmp_path / "ca.pem"
    ca.cert_pem.write_to_path(str(ca_file))
    with page_server(ca) as server:
        server.add_page(
            "/app",
            meta_page(
                (
                    "ac-discovery",
                    f"127.0.0.1 {server.url}/images/{{name}}-{{version}}-{{os}}-{{arch}}.{{ext}}",
                ),
                ("ac-discovery-pubkeys", f"127.0.0.1 {server.url}/keys/repo.gpg"),
            ),
        )
        server.add_file("/keys/repo.gpg", KEY.public)
        built = make_aci(NAME, LABELS, files={"hello": b"hello\n"})
        transport = Urllib3Transport(ca_certs=ca_file)
        repo = Repo(
            server=server,
            built=built,
            aci=server.add_file(ACI_PATH, built.data),
            store=Store(tmp_path / "store"),
            keystore=Keystore(system=None, local=None, user=tmp_path / "trust"),
            transport=transport,
            ca=ca,
            ca_file=ca_file,
        )
        repo.serve(built)
        try:
            yield repo
        finally:
            transport.close()
