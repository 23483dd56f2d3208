"""The app of an image: what to run, as whom, with which ports and limits.

The rules are the Go reference's (anchors.md 1.12-1.17): ``user`` and
``group`` are required, ``workingDirectory`` must be absolute, event handler
names are ``pre-start``/``post-stop`` and unique, environment names are
identifiers and unique, ports lie in 1-65535, and the isolator list obeys
:func:`~appc.model.isolators.isolator_set_problems`. Like Go, ``exec`` may be
empty or relative, and mount points and ports may share names.

>>> app = App(exec=("/bin/httpd", "-f"), user="0", group="0",
...           ports=(Port(name=ACName("http"), protocol="tcp", port=80),))
>>> app.ports[0].count
1
>>> attrs.evolve(app, working_directory="srv")
Traceback (most recent call last):
...
appc.errors.InvalidField: workingDirectory must be an absolute path
"""

from __future__ import annotations

import re

from collections.abc import Iterable, Iterator, Mapping
from typing import Final, cast

import attrs

from appc.errors import InvalidField
from appc.labels import _go_quote  # pyright: ignore[reportPrivateUsage]
from appc.model._base import FrozenDict, Model, Problem
from appc.model.isolators import Isolator, isolator_set_problems
from appc.names import ACName


__all__ = [
    "EVENT_HANDLER_NAMES",
    "App",
    "Environment",
    "EnvironmentVariable",
    "EventHandler",
    "MountPoint",
    "Port",
]

EVENT_HANDLER_NAMES: Final = frozenset({"pre-start", "post-stop"})
"""The events an app can hook."""

# Go's int (64 bits): supplementary GIDs outside it are a JSON error in Go.
_INT64_MIN: Final = -(2**63)
_INT64_MAX: Final = 2**63 - 1


@attrs.frozen(kw_only=True)
class EventHandler(Model):
    """A command run before the app starts (``pre-start``) or after it stops (``post-stop``).

    >>> EventHandler(name="pre-start", exec=("/bin/setup",)).exec
    ('/bin/setup',)
    >>> EventHandler(name="on-crash")
    Traceback (most recent call last):
    ...
    appc.errors.InvalidField: bad eventHandler "name": "on-crash"
    """

    name: str
    exec: tuple[str, ...] = ()

    def _problems(self) -> Iterator[Problem]:
        if not self.name:
            yield Problem(
                ("name",),
                InvalidField(self.name, 'eventHandler "name" cannot be empty'),
            )
        elif self.name not in EVENT_HANDLER_NAMES:
            message = f'bad eventHandler "name": {_go_quote(self.name)}'
            yield Problem(("name",), InvalidField(self.name, message))


_ENVIRONMENT_NAME: Final = re.compile(r"[A-Za-z_][A-Za-z_0-9.-]*")


@attrs.frozen(kw_only=True)
class EnvironmentVariable(Model):
    """One environment variable; names are ``[A-Za-z_][A-Za-z_0-9.-]*``.

    >>> EnvironmentVariable(name="0DEBUG", value="1")
    Traceback (most recent call last):
    ...
    appc.errors.InvalidField: environment variable does not have valid identifier "0DEBUG"
    """

    name: str
    value: str = ""

    def _problems(self) -> Iterator[Problem]:
        if not self.name:
            message = "environment variable name must not be empty"
            yield Problem(("name",), InvalidField(self.name, message))
        elif not _ENVIRONMENT_NAME.fullmatch(self.name):
            message = f"environment variable does not have valid identifier {_go_quote(self.name)}"
            yield Problem(("name",), InvalidField(self.name, message))


@attrs.frozen(kw_only=True)
class Environment(Model, Mapping[str, str]):
    """An app's environment: an ordered, immutable mapping with unique names.

    >>> env = Environment.from_pairs([("PATH", "/bin"), ("DEBUG", "1")])
    >>> env["DEBUG"], list(env)
    ('1', ['PATH', 'DEBUG'])
    >>> Environment.from_pairs([("A", "1"), ("A", "2")])
    Traceback (most recent call last):
    ...
    appc.errors.InvalidField: duplicate environment variable of name "A"
    """

    variables: tuple[EnvironmentVariable, ...] = ()

    @classmethod
    def from_pairs(
        cls, pairs: Iterable[tuple[str, str]] | Mapping[str, str]
    ) -> Environment:
        """An environment from ``(name, value)`` pairs or a mapping, in order.

        >>> Environment.from_pairs({"HOME": "/root"}).variables
        (EnvironmentVariable(name='HOME', value='/root'),)
        """
        if isinstance(pairs, Mapping):
            mapping = cast("Mapping[str, str]", pairs)
            items: Iterable[tuple[str, str]] = mapping.items()
        else:
            items = pairs
        variables = tuple(
            EnvironmentVariable(name=name, value=value) for name, value in items
        )
        return cls(variables=variables)

    def _problems(self) -> Iterator[Problem]:
        seen: set[str] = set()
        for index, variable in enumerate(self.variables):
            if variable.name in seen:
                message = (
                    f"duplicate environment variable of name {_go_quote(variable.name)}"
                )
                yield Problem((index,), InvalidField(variable.name, message))
            seen.add(variable.name)

    def __getitem__(self, name: str) -> str:
        for variable in self.variables:
            if variable.name == name:
                return variable.value
        raise KeyError(name)

    def __iter__(self) -> Iterator[str]:
        return (variable.name for variable in self.variables)

    def __len__(self) -> int:
        return len(self.variables)


