"""Image strings: ``example.com/app:1.0,os=linux`` <-> a name and labels.

``actool discover``, ``rkt fetch`` and ``acbuild`` name images this way:
``NAME[:VERSION][,LABEL=VALUE]...``. :meth:`ImageRef.parse` reads it exactly
as the Go reference (``discovery.NewAppFromString``, Go 1.19) does, oddities
included: only one ``:``, before any ``,``; a label value may hold ``=`` but
not ``,``; label names are URL-unescaped (``a%2Fb`` is ``a/b``) while values
are taken literally; a ``;`` in a label name is an error and an ``&`` splits
it in two. ``str()`` prints the canonical form: ``NAME[:VERSION]`` and the
other labels sorted by name.

>>> ref = ImageRef.parse("example.com/app:1.0,os=linux")
>>> ref.name, ref.version, ref.labels["os"]
(ACIdentifier('example.com/app'), '1.0', 'linux')
>>> str(ImageRef.parse("example.com/app,os=linux,version=1.0"))
'example.com/app:1.0,os=linux'
"""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType
from typing import Any

import attrs

from appc.errors import InvalidACIdentifier, InvalidAppString
from appc.labels import _go_quote  # pyright: ignore[reportPrivateUsage]
from appc.names import ACIdentifier


__all__ = ["ImageRef"]

_HEX = frozenset("0123456789abcdefABCDEF")


def _freeze_labels(labels: Mapping[str, str] | None) -> Mapping[str, str]:
    if labels is None:
        return MappingProxyType({})
    if not isinstance(labels, Mapping):  # pyright: ignore[reportUnnecessaryIsInstance]
        raise InvalidAppString(labels, "labels must be a mapping of names to values")
    frozen: dict[str, str] = {}
    items: list[tuple[Any, Any]] = sorted(labels.items())  # pyright: ignore[reportUnknownArgumentType, reportUnknownMemberType]
    for name, value in items:
        try:
            identifier = ACIdentifier(name)
        except InvalidACIdentifier as exc:
            raise InvalidAppString(name, exc.reason) from exc
        if identifier == "name":
            raise InvalidAppString(name, 'label "name" is the image name, not a label')
        if not isinstance(value, str):  # pyright: ignore[reportUnnecessaryIsInstance]
            raise InvalidAppString(
                value, f"the value of label {_go_quote(identifier)} must be a string"
            )
        frozen[identifier] = value
    return MappingProxyType(frozen)


def _check_name(name: str) -> ACIdentifier:
    try:
        return ACIdentifier(name)
    except InvalidACIdentifier as exc:
        raise InvalidAppString(name, exc.reason) from exc


def _labels_eq(
    left: Mapping[ACIdentifier, str], right: Mapping[ACIdentifier, str]
) -> bool:
    return dict(left) == dict(right)


