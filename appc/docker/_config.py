"""Read a Docker or OCI image configuration (the JSON that describes an image).

Three shapes carry the same fields: the OCI/Docker schema 2 image config
(``config``, ``rootfs.diff_ids``, ``os``, ``architecture``...), and the
legacy ``docker save`` ``<id>/json`` of Docker's v1 image format, which has
the same top-level names. Only what the conversion uses is kept; every field
is type-checked, so a wrong type is a clear :class:`ConversionError`, never a
crash later.

>>> config = parse_image_config(b'{"architecture": "amd64", "os": "linux",'
...     b' "config": {"Entrypoint": ["/bin/sh"], "Env": ["A=1"]}}')
>>> config.entrypoint, config.env, config.os
(('/bin/sh',), ('A=1',), 'linux')
"""

from __future__ import annotations

import json

from collections.abc import Mapping
from typing import Any, Final, cast

import attrs

from appc.errors import ConversionError, LimitExceeded


__all__ = [
    "MAX_JSON_SIZE",
    "ImageConfig",
    "as_object",
    "load_json",
    "parse_image_config",
]

#: Bytes of one JSON document read from an image (config, manifest, index).
MAX_JSON_SIZE: Final = 4 * 2**20


def _reject_constant(value: str) -> Any:
    raise ValueError(f"{value} is not valid JSON")


def load_json(data: bytes, what: str) -> Any:
    """Parse a bounded JSON document, translating every failure.

    >>> load_json(b'{"a": 1}', "config")
    {'a': 1}
    >>> load_json(b'[NaN]', "config")
    Traceback (most recent call last):
    ...
    appc.errors.ConversionError: invalid config: NaN is not valid JSON
    """
    if len(data) > MAX_JSON_SIZE:
        raise LimitExceeded(
            "MAX_JSON_SIZE",
            MAX_JSON_SIZE,
            f"{what} is larger than {MAX_JSON_SIZE} bytes (MAX_JSON_SIZE)",
        )
    try:
        return json.loads(data, parse_constant=_reject_constant)
    except (ValueError, RecursionError) as exc:
        raise ConversionError(f"invalid {what}: {exc}") from exc


def as_object(value: Any) -> dict[str, Any] | None:
    """``value`` if it is a JSON object, else None.

    >>> as_object({"a": 1}), as_object([1])
    ({'a': 1}, None)
    """
    return cast("dict[str, Any]", value) if isinstance(value, dict) else None


def _string(value: Any, where: str) -> str:
    if value is None:
        return ""
    if not isinstance(value, str):
        raise ConversionError(f"invalid image config: {where} is not a string")
    return value


def _strings(value: Any, where: str) -> tuple[str, ...]:
    if value is None:
        return ()
    if not isinstance(value, list):
        raise ConversionError(f"invalid image config: {where} is not a list")
    return tuple(_string(item, f"{where}[{i}]") for i, item in enumerate(value))  # pyright: ignore[reportUnknownVariableType, reportUnknownArgumentType]


def _object(value: Any, where: str) -> Mapping[str, Any]:
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise ConversionError(f"invalid image config: {where} is not an object")
    return value  # pyright: ignore[reportUnknownVariableType]


@attrs.frozen(kw_only=True)
class ImageConfig:
    """The fields of an image config that the conversion maps."""

    entrypoint: tuple[str, ...] = ()
    cmd: tuple[str, ...] = ()
    user: str = ""
    env: tuple[str, ...] = ()
    working_dir: str = ""
    volumes: tuple[str, ...] = ()
    exposed_ports: tuple[str, ...] = ()
    labels: tuple[tuple[str, str], ...] = ()
    os: str = ""
    architecture: str = ""
    variant: str = ""
    author: str = ""
    created: str = ""
    comment: str = ""
    diff_ids: tuple[str, ...] = ()
    #: Legacy layer JSON only: the layer ID and its parent's.
    id: str = ""
    parent: str = ""


def parse_image_config(data: bytes | Mapping[str, Any]) -> ImageConfig:
    """Read an image config from its JSON bytes (or an already parsed object)."""
    document = load_json(data, "image config") if isinstance(data, bytes) else data
    top = _object(document, "$")
    config = _object(top.get("config"), "$.config")
    rootfs = _object(top.get("rootfs"), "$.rootfs")
    labels = _object(config.get("Labels"), "$.config.Labels")
    return ImageConfig(
        entrypoint=_strings(config.get("Entrypoint"), "$.config.Entrypoint"),
        cmd=_strings(config.get("Cmd"), "$.config.Cmd"),
        user=_string(config.get("User"), "$.config.User"),
        env=_strings(config.get("Env"), "$.config.Env"),
        working_dir=_string(config.get("WorkingDir"), "$.config.WorkingDir"),
        volumes=tuple(sorted(_object(config.get("Volumes"), "$.config.Volumes"))),
        exposed_ports=tuple(
            sorted(_object(config.get("ExposedPorts"), "$.config.ExposedPorts"))
        ),
        labels=tuple(
            (str(key), _string(value, f"$.config.Labels[{key!r}]"))
            for key, value in sorted(labels.items())
        ),
        os=_string(top.get("os"), "$.os"),
        architecture=_string(top.get("architecture"), "$.architecture"),
        variant=_string(top.get("variant"), "$.variant"),
        author=_string(top.get("author"), "$.author"),
        created=_string(top.get("created"), "$.created"),
        comment=_string(top.get("comment"), "$.comment"),
        diff_ids=_strings(rootfs.get("diff_ids"), "$.rootfs.diff_ids"),
        id=_string(top.get("id"), "$.id"),
        parent=_string(top.get("parent"), "$.parent"),
    )
