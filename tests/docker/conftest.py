"""Registries on 127.0.0.1 (Debian's docker-registry), filled with skopeo.

Each registry lives for the test module that uses it and is stopped by PID
in the fixture's teardown.
"""

from __future__ import annotations

import base64
import json

from collections.abc import Iterator
from pathlib import Path

import pytest
import trustme

from tests.docker.make_images import (
    File,
    Image,
    sample_image,
    write_docker_save,
    write_oci_layout,
)
from tests.docker.servers import (
    Registry,
    TokenService,
    docker_registry,
    skopeo_copy,
    token_service,
)
from tests.helpers import require_tool


USER = ("tester", "s3cret")


@pytest.fixture(scope="module")
def skopeo() -> str:
    return require_tool("skopeo")


@pytest.fixture(scope="module")
def registry_binary() -> str:
    return require_tool("docker-registry")


def platform_images(name: str) -> list[Image]:
    """The same image for two platforms; a file says which one it is."""
    return [
        Image(layers=[[File("arch", b"amd64\n")]], repo_tags=[name]),
        Image(
            layers=[[File("arch", b"arm/v7\n")]],
            repo_tags=[name],
            architecture="arm",
            variant="v7",
        ),
    ]


@pytest.fixture(scope="module")
def images(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """The test images, made by tests/docker/make_images.py."""
    root = tmp_path_factory.mktemp("images")
    return {
        "sample": write_docker_save(root / "sample.tar", [sample_image()]),
        "multi": write_oci_layout(
            root / "multi",
            platform_images("example.com/multi:latest"),
            platform_index=True,
        ),
    }


@pytest.fixture(scope="module")
def plain_registry(
    registry_binary: str,
    skopeo: str,
    images: dict[str, Path],
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[Registry]:
    """Plain HTTP, anonymous: test/img:latest and a two-platform test/multi:latest."""
    workdir = tmp_path_factory.mktemp("plain-registry")
    with docker_registry(registry_binary, workdir) as port:
        host = f"127.0.0.1:{port}"
        skopeo_copy(
            skopeo,
            f"docker-archive:{images['sample']}",
            f"docker://{host}/test/img:latest",
        )
        skopeo_copy(
            skopeo,
            f"oci:{images['multi']}:latest",
            f"docker://{host}/test/multi:latest",
            extra=("--all",),
        )
        yield Registry(host=host, scheme="http")


@pytest.fixture(scope="module")
def tls_material(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path, Path]:
    """(CA file, certificate, key) for 127.0.0.1, from trustme."""
    root = tmp_path_factory.mktemp("tls")
    ca = trustme.CA()
    server = ca.issue_cert("127.0.0.1")
    # skopeo reads every file of its cert dir: the CA goes alone in one.
    (root / "ca").mkdir()
    ca_file = root / "ca" / "ca.crt"
    ca.cert_pem.write_to_path(str(ca_file))
    cert = root / "server.crt"
    key = root / "server.key"
    server.cert_chain_pems[0].write_to_path(str(cert))
    for pem in server.cert_chain_pems[1:]:
        with cert.open("ab") as out:
            out.write(pem.bytes())
    server.private_key_pem.write_to_path(str(key))
    return ca_file, cert, key


@pytest.fixture(scope="module")
def tls_registry(
    registry_binary: str,
    skopeo: str,
    images: dict[str, Path],
    tls_material: tuple[Path, Path, Path],
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[Registry]:
    """HTTPS with basic auth (htpasswd, bcrypt): test/img:latest."""
    ca_file, cert, key = tls_material
    workdir = tmp_path_factory.mktemp("tls-registry")
    with docker_registry(
        registry_binary, workdir, tls=(cert, key), htpasswd=USER
    ) as port:
        host = f"127.0.0.1:{port}"
        skopeo_copy(
            skopeo,
            f"docker-archive:{images['sample']}",
            f"docker://{host}/test/img:latest",
            cert_dir=ca_file.parent,
            creds=USER,
        )
        yield Registry(host=host, scheme="https", ca_file=ca_file, credentials=USER)


@pytest.fixture(scope="module")
def token_registry(
    registry_binary: str,
    skopeo: str,
    images: dict[str, Path],
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[tuple[Registry, TokenService]]:
    """Plain HTTP with bearer tokens from a token service in the tests."""
    workdir = tmp_path_factory.mktemp("token-registry")
    with (
        token_service(workdir, USER) as tokens,
        docker_registry(
            registry_binary, workdir, token=tokens.registry_config()
        ) as port,
    ):
        host = f"127.0.0.1:{port}"
        skopeo_copy(
            skopeo,
            f"docker-archive:{images['sample']}",
            f"docker://{host}/test/img:latest",
            creds=USER,
        )
        yield Registry(host=host, scheme="http", credentials=USER), tokens


def write_docker_config(directory: Path, auths: dict[str, tuple[str, str]]) -> Path:
    """A ~/.docker/config.json as `docker login` writes it."""
    directory.mkdir(parents=True, exist_ok=True)
    document = {
        "auths": {
            host: {"auth": base64.b64encode(f"{user}:{password}".encode()).decode()}
            for host, (user, password) in auths.items()
        }
    }
    (directory / "config.json").write_text(json.dumps(document))
    return directory
