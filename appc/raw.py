"""A lenient reading of broken manifests, for diagnostics (Go's ``lastditch``).

When a manifest fails validation, tools still want to say *which* image or
pod it was, or remove a pod whose manifest is bad. :func:`load_raw_manifest`
reads only the identifying fields, as plain strings, and checks nothing but
``acKind``: invalid names, duplicate labels and bad IDs are kept as they
are. Unknown fields are ignored and keys match in any case, as in Go; the
JSON itself must still be sound (the same guards as
:func:`appc.load_manifest`, including :data:`appc.manifest.MAX_MANIFEST_SIZE`).

>>> raw = load_raw_manifest(b'{"acKind": "ImageManifest", "name": "Bad Name!", '
...                         b'"labels": [{"name": "os", "value": "x"}, {"name": "os"}]}')
>>> raw.name, raw.labels
('Bad Name!', (('os', 'x'), ('os', '')))
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Final, cast

import attrs

from appc import _json
from appc.errors import InvalidManifest, Issue
from appc.manifest import MAX_MANIFEST_SIZE


__all__ = [
    "RawImageManifest",
    "RawPodManifest",
    "RawRuntimeApp",
    "RawRuntimeImage",
    "load_raw_image_manifest",
    "load_raw_manifest",
    "load_raw_pod_manifest",
]

_IMAGE: Final = "ImageManifest"
_POD: Final = "PodManifest"

RawLabels = tuple[tuple[str, str], ...]


@attrs.frozen(kw_only=True)
class RawImageManifest:
    """The identifying fields of an image manifest, unchecked.

    >>> RawImageManifest(name="example.com/app").ac_kind
    'ImageManifest'
    """

    ac_version: str = ""
    ac_kind: str = _IMAGE
    name: str = ""
    labels: RawLabels = ()


@attrs.frozen(kw_only=True)
class RawRuntimeImage:
    """The image of a runtime app, unchecked.

    >>> RawRuntimeImage(id="sha512-zz").id
    'sha512-zz'
    """

    name: str = ""
    id: str = ""
    labels: RawLabels = ()


@attrs.frozen(kw_only=True)
class RawRuntimeApp:
    """A runtime app of a pod, unchecked.

    >>> RawRuntimeApp(name="web").image
    RawRuntimeImage(name='', id='', labels=())
    """

    name: str = ""
    image: RawRuntimeImage = RawRuntimeImage()


@attrs.frozen(kw_only=True)
class RawPodManifest:
    """The identifying fields of a pod manifest, unchecked.

    >>> RawPodManifest(apps=(RawRuntimeApp(name="web"),)).apps[0].name
    'web'
    """

    ac_version: str = ""
    ac_kind: str = _POD
    apps: tuple[RawRuntimeApp, ...] = ()


class _Reader:
    """Reads plain fields the way Go's decoder does, recording type errors."""

    def __init__(self) -> None:
        self.issues: list[Issue] = []

    def fields(
        self, value: Any, path: tuple[str | int, ...], keys: tuple[str, ...]
    ) -> dict[str, Any]:
        if value is None:
            return {}
        if not isinstance(value, dict):
            self._wrong(path, "an object", value)
            return {}
        obj = cast("dict[str, Any]", value)
        wanted = {key.lower(): key for key in keys}
        found: dict[str, Any] = {}
        for key, item in obj.items():
            target = (
                key if key in keys else wanted.get(key.replace("\u017f", "s").lower())
            )
            if target is not None:
                found[target] = item
        return found

    def string(
        self, fields: Mapping[str, Any], key: str, path: tuple[str | int, ...]
    ) -> str:
        value = fields.get(key)
        if value is None:
            return ""
        if not isinstance(value, str):
            self._wrong((*path, key), "a string", value)
            return ""
        return str(value)

    def array(self, value: Any, path: tuple[str | int, ...]) -> list[Any]:
        if value is None:
            return []
        if not isinstance(value, list):
            self._wrong(path, "an array", value)
            return []
        return cast("list[Any]", value)  # type: ignore[redundant-cast]

    def labels(self, value: Any, path: tuple[str | int, ...]) -> RawLabels:
        pairs: list[tuple[str, str]] = []
        for index, entry in enumerate(self.array(value, path)):
            label = self.fields(entry, (*path, index), ("name", "value"))
            pairs.append(
                (
                    self.string(label, "name", (*path, index)),
                    self.string(label, "value", (*path, index)),
                )
            )
        return tuple(pairs)

    def _wrong(self, path: tuple[str | int, ...], expected: str, value: Any) -> None:
        kind = type(value).__name__
        self.issues.append(
            Issue(_json.format_path(path), f"expected {expected}, not a JSON {kind}")
        )


