"""Values shared by the manifests: annotations, UUIDs, dates and URLs.

Each parses exactly what the Go reference (appc/spec v0.8.11, built with Go
1.19) accepts, so a manifest gets the same verdict here as from ``actool``:

- :class:`Annotations`: like :class:`~appc.labels.Labels`, plus the values of
  the well-known names ``created`` (a :class:`Date`), ``homepage`` and
  ``documentation`` (each a :class:`URL`).
- :class:`UUID`: a pod UUID; dashes anywhere, either case; never all zeros.
- :class:`Date`: an RFC 3339 date-time as Go's ``time.Parse`` reads it.
- :class:`URL`: an ``http`` or ``https`` URL as Go's ``net/url`` reads it.

>>> Annotations([("created", "2004-05-14T23:11:14+00:00")])["created"]
'2004-05-14T23:11:14+00:00'
>>> str(UUID("6733C088A5074694AABFEDBE4FC5266F"))
'6733c088-a507-4694-aabf-edbe4fc5266f'
"""

from __future__ import annotations

import re

from collections.abc import Callable
from datetime import datetime, timedelta, timezone
from typing import Any, Self

import attrs

from appc import _grammar
from appc.errors import InvalidAnnotations, InvalidDate, InvalidURL, InvalidUUID
from appc.labels import NameValues, _go_quote  # pyright: ignore[reportPrivateUsage]
from appc.names import ACIdentifier


__all__ = ["URL", "UUID", "Annotations", "Date"]


class Annotations(NameValues):
    """Annotations: ordered, unique names, and well-known values checked.

    >>> Annotations([("homepage", "ftp://example.com")])
    Traceback (most recent call last):
    ...
    appc.errors.InvalidAnnotations: bad URL scheme, must be http/https
    >>> Annotations([("authors", "a"), ("authors", "b")])
    Traceback (most recent call last):
    ...
    appc.errors.InvalidAnnotations: duplicate annotations of name "authors"
    """

    __slots__ = ()
    _error = InvalidAnnotations
    _kind = "annotations"

    def _check_pairs(self, pairs: tuple[tuple[ACIdentifier, str], ...]) -> None:
        seen: dict[str, str] = {}
        for name, value in pairs:
            if name in seen:
                raise InvalidAnnotations(
                    name, f"duplicate annotations of name {_go_quote(name)}"
                )
            seen[name] = value
        # Go checks these three in this order, after the duplicates.
        if "created" in seen:
            try:
                Date.parse(seen["created"])
            except InvalidDate as exc:
                raise InvalidAnnotations(seen["created"], exc.reason) from exc
        for well_known in ("homepage", "documentation"):
            if well_known in seen:
                try:
                    URL(seen[well_known])
                except InvalidURL as exc:
                    raise InvalidAnnotations(seen[well_known], exc.reason) from exc


class UUID(str):
    """A UUID in its lower-case 8-4-4-4-12 form, read as Go reads it.

    Go drops every ``-`` wherever it is, wants 32 hex digits of either case,
    and refuses the all-zero UUID.

    >>> UUID("0aaf0a79-1a39-4d59-abbf-1bebca8209d2").bytes.hex()
    '0aaf0a791a394d59abbf1bebca8209d2'
    >>> UUID("{0aaf0a79-1a39-4d59-abbf-1bebca8209d2}")
    Traceback (most recent call last):
    ...
    appc.errors.InvalidUUID: bad UUID length != 32
    """

    __slots__ = ()

    def __new__(cls, value: str) -> Self:
        if type(value) is cls:
            return value
        if not isinstance(value, str):  # pyright: ignore[reportUnnecessaryIsInstance]
            raise InvalidUUID(
                value, f"UUID must be a string, not {type(value).__name__}"
            )
        digits = value.replace("-", "")
        # Go measures the length in UTF-8 bytes.
        if len(digits.encode("utf-8", "surrogatepass")) != 32:
            raise InvalidUUID(value, "bad UUID length != 32")
        if not _grammar.UUID_TEXT.match(digits):
            bad = next(char for char in digits if char not in "0123456789abcdefABCDEF")
            raise InvalidUUID(value, f"encoding/hex: invalid byte: {_go_rune(bad)}")
        digits = digits.lower()
        if digits == "0" * 32:
            raise InvalidUUID(value, "UUID cannot be empty")
        text = (
            f"{digits[:8]}-{digits[8:12]}-{digits[12:16]}-{digits[16:20]}-{digits[20:]}"
        )
        return super().__new__(cls, text)

    def __repr__(self) -> str:
        return f"{type(self).__name__}({str.__repr__(self)})"

    @property
    def bytes(self) -> bytes:
        """The 16 bytes of the UUID.

        >>> len(UUID("0aaf0a791a394d59abbf1bebca8209d2").bytes)
        16
        """
        return bytes.fromhex(self.replace("-", ""))


