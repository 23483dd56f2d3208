"""Convert Docker and OCI images to ACIs: the public entry point.

>>> import appc.docker
>>> appc.docker.convert.__name__
'convert'
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import os
import tempfile

from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any, Final, Literal

import attrs

from appc.docker._config import ImageConfig
from appc.docker._layers import LayerIndex, LayerReader
from appc.docker._mapping import (
    aci_file_name,
    aci_name,
    layer_aci_name,
    manifest_document,
    os_arch_labels,
)
from appc.docker._output import write_aci
from appc.docker._source import Progress, ResolvedImage
from appc.errors import ConversionError, InvalidManifest
from appc.image_id import ImageID


if TYPE_CHECKING:
    from appc.manifest import ImageManifest


__all__ = ["DOCKER_PREFIX", "ConvertedImage", "convert"]

logger = logging.getLogger(__name__)

#: Sources starting with this are pulled from a registry.
DOCKER_PREFIX: Final = "docker://"


@attrs.frozen(kw_only=True)
class ConvertedImage:
    """One ACI written by :func:`convert`."""

    path: Path
    image_id: ImageID
    manifest: ImageManifest

    @property
    def name(self) -> str:
        """The image name in the manifest."""
        return str(self.manifest.name)


def _load(document: dict[str, Any]) -> ImageManifest:
    from appc.manifest import load_image_manifest

    try:
        return load_image_manifest(json.dumps(document))
    except InvalidManifest as exc:
        raise ConversionError(f"the converted manifest is not valid: {exc}") from exc


def _mtime(config: ImageConfig) -> int:
    # The manifest and rootfs entries have no time of their own: the image's
    # creation time (or SOURCE_DATE_EPOCH) keeps the archive reproducible.
    epoch = os.environ.get("SOURCE_DATE_EPOCH", "")
    if epoch.isdigit():
        return int(epoch)
    try:
        created = dt.datetime.fromisoformat(config.created)
    except ValueError:
        return 0
    if created.tzinfo is None:
        created = created.replace(tzinfo=dt.UTC)
    return max(0, int(created.timestamp()))


def _resolve(
    source: str | os.PathLike[str],
    directory: Path,
    *,
    image: str | None,
    os_name: str | None,
    arch: str | None,
    insecure_allow_http: bool,
    insecure_skip_verify: bool,
    ca_certs: str | os.PathLike[str] | None,
    credentials: tuple[str, str] | None,
    progress: Progress | None,
) -> ResolvedImage:
    text = os.fspath(source)
    if text.startswith(DOCKER_PREFIX):
        from appc.docker.registry import fetch_image

        return fetch_image(
            text,
            directory,
            os_name=os_name,
            arch=arch,
            insecure_allow_http=insecure_allow_http,
            insecure_skip_verify=insecure_skip_verify,
            ca_certs=ca_certs,
            credentials=credentials,
            progress=progress,
        )
    from appc.docker._save import read_image_file

    return read_image_file(
        Path(text),
        directory,
        image=image,
        os_name=os_name,
        arch=arch,
        progress=progress,
    )


def _check_dev(index: LayerIndex) -> None:
    info = index.find("dev")
    if info is not None and not info.isdir():
        raise ConversionError('invalid layer: "/dev" is not a directory')


def _squashed(
    resolved: ResolvedImage, out_dir: Path, compression: Literal["gzip", "none"]
) -> tuple[ConvertedImage, ...]:
    index = LayerIndex()
    for layer in resolved.layers:
        index.apply(layer)
    _check_dev(index)
    base = aci_name(resolved.reference, resolved.fallback_name)
    document = manifest_document(
        resolved.config,
        name=base,
        reference=resolved.reference,
        image_id=resolved.layer_ids[-1] if resolved.layer_ids else "",
    )
    manifest = _load(document)
    path = out_dir / aci_file_name(resolved.reference, resolved.fallback_name)
    with LayerReader(index.layers) as reader:
        image_id = write_aci(
            path,
            manifest,
            index.entries(),
            reader,
            compression=compression,
            mtime=_mtime(resolved.config),
        )
    return (ConvertedImage(path=path, image_id=image_id, manifest=manifest),)


def _per_layer(
    resolved: ResolvedImage, out_dir: Path, compression: Literal["gzip", "none"]
) -> tuple[ConvertedImage, ...]:
    index = LayerIndex()
    base = aci_name(resolved.reference, resolved.fallback_name)
    os_arch = os_arch_labels(resolved.config)
    mtime = _mtime(resolved.config)
    written: list[ConvertedImage] = []
    last = len(resolved.layers) - 1
    for number, (layer, layer_id) in enumerate(
        zip(resolved.layers, resolved.layer_ids, strict=True)
    ):
        index.apply(layer)
        dependencies: list[dict[str, Any]] = []
        if written:
            parent = written[-1].manifest
            dependency: dict[str, Any] = {
                "imageName": str(parent.name),
                "imageID": str(written[-1].image_id),
            }
            if parent.labels:
                dependency["labels"] = [
                    {"name": str(name), "value": value}
                    for name, value in parent.labels.items()
                ]
            dependencies.append(dependency)
        if number == last:
            _check_dev(index)
        document = manifest_document(
            resolved.config,
            name=layer_aci_name(base, layer_id),
            reference=resolved.reference,
            image_id=layer_id,
            parent_image_id=resolved.layer_ids[number - 1] if number else "",
            with_app=number == last,
            dependencies=dependencies,
            path_whitelist=index.whitelist() if index.deleted else (),
        )
        manifest = _load(document)
        path = out_dir / aci_file_name(
            resolved.reference, resolved.fallback_name, os_arch=os_arch, layer=number
        )
        with LayerReader(index.layers) as reader:
            image_id = write_aci(
                path,
                manifest,
                index.entries(owner=number),
                reader,
                compression=compression,
                mtime=mtime,
            )
        written.append(ConvertedImage(path=path, image_id=image_id, manifest=manifest))
    return tuple(written)


def convert(
    source: str | os.PathLike[str],
    out_dir: str | os.PathLike[str],
    *,
    squash: bool = True,
    image: str | None = None,
    os: str | None = None,
    arch: str | None = None,
    compression: Literal["gzip", "none"] = "gzip",
    insecure_allow_http: bool = False,
    insecure_skip_verify: bool = False,
    ca_certs: str | os.PathLike[str] | None = None,
    credentials: tuple[str, str] | None = None,
    tmp_dir: str | os.PathLike[str] | None = None,
    progress: Callable[[str, int, int | None], None] | None = None,
) -> tuple[ConvertedImage, ...]:
    """Convert a Docker or OCI image to one ACI (or one per layer) in ``out_dir``.

    ``source`` is ``docker://[REGISTRY/]NAME[:TAG|@DIGEST]``, a ``docker
    save`` file or an OCI layout (directory or tar); ``image`` picks one image
    of a file that holds several; ``os`` and ``arch`` (Go names, ``arch`` may
    be ``arm/v7``) pick one platform of a manifest list (default: the host's).
    ``credentials`` (user, password) log in to the registry, e.g. rkt's
    ``dockerAuth`` entries (:meth:`appc.auth.AuthConfig.registry_credentials`);
    without them, those ``docker login`` stored are used. Returns the ACIs
    written, base layer first with ``squash=False``.
    """
    if compression not in ("gzip", "none"):
        raise ConversionError(f'unknown compression "{compression}" (use gzip or none)')
    target = Path(out_dir)
    with tempfile.TemporaryDirectory(prefix="appc-docker2aci-", dir=tmp_dir) as scratch:
        resolved = _resolve(
            source,
            Path(scratch),
            image=image,
            os_name=os,
            arch=arch,
            insecure_allow_http=insecure_allow_http,
            insecure_skip_verify=insecure_skip_verify,
            ca_certs=ca_certs,
            credentials=credentials,
            progress=progress,
        )
        if squash or not resolved.layers:
            return _squashed(resolved, target, compression)
        return _per_layer(resolved, target, compression)
