"""Same pages, same answers: ``appc discover`` against ``actool discover`` on 127.0.0.1 over TLS.

Every page of tests/vectors/discovery_pages.json is served by a real HTTPS
server; both tools discover the same names and must print the same JSON
and exit with the same code, except the cases marked as deliberate
deviations (checked against appc's documented rule instead).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import trustme

from appc import cli

from tests.discovery.servers import PageServer, meta_page, page_server


pytestmark = pytest.mark.interop

CORPUS = json.loads(
    (Path(__file__).parent.parent / "vectors" / "discovery_pages.json").read_text()
)["cases"]
# The host's platform differs between Go's names and appc's on some machines:
# ask for the same one explicitly.
PLATFORM = ",os=linux,arch=amd64"


@pytest.fixture(scope="module")
def server() -> Iterator[PageServer]:
    with page_server(trustme.CA()) as running:
        yield running


@pytest.fixture(scope="module")
def server_ca(server: PageServer, tmp_path_factory: pytest.TempPathFactory) -> Path:
    # The module server's CA: fetch it from the server's own certificate chain.
    path = tmp_path_factory.mktemp("diffca") / "ca.pem"
    path.write_bytes(server.ca_pem)
    return path


def run_actool(actool: str, ca: Path, port: int, name: str) -> tuple[int, Any]:
    env = {**os.environ, "SSL_CERT_FILE": str(ca), "NO_PROXY": "*"}
    done = subprocess.run(
        [actool, "discover", "--json", "--port", str(port), name],
        env=env,
        capture_output=True,
        text=True,
        check=False,
        timeout=60,
    )
    if done.returncode != 0:
        return done.returncode, None
    # actool prints its walk lines before the JSON.
    return 0, json.loads(done.stdout[done.stdout.index("{") :])


def run_appc(
    capsys: pytest.CaptureFixture[str], ca: Path, port: int, name: str
) -> tuple[int, Any]:
    code = cli.main(
        ["discover", "--json", "--ca-certs", str(ca), "--port", str(port), name]
    )
    captured = capsys.readouterr()
    out = captured.out
    if code != 0:
        assert out == ""
        assert captured.err.startswith("error fetching ")
        return code, None
    return code, json.loads(out)


def _cases() -> Iterator[Any]:
    for case in CORPUS:
        for name in case.get("names", ["NAME"]):
            yield pytest.param(case, name, id=f"{case['id']}:{name}")


@pytest.mark.parametrize(("case", "name"), list(_cases()))
def test_same_answers_as_actool(  # noqa: PLR0917
    case: dict[str, Any],
    name: str,
    actool: str,
    server: PageServer,
    server_ca: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    html = (
        bytes.fromhex(case["html_hex"]) if "html_hex" in case else case["html"].encode()
    )
    server.routes.clear()
    server.add_page(f"/{case['id']}", html)
    full = name.replace("NAME", f"127.0.0.1/{case['id']}/app")
    if "os=" not in full:
        full += PLATFORM
    reference = run_actool(actool, server_ca, server.port, full)
    ours = run_appc(capsys, server_ca, server.port, full)
    deviation = case.get("deviation")
    if deviation is None:
        assert ours == reference
        return
    # A deliberate deviation: actool gives something else, appc follows its rule.
    assert ours != reference, f"no longer a deviation: {deviation['reason']}"
    expected = deviation["ours"]
    assert ours == ((1, None) if expected is None else (0, expected))


def test_text_output_same_lines_as_actool(
    actool: str,
    server: PageServer,
    server_ca: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    server.routes.clear()
    server.add_page(
        "/",
        meta_page(
            (
                "ac-discovery",
                "127.0.0.1 https://cdn.example.com/{name}-{version}.{ext}",
            ),
            (
                "ac-discovery",
                "127.0.0.1 https://mirror.example.com/{name}-{version}.{ext}",
            ),
        ),
    )
    server.add_page(
        "/text",
        meta_page(
            ("ac-discovery-pubkeys", "127.0.0.1 https://cdn.example.com/k1"),
            ("ac-discovery-pubkeys", "127.0.0.1 https://cdn.example.com/k2"),
        ),
    )
    name = "127.0.0.1/text/app/x:1.0" + PLATFORM
    env = {**os.environ, "SSL_CERT_FILE": str(server_ca), "NO_PROXY": "*"}
    reference = subprocess.run(
        [actool, "discover", "--port", str(server.port), name],
        env=env,
        capture_output=True,
        text=True,
        check=True,
        timeout=60,
    ).stdout
    assert (
        cli.main(
            ["discover", "--ca-certs", str(server_ca), "--port", str(server.port), name]
        )
        == 0
    )
    assert capsys.readouterr().out == reference


def test_ssl_cert_file_is_honoured(
    actool: str, server: PageServer, server_ca: Path
) -> None:
    # As Go does: the CA from SSL_CERT_FILE, no option needed.
    server.routes.clear()
    server.add_page(
        "/",
        meta_page(
            ("ac-discovery", "127.0.0.1 https://cdn.example.com/{name}.{ext}"),
            ("ac-discovery-pubkeys", "127.0.0.1 https://cdn.example.com/k"),
        ),
    )
    env = {**os.environ, "SSL_CERT_FILE": str(server_ca)}
    name = "127.0.0.1/app" + PLATFORM
    ours = subprocess.run(
        [
            sys.executable,
            "-m",
            "appc",
            "discover",
            "--json",
            "--port",
            str(server.port),
            name,
        ],
        env=env,
        capture_output=True,
        text=True,
        check=True,
        timeout=60,
    )
    assert (
        json.loads(ours.stdout) == run_actool(actool, server_ca, server.port, name)[1]
    )


def test_untrusted_certificate_fails_like_actool(
    actool: str, server: PageServer, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    other = tmp_path / "other.pem"
    trustme.CA().cert_pem.write_to_path(str(other))
    server.routes.clear()
    server.add_page(
        "/",
        meta_page(
            ("ac-discovery", "127.0.0.1 https://x/{name}.{ext}"),
            ("ac-discovery-pubkeys", "127.0.0.1 https://x/k"),
        ),
    )
    name = "127.0.0.1/app" + PLATFORM
    assert run_actool(actool, other, server.port, name)[0] == 1
    assert (
        cli.main(
            ["discover", "--ca-certs", str(other), "--port", str(server.port), name]
        )
        == 1
    )
    captured = capsys.readouterr()
    assert captured.out == ""
    assert "error fetching endpoints" in captured.err
    assert "CERTIFICATE_VERIFY_FAILED" in captured.err
    # Both succeed with --insecure (no certificate check), with the same answer.
    env = {**os.environ, "SSL_CERT_FILE": str(other), "NO_PROXY": "*"}
    reference = subprocess.run(
        [actool, "discover", "--json", "--insecure", "--port", str(server.port), name],
        env=env,
        capture_output=True,
        text=True,
        check=True,
        timeout=60,
    )
    code = cli.main(
        [
            "discover",
            "--json",
            "--insecure",
            "--ca-certs",
            str(other),
            "--port",
            str(server.port),
            name,
        ]
    )
    assert code == 0
    assert json.loads(capsys.readouterr().out) == json.loads(
        reference.stdout[reference.stdout.index("{") :]
    )
