"""Labels: the ordered, unique ``name -> value`` pairs that describe an image.

:class:`Labels` is an immutable, hashable mapping from
:class:`~appc.names.ACIdentifier` to ``str`` that keeps the order it was given
(the order a manifest lists them in). Like a :class:`dict`, it compares equal
to any mapping with the same items, whatever their order. It checks what the
Go reference checks, in Go's order and with Go's messages: the reserved name
``name``, duplicates, then the ``os``/``arch`` table (:data:`KNOWN_OS_ARCH`).

>>> labels = Labels([("version", "1.0"), ("os", "linux"), ("arch", "amd64")])
>>> labels["os"]
'linux'
>>> Labels.from_map({"os": "linux", "arch": "arm"})
Traceback (most recent call last):
...
appc.errors.InvalidLabels: bad arch "arm" for linux (must be one of: [amd64 i386 aarch64 aarch64_be armv6l armv7l armv7b ppc64 ppc64le s390x])
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping
from types import MappingProxyType
from typing import Any, ClassVar, Self, cast, overload

from appc.errors import InvalidACIdentifier, InvalidLabels, InvalidValue
from appc.names import ACIdentifier


__all__ = [
    "KNOWN_OS_ARCH",
    "Labels",
    "NameValues",
    "to_appc_os_arch",
    "to_go_os_arch",
]

KNOWN_OS_ARCH: Mapping[str, tuple[str, ...]] = MappingProxyType(
    {
        "linux": (
            "amd64",
            "i386",
            "aarch64",
            "aarch64_be",
            "armv6l",
            "armv7l",
            "armv7b",
            "ppc64",
            "ppc64le",
            "s390x",
        ),
        "freebsd": ("amd64", "i386", "arm"),
        "darwin": ("x86_64", "i386"),
    }
)
"""The ``os`` values and, for each, its ``arch`` values that a manifest may use.

