"""Docker image config to ACI image manifest, as docker2aci maps it (pure).

The result is the manifest in its JSON form (a ``dict``), which the
converter loads through :func:`appc.load_image_manifest`, so the models
validate it like any other manifest. The mapping follows docker2aci
(anchors.md 7.5) with its gaps fixed:

* ``Labels`` become ``userLabels`` on every path (docker2aci drops them for
  schema 2 and OCI images);
* the author is always the well-known ``authors`` annotation (docker2aci
  writes ``author`` on one path and ``authors`` on the other);
* volumes get their ``-N`` suffixes in sorted order (docker2aci walks a Go
  map, so the suffixes change from run to run);
* ``ExposedPorts`` ranges (``8000-8010/tcp``) become one port with a count;
* a relative ``WorkingDir`` is taken from ``/``, as the Docker engine does.

>>> from appc.docker._config import ImageConfig
>>> doc = manifest_document(ImageConfig(entrypoint=("/bin/sh",), cmd=("-c", "true"),
...     user="daemon"), name="example.com/app")
>>> doc["app"]["exec"], doc["app"]["user"], doc["app"]["group"]
(['/bin/sh', '-c', 'true'], 'daemon', 'daemon')
"""

from __future__ import annotations

import json
import logging
import posixpath
import re

from typing import Any, Final

from appc.docker._config import ImageConfig
from appc.docker._reference import DockerReference
from appc.errors import ConversionError, InvalidDate, InvalidLabels, InvalidValue
from appc.labels import to_appc_os_arch
from appc.model.common import Date
from appc.names import sanitize_ac_identifier, sanitize_ac_name


__all__ = [
    "ANNOTATION_PREFIX",
    "aci_file_name",
    "aci_name",
    "layer_aci_name",
    "manifest_document",
    "os_arch_labels",
]

logger = logging.getLogger(__name__)

#: The prefix of the provenance annotations docker2aci writes.
ANNOTATION_PREFIX: Final = "appc.io/docker/"
_AC_VERSION: Final = "0.8.11"
_EPOCH: Final = "1970-01-01T00:00:00Z"
_PORT_RE: Final = re.compile(r"([0-9]+)(?:-([0-9]+))?")


def aci_name(reference: DockerReference | None, fallback: str) -> str:
    """The ACI name of an image: ``REGISTRY/REPOSITORY``, sanitised (docker2aci's).

    >>> from appc.docker._reference import parse_reference
    >>> aci_name(parse_reference("busybox"), "x")
    'registry-1.docker.io/library/busybox'
    >>> aci_name(parse_reference("localhost:5000/team/app"), "x")
    'localhost_5000/team/app'
    >>> aci_name(None, "My Image")
    'my_image'
    """
    text = (
        fallback
        if reference is None
        else f"{reference.registry}/{reference.repository}"
    )
    try:
        return str(sanitize_ac_identifier(text))
    except InvalidValue as exc:
        raise ConversionError(
            f'cannot make an ACI name out of "{text}": {exc}'
        ) from exc


def layer_aci_name(base: str, layer_id: str) -> str:
    """The name of one layer's ACI with ``--nosquash``: ``BASE-ALG-HEX``.

    >>> layer_aci_name("example.com/app", "sha256:ab12")
    'example.com/app-sha256-ab12'
    """
    return str(sanitize_ac_identifier(f"{base}-{layer_id.replace(':', '-')}"))


def aci_file_name(
    reference: DockerReference | None,
    fallback: str,
    *,
    os_arch: tuple[str, str] | None = None,
    layer: int | None = None,
) -> str:
    """The output file name, as docker2aci forms it.

    Squashed: ``REPOSITORY-TAG.aci`` with ``/`` turned into ``-``; per layer,
    ``-OS-ARCH-N`` comes before ``.aci``.

    >>> from appc.docker._reference import parse_reference
    >>> aci_file_name(parse_reference("busybox"), "x")
    'library-busybox-latest.aci'
    >>> aci_file_name(parse_reference("busybox:1"), "x", os_arch=("linux", "amd64"), layer=0)
    'library-busybox-1-linux-amd64-0.aci'
    """
    stem = fallback if reference is None else reference.repository
    stem = stem.replace("/", "-")
    if reference is not None and reference.tag:
        stem += f"-{reference.tag}"
    if layer is not None:
        if os_arch is not None:
            stem += f"-{os_arch[0]}-{os_arch[1]}"
        stem += f"-{layer}"
    stem = re.sub(r"[^A-Za-z0-9._-]", "_", stem).lstrip(".") or "image"
    return f"{stem}.aci"


def os_arch_labels(config: ImageConfig) -> tuple[str, str] | None:
    """The appc ``os`` and ``arch`` of an image, through the Go-to-appc table.

    >>> os_arch_labels(ImageConfig(os="linux", architecture="arm", variant="v7"))
    ('linux', 'armv7l')
    >>> os_arch_labels(ImageConfig(os="linux", architecture="arm64", variant="v8"))
    ('linux', 'aarch64')
    >>> os_arch_labels(ImageConfig(os="windows", architecture="amd64")) is None
    True
    """
    if not config.os or not config.architecture:
        return None
    goarm = config.variant.removeprefix("v") if config.architecture == "arm" else ""
    try:
        return to_appc_os_arch(config.os, config.architecture, goarm)
    except InvalidLabels:
        # docker2aci leaves the labels out too; say so rather than stay silent.
        logger.warning(
            "no appc os/arch for %s/%s%s: labels left out",
            config.os,
            config.architecture,
            f"/{config.variant}" if config.variant else "",
        )
        return None


