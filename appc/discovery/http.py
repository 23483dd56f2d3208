"""HTTP for discovery and fetch: the ``Transport`` protocol, urllib3 under it, a safe client.

A :class:`Transport` sends one :class:`~appc.discovery.Request` and returns
one :class:`~appc.discovery.Response`, following no redirect: that is the
whole network surface, so tests (``appc.testing.MockTransport``) or other
HTTP stacks can stand in. :class:`Urllib3Transport` is the default.

:class:`Client` adds the policy the Go reference lacks, on every request:

- plain http only with ``Insecure.HTTP``: no https-to-http downgrade, by
  redirect or otherwise;
- at most :data:`MAX_REDIRECTS` redirects; ``Authorization``, cookies and
  the per-host headers of the first host never go to another host;
- per-host headers (credentials, e.g. from ``auth.d``: :mod:`appc.auth`)
  only over https, never over plain http, even when insecure http was
  asked for (rkt's rule: ``Insecure.HTTP`` allows reading public data in
  clear, not sending secrets in clear); ``Insecure.TLS`` still sends them
  over https whose certificate is not checked, as rkt does;
- bodies read into memory (pages, keys, signatures) are bounded in size and
  in time (:data:`MAX_PAGE_SIZE`, :data:`PAGE_TIMEOUT`).

:func:`discover` drives the :class:`~appc.discovery.Resolver` with it.

>>> from appc.testing import MockTransport
>>> from appc.discovery import Response
>>> page = b'<meta name="ac-discovery" content="example.com https://example.com/{name}.{ext}">'
>>> transport = MockTransport(lambda request: Response(status=200, content=page))
>>> discover("example.com/app", transport=transport).endpoints[0].aci
'https://example.com/example.com/app.aci'
"""

from __future__ import annotations

import functools
import logging
import os
import ssl
import time
import urllib.parse
import warnings

from collections.abc import Mapping
from typing import TYPE_CHECKING, Final, Protocol

import attrs

from appc.discovery._protocol import Headers, Insecure, Request, Response
from appc.discovery.resolver import DiscoveryResult, Resolver
from appc.errors import (
    HTTPStatusError,
    InsecureRedirect,
    ResponseTooLarge,
    TLSError,
    TooManyRedirects,
    TransportError,
)


if TYPE_CHECKING:
    import urllib3


__all__ = [
    "CONNECT_TIMEOUT",
    "MAX_PAGE_SIZE",
    "MAX_REDIRECTS",
    "PAGE_TIMEOUT",
    "READ_TIMEOUT",
    "Client",
    "HostHeaders",
    "Transport",
    "Urllib3Transport",
    "discover",
    "user_agent",
]

logger = logging.getLogger(__name__)

#: Redirects followed for one request (Go's http.Client default).
MAX_REDIRECTS: Final = 10
#: Bytes of a discovery page read at most.
MAX_PAGE_SIZE: Final = 1 << 20
#: Seconds one discovery page may take, redirects included.
PAGE_TIMEOUT: Final = 60.0
#: Seconds to open a connection (Go's dial timeout).
CONNECT_TIMEOUT: Final = 20.0
#: Seconds to wait for each read of a response.
READ_TIMEOUT: Final = 60.0

_REDIRECTS = frozenset({301, 302, 303, 307, 308})
# Never sent to another origin than the one they were meant for.
_CREDENTIAL_HEADERS = ("Authorization", "Cookie", "Proxy-Authorization")
_CHUNK = 1 << 16

#: Extra headers per host (``host`` or ``host:port``), such as credentials; sent over https only.
HostHeaders = Mapping[str, Mapping[str, str]]


@functools.cache
def user_agent() -> str:
    """The ``User-Agent`` sent: ``appc/<version>``.

    >>> user_agent().startswith("appc/")
    True
    """
    from importlib.metadata import version

    return f"appc/{version('appc')}"


class Transport(Protocol):
    """Sends one request and returns the response, redirects not followed.

    Raise :class:`~appc.errors.TransportError` (or :class:`~appc.errors.TLSError`)
    for a request that gets no response.
    """

    def send(self, request: Request) -> Response:
        """Send ``request``; the caller reads and closes the response."""
        ...


# -- urllib3 ----------------------------------------------------------------------


