"""Images from files: ``docker save`` archives and OCI image layouts.

Three ``docker save`` forms are read: ``manifest.json`` (every Docker since
1.10, skopeo's ``docker-archive:``, Docker 25+ whose paths point into an OCI
layout inside the tar), and the legacy ``repositories`` + ``<id>/json`` +
``<id>/layer.tar`` form, whose parent chain is walked with a loop check
(docker2aci's CVE-2016-8579). OCI image layouts are read as a directory or
as a tar (``oci-layout``, ``index.json``, ``blobs/<alg>/<hex>``).

Paths inside an archive are followed only to members of the same archive,
symlinks included (skopeo writes ``<id>/layer.tar`` as a symlink). Every
blob named by a digest is verified, and every layer is checked against the
config's ``diff_ids`` (the legacy form has none to check).
"""

from __future__ import annotations

import contextlib
import posixpath
import re
import tarfile

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any, BinaryIO, Final

import attrs

from appc.docker._config import (
    MAX_JSON_SIZE,
    ImageConfig,
    as_object,
    load_json,
    parse_image_config,
)
from appc.docker._layers import MAX_LAYERS, clean_member_name
from appc.docker._reference import DockerReference, parse_reference
from appc.docker._source import (
    ZSTD_MAGIC,
    Digest,
    FileLayer,
    Progress,
    ResolvedImage,
    WindowLayer,
    select_platform,
    spool_layer,
    verify_stream,
)
from appc.errors import (
    ConversionError,
    DigestMismatch,
    InvalidDockerReference,
    LimitExceeded,
    UnsafeLayer,
)


__all__ = [
    "INDEX_MEDIA_TYPES",
    "MANIFEST_MEDIA_TYPES",
    "MAX_SYMLINK_HOPS",
    "read_image_file",
    "resolve_oci_manifest",
]

#: Symlinks followed to reach one member of an archive.
MAX_SYMLINK_HOPS: Final = 16

OCI_INDEX: Final = "application/vnd.oci.image.index.v1+json"
OCI_MANIFEST: Final = "application/vnd.oci.image.manifest.v1+json"
DOCKER_LIST: Final = "application/vnd.docker.distribution.manifest.list.v2+json"
DOCKER_MANIFEST: Final = "application/vnd.docker.distribution.manifest.v2+json"
INDEX_MEDIA_TYPES: Final = (OCI_INDEX, DOCKER_LIST)
MANIFEST_MEDIA_TYPES: Final = (OCI_MANIFEST, DOCKER_MANIFEST)
_NAME_ANNOTATION: Final = "io.containerd.image.name"
_REF_ANNOTATION: Final = "org.opencontainers.image.ref.name"
_LEGACY_ID: Final = re.compile(r"[a-f0-9]{64}")
_DIGEST_NAMED: Final = re.compile(r"(?:blobs/sha256/|)([a-f0-9]{64})(?:\.json)?")
_GZIP_MAGIC: Final = b"\x1f\x8b"


def _fallback_name(path: Path) -> str:
    # docker2aci: the file name without its last extension.
    name = path.name
    stem, dot, _ext = name.rpartition(".")
    return stem if dot and stem else name


# --------------------------------------------------------------------------
# Storage: a directory or a tar file, addressed by clean relative paths


