"""A JSON reader for hostile input, and JSON text written as Go writes it.

:func:`loads` reads a manifest's bytes with every guard a hostile document
needs, and reports each problem as an :class:`~appc.errors.Issue` inside one
:class:`~appc.errors.InvalidManifest` (summary :data:`PARSE_ERROR`), never
another exception:

- more than ``max_size`` bytes (the caller's named limit);
- bytes that are not UTF-8, a byte order mark, a lone UTF-16 surrogate
  escape (``"\\ud800"``): JSON text is Unicode, and Go's silent U+FFFD
  replacement would change signed content;
- nesting deeper than :data:`MAX_JSON_DEPTH`, checked *before* parsing so
  that no ``RecursionError`` can happen;
- number literals longer than :data:`MAX_JSON_NUMBER_LENGTH` (Python refuses
  to convert integers past 4300 digits with a bare ``ValueError``);
- ``NaN``, ``Infinity``, trailing garbage, control characters in strings;
- the same key twice in one object (Go keeps the last one; we refuse).

Numbers keep what Go needs from their text: a float is a :class:`JSONFloat`
with its ``literal``, the integer ``-0`` is :data:`NEGATIVE_ZERO` (Go's
unsigned fields refuse it). A string written with a backslash escape is an
:class:`EscapedStr` when the document has one (Go reads quantities from the
raw text, where an escape is an error).

>>> loads(b'{"a": [1, 2.50, "x"]}')
{'a': [1, 2.5, 'x']}
>>> loads(b'{"a": 1, "a": 2}')
Traceback (most recent call last):
...
appc.errors.InvalidManifest: error unmarshaling manifest
  $: duplicate key "a"
"""

from __future__ import annotations

import itertools
import json
import json.decoder
import json.scanner
import re
import secrets

from collections.abc import Callable, Iterator
from typing import Any, Final, Self, cast

from appc.errors import InvalidManifest, Issue


__all__ = [
    "MAX_JSON_DEPTH",
    "MAX_JSON_NUMBER_LENGTH",
    "NEGATIVE_ZERO",
    "PARSE_ERROR",
    "EscapedStr",
    "JSONFloat",
    "JSONObject",
    "NegativeZero",
    "dumps",
    "format_path",
    "loads",
]

PARSE_ERROR: Final = "error unmarshaling manifest"
"""The summary of every error raised here (the words ``actool`` prints)."""

MAX_JSON_DEPTH: Final = 128
"""Deepest nesting of arrays and objects accepted (Go's limit is 10000).

A manifest needs about eight levels; the limit stays far below Python's
recursion limit so that neither the parser nor anything walking the result
can hit ``RecursionError``.
"""

MAX_JSON_NUMBER_LENGTH: Final = 1000
"""Longest number literal accepted, in characters.

Go accepts any length (and skips numbers in unknown fields); Python's
``int()`` takes time quadratic in the digits and refuses more than 4300.
"""


class JSONFloat(float):
    """A JSON number with a fraction or an exponent, and its literal text.

    >>> number = loads(b"1e3")
    >>> number, number.literal
    (1000.0, '1e3')
    """

    __slots__ = ("literal",)
    literal: str

    def __new__(cls, literal: str) -> Self:
        number = super().__new__(cls, literal)
        number.literal = literal
        return number


class NegativeZero(int):
    """The integer literal ``-0``: Go's unsigned integer fields refuse it."""

    __slots__ = ()

    def __repr__(self) -> str:
        return "-0"


NEGATIVE_ZERO: Final = NegativeZero(0)
"""The value of the literal ``-0``: equal to ``0``, and recognisable."""


class EscapedStr(str):
    """A JSON string whose text used a backslash escape.

    >>> type(loads(b'"1\\\\u0030"')).__name__, loads(b'"10"').__class__.__name__
    ('EscapedStr', 'str')
    """

    __slots__ = ()


class JSONObject(dict[str, Any]):
    """A JSON object (a ``dict``) that remembers keys given more than once."""

    __slots__ = ("duplicates",)
    duplicates: tuple[str, ...]


class _Refused(Exception):
    """Raised inside the parser's hooks; becomes an issue."""


def _object_pairs(pairs: list[tuple[str, Any]], found: list[JSONObject]) -> JSONObject:
    obj = JSONObject(pairs)
    obj.duplicates = ()
    if len(obj) != len(pairs):
        counts: dict[str, int] = {}
        for key, _ in pairs:
            counts[key] = counts.get(key, 0) + 1
        obj.duplicates = tuple(key for key, count in counts.items() if count > 1)
        found.append(obj)
    return obj


def _parse_int(literal: str) -> int:
    if len(literal) > MAX_JSON_NUMBER_LENGTH:
        raise _Refused(f"a number is longer than {MAX_JSON_NUMBER_LENGTH} characters")
    if literal == "-0":
        return NEGATIVE_ZERO
    return int(literal)