class _Urllib3Body:
    """A urllib3 response body as a ``Readable``, with errors translated."""

    def __init__(self, response: urllib3.BaseHTTPResponse, url: str) -> None:
        self._response = response
        self._url = url
        self._finished = False

    def read(self, size: int = -1) -> bytes:
        import urllib3

        try:
            data = self._response.read(None if size < 0 else size, decode_content=False)
        except urllib3.exceptions.HTTPError as exc:
            raise _translate(exc, self._url) from exc
        except OSError as exc:  # pragma: no cover - urllib3 wraps these itself
            raise TransportError(f"reading {self._url}: {exc}", url=self._url) from exc
        if not data and size != 0:
            self._finished = True
        return data

    def read1(self, size: int = -1) -> bytes:
        import urllib3

        try:
            data = self._response.read1(
                None if size < 0 else size, decode_content=False
            )
        except urllib3.exceptions.HTTPError as exc:
            raise _translate(exc, self._url) from exc
        if not data and size != 0:
            self._finished = True
        return data

    def close(self) -> None:
        if not self._finished:
            # Unread data would poison a reused connection: drop it instead.
            self._response.close()
        self._response.release_conn()


def _translate(exc: Exception, url: str) -> TransportError:
    import urllib3

    # retries=False: urllib3 raises the error itself, never MaxRetryError.
    reason = exc
    if isinstance(reason, urllib3.exceptions.SSLError | ssl.SSLError):
        return TLSError(f"TLS error for {url}: {reason}", url=url)
    if isinstance(reason, urllib3.exceptions.ProtocolError):
        return TransportError(
            f"connection to {url} broke: {_protocol_reason(reason)}", url=url
        )
    # NewConnectionError is a ConnectTimeoutError in urllib3: test it first.
    if isinstance(reason, urllib3.exceptions.NewConnectionError):
        return TransportError(f"cannot connect to {url}: {reason}", url=url)
    if isinstance(reason, urllib3.exceptions.TimeoutError):
        return TransportError(f"timed out talking to {url}", url=url)
    return TransportError(f"request to {url} failed: {reason}", url=url)


def _protocol_reason(exc: Exception) -> str:
    # IncompleteRead says "IncompleteRead(5 bytes read, 10 more expected)".
    inner = exc.args[1] if len(exc.args) > 1 else exc
    return str(inner)


class Urllib3Transport:
    """The default transport: urllib3 connection pools, TLS verified against system CAs.

    ``ca_certs`` (a PEM file) or ``ssl_context`` replaces the trusted CAs,
    e.g. a private CA; ``SSL_CERT_FILE`` is honoured as by OpenSSL. Requests
    with ``verify_tls=False`` use a separate pool that checks nothing.

    >>> transport = Urllib3Transport()
    >>> transport.close()
    """

    def __init__(
        self,
        *,
        ca_certs: str | os.PathLike[str] | None = None,
        ssl_context: ssl.SSLContext | None = None,
        connect_timeout: float = CONNECT_TIMEOUT,
        read_timeout: float = READ_TIMEOUT,
        pool_size: int = 4,
    ) -> None:
        import urllib3

        self._connect_timeout = connect_timeout
        self._read_timeout = read_timeout
        timeout = urllib3.Timeout(connect=connect_timeout, read=read_timeout)
        self._verified = urllib3.PoolManager(
            num_pools=pool_size,
            cert_reqs="CERT_REQUIRED",
            ca_certs=os.fspath(ca_certs) if ca_certs is not None else None,
            ssl_context=ssl_context,
            timeout=timeout,
            retries=False,
        )
        self._unverified = urllib3.PoolManager(
            num_pools=pool_size,
            cert_reqs="CERT_NONE",
            assert_hostname=False,
            timeout=timeout,
            retries=False,
        )

    def send(self, request: Request) -> Response:
        """Send ``request`` with urllib3; the body is streamed."""
        import urllib3

        pool = self._verified if request.verify_tls else self._unverified
        timeout = urllib3.Timeout(
            connect=self._connect_timeout
            if request.timeout is None
            else min(self._connect_timeout, request.timeout),
            read=self._read_timeout if request.timeout is None else request.timeout,
        )
        try:
            with warnings.catch_warnings():
                # Unverified TLS was asked for: no warning on each request.
                warnings.simplefilter(
                    "ignore", urllib3.exceptions.InsecureRequestWarning
                )
                response = pool.request(
                    request.method,
                    request.url,
                    headers=dict(request.headers.items_list()),
                    preload_content=False,
                    decode_content=False,
                    redirect=False,
                    retries=False,
                    timeout=timeout,
                )
        except urllib3.exceptions.HTTPError as exc:
            # Malformed URLs too (LocationParseError).
            raise _translate(exc, request.url) from exc
        return Response(
            status=response.status,
            headers=Headers(response.headers.items()),
            stream=_Urllib3Body(response, request.url),
            url=request.url,
        )

    def close(self) -> None:
        """Close every pooled connection."""
        self._verified.clear()
        self._unverified.clear()