def _kind_error(expected: str) -> InvalidManifest:
    issue = Issue("$.acKind", f'missing or bad ACKind (must be "{expected}")')
    return InvalidManifest(_json.PARSE_ERROR, [issue])


def _read_image(document: Any) -> RawImageManifest:
    reader = _Reader()
    fields = reader.fields(document, (), ("acVersion", "acKind", "name", "labels"))
    manifest = RawImageManifest(
        ac_version=reader.string(fields, "acVersion", ()),
        ac_kind=reader.string(fields, "acKind", ()),
        name=reader.string(fields, "name", ()),
        labels=reader.labels(fields.get("labels"), ("labels",)),
    )
    if reader.issues:
        raise InvalidManifest(_json.PARSE_ERROR, reader.issues)
    if manifest.ac_kind != _IMAGE:
        raise _kind_error(_IMAGE)
    return manifest


def _read_pod(document: Any) -> RawPodManifest:
    reader = _Reader()
    fields = reader.fields(document, (), ("acVersion", "acKind", "apps"))
    apps: list[RawRuntimeApp] = []
    for index, entry in enumerate(reader.array(fields.get("apps"), ("apps",))):
        path: tuple[str | int, ...] = ("apps", index)
        app = reader.fields(entry, path, ("name", "image"))
        image = reader.fields(
            app.get("image"), (*path, "image"), ("name", "id", "labels")
        )
        image_path = (*path, "image")
        runtime_image = RawRuntimeImage(
            name=reader.string(image, "name", image_path),
            id=reader.string(image, "id", image_path),
            labels=reader.labels(image.get("labels"), (*image_path, "labels")),
        )
        apps.append(
            RawRuntimeApp(name=reader.string(app, "name", path), image=runtime_image)
        )
    manifest = RawPodManifest(
        ac_version=reader.string(fields, "acVersion", ()),
        ac_kind=reader.string(fields, "acKind", ()),
        apps=tuple(apps),
    )
    if reader.issues:
        raise InvalidManifest(_json.PARSE_ERROR, reader.issues)
    if manifest.ac_kind != _POD:
        raise _kind_error(_POD)
    return manifest


def load_raw_image_manifest(data: bytes | str) -> RawImageManifest:
    """Read an image manifest leniently; only ``acKind`` must be right.

    >>> load_raw_image_manifest('{"acKind": "PodManifest"}')
    Traceback (most recent call last):
    ...
    appc.errors.InvalidManifest: error unmarshaling manifest
      $.acKind: missing or bad ACKind (must be "ImageManifest")
    """
    return _read_image(_json.loads(data, max_size=MAX_MANIFEST_SIZE))


def load_raw_pod_manifest(data: bytes | str) -> RawPodManifest:
    """Read a pod manifest leniently; only ``acKind`` must be right.

    >>> load_raw_pod_manifest('{"acKind": "PodManifest", "apps": [{"name": "A!", "image": {"id": "x"}}]}').apps[0]
    RawRuntimeApp(name='A!', image=RawRuntimeImage(name='', id='x', labels=()))
    """
    return _read_pod(_json.loads(data, max_size=MAX_MANIFEST_SIZE))


def load_raw_manifest(data: bytes | str) -> RawImageManifest | RawPodManifest:
    """Read either manifest leniently, by its ``acKind``.

    >>> load_raw_manifest('{"ACKIND": "PodManifest", "acVersion": "bogus"}').ac_version
    'bogus'
    """
    document = _json.loads(data, max_size=MAX_MANIFEST_SIZE)
    kind = _Reader().fields(document, (), ("acKind",)).get("acKind")
    if kind == _POD:
        return _read_pod(document)
    if kind == _IMAGE:
        return _read_image(document)
    issue = Issue("$.acKind", f'missing or bad ACKind (must be "{_IMAGE}" or "{_POD}")')
    raise InvalidManifest(_json.PARSE_ERROR, [issue])