class _Store:
    """Named files of an OCI layout directory or of an (uncompressed) tar."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.label = str(root)
        self._members: dict[str, tarfile.TarInfo] | None = None
        if root.is_dir():
            return
        members: dict[str, tarfile.TarInfo] = {}
        try:
            with tarfile.open(root, mode="r:") as archive:
                for info in archive:
                    name = clean_member_name(info.name, f"{root}: member")
                    if name in members and not info.isdir():
                        raise UnsafeLayer(f'{root}: duplicate member "{info.name}"')
                    members[name] = info
        except (tarfile.TarError, EOFError, UnicodeError, ValueError) as exc:
            raise ConversionError(
                f"{root}: not a docker save archive nor an OCI layout: {exc}"
            ) from exc
        self._members = members

    def _resolve(self, name: str) -> tarfile.TarInfo | None:
        members = self._members or {}
        current = name
        for _hop in range(MAX_SYMLINK_HOPS):
            info = members.get(current)
            if info is None:
                return None
            if info.issym():
                if info.linkname.startswith("/"):
                    raise UnsafeLayer(
                        f'{self.label}: "{name}" links outside the archive'
                    )
                joined = posixpath.join(posixpath.dirname(current), info.linkname)
                current = clean_member_name(
                    posixpath.normpath(joined)
                    if not joined.startswith("..")
                    else joined,
                    f"{self.label}: link target of {name!r}",
                )
                continue
            if info.islnk():
                current = clean_member_name(info.linkname, f"{self.label}: link target")
                continue
            return info if info.isreg() else None
        raise UnsafeLayer(f'{self.label}: too many symlinks to reach "{name}"')

    def exists(self, name: str) -> bool:
        if self._members is None:
            return (self.root / name).is_file()
        return self._resolve(name) is not None

    def size(self, name: str) -> int:
        if self._members is None:
            return self._file(name).stat().st_size
        return self._info(name).size

    def _file(self, name: str) -> Path:
        path = self.root / clean_member_name(name, f"{self.label}: path")
        if path.is_symlink() or not path.is_file():
            raise ConversionError(
                f'{self.label}: "{name}" is missing or not a regular file'
            )
        return path

    def _info(self, name: str) -> tarfile.TarInfo:
        info = self._resolve(clean_member_name(name, f"{self.label}: path"))
        if info is None:
            raise ConversionError(
                f'{self.label}: "{name}" is missing or not a regular file'
            )
        return info

    def open(self, name: str) -> BinaryIO:
        if self._members is None:
            return self._file(name).open("rb")
        info = self._info(name)
        return WindowLayer(name, self.root, info.offset_data, info.size).open()

    def window(self, name: str, label: str) -> WindowLayer | FileLayer:
        if self._members is None:
            return FileLayer(label, self._file(name))
        info = self._info(name)
        return WindowLayer(label, self.root, info.offset_data, info.size)

    def read_json(self, name: str, what: str, digest: Digest | None = None) -> Any:
        size = self.size(name)
        if size > MAX_JSON_SIZE:
            raise LimitExceeded(
                "MAX_JSON_SIZE",
                MAX_JSON_SIZE,
                f"{what} is larger than {MAX_JSON_SIZE} bytes (MAX_JSON_SIZE)",
            )
        with self.open(name) as stream:
            data = stream.read(MAX_JSON_SIZE + 1)
        if digest is not None:
            digest.verify(data, what)
        return load_json(data, what)


def _layer(
    store: _Store,
    name: str,
    *,
    label: str,
    directory: Path,
    blob_digest: Digest | None,
    diff_id: Digest | None,
    size: int | None = None,
    progress: Progress | None = None,
) -> FileLayer | WindowLayer:
    with store.open(name) as stream:
        head = stream.read(4)
    if not head.startswith((_GZIP_MAGIC, ZSTD_MAGIC)):
        # An uncompressed layer is read where it lies, after its digests
        # (blob and diff ID, the same bytes) are checked.
        layer = store.window(name, label)
        if size is not None and store.size(name) != size:
            raise DigestMismatch(
                f"{label}: blob has {store.size(name)} bytes, expected {size}"
            )
        for digest in {d for d in (blob_digest, diff_id) if d is not None}:
            with layer.open() as stream:
                verify_stream(stream, digest, label)
        return layer
    with store.open(name) as stream:
        return spool_layer(
            stream,
            label=label,
            directory=directory,
            blob_digest=blob_digest,
            diff_id=diff_id,
            size=size,
            progress=progress,
        )


def _list(value: Any, what: str) -> list[Any]:
    if not isinstance(value, list):
        raise ConversionError(f"invalid {what}: expected a list")
    return value  # pyright: ignore[reportUnknownVariableType]


def _dict(value: Any, what: str) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise ConversionError(f"invalid {what}: expected an object")
    return value  # pyright: ignore[reportUnknownVariableType]


def _str(value: Any, what: str) -> str:
    if not isinstance(value, str):
        raise ConversionError(f"invalid {what}: expected a string")
    return value


def _diff_ids(config: ImageConfig, count: int, what: str) -> list[Digest]:
    if len(config.diff_ids) != count:
        raise ConversionError(
            f"{what}: the config lists {len(config.diff_ids)} layers, the manifest {count}"
        )
    return [Digest.parse(diff_id) for diff_id in config.diff_ids]


# --------------------------------------------------------------------------
# Selecting an image by name


def _parse_wanted(image: str) -> DockerReference:
    return parse_reference(image, default_tag="")


def _same_name(candidate: DockerReference, wanted: DockerReference) -> bool:
    return candidate.name == wanted.name


def _choose_tagged(
    candidates: Sequence[tuple[DockerReference, Any]], image: str | None, what: str
) -> tuple[DockerReference | None, Any]:
    """Pick one of (reference, payload) by ``--image NAME[:TAG]``."""
    if image is None:
        payloads = {id(payload): payload for _ref, payload in candidates}
        if len(payloads) > 1:
            names = ", ".join(sorted({str(ref) for ref, _payload in candidates}))
            raise ConversionError(
                f"several images found in {what}: {names}; choose one with --image"
            )
        if not candidates:  # pragma: no cover - callers handle unnamed images
            raise ConversionError(f"no images found in {what}")
        return candidates[0]
    wanted = _parse_wanted(image)
    named = [(ref, payload) for ref, payload in candidates if _same_name(ref, wanted)]
    if not named:
        raise ConversionError(f'image "{image}" not found in {what}')
    if wanted.tag:
        for ref, payload in named:
            if ref.tag == wanted.tag:
                return ref, payload
        raise ConversionError(f'tag "{wanted.tag}" not found in {what}')
    for ref, payload in named:
        if ref.tag == "latest":
            return ref, payload
    if len(named) == 1:
        return named[0]
    tags = ", ".join(sorted(ref.tag for ref, _payload in named))
    raise ConversionError(
        f'several tags of "{image}" in {what}: {tags}; choose one with --image'
    )


# --------------------------------------------------------------------------
# docker save: manifest.json


def _read_manifest_json(
    store: _Store, image: str | None, directory: Path, progress: Progress | None
) -> ResolvedImage:
    entries = _list(store.read_json("manifest.json", "manifest.json"), "manifest.json")
    if not entries:
        raise ConversionError(f"no images found in {store.label}")
    candidates: list[tuple[DockerReference, Any]] = []
    untagged: list[Any] = []
    for entry in entries:
        entry_dict = _dict(entry, "manifest.json entry")
        tags: Any = entry_dict.get("RepoTags") or []
        candidates.extend(
            (parse_reference(_str(tag, "RepoTags entry")), entry_dict)
            for tag in _list(tags, "manifest.json RepoTags")
        )
        if not tags:
            untagged.append(entry_dict)
    if image is None and not candidates and len(untagged) == 1:
        chosen_ref, chosen = None, untagged[0]
    elif image is None and untagged and (candidates or len(untagged) > 1):
        raise ConversionError(
            f"several images found in {store.label}, some without a name; "
            "choose one with --image"
        )
    else:
        chosen_ref, chosen = _choose_tagged(candidates, image, store.label)
    config_name = _str(chosen.get("Config"), "manifest.json Config")
    named = _DIGEST_NAMED.fullmatch(
        posixpath.basename(config_name)
    ) or _DIGEST_NAMED.fullmatch(config_name)
    config_digest = Digest("sha256", named[1]) if named else None
    config = parse_image_config(
        _dict(
            store.read_json(config_name, "image config", config_digest), "image config"
        )
    )
    layer_names = [
        _str(name, "manifest.json Layers")
        for name in _list(chosen.get("Layers"), "manifest.json Layers")
    ]
    if len(layer_names) > MAX_LAYERS:
        raise LimitExceeded(
            "MAX_LAYERS", MAX_LAYERS, f"more than {MAX_LAYERS} layers (MAX_LAYERS)"
        )
    diff_ids = _diff_ids(config, len(layer_names), store.label)
    layers = tuple(
        _layer(
            store,
            name,
            label=f"layer {number} ({diff_id})",
            directory=directory,
            blob_digest=None,
            diff_id=diff_id,
            progress=progress,
        )
        for number, (name, diff_id) in enumerate(
            zip(layer_names, diff_ids, strict=True)
        )
    )
    return ResolvedImage(
        config=config,
        layers=layers,
        layer_ids=tuple(str(diff_id) for diff_id in diff_ids),
        reference=chosen_ref,
        fallback_name=_fallback_name(store.root),
    )


# --------------------------------------------------------------------------
# docker save: legacy repositories + <id>/json


def _read_legacy(
    store: _Store, image: str | None, directory: Path, progress: Progress | None
) -> ResolvedImage:
    repositories = _dict(
        store.read_json("repositories", "repositories"), "repositories"
    )
    candidates: list[tuple[DockerReference, Any]] = []
    for repo, tags in sorted(repositories.items()):
        for tag, layer_id in sorted(_dict(tags, "repositories entry").items()):
            candidates.append(
                (parse_reference(f"{repo}:{tag}"), _str(layer_id, "layer ID"))
            )
    if not candidates:
        raise ConversionError(f"no images found in {store.label}")
    if image is None:
        repos = {ref.name for ref, _id in candidates}
        if len(repos) > 1:
            names = ", ".join(sorted(repos))
            raise ConversionError(
                f"several images found in {store.label}: {names}; choose one with --image"
            )
        image = next(iter(repos))
    reference, top_id = _choose_tagged(candidates, image, store.label)
    chain: list[tuple[str, ImageConfig]] = []
    seen: set[str] = set()
    layer_id = top_id
    while layer_id:
        if not _LEGACY_ID.fullmatch(layer_id):
            raise UnsafeLayer(f'{store.label}: invalid layer ID "{layer_id}"')
        if layer_id in seen:
            raise UnsafeLayer(
                f'{store.label}: dependency loop detected at layer "{layer_id}"'
            )
        if len(chain) >= MAX_LAYERS:
            raise LimitExceeded(
                "MAX_LAYERS", MAX_LAYERS, f"more than {MAX_LAYERS} layers (MAX_LAYERS)"
            )
        seen.add(layer_id)
        config = parse_image_config(
            _dict(store.read_json(f"{layer_id}/json", "layer json"), "layer json")
        )
        chain.append((layer_id, config))
        layer_id = config.parent
    chain.reverse()
    layers = tuple(
        _layer(
            store,
            f"{layer_id}/layer.tar",
            label=f"layer {number} ({layer_id[:12]})",
            directory=directory,
            blob_digest=None,
            diff_id=None,
            progress=progress,
        )
        for number, (layer_id, _config) in enumerate(chain)
    )
    return ResolvedImage(
        config=chain[-1][1],
        layers=layers,
        layer_ids=tuple(layer_id for layer_id, _config in chain),
        reference=reference,
        fallback_name=_fallback_name(store.root),
    )


# --------------------------------------------------------------------------
# OCI image layouts


def _oci_reference(descriptor: Mapping[str, Any]) -> tuple[DockerReference | None, str]:
    """The reference named by an index entry, and its tag-like ref name."""
    annotations = as_object(descriptor.get("annotations"))
    if annotations is None:
        return None, ""
    full: Any = annotations.get(_NAME_ANNOTATION)
    ref_name: Any = annotations.get(_REF_ANNOTATION, "")
    ref_name = ref_name if isinstance(ref_name, str) else ""
    for text in (full, ref_name):
        if isinstance(text, str) and ("/" in text or ":" in text):
            with contextlib.suppress(InvalidDockerReference):
                return parse_reference(text), ref_name
    return None, ref_name


def resolve_oci_manifest(
    fetch_json: Any,
    descriptor: Mapping[str, Any],
    *,
    os_name: str | None,
    arch: str | None,
    what: str,
) -> tuple[dict[str, Any], str]:
    """Follow an index (or manifest list) down to one image manifest.

    ``fetch_json(descriptor, what)`` returns the verified JSON of a descriptor.
    Returns the manifest and its digest.
    """
    for _depth in range(4):
        media_type = descriptor.get("mediaType")
        document = _dict(fetch_json(descriptor, what), what)
        media_type = document.get("mediaType", media_type)
        if media_type in INDEX_MEDIA_TYPES or (
            "manifests" in document and "layers" not in document
        ):
            manifests = [
                _dict(entry, f"{what} entry")
                for entry in _list(document.get("manifests"), what)
            ]
            descriptor = select_platform(
                manifests, os_name=os_name, arch=arch, what=what
            )
            continue
        if media_type not in (*MANIFEST_MEDIA_TYPES, None):
            raise ConversionError(
                f'{what}: unsupported manifest media type "{media_type}"'
            )
        return document, _str(descriptor.get("digest"), f"{what} digest")
    raise ConversionError(f"{what}: indexes nested too deeply")


def _read_oci(
    store: _Store,
    image: str | None,
    *,
    directory: Path,
    progress: Progress | None,
    os_name: str | None,
    arch: str | None,
) -> ResolvedImage:
    layout = _dict(store.read_json("oci-layout", "oci-layout"), "oci-layout")
    if layout.get("imageLayoutVersion") != "1.0.0":
        raise ConversionError(
            f'{store.label}: unsupported imageLayoutVersion "{layout.get("imageLayoutVersion")}"'
        )
    index = _dict(store.read_json("index.json", "index.json"), "index.json")
    descriptors = [
        _dict(entry, "index.json entry")
        for entry in _list(index.get("manifests"), "index.json manifests")
    ]
    if not descriptors:
        raise ConversionError(f"no images found in {store.label}")
    fallback = _fallback_name(store.root)

    def blob_name(descriptor: Mapping[str, Any]) -> tuple[str, Digest]:
        digest = Digest.parse(descriptor.get("digest"))
        return f"blobs/{digest.algorithm}/{digest.hex}", digest

    def fetch_json(descriptor: Mapping[str, Any], what: str) -> Any:
        name, digest = blob_name(descriptor)
        data = store.read_json(name, what, digest)
        size = descriptor.get("size")
        if isinstance(size, int) and size != store.size(name):
            raise ConversionError(
                f"{what}: blob {digest} has {store.size(name)} bytes, expected {size}"
            )
        return data

    named: list[tuple[DockerReference | None, str, dict[str, Any]]] = []
    for descriptor in descriptors:
        ref, ref_name = _oci_reference(descriptor)
        if ref is None and ref_name:
            with contextlib.suppress(InvalidDockerReference):
                ref = parse_reference(f"{fallback}:{ref_name}")
        named.append((ref, ref_name, descriptor))
    if image is None:
        if len(named) > 1:
            names = ", ".join(
                sorted(
                    str(ref or ref_name or "(unnamed)") for ref, ref_name, _d in named
                )
            )
            raise ConversionError(
                f"several images found in {store.label}: {names}; choose one with --image"
            )
        reference, _tag, chosen = named[0]
    else:
        exact = [(ref, d) for ref, ref_name, d in named if ref_name == image]
        if exact:
            reference, chosen = exact[0]
        else:
            candidates = [(ref, d) for ref, _n, d in named if ref is not None]
            reference, chosen = _choose_tagged(candidates, image, store.label)
    manifest, manifest_digest = resolve_oci_manifest(
        fetch_json, chosen, os_name=os_name, arch=arch, what=f"{store.label} index"
    )
    config_descriptor = _dict(manifest.get("config"), "manifest config")
    config = parse_image_config(
        _dict(fetch_json(config_descriptor, "image config"), "image config")
    )
    layer_descriptors = [
        _dict(d, "manifest layer")
        for d in _list(manifest.get("layers"), "manifest layers")
    ]
    if len(layer_descriptors) > MAX_LAYERS:
        raise LimitExceeded(
            "MAX_LAYERS", MAX_LAYERS, f"more than {MAX_LAYERS} layers (MAX_LAYERS)"
        )
    diff_ids = _diff_ids(config, len(layer_descriptors), store.label)
    layers: list[FileLayer | WindowLayer] = []
    for number, (descriptor, diff_id) in enumerate(
        zip(layer_descriptors, diff_ids, strict=True)
    ):
        name, digest = blob_name(descriptor)
        size = descriptor.get("size")
        layers.append(
            _layer(
                store,
                name,
                label=f"layer {number} ({diff_id})",
                directory=directory,
                blob_digest=digest,
                diff_id=diff_id,
                size=size if isinstance(size, int) else None,
                progress=progress,
            )
        )
    return ResolvedImage(
        config=config,
        layers=tuple(layers),
        layer_ids=tuple(str(diff_id) for diff_id in diff_ids),
        reference=reference,
        fallback_name=fallback,
        manifest_digest=manifest_digest,
    )


# --------------------------------------------------------------------------


def _uncompressed_copy(path: Path, directory: Path) -> Path:
    """A compressed ``docker save | gzip`` file, decompressed beside the layers."""
    from appc.aci import iter_decompressed

    target = directory / "archive.tar"
    with path.open("rb") as raw, target.open("wb") as out:
        for chunk in iter_decompressed(raw, max_bytes=None):
            out.write(chunk)
    return target


def read_image_file(
    path: Path,
    directory: Path,
    *,
    image: str | None = None,
    os_name: str | None = None,
    arch: str | None = None,
    progress: Progress | None = None,
) -> ResolvedImage:
    """Resolve one image of a ``docker save`` file or an OCI layout (dir or tar).

    Temporary layer files go into ``directory``, which the caller removes.
    """
    if not path.exists():
        raise ConversionError(f"{path}: no such file or directory")
    if path.is_file():
        with path.open("rb") as raw:
            head = raw.read(6)
        if head.startswith((_GZIP_MAGIC, b"BZh", b"\xfd7zXZ\x00")):
            store = _Store(_uncompressed_copy(path, directory))
            store.label = str(path)
            fallback = _fallback_name(path)
            resolved = _read_store(
                store,
                image,
                directory=directory,
                progress=progress,
                os_name=os_name,
                arch=arch,
            )
            return _with_fallback(resolved, fallback)
    store = _Store(path)
    return _read_store(
        store, image, directory=directory, progress=progress, os_name=os_name, arch=arch
    )


def _with_fallback(resolved: ResolvedImage, fallback: str) -> ResolvedImage:
    return attrs.evolve(resolved, fallback_name=fallback)


def _read_store(
    store: _Store,
    image: str | None,
    *,
    directory: Path,
    progress: Progress | None,
    os_name: str | None,
    arch: str | None,
) -> ResolvedImage:
    if store.exists("manifest.json"):
        return _read_manifest_json(store, image, directory, progress)
    if store.exists("index.json"):
        return _read_oci(
            store,
            image,
            directory=directory,
            progress=progress,
            os_name=os_name,
            arch=arch,
        )
    if store.exists("repositories"):
        return _read_legacy(store, image, directory, progress)
    raise ConversionError(
        f"{store.label}: not a docker save archive nor an OCI layout "
        "(no manifest.json, index.json or repositories)"
    )