# -- the client: redirects, downgrades, credentials, bounds --------------------------


def _split(url: str) -> urllib.parse.SplitResult:
    try:
        parts = urllib.parse.urlsplit(url)
        _ = parts.port  # a bad port only shows here
    except ValueError as exc:
        raise TransportError(f"bad URL {url!r}: {exc}", url=url) from exc
    return parts


def _origin(url: str) -> tuple[str, str]:
    parts = _split(url)
    return parts.scheme.lower(), parts.netloc.lower()


@attrs.define
class Client:
    """Requests with appc's redirect, downgrade and credential policy (see the module docs).

    >>> from appc.testing import MockTransport
    >>> client = Client(MockTransport(lambda r: Response(status=301, headers={"Location": "http://example.com/"})))
    >>> client.open("https://example.com/")
    Traceback (most recent call last):
    ...
    appc.errors.InsecureRedirect: refusing the redirect from https://example.com/ to plain http://example.com/ (allow insecure http to follow it)
    """

    transport: Transport
    insecure: Insecure = Insecure.NONE
    host_headers: HostHeaders = attrs.field(factory=dict[str, Mapping[str, str]])
    max_redirects: int = MAX_REDIRECTS

    def _check_scheme(self, url: str, previous: str | None) -> None:
        scheme = _split(url).scheme.lower()
        if scheme == "https":
            return
        if scheme != "http":
            raise TransportError(
                f"unsupported URL scheme in {url!r}: only https and http", url=url
            )
        if Insecure.HTTP in self.insecure:
            return
        if previous is not None:
            raise InsecureRedirect(
                f"refusing the redirect from {previous} to plain {url} (allow insecure http to follow it)",
                url=url,
            )
        raise InsecureRedirect(
            f"refusing plain http for {url} (allow insecure http to use it)", url=url
        )

    def _extra_headers(self, url: str) -> Mapping[str, str]:
        parts = _split(url)
        # Plain http gets here only with insecure http (see _check_scheme),
        # and even then no configured credential goes in clear (as rkt).
        if parts.scheme.lower() != "https":
            return {}
        for key in (parts.netloc.lower(), (parts.hostname or "").lower()):
            if key in self.host_headers:
                return self.host_headers[key]
        return {}

    def open(
        self,
        url: str,
        *,
        method: str = "GET",
        headers: Mapping[str, str] | Headers | None = None,
        timeout: float | None = None,
    ) -> Response:
        """Send a request, following redirects under the policy; any final status is returned."""
        base = headers if isinstance(headers, Headers) else Headers(headers)
        base = Headers({"User-Agent": user_agent()}).merged(base)
        first = _origin(url)
        current, previous = url, None
        for _hop in range(self.max_redirects + 1):
            self._check_scheme(current, previous)
            sent = base
            if _origin(current) != first:
                sent = sent.without(*_CREDENTIAL_HEADERS)
            # Each host gets its own configured headers, never another host's.
            sent = sent.merged(self._extra_headers(current))
            response = self.transport.send(
                Request(
                    url=current,
                    method=method,
                    headers=sent,
                    verify_tls=Insecure.TLS not in self.insecure,
                    timeout=timeout,
                )
            )
            location = response.headers.get("Location")
            if response.status not in _REDIRECTS or location is None:
                response.url = current
                return response
            response.close()
            previous, current = current, urllib.parse.urljoin(current, location.strip())
            logger.debug("redirect %s -> %s", previous, current)
        raise TooManyRedirects(
            f"more than {self.max_redirects} redirects from {url}", url=url
        )

    def get_bytes(
        self,
        url: str,
        *,
        limit: int,
        timeout: float = PAGE_TIMEOUT,
        headers: Mapping[str, str] | None = None,
        what: str = "response",
        limit_name: str = "MAX_PAGE_SIZE",
    ) -> bytes:
        """GET a small body (a key, a signature) that must answer 200, bounded in size and time."""
        status, body = self.fetch_small(
            Request(url=url, headers=Headers(headers)),
            limit=limit,
            timeout=timeout,
            what=what,
            limit_name=limit_name,
        )
        if status != 200:
            raise HTTPStatusError(
                f"expected a 200 OK got {status} for {url}", status=status, url=url
            )
        return body

    def fetch_small(
        self,
        request: Request,
        *,
        limit: int = MAX_PAGE_SIZE,
        timeout: float = PAGE_TIMEOUT,
        what: str = "discovery page",
        limit_name: str = "MAX_PAGE_SIZE",
    ) -> tuple[int, bytes]:
        """Status and body of a request, the body read only for a 200, bounded in size and time."""
        deadline = time.monotonic() + timeout
        response = self.open(
            request.url,
            method=request.method,
            headers=request.headers,
            timeout=min(timeout, READ_TIMEOUT),
        )
        with response:
            if response.status != 200 or request.method == "HEAD":
                return response.status, b""
            return 200, _read_bounded(
                response,
                limit=limit,
                deadline=deadline,
                what=what,
                limit_name=limit_name,
            )


