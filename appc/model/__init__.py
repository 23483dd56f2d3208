"""The typed models of the appc spec: frozen, validated when made.

Every class is an ``attrs`` frozen class with keyword-only arguments; an
object that exists is valid, and :func:`attrs.evolve` validates again.
Collections are tuples, :class:`~appc.labels.Labels`,
:class:`~appc.model.common.Annotations`, :class:`Environment` or
:class:`FrozenDict`, never lists or dicts. The JSON form of each lives in
:mod:`appc.converters`; the manifests themselves in :mod:`appc.manifest`.

>>> from appc.model import App, Port
>>> from appc.names import ACName
>>> App(exec=("/bin/app",), user="0", group="0", ports=(Port(name=ACName("http"), port=80),)).ports[0].count
1
"""

from __future__ import annotations

from appc.model._base import FrozenDict, JSONValue
from appc.model.app import (
    EVENT_HANDLER_NAMES,
    App,
    Environment,
    EnvironmentVariable,
    EventHandler,
    MountPoint,
    Port,
)
from appc.model.common import URL, UUID, Annotations, Date
from appc.model.dependency import Dependency
from appc.model.isolators import (
    KNOWN_ISOLATORS,
    Isolator,
    KnownIsolator,
    LinuxCapabilitiesRemoveSet,
    LinuxCapabilitiesRetainSet,
    LinuxCPUShares,
    LinuxNoNewPrivileges,
    LinuxOOMScoreAdj,
    LinuxSeccompRemoveSet,
    LinuxSeccompRetainSet,
    LinuxSELinuxContext,
    ResourceBlockBandwidth,
    ResourceBlockIOPS,
    ResourceCPU,
    ResourceMemory,
    ResourceNetworkBandwidth,
    UnixSysctl,
    UnknownIsolator,
)
from appc.model.pod import (
    EMPTY_VOLUME_DEFAULT_GID,
    EMPTY_VOLUME_DEFAULT_MODE,
    EMPTY_VOLUME_DEFAULT_UID,
    ExposedPort,
    IPAddress,
    Mount,
    RuntimeApp,
    RuntimeImage,
    Volume,
    VolumeKind,
)


__all__ = [
    "EMPTY_VOLUME_DEFAULT_GID",
    "EMPTY_VOLUME_DEFAULT_MODE",
    "EMPTY_VOLUME_DEFAULT_UID",
    "EVENT_HANDLER_NAMES",
    "KNOWN_ISOLATORS",
    "URL",
    "UUID",
    "Annotations",
    "App",
    "Date",
    "Dependency",
    "Environment",
    "EnvironmentVariable",
    "EventHandler",
    "ExposedPort",
    "FrozenDict",
    "IPAddress",
    "Isolator",
    "JSONValue",
    "KnownIsolator",
    "LinuxCPUShares",
    "LinuxCapabilitiesRemoveSet",
    "LinuxCapabilitiesRetainSet",
    "LinuxNoNewPrivileges",
    "LinuxOOMScoreAdj",
    "LinuxSELinuxContext",
    "LinuxSeccompRemoveSet",
    "LinuxSeccompRetainSet",
    "Mount",
    "MountPoint",
    "Port",
    "ResourceBlockBandwidth",
    "ResourceBlockIOPS",
    "ResourceCPU",
    "ResourceMemory",
    "ResourceNetworkBandwidth",
    "RuntimeApp",
    "RuntimeImage",
    "UnixSysctl",
    "UnknownIsolator",
    "Volume",
    "VolumeKind",
]
