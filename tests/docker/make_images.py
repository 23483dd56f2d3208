"""Build Docker images without a Docker engine: ``docker save`` files and OCI layouts.

Layers are declared as lists of members (:class:`File`, :class:`Dir`,
:class:`Symlink`, :class:`Hardlink`, :func:`whiteout`, :func:`opaque`) and
written with :mod:`tarfile`, deterministically. The same :class:`Image` can
be written as a ``docker save`` archive (the ``manifest.json`` form, the
legacy ``repositories`` form, or skopeo's form with symlinked layers) and as
an OCI image layout (directory or tar, gzip, zstd or plain layers), so tests
can check that every form converts to the same ACI.

Run as a script, it writes the sample images the registry tests push::

    python tests/docker/make_images.py OUTDIR
"""

from __future__ import annotations

import gzip
import hashlib
import io
import json
import sys
import tarfile

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any


MTIME = 1_600_000_000


@dataclass(frozen=True)
class File:
    name: str
    data: bytes = b""
    mode: int = 0o644
    uid: int = 0
    gid: int = 0
    xattrs: tuple[tuple[str, str], ...] = ()


@dataclass(frozen=True)
class Dir:
    name: str
    mode: int = 0o755
    uid: int = 0
    gid: int = 0


@dataclass(frozen=True)
class Symlink:
    name: str
    target: str


@dataclass(frozen=True)
class Hardlink:
    name: str
    target: str


@dataclass(frozen=True)
class Raw:
    """A member given as a ready TarInfo (hostile names, odd types)."""

    info: tarfile.TarInfo
    data: bytes = b""


Member = File | Dir | Symlink | Hardlink | Raw


def whiteout(path: str) -> File:
    """The marker that deletes ``path`` from lower layers."""
    parent, _, base = path.rpartition("/")
    return File(f"{parent}/.wh.{base}" if parent else f".wh.{base}")


def opaque(directory: str) -> File:
    """The marker that empties ``directory`` of lower layers' content."""
    return File(f"{directory}/.wh..wh..opq")


def layer_tar(members: list[Member]) -> bytes:
    """The uncompressed tar of one layer."""
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w", format=tarfile.PAX_FORMAT) as archive:
        for member in members:
            if isinstance(member, Raw):
                archive.addfile(
                    member.info, io.BytesIO(member.data) if member.data else None
                )
                continue
            info = tarfile.TarInfo(member.name)
            info.mtime = MTIME
            info.uname = info.gname = "root"
            data = None
            if isinstance(member, File):
                info.size = len(member.data)
                info.mode = member.mode
                info.uid, info.gid = member.uid, member.gid
                info.pax_headers = {f"SCHILY.xattr.{k}": v for k, v in member.xattrs}
                data = io.BytesIO(member.data)
            elif isinstance(member, Dir):
                info.type = tarfile.DIRTYPE
                info.mode = member.mode
                info.uid, info.gid = member.uid, member.gid
            elif isinstance(member, Symlink):
                info.type = tarfile.SYMTYPE
                info.linkname = member.target
                info.mode = 0o777
            else:
                info.type = tarfile.LNKTYPE
                info.linkname = member.target
                info.mode = 0o644
            archive.addfile(info, data)
    return buffer.getvalue()


def _sha256(data: bytes) -> str:
    return "sha256:" + hashlib.sha256(data).hexdigest()


@dataclass
class Image:
    """An image: layers (base first), the runtime config and its names."""

    layers: list[list[Member]]
    config: dict[str, Any] = field(default_factory=dict[str, Any])
    repo_tags: list[str] = field(default_factory=list[str])
    os: str = "linux"
    architecture: str = "amd64"
    variant: str = ""
    created: str = "2020-09-13T12:26:40Z"
    author: str = ""

    def layer_blobs(self) -> list[bytes]:
        return [layer_tar(layer) for layer in self.layers]

    def config_json(self) -> bytes:
        document: dict[str, Any] = {
            "architecture": self.architecture,
            "os": self.os,
            "config": self.config,
            "created": self.created,
            "rootfs": {
                "type": "layers",
                "diff_ids": [_sha256(b) for b in self.layer_blobs()],
            },
        }
        if self.variant:
            document["variant"] = self.variant
        if self.author:
            document["author"] = self.author
        return json.dumps(document, sort_keys=True).encode()


