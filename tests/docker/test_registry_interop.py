"""Pulls from Debian's docker-registry on 127.0.0.1, filled by skopeo."""

from __future__ import annotations

import subprocess
import tarfile

from pathlib import Path

import appc.aci
import appc.docker
import pytest

from appc.errors import DigestMismatch, RegistryError

from tests.docker.conftest import USER, write_docker_config
from tests.docker.servers import Registry, TokenService


pytestmark = pytest.mark.interop


def _arch_file(path: Path) -> bytes:
    with tarfile.open(path) as aci:
        return aci.extractfile("rootfs/arch").read()  # type: ignore[union-attr]


def test_plain_http_registry_gives_the_same_image_as_the_files(
    plain_registry: Registry, images: dict[str, Path], tmp_path: Path, actool: str
) -> None:
    source = f"docker://{plain_registry.host}/test/img:latest"
    progress: list[tuple[str, int, int | None]] = []

    def record(label: str, done: int, total: int | None) -> None:
        progress.append((label, done, total))

    (pulled,) = appc.docker.convert(
        source,
        tmp_path / "pulled",
        insecure_allow_http=True,
        progress=record,
    )
    result = subprocess.run(
        [actool, "validate", str(pulled.path)], capture_output=True, check=False
    )
    assert result.returncode == 0, result.stderr
    assert appc.aci.image_id(pulled.path) == pulled.image_id
    assert pulled.name == "127.0.0.1_" + plain_registry.host.split(":")[1] + "/test/img"
    # The same image from a docker save file and from an OCI layout, named as
    # the registry names it, converts to the same bytes.
    from tests.docker.make_images import (
        sample_image,
        write_docker_save,
        write_oci_layout,
    )

    image = sample_image(f"{plain_registry.host}/test/img:latest")
    from_save = appc.docker.convert(
        write_docker_save(tmp_path / "s.tar", [image]), tmp_path / "s"
    )[0]
    from_oci = appc.docker.convert(
        write_oci_layout(tmp_path / "oci", [image]), tmp_path / "o"
    )[0]
    assert pulled.image_id == from_save.image_id == from_oci.image_id
    # Each layer's download was reported up to its full size.
    finals = {label: (done, total) for label, done, total in progress}
    assert len(finals) == 2
    assert all(done == total for done, total in finals.values())


def test_https_is_the_default(plain_registry: Registry, tmp_path: Path) -> None:
    with pytest.raises(RegistryError, match="https://"):
        appc.docker.convert(f"docker://{plain_registry.host}/test/img:latest", tmp_path)


def test_pull_by_digest(plain_registry: Registry, tmp_path: Path) -> None:
    from appc.docker.registry import RegistryClient

    with RegistryClient(plain_registry.host, insecure_allow_http=True) as client:
        client.ping()
        _document, _media_type, digest = client.manifest("test/img", "latest")
    (image,) = appc.docker.convert(
        f"docker://{plain_registry.host}/test/img@{digest}",
        tmp_path,
        insecure_allow_http=True,
    )
    assert "version" not in image.manifest.labels
    assert image.path.name == "test-img.aci"


def test_manifest_list_picks_the_platform(
    plain_registry: Registry, tmp_path: Path
) -> None:
    source = f"docker://{plain_registry.host}/test/multi:latest"
    (arm,) = appc.docker.convert(
        source, tmp_path / "arm", os="linux", arch="arm/v7", insecure_allow_http=True
    )
    (amd,) = appc.docker.convert(
        source, tmp_path / "amd", os="linux", arch="amd64", insecure_allow_http=True
    )
    assert _arch_file(arm.path) == b"arm/v7\n"
    assert {str(k): v for k, v in arm.manifest.labels.items()}["arch"] == "armv7l"
    assert _arch_file(amd.path) == b"amd64\n"
    assert {str(k): v for k, v in amd.manifest.labels.items()}["arch"] == "amd64"
    with pytest.raises(Exception, match="no image for linux/s390x"):
        appc.docker.convert(
            source,
            tmp_path / "none",
            os="linux",
            arch="s390x",
            insecure_allow_http=True,
        )


