"""The parts of a pod manifest: runtime apps, their images, mounts, volumes, ports.

The rules are the Go reference's (anchors.md 1.17, 1.18, 2.2). A
:class:`Volume` of kind ``empty`` gets Go's defaults (mode ``0755``, uid and
gid 0) when they are not given, and they are written out; a ``host`` volume
needs an absolute ``source`` and takes none of them. A
:class:`RuntimeImage` may lack its ``id``: pod *templates* do, and Go reads
them (a pod must be "reified", every image given by ID, before it runs).

>>> Volume(name=ACName("scratch"), kind="empty").mode
'0755'
>>> Volume(name=ACName("data"), kind="host", source="data")
Traceback (most recent call last):
...
appc.errors.InvalidField: source for host volume must be absolute path
"""

from __future__ import annotations

import ipaddress

from collections.abc import Iterator
from typing import Final, Literal, TypeAlias

import attrs

from appc.errors import InvalidField
from appc.image_id import ImageHash
from appc.labels import Labels
from appc.model._base import Model, Problem
from appc.model.app import App, Port
from appc.model.common import Annotations
from appc.names import ACIdentifier, ACName


__all__ = [
    "EMPTY_VOLUME_DEFAULT_GID",
    "EMPTY_VOLUME_DEFAULT_MODE",
    "EMPTY_VOLUME_DEFAULT_UID",
    "ExposedPort",
    "IPAddress",
    "Mount",
    "RuntimeApp",
    "RuntimeImage",
    "Volume",
    "VolumeKind",
]

EMPTY_VOLUME_DEFAULT_MODE: Final = "0755"
"""The mode of an ``empty`` volume that gives none (Go's default)."""
EMPTY_VOLUME_DEFAULT_UID: Final = 0
"""The owner of an ``empty`` volume that gives none (Go's default)."""
EMPTY_VOLUME_DEFAULT_GID: Final = 0
"""The group of an ``empty`` volume that gives none (Go's default)."""

_INT64_MIN: Final = -(2**63)
_INT64_MAX: Final = 2**63 - 1
_UINT64_MAX: Final = 2**64 - 1

VolumeKind: TypeAlias = Literal["empty", "host"]
IPAddress: TypeAlias = ipaddress.IPv4Address | ipaddress.IPv6Address


@attrs.frozen(kw_only=True)
class Volume(Model):
    """A volume of the pod: a fresh ``empty`` directory or a ``host`` path.

    ``read_only`` and ``recursive`` are ``None`` when not given (the spec's
    defaults: writable; recursive for host volumes). ``mode`` is not checked
    (Go accepts ``"abc"``).

    >>> Volume(name=ACName("logs"), kind="host", source="/var/log", read_only=True).read_only
    True
    >>> Volume(name=ACName("x"), kind="tmpfs")
    Traceback (most recent call last):
    ...
    appc.errors.InvalidField: unrecognized volume kind: should be one of "empty", "host"
    """

    name: ACName
    kind: VolumeKind
    source: str = ""
    read_only: bool | None = None
    recursive: bool | None = None
    mode: str | None = None
    uid: int | None = None
    gid: int | None = None

    def _normalize(self) -> None:
        if self.kind == "empty":
            if self.mode is None:
                object.__setattr__(self, "mode", EMPTY_VOLUME_DEFAULT_MODE)
            if self.uid is None:
                object.__setattr__(self, "uid", EMPTY_VOLUME_DEFAULT_UID)
            if self.gid is None:
                object.__setattr__(self, "gid", EMPTY_VOLUME_DEFAULT_GID)

    def _problems(self) -> Iterator[Problem]:
        for attribute in ("uid", "gid"):
            value: int | None = getattr(self, attribute)
            if value is not None and not _INT64_MIN <= value <= _INT64_MAX:
                message = f"{attribute} {value} does not fit in 64 bits"
                yield Problem((attribute,), InvalidField(value, message))
        if self.kind == "empty":
            if self.source:
                message = "source for empty volume must be empty"
                yield Problem(("source",), InvalidField(self.source, message))
        elif self.kind == "host":
            if not self.source:
                message = "source for host volume cannot be empty"
                yield Problem(("source",), InvalidField(self.source, message))
            elif not self.source.startswith("/"):
                message = "source for host volume must be absolute path"
                yield Problem(("source",), InvalidField(self.source, message))
            for attribute in ("mode", "uid", "gid"):
                value = getattr(self, attribute)
                if value is not None:
                    message = f"{attribute} for host volume cannot be set"
                    yield Problem((attribute,), InvalidField(value, message))
        else:
            message = 'unrecognized volume kind: should be one of "empty", "host"'
            yield Problem(("kind",), InvalidField(self.kind, message))