def _add(archive: tarfile.TarFile, name: str, data: bytes) -> None:
    info = tarfile.TarInfo(name)
    info.size = len(data)
    info.mtime = MTIME
    archive.addfile(info, io.BytesIO(data))


def _add_symlink(archive: tarfile.TarFile, name: str, target: str) -> None:
    info = tarfile.TarInfo(name)
    info.type = tarfile.SYMTYPE
    info.linkname = target
    archive.addfile(info)


def write_docker_save(
    path: Path,
    images: list[Image],
    *,
    form: str = "manifest",
    gzip_layers: bool = False,
) -> Path:
    """Write a ``docker save`` archive.

    ``form`` is ``manifest`` (manifest.json + repositories, Docker < 25),
    ``skopeo`` (top-level ``<hex>.tar`` layers, ``<id>/layer.tar`` symlinks)
    or ``legacy`` (repositories + ``<id>/json`` only, parent chains).
    """
    with tarfile.open(path, mode="w", format=tarfile.PAX_FORMAT) as archive:
        manifest: list[dict[str, Any]] = []
        repositories: dict[str, dict[str, str]] = {}
        written: set[str] = set()
        for image in images:
            blobs = image.layer_blobs()
            config = image.config_json()
            parent = ""
            layer_paths: list[str] = []
            for number, blob in enumerate(blobs):
                # Legacy v1 IDs chain the layer digests, so they differ per image.
                layer_id = hashlib.sha256(
                    f"{parent}{_sha256(blob)}".encode()
                ).hexdigest()
                data = gzip.compress(blob, mtime=0) if gzip_layers else blob
                if layer_id not in written:
                    written.add(layer_id)
                    if form == "skopeo":
                        _add(archive, f"{hashlib.sha256(data).hexdigest()}.tar", data)
                        _add_symlink(
                            archive,
                            f"{layer_id}/layer.tar",
                            f"../{hashlib.sha256(data).hexdigest()}.tar",
                        )
                    else:
                        _add(archive, f"{layer_id}/layer.tar", data)
                    _add(archive, f"{layer_id}/VERSION", b"1.0")
                    v1: dict[str, Any] = {"id": layer_id, "created": image.created}
                    if parent:
                        v1["parent"] = parent
                    if number == len(blobs) - 1:
                        v1.update(
                            config=image.config,
                            os=image.os,
                            architecture=image.architecture,
                        )
                        if image.author:
                            v1["author"] = image.author
                    _add(archive, f"{layer_id}/json", json.dumps(v1).encode())
                layer_paths.append(
                    f"{hashlib.sha256(data).hexdigest()}.tar"
                    if form == "skopeo"
                    else f"{layer_id}/layer.tar"
                )
                parent = layer_id
            config_name = f"{hashlib.sha256(config).hexdigest()}.json"
            if form != "legacy" and config_name not in written:
                written.add(config_name)
                _add(archive, config_name, config)
            manifest.append(
                {
                    "Config": config_name,
                    "RepoTags": image.repo_tags,
                    "Layers": layer_paths,
                }
            )
            for tag in image.repo_tags:
                repo, _, name = tag.rpartition(":")
                repositories.setdefault(repo, {})[name] = parent
        if form != "legacy":
            _add(archive, "manifest.json", json.dumps(manifest).encode())
        _add(archive, "repositories", json.dumps(repositories).encode())
    return path


def _compress(blob: bytes, compression: str) -> tuple[bytes, str]:
    if compression == "gzip":
        return gzip.compress(
            blob, mtime=0
        ), "application/vnd.oci.image.layer.v1.tar+gzip"
    if compression == "zstd":
        import zstandard

        return (
            zstandard.ZstdCompressor().compress(blob),
            "application/vnd.oci.image.layer.v1.tar+zstd",
        )
    return blob, "application/vnd.oci.image.layer.v1.tar"


class _Blobs:
    def __init__(self) -> None:
        self.blobs: dict[str, bytes] = {}

    def add(self, data: bytes, media_type: str, **extra: Any) -> dict[str, Any]:
        digest = _sha256(data)
        self.blobs[digest] = data
        return {"mediaType": media_type, "digest": digest, "size": len(data), **extra}


