"""Isolators: the resource limits and kernel settings an app or pod asks for.

Every isolator the Go reference (v0.8.11) knows is a typed class here, with
its value rules; :data:`KNOWN_ISOLATORS` maps each name to its class (an
immutable registry: nothing here is ever mutated). Any other name is an
:class:`UnknownIsolator`, which keeps its value as received, so it survives
a round trip. The rules that concern a *set* of isolators (how many of one
kind, which kinds conflict, unknown names) live in
:func:`isolator_set_problems`; :class:`~appc.model.app.App` applies them, the
pod level does not, exactly as ``actool`` does.

The typed classes hold what the value means; the JSON details (``"default"``
flags, ``"request"`` that block isolators must not have) belong to
:mod:`appc.converters`. An isolator read from JSON also keeps the value as
received in ``raw_value``, so that it is written back unchanged (Go keeps its
``json.RawMessage``); ``raw_value`` does not take part in ``==``.

>>> ResourceMemory(limit=Quantity.parse("1Gi")).name
ACIdentifier('resource/memory')
>>> LinuxCPUShares(shares=1)
Traceback (most recent call last):
...
appc.errors.InvalidIsolator: os/linux/cpu-shares must be between 2 and 262144, got 1
"""

from __future__ import annotations

import unicodedata

from collections.abc import Iterator, Mapping, Sequence
from types import MappingProxyType
from typing import Any, ClassVar, Final, TypeAlias, cast

import attrs

from appc.errors import InvalidIsolator
from appc.labels import _go_quote  # pyright: ignore[reportPrivateUsage]
from appc.model._base import FrozenDict, JSONValue, Model, Problem
from appc.names import ACIdentifier
from appc.quantity import Quantity


__all__ = [
    "KNOWN_ISOLATORS",
    "Isolator",
    "KnownIsolator",
    "LinuxCPUShares",
    "LinuxCapabilitiesRemoveSet",
    "LinuxCapabilitiesRetainSet",
    "LinuxNoNewPrivileges",
    "LinuxOOMScoreAdj",
    "LinuxSELinuxContext",
    "LinuxSeccompRemoveSet",
    "LinuxSeccompRetainSet",
    "ResourceBlockBandwidth",
    "ResourceBlockIOPS",
    "ResourceCPU",
    "ResourceMemory",
    "ResourceNetworkBandwidth",
    "UnixSysctl",
    "UnknownIsolator",
    "isolator_set_problems",
]


@attrs.frozen(kw_only=True)
class KnownIsolator(Model):
    """The base of the isolators the reference knows.

    ``NAME`` is the isolator's name; ``MULTIPLE_ALLOWED`` says whether an app
    may list it more than once; ``CONFLICTS`` names the kinds it cannot be
    listed with.

    >>> LinuxSeccompRetainSet.CONFLICTS
    frozenset({'os/linux/seccomp-remove-set'})
    """

    NAME: ClassVar[ACIdentifier]
    MULTIPLE_ALLOWED: ClassVar[bool] = True
    CONFLICTS: ClassVar[frozenset[str]] = frozenset()

    raw_value: JSONValue = attrs.field(default=None, eq=False, repr=False)
    """The JSON value as read (None when made in Python); written back as is."""

    @property
    def name(self) -> ACIdentifier:
        """The isolator's name.

        >>> LinuxNoNewPrivileges(enabled=True).name
        ACIdentifier('os/linux/no-new-privileges')
        """
        return self.NAME


@attrs.frozen(kw_only=True)
class _RequestAndLimit(KnownIsolator):
    request: Quantity | None = None
    limit: Quantity | None = None


@attrs.frozen(kw_only=True)
class ResourceCPU(_RequestAndLimit):
    """``resource/cpu``: CPU ``request`` and ``limit`` (cores; ``500m`` is half).

    >>> ResourceCPU(request=Quantity.parse("250m")).request.milli_value()
    250
    """

    NAME = ACIdentifier("resource/cpu")


@attrs.frozen(kw_only=True)
class ResourceMemory(_RequestAndLimit):
    """``resource/memory``: memory ``request`` and ``limit`` in bytes.

    >>> ResourceMemory(limit=Quantity.parse("2Gi")).limit.value()
    2147483648
    """

    NAME = ACIdentifier("resource/memory")