def _go_rune(char: str) -> str:
    # Go's %#U of a rune, as encoding/hex quotes the first bad byte.
    return f"U+{ord(char):04X} {_go_quote(char)[1:-1]!r}".replace('"', "'")


_MAX_NANOSECOND = 999_999_999
# Go reads the offset as two two-digit numbers and checks neither.
_MAX_OFFSET = (99 * 60 + 99) * 60
_DAYS_IN_MONTH = (31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31)


def _is_leap(year: int) -> bool:
    return year % 4 == 0 and (year % 100 != 0 or year % 400 == 0)


def _days_in(month: int, year: int) -> int:
    if month == 2 and _is_leap(year):
        return 29
    return _DAYS_IN_MONTH[month - 1]


def _in_range(low: int, high: int) -> Callable[[Any, attrs.Attribute[int], int], None]:
    def check(_instance: Any, attribute: attrs.Attribute[int], value: int) -> None:
        if type(value) is not int or not low <= value <= high:
            raise InvalidDate(
                value,
                f"bad Date: {attribute.name} must be an integer from {low} to {high}",
            )

    return check


@attrs.frozen(kw_only=True)
class Date:
    """An RFC 3339 date-time, as Go's ``time.Parse(time.RFC3339, ...)`` reads it.

    Go accepts a fraction after ``.`` or ``,`` (of any length, nanoseconds
    kept), a one-digit hour, and any two-digit offset (``+99:99``); it
    rejects a space for ``T``, lower-case ``t`` and ``z``, and a leap second.
    ``str()`` formats as Go does: no fraction, ``Z`` for a zero offset. The
    ``created`` annotation keeps its own text; this type only checks it.

    >>> date = Date.parse("2015-05-18T13:49:28.351729952-04:00")
    >>> str(date), date.nanosecond
    ('2015-05-18T13:49:28-04:00', 351729952)
    >>> Date.parse("2015-05-18 13:49:28Z")
    Traceback (most recent call last):
    ...
    appc.errors.InvalidDate: bad Date: parsing time "2015-05-18 13:49:28Z" as RFC 3339: not in the form 2006-01-02T15:04:05Z07:00
    """

    year: int = attrs.field(validator=_in_range(0, 9999))
    month: int = attrs.field(validator=_in_range(1, 12))
    day: int = attrs.field(validator=_in_range(1, 31))
    hour: int = attrs.field(default=0, validator=_in_range(0, 23))
    minute: int = attrs.field(default=0, validator=_in_range(0, 59))
    second: int = attrs.field(default=0, validator=_in_range(0, 59))
    nanosecond: int = attrs.field(default=0, validator=_in_range(0, _MAX_NANOSECOND))
    utc_offset: int = attrs.field(
        default=0, validator=_in_range(-_MAX_OFFSET, _MAX_OFFSET)
    )
    """Seconds east of UTC."""

    def __attrs_post_init__(self) -> None:
        if self.day > _days_in(self.month, self.year):
            raise InvalidDate(self.day, "bad Date: day out of range")

    @classmethod
    def parse(cls, text: str) -> Date:
        """Parse an RFC 3339 date-time.

        >>> Date.parse("2001-02-03T04:05:06Z").utc_offset
        0
        """
        if not isinstance(text, str):  # pyright: ignore[reportUnnecessaryIsInstance]
            raise InvalidDate(
                text, f"bad Date: expected a string, not {type(text).__name__}"
            )
        match = _grammar.RFC3339_DATE_TIME.match(text)
        prefix = f"bad Date: parsing time {_go_quote(text)} as RFC 3339"
        if match is None:
            raise InvalidDate(
                text, f"{prefix}: not in the form 2006-01-02T15:04:05Z07:00"
            )
        fields = {
            name: int(match[name])
            for name in ("year", "month", "day", "hour", "minute", "second")
        }
        # Go reads at most nine digits of the fraction and ignores the rest.
        fraction = (match["fraction"] or "")[:9]
        nanosecond = int(fraction.ljust(9, "0")) if fraction else 0
        offset = 0
        if match["sign"]:
            offset = (
                int(match["offset_hours"]) * 60 + int(match["offset_minutes"])
            ) * 60
            if match["sign"] == "-":
                offset = -offset
        limits = {"month": 12, "hour": 23, "minute": 59, "second": 59}
        for name, high in limits.items():
            if fields[name] > high or (name == "month" and fields[name] == 0):
                raise InvalidDate(text, f"{prefix}: {name} out of range")
        if not 1 <= fields["day"] <= _days_in(fields["month"], fields["year"]):
            raise InvalidDate(text, f"{prefix}: day out of range")
        return cls(**fields, nanosecond=nanosecond, utc_offset=offset)

    @classmethod
    def from_datetime(cls, moment: datetime) -> Date:
        """A Date from an aware :class:`datetime.datetime`.

        >>> from datetime import UTC
        >>> str(Date.from_datetime(datetime(2020, 1, 2, 3, 4, 5, tzinfo=UTC)))
        '2020-01-02T03:04:05Z'
        """
        offset = moment.utcoffset()
        if offset is None:
            raise InvalidDate(moment, "bad Date: a naive datetime has no UTC offset")
        return cls(
            year=moment.year,
            month=moment.month,
            day=moment.day,
            hour=moment.hour,
            minute=moment.minute,
            second=moment.second,
            nanosecond=moment.microsecond * 1000,
            utc_offset=int(offset.total_seconds()),
        )

    def to_datetime(self) -> datetime:
        """This date as an aware :class:`datetime.datetime` (microseconds kept).

        Raises :class:`~appc.errors.InvalidDate` where Python cannot hold it:
        year 0, or an offset of 24 hours or more.

        >>> Date.parse("2014-11-14T17:36:54-08:00").to_datetime().isoformat()
        '2014-11-14T17:36:54-08:00'
        """
        try:
            zone = timezone(timedelta(seconds=self.utc_offset))
            return datetime(
                self.year,
                self.month,
                self.day,
                self.hour,
                self.minute,
                self.second,
                self.nanosecond // 1000,
                tzinfo=zone,
            )
        except ValueError as exc:
            raise InvalidDate(str(self), f"bad Date: {exc}") from exc

    def __str__(self) -> str:
        text = (
            f"{self.year:04d}-{self.month:02d}-{self.day:02d}"
            f"T{self.hour:02d}:{self.minute:02d}:{self.second:02d}"
        )
        if self.utc_offset == 0:
            return text + "Z"
        sign = "-" if self.utc_offset < 0 else "+"
        hours, minutes = divmod(abs(self.utc_offset) // 60, 60)
        return f"{text}{sign}{hours:02d}:{minutes:02d}"


_CONTROL = re.compile(r"[\x00-\x1f\x7f]")
_HEX = frozenset("0123456789abcdefABCDEF")
_ALNUM = frozenset("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789")
# ASCII characters Go's net/url leaves alone in a host (shouldEscape, encodeHost).
_HOST_CHARS = _ALNUM | frozenset("-_.~!$&'()*+,;=:[]<>\"")
_USERINFO_CHARS = _ALNUM | frozenset("-._:~!$&'()*+,;=%@")


def _check_escapes(text: str, mode: str) -> None:
    # Go's net/url unescape(), reduced to its verdict. mode: "path", "host", "zone".
    index = 0
    while index < len(text):
        char = text[index]
        if char == "%":
            escape = text[index : index + 3]
            if len(escape) < 3 or escape[1] not in _HEX or escape[2] not in _HEX:
                raise ValueError(f"invalid URL escape {_go_quote(escape)}")
            byte = int(escape[1:], 16)
            if mode == "host" and byte < 0x80 and escape != "%25":
                raise ValueError(f"invalid URL escape {_go_quote(escape)}")
            if (
                mode == "zone"
                and escape != "%25"
                and byte != 0x20
                and _escapes_in_host(byte)
            ):
                raise ValueError(f"invalid URL escape {_go_quote(escape)}")
            index += 3
            continue
        if mode != "path" and char.isascii() and char not in _HOST_CHARS:
            raise ValueError(f"invalid character {_go_quote(char)} in host name")
        index += 1


def _escapes_in_host(byte: int) -> bool:
    return byte >= 0x80 or chr(byte) not in _HOST_CHARS


def _check_port(colon_port: str) -> None:
    if colon_port and (
        colon_port[0] != ":" or not all("0" <= c <= "9" for c in colon_port[1:])
    ):
        raise ValueError(f"invalid port {_go_quote(colon_port)} after host")


def _check_host(host: str) -> None:
    if host.startswith("["):
        end = host.rfind("]")
        if end < 0:
            raise ValueError("missing ']' in host")
        _check_port(host[end + 1 :])
        zone = host.find("%25", 0, end)
        if zone >= 0:
            _check_escapes(host[:zone], "host")
            _check_escapes(host[zone:end], "zone")
            _check_escapes(host[end:], "host")
            return
    elif (colon := host.rfind(":")) >= 0:
        _check_port(host[colon:])
    _check_escapes(host, "host")


def _check_authority(authority: str) -> None:
    at = authority.rfind("@")
    _check_host(authority[at + 1 :])
    if at < 0:
        return
    userinfo = authority[:at]
    if not all(char in _USERINFO_CHARS for char in userinfo):
        raise ValueError("net/url: invalid userinfo")
    for part in userinfo.split(":", 1):
        _check_escapes(part, "path")


def _split_scheme(text: str) -> tuple[str, str]:
    # Go's getScheme: letters, then letters, digits, "+", "-" or "." up to
    # a ":"; anything else (a non-ASCII character too) means "no scheme".
    for index, char in enumerate(text):
        if char.isascii() and char.isalpha():
            continue
        if char in "0123456789+-.":
            if index == 0:
                return "", text
            continue
        if char == ":":
            if index == 0:
                raise ValueError("missing protocol scheme")
            return text[:index], text[index + 1 :]
        return "", text
    return "", text


def _parse_url(text: str) -> str:
    """Check ``text`` as Go's url.Parse does; return the lower-cased scheme."""
    before_fragment, _, fragment = text.partition("#")
    if _CONTROL.search(before_fragment):
        raise ValueError("net/url: invalid control character in URL")
    if before_fragment == "*":
        return ""
    scheme, rest = _split_scheme(before_fragment)
    scheme = scheme.lower()
    if rest.endswith("?") and rest.count("?") == 1:
        rest = rest[:-1]
    else:
        rest = rest.partition("?")[0]
    opaque = False
    if not rest.startswith("/"):
        if scheme:
            opaque = True
        elif ":" in rest.partition("/")[0]:
            raise ValueError("first path segment in URL cannot contain colon")
    if not opaque:
        if (scheme or not rest.startswith("///")) and rest.startswith("//"):
            authority, slash, path = rest[2:].partition("/")
            _check_authority(authority)
            rest = slash + path
        _check_escapes(rest, "path")
    if fragment:
        _check_escapes(fragment, "path")
    return scheme


class URL(str):
    """An ``http`` or ``https`` URL, checked as Go's ``net/url`` checks it.

    The text is kept as given; :attr:`scheme` is lower-cased (``HTTP://x``
    passes, as in Go).

    >>> URL("HTTPS://example.com/docs").scheme
    'https'
    >>> URL("ftp://example.com")
    Traceback (most recent call last):
    ...
    appc.errors.InvalidURL: bad URL scheme, must be http/https
    """

    __slots__ = ()

    def __new__(cls, value: str) -> Self:
        if type(value) is cls:
            return value
        if not isinstance(value, str):  # pyright: ignore[reportUnnecessaryIsInstance]
            raise InvalidURL(value, f"URL must be a string, not {type(value).__name__}")
        try:
            scheme = _parse_url(value)
        except ValueError as exc:
            raise InvalidURL(
                value, f"bad URL: parse {_go_quote(value)}: {exc}"
            ) from exc
        if scheme not in {"http", "https"}:
            raise InvalidURL(value, "bad URL scheme, must be http/https")
        return super().__new__(cls, value)

    def __repr__(self) -> str:
        return f"{type(self).__name__}({str.__repr__(self)})"

    @property
    def scheme(self) -> str:
        """``http`` or ``https``, lower-cased.

        >>> URL("http://example.com").scheme
        'http'
        """
        return self.partition(":")[0].lower()