def test_missing_image(plain_registry: Registry, tmp_path: Path) -> None:
    with pytest.raises(RegistryError, match="404"):
        appc.docker.convert(
            f"docker://{plain_registry.host}/test/nothing:latest",
            tmp_path,
            insecure_allow_http=True,
        )


def test_tls_with_basic_auth(
    tls_registry: Registry, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    source = f"docker://{tls_registry.host}/test/img:latest"
    monkeypatch.setenv("DOCKER_CONFIG", str(tmp_path / "none"))
    with pytest.raises(RegistryError, match="asks for credentials"):
        appc.docker.convert(source, tmp_path, ca_certs=tls_registry.ca_file)
    monkeypatch.setenv(
        "DOCKER_CONFIG",
        str(
            write_docker_config(
                tmp_path / "bad", {tls_registry.host: ("tester", "wrong")}
            )
        ),
    )
    with pytest.raises(RegistryError, match="401"):
        appc.docker.convert(source, tmp_path, ca_certs=tls_registry.ca_file)
    monkeypatch.setenv(
        "DOCKER_CONFIG",
        str(write_docker_config(tmp_path / "good", {tls_registry.host: USER})),
    )
    with pytest.raises(
        RegistryError, match=r"CERTIFICATE_VERIFY_FAILED|certificate verify failed"
    ):
        appc.docker.convert(source, tmp_path)
    (image,) = appc.docker.convert(
        source, tmp_path / "ok", ca_certs=tls_registry.ca_file
    )
    (skipped,) = appc.docker.convert(
        source, tmp_path / "skip", insecure_skip_verify=True
    )
    assert image.image_id == skipped.image_id


def test_bearer_token_auth(
    token_registry: tuple[Registry, TokenService],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    registry, tokens = token_registry
    source = f"docker://{registry.host}/test/img:latest"
    monkeypatch.setenv("DOCKER_CONFIG", str(tmp_path / "none"))
    with pytest.raises(RegistryError, match="token service answered HTTP 401"):
        appc.docker.convert(source, tmp_path, insecure_allow_http=True)
    monkeypatch.setenv(
        "DOCKER_CONFIG",
        str(write_docker_config(tmp_path / "cfg", {registry.host: USER})),
    )
    tokens.requests.clear()
    (image,) = appc.docker.convert(source, tmp_path / "ok", insecure_allow_http=True)
    assert image.name.endswith("/test/img")
    assert {
        "scope": "repository:test/img:pull",
        "service": tokens.service,
    } in tokens.requests


def test_tampered_blob_is_detected(
    registry_binary: str, skopeo: str, images: dict[str, Path], tmp_path: Path
) -> None:
    from tests.docker.servers import docker_registry, skopeo_copy

    with docker_registry(registry_binary, tmp_path / "registry") as port:
        host = f"127.0.0.1:{port}"
        skopeo_copy(
            skopeo,
            f"docker-archive:{images['sample']}",
            f"docker://{host}/test/img:latest",
        )
        blobs = sorted(
            (tmp_path / "registry" / "storage").glob(
                "docker/registry/v2/blobs/sha256/*/*/data"
            ),
            key=lambda p: p.stat().st_size,
        )
        # The biggest blob is a layer: flip one byte of it.
        data = bytearray(blobs[-1].read_bytes())
        data[len(data) // 2] ^= 0xFF
        blobs[-1].write_bytes(bytes(data))
        with pytest.raises(DigestMismatch):
            appc.docker.convert(
                f"docker://{host}/test/img:latest",
                tmp_path / "out",
                insecure_allow_http=True,
            )
    assert (
        not list((tmp_path / "out").glob("*.aci"))
        if (tmp_path / "out").exists()
        else True
    )