@attrs.frozen(kw_only=True)
class _LimitOnly(KnownIsolator):
    limit: Quantity | None = None


@attrs.frozen(kw_only=True)
class ResourceBlockBandwidth(_LimitOnly):
    """``resource/block-bandwidth``: a default limit in bytes per second.

    >>> ResourceBlockBandwidth(limit=Quantity.parse("10M")).limit.value()
    10000000
    """

    NAME = ACIdentifier("resource/block-bandwidth")


@attrs.frozen(kw_only=True)
class ResourceBlockIOPS(_LimitOnly):
    """``resource/block-iops``: a default limit in I/O operations per second.

    >>> ResourceBlockIOPS(limit=Quantity.parse("1k")).limit.value()
    1000
    """

    NAME = ACIdentifier("resource/block-iops")


@attrs.frozen(kw_only=True)
class ResourceNetworkBandwidth(_LimitOnly):
    """``resource/network-bandwidth``: a default limit in bytes per second.

    >>> ResourceNetworkBandwidth().limit is None
    True
    """

    NAME = ACIdentifier("resource/network-bandwidth")


_EMPTY_SET = "set must be non-empty"


@attrs.frozen(kw_only=True)
class _CapabilitySet(KnownIsolator):
    capabilities: tuple[str, ...]
    """Capability names (Go does not check them: ``CAP_PONIES`` passes)."""

    def _problems(self) -> Iterator[Problem]:
        if not self.capabilities:
            yield Problem(
                ("capabilities",), InvalidIsolator(self.capabilities, _EMPTY_SET)
            )


@attrs.frozen(kw_only=True)
class LinuxCapabilitiesRetainSet(_CapabilitySet):
    """``os/linux/capabilities-retain-set``: the only capabilities to keep.

    Go accepts it together with a remove set, which the spec forbids.

    >>> LinuxCapabilitiesRetainSet(capabilities=())
    Traceback (most recent call last):
    ...
    appc.errors.InvalidIsolator: set must be non-empty
    """

    NAME = ACIdentifier("os/linux/capabilities-retain-set")


@attrs.frozen(kw_only=True)
class LinuxCapabilitiesRemoveSet(_CapabilitySet):
    """``os/linux/capabilities-remove-set``: capabilities to drop.

    >>> LinuxCapabilitiesRemoveSet(capabilities=("CAP_NET_RAW",)).capabilities
    ('CAP_NET_RAW',)
    """

    NAME = ACIdentifier("os/linux/capabilities-remove-set")


@attrs.frozen(kw_only=True)
class LinuxNoNewPrivileges(KnownIsolator):
    """``os/linux/no-new-privileges``: set the ``no_new_privs`` bit.

    >>> LinuxNoNewPrivileges(enabled=True).enabled
    True
    """

    NAME = ACIdentifier("os/linux/no-new-privileges")

    enabled: bool


def _is_upper_or_number(char: str) -> bool:
    # Go's unicode.IsUpper (category Lu) and unicode.IsNumber (N*); Python's
    # str.isupper() also counts letters such as U+24B6, which Go refuses.
    category = unicodedata.category(char)
    return category == "Lu" or category in {"Nd", "Nl", "No"}


@attrs.frozen(kw_only=True)
class _SeccompSet(KnownIsolator):
    MULTIPLE_ALLOWED = False

    syscalls: tuple[str, ...]
    """System call names, or the special ``@appc.io/...`` groups (not checked)."""
    errno: str = ""
    """The error returned for a filtered call, such as ``EPERM``; empty for the default."""

    def _problems(self) -> Iterator[Problem]:
        if not self.syscalls:
            yield Problem(("syscalls",), InvalidIsolator(self.syscalls, _EMPTY_SET))
        if self.errno and not self.errno.startswith("E"):
            message = f"errno must start with an 'E' character, got {self.errno}"
            yield Problem(("errno",), InvalidIsolator(self.errno, message))
        elif not all(map(_is_upper_or_number, self.errno)):
            message = f"errno can only contain upper case or numeric characters, got {self.errno}"
            yield Problem(("errno",), InvalidIsolator(self.errno, message))


