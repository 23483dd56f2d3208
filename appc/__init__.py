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

from appc import errors
from appc.image_id import ImageID
from appc.labels import Labels
from appc.manifest import ImageManifest, PodManifest, dump_manifest, load_manifest
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


def __getattr__(name: str) -> str:
    if name == "__version__":
        from importlib.metadata import version

        return version("appc")
    raise AttributeError(f"module 'appc' has no attribute {name!r}")
