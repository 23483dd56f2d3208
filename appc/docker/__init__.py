"""Docker and OCI images to ACIs: ``docker save`` files, OCI layouts and registries.

``convert`` is docker2aci as a library: it returns the ACIs it wrote, with
their image IDs and manifests.

>>> from appc.docker import parse_reference
>>> parse_reference("docker://quay.io/coreos/etcd:v3.5").registry
'quay.io'
"""

from __future__ import annotations

from appc.docker._reference import DockerReference, parse_reference
from appc.docker.convert import ConvertedImage, convert


__all__ = ["ConvertedImage", "DockerReference", "convert", "parse_reference"]