@attrs.frozen(kw_only=True)
class LinuxSeccompRemoveSet(_SeccompSet):
    """``os/linux/seccomp-remove-set``: system calls to block.

    >>> LinuxSeccompRemoveSet(syscalls=("reboot",), errno="eperm")
    Traceback (most recent call last):
    ...
    appc.errors.InvalidIsolator: errno must start with an 'E' character, got eperm
    """

    NAME = ACIdentifier("os/linux/seccomp-remove-set")
    CONFLICTS = frozenset({"os/linux/seccomp-retain-set"})


@attrs.frozen(kw_only=True)
class LinuxSeccompRetainSet(_SeccompSet):
    """``os/linux/seccomp-retain-set``: the only system calls to allow.

    >>> LinuxSeccompRetainSet(syscalls=("read", "write"), errno="EPERM").errno
    'EPERM'
    """

    NAME = ACIdentifier("os/linux/seccomp-retain-set")
    CONFLICTS = frozenset({"os/linux/seccomp-remove-set"})


def _int_in_range(
    value: int, low: int, high: int, name: str, attribute: str
) -> Iterator[Problem]:
    if type(value) is bool or not low <= value <= high:
        message = f"{name} must be between {low} and {high}, got {value}"
        yield Problem((attribute,), InvalidIsolator(value, message))


@attrs.frozen(kw_only=True)
class LinuxOOMScoreAdj(KnownIsolator):
    """``os/linux/oom-score-adj``: the OOM killer's score adjustment, -1000 to 1000.

    >>> LinuxOOMScoreAdj(adjustment=-1000).adjustment
    -1000
    """

    NAME = ACIdentifier("os/linux/oom-score-adj")
    MULTIPLE_ALLOWED = False

    adjustment: int

    def _problems(self) -> Iterator[Problem]:
        return _int_in_range(self.adjustment, -1000, 1000, self.NAME, "adjustment")


@attrs.frozen(kw_only=True)
class LinuxCPUShares(KnownIsolator):
    """``os/linux/cpu-shares``: the relative CPU weight, 2 to 262144 (Linux's default is 1024).

    >>> LinuxCPUShares(shares=1024).shares
    1024
    """

    NAME = ACIdentifier("os/linux/cpu-shares")
    MULTIPLE_ALLOWED = False

    shares: int

    def _problems(self) -> Iterator[Problem]:
        return _int_in_range(self.shares, 2, 262144, self.NAME, "shares")


@attrs.frozen(kw_only=True)
class LinuxSELinuxContext(KnownIsolator):
    """``os/linux/selinux-context``: the SELinux context to run in.

    All four parts are required; ``user``, ``role`` and ``type`` cannot hold
    ``:`` (``level`` can: ``s0-s0:c0``).

    >>> LinuxSELinuxContext(user="system_u", role="system_r", type="svirt_lxc_net_t", level="s0:c1")
    LinuxSELinuxContext(user='system_u', role='system_r', type='svirt_lxc_net_t', level='s0:c1')
    """

    NAME = ACIdentifier("os/linux/selinux-context")
    MULTIPLE_ALLOWED = False

    user: str
    role: str
    type: str
    level: str

    def _problems(self) -> Iterator[Problem]:
        for part in ("user", "role", "type", "level"):
            value: str = getattr(self, part)
            if not value or (part != "level" and ":" in value):
                message = f"invalid {part} value {_go_quote(value)}"
                yield Problem((part,), InvalidIsolator(value, message))


@attrs.frozen(kw_only=True)
class UnixSysctl(KnownIsolator):
    """``os/unix/sysctl``: kernel parameters to set in the pod, name to value.

    >>> UnixSysctl(parameters=FrozenDict({"net.ipv4.ip_forward": "1"})).parameters["net.ipv4.ip_forward"]
    '1'
    """

    NAME = ACIdentifier("os/unix/sysctl")
    MULTIPLE_ALLOWED = False

    parameters: FrozenDict[str, str] = FrozenDict()  # noqa: RUF009 - immutable

    def _problems(self) -> Iterator[Problem]:
        parameters = cast("Mapping[Any, Any]", self.parameters)
        for key, value in parameters.items():
            if not isinstance(key, str) or not isinstance(value, str):
                message = "sysctl names and values must be strings"
                yield Problem(("parameters", str(key)), InvalidIsolator(value, message))


