"""Servers on 127.0.0.1 for the discovery tests: TLS (a trustme CA) and plain http.

The proxy variables of the environment that runs the tests are cleared for
each test, so that none depends on them; the proxy tests set their own.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
import trustme

from tests.discovery.servers import PageServer, page_server, write_ca


PROXY_VARIABLES = (
    "HTTP_PROXY",
    "http_proxy",
    "HTTPS_PROXY",
    "https_proxy",
    "NO_PROXY",
    "no_proxy",
    "ALL_PROXY",
    "all_proxy",
    "REQUEST_METHOD",
)


@pytest.fixture(autouse=True)
def _no_proxy_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in PROXY_VARIABLES:
        monkeypatch.delenv(name, raising=False)


@pytest.fixture(scope="session")
def ca() -> trustme.CA:
    return trustme.CA()


@pytest.fixture(scope="session")
def ca_file(ca: trustme.CA, tmp_path_factory: pytest.TempPathFactory) -> Path:
    return write_ca(ca, tmp_path_factory.mktemp("ca"))


@pytest.fixture
def tls_server(ca: trustme.CA) -> Iterator[PageServer]:
    with page_server(ca) as server:
        yield server


@pytest.fixture
def tls_server2(ca: trustme.CA) -> Iterator[PageServer]:
    with page_server(ca) as server:
        yield server


@pytest.fixture
def http_server() -> Iterator[PageServer]:
    with page_server() as server:
        yield server