def _user_group(user: str) -> tuple[str, str]:
    # Docker's "u", "u:g", "uid:gid"; appc needs both, and docker2aci copies
    # the user into the group when there is none (no /etc/passwd lookup).
    name, _, group = user.partition(":")
    name = name or "0"
    return name, group or name


def _environment(env: tuple[str, ...]) -> list[dict[str, str]]:
    values: dict[str, str] = {}
    for item in env:
        name, equals, value = item.partition("=")
        if not equals:
            continue  # docker2aci (v0.17.0) drops entries without "="
        values[name] = value  # a later duplicate replaces, in place
    return [{"name": name, "value": value} for name, value in values.items()]


def _mount_points(volumes: tuple[str, ...]) -> list[dict[str, Any]]:
    used: dict[str, int] = {}
    points: list[dict[str, Any]] = []
    for path in sorted(volumes):
        base = str(
            sanitize_ac_name(
                posixpath.normpath(posixpath.join("volume", path.lstrip("/")))
            )
        )
        name = base
        if base in used:
            name = f"{base}-{used[base]}"
            used[base] += 1
        else:
            used[base] = 1
        points.append({"name": name, "path": path, "readOnly": False})
    return sorted(points, key=lambda point: point["name"])


def _port(spec: str) -> dict[str, Any]:
    number, _, protocol = spec.partition("/")
    match = _PORT_RE.fullmatch(number)
    if match is None:
        raise ConversionError(f'invalid exposed port "{spec}"')
    first = int(match[1])
    last = int(match[2]) if match[2] else first
    if not 1 <= first <= last <= 65535:
        raise ConversionError(
            f'invalid exposed port "{spec}": out of the 1-65535 range'
        )
    return {
        "name": str(sanitize_ac_name(spec)),
        "protocol": protocol or "tcp",
        "port": first,
        "count": last - first + 1,
        "socketActivated": False,
    }


def _created(text: str) -> str | None:
    if not text:
        return None
    try:
        formatted = str(Date.parse(text))
    except InvalidDate:
        logger.warning("ignoring the unparsable creation date %r", text)
        return None
    return None if formatted == _EPOCH else formatted


def _app(config: ImageConfig) -> dict[str, Any]:
    user, group = _user_group(config.user)
    app: dict[str, Any] = {
        "exec": [*config.entrypoint, *config.cmd],
        "user": user,
        "group": group,
    }
    if config.working_dir:
        app["workingDirectory"] = posixpath.join("/", config.working_dir)
    environment = _environment(config.env)
    if environment:
        app["environment"] = environment
    mount_points = _mount_points(config.volumes)
    if mount_points:
        app["mountPoints"] = mount_points
    ports = sorted(
        (_port(spec) for spec in config.exposed_ports), key=lambda port: port["name"]
    )
    if ports:
        app["ports"] = ports
    if config.labels:
        app["userLabels"] = dict(config.labels)
    return app


def manifest_document(
    config: ImageConfig,
    *,
    name: str,
    reference: DockerReference | None = None,
    image_id: str = "",
    parent_image_id: str = "",
    with_app: bool = True,
    dependencies: list[dict[str, Any]] | None = None,
    path_whitelist: tuple[str, ...] = (),
) -> dict[str, Any]:
    """The image manifest (JSON form) of an image or of one of its layers.

    ``image_id`` is the Docker layer ID the ACI stands for (docker2aci's
    ``appc.io/docker/imageid``); ``with_app`` is false for the lower layers
    of ``--nosquash``, which carry files only.
    """
    labels: list[dict[str, str]] = []
    if reference is not None and reference.tag:
        labels.append({"name": "version", "value": reference.tag})
    os_arch = os_arch_labels(config)
    if os_arch is not None:
        labels.extend(
            ({"name": "os", "value": os_arch[0]}, {"name": "arch", "value": os_arch[1]})
        )
    annotations: list[tuple[str, str]] = []
    if config.author:
        annotations.append(("authors", config.author))
    created = _created(config.created)
    if created is not None:
        annotations.append(("created", created))
    if config.comment:
        annotations.append(("docker-comment", config.comment))
    if with_app:
        if config.entrypoint:
            annotations.append(
                (f"{ANNOTATION_PREFIX}entrypoint", json.dumps(list(config.entrypoint)))
            )
        if config.cmd:
            annotations.append(
                (f"{ANNOTATION_PREFIX}cmd", json.dumps(list(config.cmd)))
            )
    if reference is not None:
        annotations.extend(
            (
                (f"{ANNOTATION_PREFIX}originalname", str(reference)),
                (f"{ANNOTATION_PREFIX}registryurl", reference.registry),
                (f"{ANNOTATION_PREFIX}repository", reference.repository),
            )
        )
        if reference.tag:
            annotations.append((f"{ANNOTATION_PREFIX}tag", reference.tag))
    if image_id:
        annotations.append((f"{ANNOTATION_PREFIX}imageid", image_id))
    if parent_image_id:
        annotations.append((f"{ANNOTATION_PREFIX}parentimageid", parent_image_id))
    document: dict[str, Any] = {
        "acKind": "ImageManifest",
        "acVersion": _AC_VERSION,
        "name": name,
        "labels": labels,
    }
    if with_app:
        document["app"] = _app(config)
    document["annotations"] = [
        {"name": key, "value": value} for key, value in annotations
    ]
    if dependencies:
        document["dependencies"] = dependencies
    if path_whitelist:
        document["pathWhitelist"] = list(path_whitelist)
    return document
