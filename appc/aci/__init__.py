"""App Container Images (ACIs): build, validate, identify, extract and patch them.

An ACI is a tar archive, optionally gzip, bzip2 or xz compressed, holding a
``manifest`` and a ``rootfs/`` directory. Every function here streams, reads
a path or a binary file object, detects the compression by magic bytes and
works within named budgets (:mod:`appc.aci.limits`).

>>> import pathlib, tempfile
>>> import appc.aci
>>> with tempfile.TemporaryDirectory() as tmp:
...     layout = pathlib.Path(tmp, "layout")
...     (layout / "rootfs").mkdir(parents=True)
...     _ = (layout / "manifest").write_text(
...         '{"acKind": "ImageManifest", "acVersion": "0.8.11", "name": "example.com/hello"}'
...     )
...     built = appc.aci.build(layout, pathlib.Path(tmp, "hello.aci"))
...     checked = appc.aci.validate(pathlib.Path(tmp, "hello.aci"))
...     same = appc.aci.image_id(pathlib.Path(tmp, "hello.aci")) == built
>>> str(checked.name), same
('example.com/hello', True)
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from appc import _lazy


if TYPE_CHECKING:
    from appc.aci._compression import detect_compression, iter_decompressed
    from appc.aci._extract import extract
    from appc.aci.limits import (
        DEFAULT_LIMITS,
        MAX_EXTENDED_HEADER_SIZE,
        MAX_MANIFEST_SIZE,
        MAX_MEMBERS,
        MAX_NAME_LENGTH,
        MAX_UNCOMPRESSED_BYTES,
        Limits,
    )
    from appc.aci.patch import patch_manifest
    from appc.aci.reader import (
        image_id,
        read_manifest,
        read_manifest_bytes,
        validate,
        validate_archive,
        validate_layout,
    )
    from appc.aci.writer import ImageWriter, build


__all__ = [
    "DEFAULT_LIMITS",
    "MAX_EXTENDED_HEADER_SIZE",
    "MAX_MANIFEST_SIZE",
    "MAX_MEMBERS",
    "MAX_NAME_LENGTH",
    "MAX_UNCOMPRESSED_BYTES",
    "ImageWriter",
    "Limits",
    "build",
    "detect_compression",
    "extract",
    "image_id",
    "iter_decompressed",
    "patch_manifest",
    "read_manifest",
    "read_manifest_bytes",
    "validate",
    "validate_archive",
    "validate_layout",
]

# Imported on first use, as in :mod:`appc`: ``appc image-id`` needs neither the
# manifest models nor the writer, extractor and patcher.
_LAZY = {
    "DEFAULT_LIMITS": "appc.aci.limits",
    "MAX_EXTENDED_HEADER_SIZE": "appc.aci.limits",
    "MAX_MANIFEST_SIZE": "appc.aci.limits",
    "MAX_MEMBERS": "appc.aci.limits",
    "MAX_NAME_LENGTH": "appc.aci.limits",
    "MAX_UNCOMPRESSED_BYTES": "appc.aci.limits",
    "ImageWriter": "appc.aci.writer",
    "Limits": "appc.aci.limits",
    "build": "appc.aci.writer",
    "detect_compression": "appc.aci._compression",
    "extract": "appc.aci._extract",
    "image_id": "appc.aci.reader",
    "iter_decompressed": "appc.aci._compression",
    "patch_manifest": "appc.aci.patch",
    "read_manifest": "appc.aci.reader",
    "read_manifest_bytes": "appc.aci.reader",
    "validate": "appc.aci.reader",
    "validate_archive": "appc.aci.reader",
    "validate_layout": "appc.aci.reader",
}


def __getattr__(name: str) -> Any:
    return _lazy.load(globals(), _LAZY, name)


def __dir__() -> list[str]:
    return sorted([*globals(), *_LAZY])
