"""App Container (appc) images from Python.

The stable core is here: the names and values of the spec, the two
manifests, and loading and dumping them. Archives, discovery, signing and
the store live in their own subpackages (``appc.aci``, ``appc.discovery``,
``appc.signing``...), imported only when used.

>>> import appc
>>> manifest = appc.load_manifest('{"acKind": "ImageManifest", "acVersion": "0.8.11", "name": "example.com/app"}')
>>> isinstance(manifest, appc.ImageManifest), manifest.name == appc.ACIdentifier("example.com/app")
(True, True)
>>> appc.errors.AppcError.__name__
'AppcError'
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from appc import _lazy, errors


if TYPE_CHECKING:
    from appc.image_id import ImageID
    from appc.labels import Labels
    from appc.manifest import (
        ImageManifest,
        PodManifest,
        dump_manifest,
        load_manifest,
    )
    from appc.names import ACIdentifier, ACName
    from appc.semver import SemVer


__all__ = [
    "ACIdentifier",
    "ACName",
    "ImageID",
    "ImageManifest",
    "Labels",
    "PodManifest",
    "SemVer",
    "dump_manifest",
    "errors",
    "load_manifest",
]

# The re-exports are imported on first use: building the manifest models
# costs a tenth of a second, which every `appc` command (and every user that
# only needs `appc.aci` or `appc.errors`) would otherwise pay at start-up.
_LAZY = {
    "ACIdentifier": "appc.names",
    "ACName": "appc.names",
    "ImageID": "appc.image_id",
    "ImageManifest": "appc.manifest",
    "Labels": "appc.labels",
    "PodManifest": "appc.manifest",
    "SemVer": "appc.semver",
    "dump_manifest": "appc.manifest",
    "load_manifest": "appc.manifest",
}


def __getattr__(name: str) -> Any:
    if name == "__version__":
        from importlib.metadata import version

        return version("appc")
    return _lazy.load(globals(), _LAZY, name)


def __dir__() -> list[str]:
    return sorted([*globals(), *_LAZY])