def _parse_float(literal: str) -> JSONFloat:
    if len(literal) > MAX_JSON_NUMBER_LENGTH:
        raise _Refused(f"a number is longer than {MAX_JSON_NUMBER_LENGTH} characters")
    return JSONFloat(literal)


def _parse_constant(name: str) -> Any:
    raise _Refused(f"{name} is not a JSON value")


# json.decoder.scanstring is the C scanner's string reader (not in the stubs).
_c_scanstring: Callable[[str, int, bool], tuple[str, int]] = json.decoder.__dict__[
    "scanstring"
]


def _scan_marking_escapes(text: str, end: int, strict: bool = True) -> tuple[str, int]:
    value, after = _c_scanstring(text, end, strict)
    if "\\" in text[end:after]:
        return EscapedStr(value), after
    return value, after


def _decoder(*, mark_escapes: bool, duplicates: list[JSONObject]) -> json.JSONDecoder:
    decoder = json.JSONDecoder(
        object_pairs_hook=lambda pairs: _object_pairs(pairs, duplicates),
        parse_float=_parse_float,
        parse_int=_parse_int,
        parse_constant=_parse_constant,
        strict=True,
    )
    if mark_escapes:
        # The C scanner ignores parse_string; the Python one honours it. It
        # recurses, which the depth check before parsing keeps bounded.
        decoder.parse_string = _scan_marking_escapes  # type: ignore[attr-defined]
        decoder.scan_once = json.scanner.py_make_scanner(decoder)  # type: ignore[attr-defined]
    return decoder


# Where a lone surrogate could come from; only then is every string checked.
_SURROGATE_ESCAPE: Final = re.compile(r"\\u[dD][89a-fA-F]")

# A JSON string, or the rest of the text after an unterminated quote (so an
# unterminated string costs one scan, not one per quote).
_STRING_OR_REST: Final = re.compile(r'"(?:[^"\\]|\\.)*+(?:"|\Z)', re.DOTALL)
_NOT_BRACKET: Final = re.compile(r"[^\[\]{}]+")
_DEPTH_STEP: Final = {"[": 1, "{": 1, "]": -1, "}": -1}


def nesting_depth(text: str) -> int:
    """The deepest nesting of ``[`` and ``{`` in ``text``, strings ignored.

    For any text, this is at least the depth a JSON parser reaches before it
    stops, so checking it first bounds the parser's recursion.

    >>> nesting_depth('{"a": [[1]], "b": "[[[["}')
    3
    """
    brackets = _NOT_BRACKET.sub("", _STRING_OR_REST.sub("", text))
    return max(itertools.accumulate(_DEPTH_STEP[char] for char in brackets), default=0)


def _key_segment(key: str) -> str:
    if re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", key):
        return f".{key}"
    return f"[{json.dumps(key, ensure_ascii=False)}]"


def format_path(segments: tuple[str | int, ...], root: str = "$") -> str:
    """A JSON path such as ``$.app.isolators[0].value`` from its segments.

    >>> format_path(("app", "isolators", 0, "value"))
    '$.app.isolators[0].value'
    >>> format_path(("value", "net.ipv4.ip_forward"))
    '$.value["net.ipv4.ip_forward"]'
    """
    parts = (
        f"[{segment}]" if isinstance(segment, int) else _key_segment(segment)
        for segment in segments
    )
    return root + "".join(parts)


def _has_surrogate(text: str) -> bool:
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return True
    return False


def _walk_problems(value: Any) -> Iterator[Issue]:
    # Iterative, so that no document can exhaust the stack here either.
    stack: list[tuple[Any, tuple[str | int, ...]]] = [(value, ())]
    while stack:
        item, path = stack.pop()
        if isinstance(item, str):
            if _has_surrogate(item):
                yield Issue(
                    format_path(path), "a string holds a lone UTF-16 surrogate escape"
                )
        elif isinstance(item, JSONObject):
            for key in item.duplicates:
                yield Issue(format_path(path), f"duplicate key {json.dumps(key)}")
            for key, child in reversed(item.items()):
                if _has_surrogate(key):
                    yield Issue(
                        format_path(path), "a key holds a lone UTF-16 surrogate escape"
                    )
                    continue
                stack.append((child, (*path, key)))
        elif isinstance(item, list):
            items = cast("list[Any]", item)  # type: ignore[redundant-cast]
            stack.extend(
                (child, (*path, index))
                for index, child in reversed(list(enumerate(items)))
            )


def _refuse(message: str) -> InvalidManifest:
    return InvalidManifest(PARSE_ERROR, [Issue("$", message)])