KNOWN_ISOLATORS: Final[Mapping[str, type[KnownIsolator]]] = MappingProxyType(
    {
        cls.NAME: cls
        for cls in (
            ResourceBlockBandwidth,
            ResourceBlockIOPS,
            ResourceCPU,
            ResourceMemory,
            ResourceNetworkBandwidth,
            LinuxCapabilitiesRetainSet,
            LinuxCapabilitiesRemoveSet,
            LinuxNoNewPrivileges,
            LinuxSeccompRemoveSet,
            LinuxSeccompRetainSet,
            LinuxOOMScoreAdj,
            LinuxCPUShares,
            LinuxSELinuxContext,
            UnixSysctl,
        )
    }
)
"""Every isolator name the reference (v0.8.11) knows, and its class.

>>> KNOWN_ISOLATORS["os/linux/cpu-shares"] is LinuxCPUShares
True
"""


@attrs.frozen(kw_only=True)
class UnknownIsolator(Model):
    """An isolator the reference does not know, kept as received.

    Accepted in a pod's ``isolators``; an app's ``isolators`` refuse it, as
    ``actool`` does (the spec lets executors ignore it instead).

    >>> UnknownIsolator(name=ACIdentifier("example.com/gpu"), value=2).value
    2
    >>> UnknownIsolator(name=ACIdentifier("resource/cpu"), value=None)
    Traceback (most recent call last):
    ...
    appc.errors.InvalidIsolator: "resource/cpu" is a known isolator: use ResourceCPU
    """

    name: ACIdentifier
    value: JSONValue = None
    """The JSON value, made immutable (see :func:`appc.model._base.freeze`)."""

    def _problems(self) -> Iterator[Problem]:
        known = KNOWN_ISOLATORS.get(self.name)
        if known is not None:
            message = (
                f"{_go_quote(self.name)} is a known isolator: use {known.__name__}"
            )
            yield Problem(("name",), InvalidIsolator(self.name, message))


Isolator: TypeAlias = (
    ResourceBlockBandwidth
    | ResourceBlockIOPS
    | ResourceCPU
    | ResourceMemory
    | ResourceNetworkBandwidth
    | LinuxCapabilitiesRetainSet
    | LinuxCapabilitiesRemoveSet
    | LinuxNoNewPrivileges
    | LinuxSeccompRemoveSet
    | LinuxSeccompRetainSet
    | LinuxOOMScoreAdj
    | LinuxCPUShares
    | LinuxSELinuxContext
    | UnixSysctl
    | UnknownIsolator
)
"""Any isolator: one of the known classes, or :class:`UnknownIsolator`."""


def isolator_set_problems(isolators: Sequence[Isolator]) -> Iterator[Problem]:
    """What an app's list of isolators breaks, as ``actool`` judges the list.

    Unknown names are refused; a kind that does not allow multiples may
    appear once; a kind may not follow one it conflicts with. Paths are the
    indexes into ``isolators``.

    >>> shares = LinuxCPUShares(shares=512)
    >>> [str(p.error) for p in isolator_set_problems([shares, shares])]
    ['isolators set contains too many instances of type os/linux/cpu-shares']
    """
    seen: set[str] = set()
    for index, isolator in enumerate(isolators):
        if isinstance(isolator, UnknownIsolator):
            message = (
                f"invalid isolator: {_go_quote(isolator.name)} is not a known isolator"
            )
            yield Problem((index,), InvalidIsolator(isolator.name, message))
        else:
            if isolator.NAME in seen and not isolator.MULTIPLE_ALLOWED:
                message = (
                    f"isolators set contains too many instances of type {isolator.NAME}"
                )
                yield Problem((index,), InvalidIsolator(isolator.NAME, message))
            if isolator.CONFLICTS & seen:
                message = "isolators set contains incompatible types"
                yield Problem((index,), InvalidIsolator(isolator.NAME, message))
        seen.add(isolator.name)