@attrs.frozen(kw_only=True)
class ImageRef:
    """An image named by a name and labels (``version`` among them).

    >>> ImageRef(name="example.com/app", labels={"version": "2"}).version
    '2'
    >>> ImageRef.parse("example.com/app,channel=beta:1.2.3")
    Traceback (most recent call last):
    ...
    appc.errors.InvalidAppString: malformed app string - colon may appear only right after the app name
    """

    name: ACIdentifier = attrs.field(converter=_check_name)
    labels: Mapping[str, str] = attrs.field(
        factory=lambda: MappingProxyType({}),
        converter=_freeze_labels,
        eq=attrs.cmp_using(eq=_labels_eq),
    )

    def __hash__(self) -> int:
        return hash((self.name, frozenset(self.labels.items())))

    @property
    def version(self) -> str | None:
        """The ``version`` label, or ``None``.

        >>> ImageRef.parse("example.com/app").version is None
        True
        """
        return self.labels.get("version")

    @classmethod
    def parse(cls, text: str) -> ImageRef:
        """Parse ``NAME[:VERSION][,LABEL=VALUE]...`` as the Go reference does.

        >>> ImageRef.parse("example.com/app:").version
        ''
        """
        if not isinstance(text, str):  # pyright: ignore[reportUnnecessaryIsInstance]
            raise InvalidAppString(
                text, f"app string must be a string, not {type(text).__name__}"
            )
        first_comma = text.find(",")
        first_colon = text.find(":")
        if first_comma > -1 and first_colon > first_comma:
            raise InvalidAppString(
                text,
                "malformed app string - colon may appear only right after the app name",
            )
        if text.count(":") > 1:
            raise InvalidAppString(
                text, "malformed app string - colon may appear at most once"
            )
        prepared = "name=" + text.replace(":", ",version=", 1)
        values: dict[str, list[str]] = {}
        for part in _query_parts(text, prepared):
            key, value = part
            values.setdefault(key, []).append(value)
        name = ""
        labels: dict[str, str] = {}
        # Go walks a map here, so which problem it reports first varies; any
        # problem is an error all the same.
        for key in sorted(values):
            found = values[key]
            if len(found) > 1:
                shown = "[" + " ".join(_go_quote(v) for v in found) + "]"
                raise InvalidAppString(
                    text, f"label {key} with multiple values {shown}"
                )
            if key == "name":
                name = found[0]
                continue
            try:
                ACIdentifier(key)
            except InvalidACIdentifier as exc:
                raise InvalidAppString(text, exc.reason) from exc
            labels[key] = found[0]
        return cls(name=_check_name_in(text, name), labels=labels)

    def __str__(self) -> str:
        text = str(self.name)
        version = self.version
        if version is not None:
            text += f":{version}"
        for name in sorted(self.labels):
            if name != "version":
                text += f",{name}={self.labels[name]}"
        return text


def _check_name_in(text: str, name: str) -> ACIdentifier:
    try:
        return ACIdentifier(name)
    except InvalidACIdentifier as exc:
        raise InvalidAppString(text, exc.reason) from exc


def _query_parts(text: str, prepared: str) -> list[tuple[str, str]]:
    """The (key, value) pairs Go gets from MakeQueryString then url.ParseQuery."""
    # MakeQueryString: split on ",", then on the first "="; the value is
    # query-escaped (so it comes back unchanged), the key is not.
    pieces: list[tuple[str, str]] = []
    for part in prepared.split(","):
        key, equals, value = part.partition("=")
        if not equals:
            raise InvalidAppString(
                text,
                f"malformed string {_go_quote(prepared)} - has a label without a value: {key}",
            )
        pieces.append((key, value))
    # ParseQuery then splits each key on "&" (the value has none left) and
    # unescapes it; Go 1.17+ refuses ";".
    pairs: list[tuple[str, str]] = []
    for key, value in pieces:
        fragments = key.split("&")
        for index, fragment in enumerate(fragments):
            last = index == len(fragments) - 1
            if ";" in fragment:
                raise InvalidAppString(text, "invalid semicolon separator in query")
            if not fragment and not last:
                continue
            fragment_key, _, fragment_value = fragment.partition("=")
            pairs.append(
                (_query_unescape(text, fragment_key), value if last else fragment_value)
            )
    return pairs


def _query_unescape(text: str, key: str) -> str:
    # Go's url.QueryUnescape: "+" is a space, "%XX" a byte; a bad escape is an error.
    if "%" not in key and "+" not in key:
        return key
    out = bytearray()
    index = 0
    while index < len(key):
        char = key[index]
        if char == "%":
            escape = key[index : index + 3]
            if len(escape) < 3 or escape[1] not in _HEX or escape[2] not in _HEX:
                raise InvalidAppString(text, f"invalid URL escape {_go_quote(escape)}")
            out.append(int(escape[1:], 16))
            index += 3
            continue
        out.extend(b" " if char == "+" else char.encode("utf-8", "surrogatepass"))
        index += 1
    return out.decode("utf-8", "replace")
