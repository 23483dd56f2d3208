"""Small ACIs for the store and fetch tests, built with appc.aci.ImageWriter."""

from __future__ import annotations

import io
import json

from collections.abc import Mapping, Sequence
from typing import Literal

import attrs

from appc.aci import ImageWriter
from appc.image_id import ImageID
from appc.manifest import load_image_manifest


@attrs.frozen
class Built:
    data: bytes
    image_id: ImageID


def make_aci(
    name: str = "example.com/app",
    labels: Mapping[str, str] | None = None,
    *,
    files: Mapping[str, bytes] | None = None,
    compression: Literal["gzip", "none"] = "gzip",
    dependencies: Sequence[Mapping[str, object]] = (),
) -> Built:
    """An ACI holding ``rootfs/`` and ``files`` (paths under rootfs).

    ``dependencies`` go into the manifest as they are (JSON objects).
    """
    document: dict[str, object] = {
        "acKind": "ImageManifest",
        "acVersion": "0.8.11",
        "name": name,
        "labels": [{"name": k, "value": v} for k, v in (labels or {}).items()],
    }
    if dependencies:
        document["dependencies"] = list(dependencies)
    manifest = load_image_manifest(json.dumps(document))
    out = io.BytesIO()
    with ImageWriter(out, manifest, compression=compression) as writer:
        writer.add_directory("rootfs")
        for path, data in (files or {}).items():
            writer.add_file(f"rootfs/{path}", data)
    image_id = writer.image_id
    assert image_id is not None
    return Built(out.getvalue(), image_id)