This is Go's ``ValidOSArch``; it lists more linux arches than the prose of
``aci.md`` (anchors.md 1.6, 1.23.2).
"""

# (goos, goarch, goarm) -> (os, arch): Go's ToAppcOSArch table.
_GO_TO_APPC: Mapping[tuple[str, str, str], tuple[str, str]] = MappingProxyType(
    {
        ("linux", "amd64", ""): ("linux", "amd64"),
        ("linux", "386", ""): ("linux", "i386"),
        ("linux", "arm64", ""): ("linux", "aarch64"),
        ("linux", "arm", ""): ("linux", "armv6l"),
        ("linux", "arm", "6"): ("linux", "armv6l"),
        ("linux", "arm", "7"): ("linux", "armv7l"),
        ("linux", "ppc64", ""): ("linux", "ppc64"),
        ("linux", "ppc64le", ""): ("linux", "ppc64le"),
        ("linux", "s390x", ""): ("linux", "s390x"),
        ("freebsd", "amd64", ""): ("freebsd", "amd64"),
        ("freebsd", "386", ""): ("freebsd", "i386"),
        ("freebsd", "arm", ""): ("freebsd", "arm"),
        ("freebsd", "arm", "5"): ("freebsd", "arm"),
        ("freebsd", "arm", "6"): ("freebsd", "arm"),
        ("freebsd", "arm", "7"): ("freebsd", "arm"),
        ("darwin", "amd64", ""): ("darwin", "x86_64"),
        ("darwin", "386", ""): ("darwin", "i386"),
    }
)

# (os, arch) -> (goos, goarch, goarm). Go's ToGoOSArch keys its darwin and
# freebsd/386 rows on Go names by mistake (anchors.md 1.6); these are the
# rows it meant. aarch64_be and armv7b have no Go equivalent.
_APPC_TO_GO: Mapping[tuple[str, str], tuple[str, str, str]] = MappingProxyType(
    {
        ("linux", "aarch64"): ("linux", "arm64", ""),
        ("linux", "amd64"): ("linux", "amd64", ""),
        ("linux", "armv6l"): ("linux", "arm", "6"),
        ("linux", "armv7l"): ("linux", "arm", "7"),
        ("linux", "i386"): ("linux", "386", ""),
        ("linux", "ppc64"): ("linux", "ppc64", ""),
        ("linux", "ppc64le"): ("linux", "ppc64le", ""),
        ("linux", "s390x"): ("linux", "s390x", ""),
        ("freebsd", "amd64"): ("freebsd", "amd64", ""),
        ("freebsd", "arm"): ("freebsd", "arm", "6"),
        ("freebsd", "i386"): ("freebsd", "386", ""),
        ("darwin", "x86_64"): ("darwin", "amd64", ""),
        ("darwin", "i386"): ("darwin", "386", ""),
    }
)

_GO_ESCAPES = {
    "\a": "\\a",
    "\b": "\\b",
    "\f": "\\f",
    "\n": "\\n",
    "\r": "\\r",
    "\t": "\\t",
    "\v": "\\v",
    "\\": "\\\\",
    '"': '\\"',
}


def _go_quote(text: str) -> str:
    # Go's %q (strconv.Quote), which the reference's messages use for names
    # and values: printable characters as they are, the rest escaped.
    out: list[str] = []
    for char in text:
        if char in _GO_ESCAPES:
            out.append(_GO_ESCAPES[char])
        elif char.isprintable():
            out.append(char)
        elif ord(char) < 0x80:
            out.append(f"\\x{ord(char):02x}")
        elif ord(char) < 0x10000:
            out.append(f"\\u{ord(char):04x}")
        else:
            out.append(f"\\U{ord(char):08x}")
    return '"' + "".join(out) + '"'


def _go_list(items: Iterable[str]) -> str:
    return "[" + " ".join(items) + "]"


class NameValues(Mapping[ACIdentifier, str]):
    """An immutable, ordered mapping of unique AC Identifiers to strings.

    The base of :class:`Labels` and :class:`~appc.model.common.Annotations`;
    subclasses name their error and add their own rules.

    >>> issubclass(Labels, NameValues)
    True
    """

    __slots__ = ("_hash", "_items", "_pairs")
    _error: ClassVar[type[InvalidValue]] = InvalidValue
    _kind: ClassVar[str] = "entries"

    _pairs: tuple[tuple[ACIdentifier, str], ...]
    _items: dict[ACIdentifier, str]
    _hash: int | None

    def __init__(
        self,
        items: Iterable[tuple[str, str]]
        | Mapping[ACIdentifier, str]
        | Mapping[str, str] = (),
    ) -> None:
        pairs = self._read_pairs(items)
        self._check_pairs(pairs)
        self._pairs = pairs
        self._items = dict(pairs)
        self._hash = None

    @classmethod
    def _read_pairs(cls, items: Any) -> tuple[tuple[ACIdentifier, str], ...]:
        if isinstance(items, Mapping):
            items = list(items.items())  # pyright: ignore[reportUnknownArgumentType, reportUnknownMemberType, reportUnknownVariableType]
        elif isinstance(items, str | bytes) or not isinstance(items, Iterable):
            raise cls._error(
                items, f"{cls._kind} must be (name, value) pairs or a mapping"
            )
        raw: list[Any] = list(items)  # pyright: ignore[reportUnknownArgumentType]
        pairs: list[tuple[ACIdentifier, str]] = []
        for entry in raw:
            if isinstance(entry, str | bytes) or not isinstance(entry, tuple | list):
                raise cls._error(
                    entry, f"each of the {cls._kind} must be a (name, value) pair"
                )
            entry_items: list[Any] = list(entry)  # pyright: ignore[reportUnknownArgumentType]
            if len(entry_items) != 2:
                raise cls._error(
                    entry, f"each of the {cls._kind} must be a (name, value) pair"
                )
            name, value = entry_items
            try:
                identifier = ACIdentifier(name)
            except InvalidACIdentifier as exc:
                raise cls._error(name, exc.reason) from exc
            if not isinstance(value, str):
                raise cls._error(
                    value, f"the value of {_go_quote(identifier)} must be a string"
                )
            pairs.append((identifier, value))
        return tuple(pairs)

    def _check_pairs(self, pairs: tuple[tuple[ACIdentifier, str], ...]) -> None:
        raise NotImplementedError

    @classmethod
    def from_map(cls, mapping: Mapping[ACIdentifier, str] | Mapping[str, str]) -> Self:
        """Build from a mapping, sorted by name (as Go's ``LabelsFromMap`` does).

        >>> Labels.from_map({"version": "1.0", "arch": "amd64"}).pairs()
        ((ACIdentifier('arch'), 'amd64'), (ACIdentifier('version'), '1.0'))
        """
        pairs = cls._read_pairs(mapping)
        return cls(sorted(pairs))

    def pairs(self) -> tuple[tuple[ACIdentifier, str], ...]:
        """The ``(name, value)`` pairs in order.

        >>> Labels([("os", "linux")]).pairs()
        ((ACIdentifier('os'), 'linux'),)
        """
        return self._pairs

    def set(self, name: str, value: str) -> Self:
        """A copy with ``name`` set to ``value``: replaced in place, or appended.

        >>> Labels([("version", "1"), ("os", "linux")]).set("version", "2").pairs()[0]
        (ACIdentifier('version'), '2')
        """
        identifier = self._read_pairs([(name, value)])[0][0]
        if identifier in self._items:
            return type(self)(
                (n, value if n == identifier else v) for n, v in self._pairs
            )
        return type(self)((*self._pairs, (identifier, value)))

    @overload  # type: ignore[override]
    def get(self, name: str, /) -> str | None: ...

    @overload
    def get(self, name: str, default: str, /) -> str: ...

    @overload
    def get(self, name: str, default: None, /) -> str | None: ...

    def get(  # pyright: ignore[reportIncompatibleMethodOverride]
        self, name: str, default: str | None = None, /
    ) -> str | None:
        """The value of ``name`` (any ``str``), or ``default``.

        >>> Labels([("os", "linux")]).get("arch", "any")
        'any'
        """
        # Keys are ACIdentifiers, which are strs: any str may look one up.
        return cast("dict[str, str]", self._items).get(name, default)

    def __getitem__(self, name: str) -> str:
        return self._items[name]  # type: ignore[index]

    def __iter__(self) -> Iterator[ACIdentifier]:
        return iter(self._items)

    def __len__(self) -> int:
        return len(self._pairs)

    def __contains__(self, name: object) -> bool:
        return name in self._items

    def __eq__(self, other: object) -> bool:
        if isinstance(other, NameValues):
            return self._items == other._items
        if isinstance(other, Mapping):
            return self._items == dict(other.items())  # pyright: ignore[reportUnknownArgumentType, reportUnknownMemberType]
        return NotImplemented

    def __hash__(self) -> int:
        if self._hash is None:
            self._hash = hash(frozenset(self._pairs))
        return self._hash

    def __repr__(self) -> str:
        return f"{type(self).__name__}({[(str(n), v) for n, v in self._pairs]!r})"

    def __copy__(self) -> Self:
        return self

    def __deepcopy__(self, memo: object) -> Self:
        return self

    def __reduce__(self) -> tuple[Any, ...]:
        return (type(self), ([(str(n), v) for n, v in self._pairs],))


class Labels(NameValues):
    """Image labels: ordered, unique, no ``name``, and a known ``os``/``arch``.

    >>> Labels({"os": "darwin", "arch": "x86_64"}) == Labels([("arch", "x86_64"), ("os", "darwin")])
    True
    >>> Labels([("os", "linux"), ("os", "freebsd")])
    Traceback (most recent call last):
    ...
    appc.errors.InvalidLabels: duplicate labels of name "os"
    """

    __slots__ = ()
    _error = InvalidLabels
    _kind = "labels"

    def _check_pairs(self, pairs: tuple[tuple[ACIdentifier, str], ...]) -> None:
        seen: dict[str, str] = {}
        for name, value in pairs:
            if name == "name":
                raise InvalidLabels(name, 'invalid label name: "name"')
            if name in seen:
                raise InvalidLabels(name, f"duplicate labels of name {_go_quote(name)}")
            seen[name] = value
        _check_os_arch(seen)


def _check_os_arch(labels: Mapping[str, str]) -> None:
    # Go checks arch only when os is present and known (anchors.md 1.6).
    if "os" not in labels:
        return
    os_name = labels["os"]
    arches = KNOWN_OS_ARCH.get(os_name)
    if arches is None:
        raise InvalidLabels(
            os_name,
            f"bad os {_go_quote(os_name)} (must be one of: {_go_list(sorted(KNOWN_OS_ARCH))})",
        )
    if "arch" in labels and labels["arch"] not in arches:
        arch = labels["arch"]
        raise InvalidLabels(
            arch,
            f"bad arch {_go_quote(arch)} for {os_name} (must be one of: {_go_list(arches)})",
        )


def to_appc_os_arch(goos: str, goarch: str, goarm: str = "") -> tuple[str, str]:
    """The appc ``(os, arch)`` labels for Go's ``GOOS``, ``GOARCH`` and ``GOARM``.

    >>> to_appc_os_arch("linux", "arm", "7")
    ('linux', 'armv7l')
    >>> to_appc_os_arch("plan9", "386")
    Traceback (most recent call last):
    ...
    appc.errors.InvalidLabels: unknown arch tuple: "plan9" - "386" - ""
    """
    found = _GO_TO_APPC.get((goos, goarch, goarm))
    if found is None:
        raise InvalidLabels(
            (goos, goarch, goarm),
            f"unknown arch tuple: {_go_quote(goos)} - {_go_quote(goarch)} - {_go_quote(goarm)}",
        )
    return found


def to_go_os_arch(os_name: str, arch: str) -> tuple[str, str, str]:
    """Go's ``(GOOS, GOARCH, GOARM)`` for appc ``os`` and ``arch`` labels.

    The inverse of :func:`to_appc_os_arch`, with Go's darwin and freebsd/i386
    rows fixed: Go's ``ToGoOSArch("darwin", "x86_64")`` fails.

    >>> to_go_os_arch("darwin", "x86_64")
    ('darwin', 'amd64', '')
    >>> to_go_os_arch("linux", "armv7b")
    Traceback (most recent call last):
    ...
    appc.errors.InvalidLabels: unknown arch tuple: "linux" - "armv7b"
    """
    found = _APPC_TO_GO.get((os_name, arch))
    if found is None:
        raise InvalidLabels(
            (os_name, arch),
            f"unknown arch tuple: {_go_quote(os_name)} - {_go_quote(arch)}",
        )
    return found