def _read_bounded(
    response: Response, *, limit: int, deadline: float, what: str, limit_name: str
) -> bytes:
    url = response.url
    length = response.headers.get("Content-Length", "")
    if length.isdigit() and int(length) > limit:
        raise ResponseTooLarge(
            f"the {what} at {url} is {int(length)} bytes, more than {limit_name} ({limit})",
            url=url,
        )
    chunks: list[bytes] = []
    size = 0
    # read1: whatever has arrived, so that a trickle cannot outlast the deadline.
    while chunk := response.read1(_CHUNK):
        size += len(chunk)
        if size > limit:
            raise ResponseTooLarge(
                f"the {what} at {url} is larger than {limit_name} ({limit} bytes)",
                url=url,
            )
        chunks.append(chunk)
        if time.monotonic() > deadline:
            raise TransportError(
                f"the {what} at {url} took too long to arrive", url=url
            )
    return b"".join(chunks)


# -- discovery over HTTP ------------------------------------------------------------


def _insecure(value: Insecure | bool) -> Insecure:
    if isinstance(value, Insecure):
        return value
    return Insecure.HTTP | Insecure.TLS if value else Insecure.NONE


def discover(
    name: str,
    labels: Mapping[str, str] | None = None,
    *,
    insecure: Insecure | bool = Insecure.NONE,
    port: int | None = None,
    transport: Transport | None = None,
    host_headers: HostHeaders | None = None,
    simple: bool = False,
    public_keys: bool = True,
    timeout: float = PAGE_TIMEOUT,
) -> DiscoveryResult:
    """Find where an image and its signature live, and its public keys (meta discovery).

    ``name`` is an image name, or an image string ``NAME:VERSION,LABEL=VALUE``;
    ``labels`` adds labels (``version`` defaults to ``latest`` in templates).
    ``insecure`` True means ``Insecure.HTTP | Insecure.TLS`` (``actool --insecure``).
    ``port`` is used for every discovery page. ``host_headers`` adds
    headers per host (``host`` or ``host:port``), over https only, e.g.
    ``load_auth_config().host_headers()`` for rkt's ``auth.d`` files
    (:mod:`appc.auth`; not read unless passed). ``simple`` first tries the
    legacy simple discovery (spec < 0.8). ``timeout`` bounds each page, in
    seconds.

    Raises :class:`~appc.errors.DiscoveryError` (with ``attempts``) when no
    page gave an image endpoint, and :class:`~appc.errors.InvalidAppString`
    for a bad name or label.
    """
    own = transport is None
    used: Transport = Urllib3Transport() if transport is None else transport
    client = Client(used, insecure=_insecure(insecure), host_headers=host_headers or {})
    resolver = Resolver(
        name,
        labels,
        insecure_http=Insecure.HTTP in client.insecure,
        port=port,
        simple=simple,
        public_keys=public_keys,
    )
    try:
        while (request := resolver.next_request()) is not None:
            try:
                status, body = client.fetch_small(request, timeout=timeout)
            except TransportError as exc:
                logger.debug("discovery page %s failed: %s", request.url, exc)
                resolver.receive_error(exc)
            else:
                resolver.receive_page(status, body)
    finally:
        if own and isinstance(used, Urllib3Transport):
            used.close()
    return resolver.result()