@attrs.frozen(kw_only=True)
class MountPoint(Model):
    """A place in the app's filesystem where the pod mounts a volume.

    Go checks neither the path nor the uniqueness of names (a mount point
    without ``path`` validates), and neither do we.

    >>> MountPoint(name=ACName("work"), path="/var/lib/work", read_only=True).read_only
    True
    """

    name: ACName
    path: str = ""
    read_only: bool = False


_MAX_PORT: Final = 65535


@attrs.frozen(kw_only=True)
class Port(Model):
    """A port the app listens on: ``port`` to ``port + count - 1``.

    ``count`` is at least 1 (a JSON ``count`` of 0 or none means 1, as in Go);
    ``protocol`` is free text, optional in Go though the spec requires it.

    >>> Port(name=ACName("dns"), protocol="udp", port=53).count
    1
    >>> Port(name=ACName("range"), port=65535, count=2)
    Traceback (most recent call last):
    ...
    appc.errors.InvalidField: end of port range must be in 1-65535 range
    """

    name: ACName
    protocol: str = ""
    port: int
    count: int = 1
    socket_activated: bool = False

    def _problems(self) -> Iterator[Problem]:
        if not 1 <= self.port <= _MAX_PORT:
            yield Problem(
                ("port",), InvalidField(self.port, "port must be in 1-65535 range")
            )
        elif self.count < 1:
            yield Problem(
                ("count",), InvalidField(self.count, "count must be at least 1")
            )
        elif self.port + self.count > _MAX_PORT + 1:
            # Go adds two unsigned 64-bit numbers here, so a huge count wraps
            # around and passes; we do not copy that.
            message = "end of port range must be in 1-65535 range"
            yield Problem(("count",), InvalidField(self.count, message))


@attrs.frozen(kw_only=True)
class App(Model):
    """What an image runs, and how (the ``app`` of an image manifest).

    Fields are in the order Go writes them.

    >>> App(exec=("/bin/sh",), user="", group="0")
    Traceback (most recent call last):
    ...
    appc.errors.InvalidField: user is required
    """

    exec: tuple[str, ...] = ()
    event_handlers: tuple[EventHandler, ...] = ()
    user: str
    group: str
    supplementary_gids: tuple[int, ...] = ()
    working_directory: str = ""
    environment: Environment = Environment()
    mount_points: tuple[MountPoint, ...] = ()
    ports: tuple[Port, ...] = ()
    isolators: tuple[Isolator, ...] = ()
    user_annotations: FrozenDict[str, str] = FrozenDict()  # noqa: RUF009 - immutable
    user_labels: FrozenDict[str, str] = FrozenDict()  # noqa: RUF009 - immutable

    def _problems(self) -> Iterator[Problem]:
        if not self.user:
            yield Problem(("user",), InvalidField(self.user, "user is required"))
        if not self.group:
            yield Problem(("group",), InvalidField(self.group, "group is required"))
        for index, gid in enumerate(self.supplementary_gids):
            if not _INT64_MIN <= gid <= _INT64_MAX:
                message = f"supplementary GID {gid} does not fit in 64 bits"
                yield Problem(("supplementary_gids", index), InvalidField(gid, message))
        if self.working_directory and not self.working_directory.startswith("/"):
            message = "workingDirectory must be an absolute path"
            yield Problem(
                ("working_directory",), InvalidField(self.working_directory, message)
            )
        seen: set[str] = set()
        for index, handler in enumerate(self.event_handlers):
            if handler.name in seen:
                message = (
                    f"Only one eventHandler of name {_go_quote(handler.name)} allowed"
                )
                yield Problem(
                    ("event_handlers", index), InvalidField(handler.name, message)
                )
            seen.add(handler.name)
        for problem in isolator_set_problems(self.isolators):
            yield Problem(("isolators", *problem.path), problem.error)