@attrs.frozen(kw_only=True)
class Mount(Model):
    """Where a pod volume appears in an app: ``volume`` mounted at ``path``.

    ``app_volume`` (spec 0.8.8) declares the volume inline. Go never checks
    ``path`` (the check exists but is not called), so it may be empty.

    >>> Mount(volume=ACName("work"), path="/var/lib/work").path
    '/var/lib/work'
    """

    volume: ACName
    path: str = ""
    app_volume: Volume | None = None


@attrs.frozen(kw_only=True)
class RuntimeImage(Model):
    """The image of a runtime app: its ID (none in a pod template), name and labels.

    >>> RuntimeImage(name=ACIdentifier("example.com/app")).id is None
    True
    """

    name: ACIdentifier | None = None
    id: ImageHash | None = None
    labels: Labels = Labels()  # noqa: RUF009 - immutable


@attrs.frozen(kw_only=True)
class RuntimeApp(Model):
    """One app of a pod: its name, image, and what the pod overrides.

    >>> RuntimeApp(name=ACName("web"), read_only_root_fs=True).image
    RuntimeImage(name=None, id=None, labels=Labels([]))
    """

    name: ACName
    image: RuntimeImage = RuntimeImage()
    app: App | None = None
    read_only_root_fs: bool = False
    mounts: tuple[Mount, ...] = ()
    annotations: Annotations = Annotations()  # noqa: RUF009 - immutable


@attrs.frozen(kw_only=True)
class ExposedPort(Model):
    """A pod port published on the host: ``host_port``, optionally bound to ``host_ip``.

    ``pod_port`` (spec 0.8.8) gives the app port explicitly instead of by
    name. Go takes any IP (IPv6 too, though the spec says IPv4); an IPv4
    address written in IPv6 form is the IPv4 address, as in Go.

    >>> ExposedPort(name=ACName("http"), host_port=8080,
    ...             host_ip=ipaddress.ip_address("127.0.0.1")).host_ip
    IPv4Address('127.0.0.1')
    """

    name: ACName
    host_port: int = 0
    host_ip: IPAddress | None = None
    pod_port: Port | None = None

    def _normalize(self) -> None:
        if isinstance(self.host_ip, ipaddress.IPv6Address) and self.host_ip.ipv4_mapped:
            object.__setattr__(self, "host_ip", self.host_ip.ipv4_mapped)

    def _problems(self) -> Iterator[Problem]:
        if not 0 <= self.host_port <= _UINT64_MAX:
            message = f"hostPort must be from 0 to 2**64-1, got {self.host_port}"
            yield Problem(("host_port",), InvalidField(self.host_port, message))
        if self.host_ip is not None and not isinstance(self.host_ip, IPAddress):  # pyright: ignore[reportUnnecessaryIsInstance]
            message = "hostIP must be an IPv4Address or IPv6Address"
            yield Problem(("host_ip",), InvalidField(self.host_ip, message))
        elif isinstance(self.host_ip, ipaddress.IPv6Address) and self.host_ip.scope_id:
            message = "hostIP cannot have a zone (Go's IP type has none)"
            yield Problem(("host_ip",), InvalidField(self.host_ip, message))