def _oci_manifest(blobs: _Blobs, image: Image, compression: str) -> bytes:
    layers: list[dict[str, Any]] = []
    for blob in image.layer_blobs():
        data, media_type = _compress(blob, compression)
        layers.append(blobs.add(data, media_type))
    manifest = {
        "schemaVersion": 2,
        "mediaType": "application/vnd.oci.image.manifest.v1+json",
        "config": blobs.add(
            image.config_json(), "application/vnd.oci.image.config.v1+json"
        ),
        "layers": layers,
    }
    return json.dumps(manifest, sort_keys=True).encode()


def write_oci_layout(
    path: Path,
    images: list[Image],
    *,
    as_tar: bool = False,
    compression: str = "gzip",
    platform_index: bool = False,
) -> Path:
    """Write an OCI image layout (a directory, or a tar with ``as_tar``).

    Each image gets an index entry named by its first repo tag (the full
    name in ``io.containerd.image.name``, the tag in ``ref.name``). With
    ``platform_index``, all images go into one nested index instead, one
    entry per platform, under the first image's name.
    """
    blobs = _Blobs()
    entries: list[dict[str, Any]] = []

    def annotations(image: Image) -> dict[str, str]:
        if not image.repo_tags:
            return {}
        tag = image.repo_tags[0]
        return {
            "io.containerd.image.name": tag,
            "org.opencontainers.image.ref.name": tag.rpartition(":")[2],
        }

    if platform_index:
        children: list[dict[str, Any]] = []
        for image in images:
            platform = {"os": image.os, "architecture": image.architecture}
            if image.variant:
                platform["variant"] = image.variant
            children.append(
                blobs.add(
                    _oci_manifest(blobs, image, compression),
                    "application/vnd.oci.image.manifest.v1+json",
                    platform=platform,
                )
            )
        nested = json.dumps(
            {
                "schemaVersion": 2,
                "mediaType": "application/vnd.oci.image.index.v1+json",
                "manifests": children,
            },
            sort_keys=True,
        ).encode()
        entries.append(
            blobs.add(
                nested,
                "application/vnd.oci.image.index.v1+json",
                annotations=annotations(images[0]),
            )
        )
    else:
        entries.extend(
            blobs.add(
                _oci_manifest(blobs, image, compression),
                "application/vnd.oci.image.manifest.v1+json",
                annotations=annotations(image),
            )
            for image in images
        )
    index = json.dumps(
        {"schemaVersion": 2, "manifests": entries}, sort_keys=True
    ).encode()
    files = {
        "oci-layout": b'{"imageLayoutVersion": "1.0.0"}',
        "index.json": index,
        **{
            f"blobs/sha256/{digest.split(':')[1]}": data
            for digest, data in blobs.blobs.items()
        },
    }
    if as_tar:
        with tarfile.open(path, mode="w") as archive:
            for name, data in sorted(files.items()):
                _add(archive, name, data)
        return path
    for name, data in files.items():
        target = path / name
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(data)
    return path


def sample_image(repo_tag: str = "example.com/test/img:latest") -> Image:
    """A two-layer image with every kind of whiteout, for the registry tests."""
    return Image(
        layers=[
            [
                Dir("etc"),
                File("etc/hello", b"hello\n"),
                File("etc/old", b"old\n"),
                Dir("a"),
                File("a/x", b"x\n"),
                File("a/y", b"y\n"),
                Dir("bin"),
                File("bin/sh", b"#!shell\n", mode=0o755),
                Dir("usr"),
                Symlink("usr/bin", "../bin"),
                File("h/source", b"shared\n"),
                Hardlink("h/link", "h/source"),
            ],
            [
                whiteout("a/x"),
                opaque("etc"),
                Dir("etc"),
                File("etc/new", b"new\n"),
                whiteout("h/source"),
            ],
        ],
        config={
            "Entrypoint": ["/bin/sh"],
            "Cmd": ["-c", "echo hi"],
            "Env": ["PATH=/usr/bin:/bin", "GREETING=hello"],
            "WorkingDir": "/srv",
            "User": "1000:1000",
            "ExposedPorts": {"6379/tcp": {}, "53/udp": {}},
            "Volumes": {"/data": {}},
            "Labels": {"maintainer": "tests"},
        },
        repo_tags=[repo_tag],
    )


def main(argv: list[str]) -> int:
    out = Path(argv[1] if len(argv) > 1 else ".")
    out.mkdir(parents=True, exist_ok=True)
    image = sample_image()
    write_docker_save(out / "img.tar", [image])
    write_oci_layout(out / "img-oci", [image])
    sys.stdout.write(f"{out / 'img.tar'}\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv))