def _decode_text(data: bytes | str, max_size: int) -> str:
    if isinstance(data, str):
        if _has_surrogate(data):
            raise _refuse("the text holds a lone UTF-16 surrogate")
        size = len(data.encode("utf-8"))
    else:
        size = len(data)
    if size > max_size:
        raise InvalidManifest(
            PARSE_ERROR,
            [
                Issue(
                    "$",
                    f"the manifest is {size} bytes, more than the limit of {max_size}",
                )
            ],
        )
    if isinstance(data, str):
        text = data
    else:
        try:
            text = bytes(data).decode("utf-8")
        except UnicodeDecodeError as exc:
            raise _refuse(
                f"the manifest is not UTF-8: {exc.reason} at byte {exc.start}"
            ) from exc
    if text.startswith("\ufeff"):
        raise _refuse(
            "the manifest starts with a byte order mark (U+FEFF), which JSON does not allow"
        )
    return text


def loads(data: bytes | str, *, max_size: int = 1 << 20) -> Any:
    """Parse JSON text from hostile hands; every failure is InvalidManifest.

    >>> loads(b"[" * 200 + b"]" * 200)
    Traceback (most recent call last):
    ...
    appc.errors.InvalidManifest: error unmarshaling manifest
      $: nesting is 200 levels deep, more than the limit of 128
    """
    text = _decode_text(data, max_size)
    depth = nesting_depth(text)
    if depth > MAX_JSON_DEPTH:
        raise _refuse(
            f"nesting is {depth} levels deep, more than the limit of {MAX_JSON_DEPTH}"
        )
    duplicates: list[JSONObject] = []
    decoder = _decoder(mark_escapes="\\" in text, duplicates=duplicates)
    try:
        value = decoder.decode(text)
    except json.JSONDecodeError as exc:
        raise InvalidManifest(
            PARSE_ERROR,
            [
                Issue(
                    "$",
                    f"invalid JSON at line {exc.lineno}, column {exc.colno}: {exc.msg}",
                )
            ],
        ) from exc
    except _Refused as exc:
        raise _refuse(str(exc)) from exc
    except (
        ValueError,
        RecursionError,
        MemoryError,
    ) as exc:  # pragma: no cover - guarded above
        raise _refuse(f"unreadable JSON: {exc}") from exc
    if not duplicates and not _SURROGATE_ESCAPE.search(text):
        return value
    problems = list(_walk_problems(value))
    if problems:
        raise InvalidManifest(PARSE_ERROR, problems)
    return value


def _escape_like_go(text: str) -> str:
    # Go's encoder escapes these even inside strings; they cannot appear
    # outside a string in JSON text, so a plain replace is exact.
    return (
        text.replace("<", "\\u003c")
        .replace(">", "\\u003e")
        .replace("&", "\\u0026")
        .replace("\u2028", "\\u2028")
        .replace("\u2029", "\\u2029")
    )


def _mark_literals(value: Any, literals: list[str], nonce: str) -> Any:
    # Numbers read from JSON go back out as they were written (Go keeps an
    # isolator's raw value): each becomes a placeholder string, replaced by
    # its literal once the text is made. The nonce makes the placeholders
    # impossible to forge from inside a string.
    if isinstance(value, JSONFloat | NegativeZero):
        literals.append(value.literal if isinstance(value, JSONFloat) else "-0")
        return f"\x00{nonce}:{len(literals) - 1}\x00"
    if isinstance(value, dict):
        mapping = cast("dict[str, Any]", value)
        return {
            key: _mark_literals(item, literals, nonce) for key, item in mapping.items()
        }
    if isinstance(value, list | tuple):
        items = cast("list[Any]", value)
        return [_mark_literals(item, literals, nonce) for item in items]
    return value


def dumps(value: Any, *, indent: int | None = None) -> str:
    """JSON text as Go's ``json.Marshal`` (or ``MarshalIndent``) writes it.

    Compact without ``indent``; UTF-8 kept; ``<``, ``>``, ``&``, U+2028 and
    U+2029 escaped as Go escapes them; numbers that were read from JSON keep
    their literal (``1e400`` stays ``1e400``).

    >>> dumps({"a": ["<b>", 1]})
    '{"a":["\\\\u003cb\\\\u003e",1]}'
    >>> dumps(loads(b'{"limit": 1.50, "big": 1e400}'))
    '{"limit":1.50,"big":1e400}'
    >>> print(dumps({"a": []}, indent=4))
    {
        "a": []
    }
    """
    literals: list[str] = []
    nonce = secrets.token_hex(8)
    marked = _mark_literals(value, literals, nonce)
    separators = (",", ":") if indent is None else (",", ": ")
    text = json.dumps(
        marked,
        ensure_ascii=False,
        allow_nan=False,
        indent=indent,
        separators=separators,
    )
    if literals:
        pattern = re.compile(rf'"\\u0000{nonce}:(\d+)\\u0000"')
        text = pattern.sub(lambda match: literals[int(match[1])], text)
    return _escape_like_go(text)
