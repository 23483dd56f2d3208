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

from appc.aci._compression import detect_compression, iter_decompressed
from appc.aci.extract import extract
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
