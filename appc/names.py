"""AC Identifier and AC Name: the two kinds of names in the appc spec.

Both are :class:`str` subclasses that validate when they are made, so a value
of either type is always valid. They check exactly what the Go reference
checks, in the same order and with the same messages: the characters first,
then the two ends. Go (and so ``appc``) accepts runs of separators such as
``a..b`` or ``a--b`` that the spec's regular expressions forbid.

>>> ACIdentifier("example.com/app")
ACIdentifier('example.com/app')
>>> ACName("Web")
Traceback (most recent call last):
...
appc.errors.InvalidACName: ACName must contain only lower case alphanumeric characters plus "-"
"""

from __future__ import annotations

import re

from typing import Self

from appc import _grammar
from appc.errors import InvalidACIdentifier, InvalidACName, InvalidValue


__all__ = [
    "ACIdentifier",
    "ACName",
    "sanitize_ac_identifier",
    "sanitize_ac_name",
]

# Go's messages, word for word (schema/types/acidentifier.go, acname.go).
_ACI_EMPTY = "ACIdentifier cannot be empty"
_ACI_CHARS = (
    'ACIdentifier must contain only lower case alphanumeric characters plus "-._~/"'
)
_ACI_EDGES = (
    "ACIdentifier must start and end with only lower case alphanumeric characters"
)
_ACN_EMPTY = "ACName cannot be empty"
_ACN_CHARS = 'ACName must contain only lower case alphanumeric characters plus "-"'
_ACN_EDGES = "ACName must start and end with only lower case alphanumeric characters"
_SANITIZE_EMPTY = "must contain at least one valid character"


def _first_problem(
    value: str,
    chars: re.Pattern[str],
    edges: re.Pattern[str],
    messages: tuple[str, str, str],
) -> str | None:
    if not value:
        return messages[0]
    if chars.search(value):
        return messages[1]
    if edges.search(value):
        return messages[2]
    return None


class ACIdentifier(str):
    """An AC Identifier: image names, label and annotation names, isolator names.

    >>> ACIdentifier("example.com/~bob/database") == "example.com/~bob/database"
    True
    >>> ACIdentifier("/app")
    Traceback (most recent call last):
    ...
    appc.errors.InvalidACIdentifier: ACIdentifier must start and end with only lower case alphanumeric characters
    """

    __slots__ = ()

    def __new__(cls, value: str) -> Self:
        if type(value) is cls:
            return value
        if not isinstance(value, str):  # pyright: ignore[reportUnnecessaryIsInstance]
            raise InvalidACIdentifier(
                value, f"ACIdentifier must be a string, not {type(value).__name__}"
            )
        problem = _first_problem(
            value,
            _grammar.AC_IDENTIFIER_INVALID_CHAR,
            _grammar.AC_IDENTIFIER_INVALID_EDGE,
            (_ACI_EMPTY, _ACI_CHARS, _ACI_EDGES),
        )
        if problem is not None:
            raise InvalidACIdentifier(value, problem)
        return super().__new__(cls, value)

    def __repr__(self) -> str:
        return f"{type(self).__name__}({str.__repr__(self)})"


class ACName(str):
    """An AC Name: app names in pods, mount point, volume and port names.

    >>> ACName("database")
    ACName('database')
    >>> ACName("example.com")
    Traceback (most recent call last):
    ...
    appc.errors.InvalidACName: ACName must contain only lower case alphanumeric characters plus "-"
    """

    __slots__ = ()

    def __new__(cls, value: str) -> Self:
        if type(value) is cls:
            return value
        if not isinstance(value, str):  # pyright: ignore[reportUnnecessaryIsInstance]
            raise InvalidACName(
                value, f"ACName must be a string, not {type(value).__name__}"
            )
        problem = _first_problem(
            value,
            _grammar.AC_NAME_INVALID_CHAR,
            _grammar.AC_NAME_INVALID_EDGE,
            (_ACN_EMPTY, _ACN_CHARS, _ACN_EDGES),
        )
        if problem is not None:
            raise InvalidACName(value, problem)
        return super().__new__(cls, value)

    def __repr__(self) -> str:
        return f"{type(self).__name__}({str.__repr__(self)})"


def _go_lower(value: str) -> str:
    # Go lower-cases rune by rune with the simple case mapping; Python's
    # str.lower() uses the full one, which turns U+0130 into two characters.
    # The first of them is Go's answer for the one character where they differ.
    return "".join(char.lower()[:1] or char for char in value)


def _sanitize(
    value: str,
    chars: re.Pattern[str],
    edges: re.Pattern[str],
    filler: str,
    error: type[InvalidValue],
) -> str:
    if not isinstance(value, str):  # pyright: ignore[reportUnnecessaryIsInstance]
        raise error(value, f"expected a string, not {type(value).__name__}")
    cleaned = edges.sub("", chars.sub(filler, _go_lower(value)))
    if not cleaned:
        raise error(value, _SANITIZE_EMPTY)
    return cleaned


def sanitize_ac_identifier(value: str) -> ACIdentifier:
    """Make an AC Identifier out of any string (a helper, not part of the spec).

    Lower-cases, replaces each character that may not appear with ``_`` and
    strips separators from both ends, as Go's ``SanitizeACIdentifier`` does.

    >>> sanitize_ac_identifier("-/App.Name-test/-/")
    ACIdentifier('app.name-test')
    >>> sanitize_ac_identifier("..")
    Traceback (most recent call last):
    ...
    appc.errors.InvalidACIdentifier: must contain at least one valid character
    """
    cleaned = _sanitize(
        value,
        _grammar.AC_IDENTIFIER_INVALID_CHAR,
        _grammar.AC_IDENTIFIER_INVALID_EDGE,
        "_",
        InvalidACIdentifier,
    )
    return ACIdentifier(cleaned)


def sanitize_ac_name(value: str) -> ACName:
    """Make an AC Name out of any string (a helper, not part of the spec).

    Lower-cases, replaces each character that may not appear with ``-`` and
    strips dashes from both ends, as Go's ``SanitizeACName`` does.

    >>> sanitize_ac_name("example.com/app_1")
    ACName('example-com-app-1')
    """
    cleaned = _sanitize(
        value,
        _grammar.AC_NAME_INVALID_CHAR,
        _grammar.AC_NAME_INVALID_EDGE,
        "-",
        InvalidACName,
    )
    return ACName(cleaned)
