"""The messages between ``appc``'s HTTP logic and a transport: no I/O here.

A :class:`Request` goes to a transport (``Transport.send``), which answers
with a :class:`Response` whose body is read in chunks. :class:`Headers` is
an immutable, case-insensitive list of header fields. :class:`Insecure`
holds the security checks a caller chose to give up, as rkt's
``--insecure-options`` does.

>>> request = Request(url="https://example.com/app?ac-discovery=1", headers=Headers({"Accept": "text/html"}))
>>> request.headers["accept"], request.method
('text/html', 'GET')
>>> response = Response(status=200, content=b"<html></html>")
>>> response.read(6), response.read()
(b'<html>', b'</html>')
"""

from __future__ import annotations

import enum
import io

from collections.abc import Iterable, Iterator, Mapping
from typing import Protocol, Self, cast

import attrs

from appc.errors import InvalidValue


__all__ = [
    "Headers",
    "Insecure",
    "Readable",
    "Request",
    "Response",
]


class Insecure(enum.Flag):
    """Security checks given up on purpose (rkt's ``--insecure-options``).

    ``HTTP`` allows plain http (fallback and redirects included; per-host
    credentials are still never sent over it), ``TLS`` skips certificate
    checks (per-host credentials then go to whoever answers), ``IMAGE``
    skips signature verification, ``PUBKEY`` allows public keys fetched over
    an insecure connection.

    >>> Insecure.parse("http,tls") == Insecure.HTTP | Insecure.TLS
    True
    >>> Insecure.ALL_FETCH == Insecure.parse("all-fetch")
    True
    """

    NONE = 0
    HTTP = enum.auto()
    TLS = enum.auto()
    IMAGE = enum.auto()
    PUBKEY = enum.auto()
    ALL_FETCH = HTTP | TLS | IMAGE | PUBKEY

    @classmethod
    def parse(cls, text: str) -> Insecure:
        """Read a comma list as rkt takes it: ``http,tls,image,pubkey``, ``all-fetch``, ``none``.

        >>> Insecure.parse("bogus")
        Traceback (most recent call last):
        ...
        appc.errors.InvalidValue: unknown insecure option 'bogus': choose from none, http, tls, image, pubkey, all-fetch, all
        """
        words = {
            "none": cls.NONE,
            "http": cls.HTTP,
            "tls": cls.TLS,
            "image": cls.IMAGE,
            "pubkey": cls.PUBKEY,
            "all-fetch": cls.ALL_FETCH,
            "all": cls.ALL_FETCH,
        }
        result = cls.NONE
        for word in text.split(","):
            key = word.strip().lower()
            if not key:
                continue
            if key not in words:
                raise InvalidValue(
                    text,
                    f"unknown insecure option {key!r}: choose from {', '.join(words)}",
                )
            result |= words[key]
        return result


def _pairs(
    fields: Mapping[str, str] | Iterable[tuple[str, str]] | None,
) -> tuple[tuple[str, str], ...]:
    if fields is None:
        return ()
    if isinstance(fields, Mapping):
        mapping = cast("Mapping[str, str]", fields)
        return tuple((str(key), str(value)) for key, value in mapping.items())
    return tuple((str(key), str(value)) for key, value in fields)


@attrs.frozen
class Headers(Mapping[str, str]):
    """Immutable HTTP header fields; names are case-insensitive, order is kept.

    >>> headers = Headers([("ETag", '"a"'), ("Set-Cookie", "x"), ("set-cookie", "y")])
    >>> headers["etag"], headers.get_all("Set-Cookie"), len(headers)
    ('"a"', ('x', 'y'), 3)
    >>> headers.without("etag").items_list()
    (('Set-Cookie', 'x'), ('set-cookie', 'y'))
    """

    fields: tuple[tuple[str, str], ...] = attrs.field(default=(), converter=_pairs)

    def __getitem__(self, name: str) -> str:
        wanted = name.lower()
        for key, value in self.fields:
            if key.lower() == wanted:
                return value
        raise KeyError(name)

    def __iter__(self) -> Iterator[str]:
        return (key for key, _ in self.fields)

    def __len__(self) -> int:
        return len(self.fields)

    def __contains__(self, name: object) -> bool:
        if not isinstance(name, str):
            return False
        wanted = name.lower()
        return any(key.lower() == wanted for key, _ in self.fields)

    def get_all(self, name: str) -> tuple[str, ...]:
        """Every value of a field that may repeat."""
        wanted = name.lower()
        return tuple(value for key, value in self.fields if key.lower() == wanted)

    def items_list(self) -> tuple[tuple[str, str], ...]:
        """The fields as (name, value) pairs, in order."""
        return self.fields

    def without(self, *names: str) -> Headers:
        """A copy without these fields."""
        dropped = {name.lower() for name in names}
        return Headers(
            tuple((k, v) for k, v in self.fields if k.lower() not in dropped)
        )

    def merged(self, other: Mapping[str, str] | Iterable[tuple[str, str]]) -> Headers:
        """A copy where each field of ``other`` replaces the fields of that name.

        >>> Headers({"A": "1", "B": "2"}).merged({"a": "3"}).items_list()
        (('B', '2'), ('a', '3'))
        """
        extra = _pairs(other)
        return Headers(self.without(*(k for k, _ in extra)).fields + extra)


@attrs.frozen(kw_only=True)
class Request:
    """One HTTP request for a transport to send, redirects not followed.

    ``verify_tls`` False skips certificate checks (``Insecure.TLS``);
    ``timeout`` bounds the connection and each read, in seconds.
    """

    url: str
    method: str = "GET"
    headers: Headers = attrs.field(factory=Headers, converter=Headers)
    verify_tls: bool = True
    timeout: float | None = None


class Readable(Protocol):
    """What a response body is read from: ``read(size)`` and ``close()``."""

    def read(self, size: int = -1, /) -> bytes: ...

    def close(self) -> None: ...


class Response:
    """A transport's answer: status, headers and a body read in chunks.

    Make one from bytes (``content``) or from a stream (``stream``: any object
    with ``read(size)`` and ``close()``). Close it, or use it in a ``with``
    block, to give the connection back.

    >>> with Response(status=304, headers={"ETag": '"a"'}) as response:
    ...     response.status, response.headers["etag"], response.read()
    (304, '"a"', b'')
    """

    def __init__(
        self,
        *,
        status: int,
        headers: Mapping[str, str] | Iterable[tuple[str, str]] | Headers | None = None,
        content: bytes = b"",
        stream: Readable | None = None,
        url: str = "",
    ) -> None:
        self.status = status
        self.headers = headers if isinstance(headers, Headers) else Headers(headers)
        self.url = url
        self._stream: Readable = stream if stream is not None else io.BytesIO(content)

    def read(self, size: int = -1) -> bytes:
        """Up to ``size`` bytes of the body (all that is left with -1); b"" at the end."""
        return self._stream.read(size)

    def read1(self, size: int = -1) -> bytes:
        """What has arrived, up to ``size`` bytes, waiting only if nothing has; b"" at the end.

        >>> Response(status=200, content=b"abc").read1(2)
        b'ab'
        """
        read1 = getattr(self._stream, "read1", None)
        if read1 is None:
            return self._stream.read(size)
        data: bytes = read1(size)
        return data

    def close(self) -> None:
        """Release the connection (the rest of the body is discarded)."""
        self._stream.close()

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"<Response {self.status} {self.url}>"
