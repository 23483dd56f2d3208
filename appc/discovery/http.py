"""HTTP for discovery and fetch: the ``Transport`` protocol, urllib3 under it, a safe client.

A :class:`Transport` sends one :class:`~appc.discovery.Request` and returns
one :class:`~appc.discovery.Response`, following no redirect: that is the
whole network surface, so tests (``appc.testing.MockTransport``) or other
HTTP stacks can stand in. :class:`Urllib3Transport` is the default; it
goes through the proxies of the environment, read as Go reads them
(:class:`~appc.discovery.ProxyConfig`).

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
import re
import ssl
import threading
import time
import urllib.parse
import warnings

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, Final, Protocol

import attrs

from appc.discovery._protocol import Headers, Insecure, Request, Response
from appc.discovery._proxy import ProxyConfig
from appc.discovery.resolver import DiscoveryResult, Resolver
from appc.errors import (
    HTTPStatusError,
    InsecureRedirect,
    ProxyError,
    ResponseTooLarge,
    TLSError,
    TooManyRedirects,
    TransportError,
)


if TYPE_CHECKING:
    import urllib3

    from appc.discovery._proxy import _Proxy  # pyright: ignore[reportPrivateUsage]


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


def _translate(exc: Exception, url: str, *, via: str = "") -> TransportError:
    """A urllib3 error as ours; ``via`` ends the message (the proxy it went through)."""
    import urllib3

    # retries=False: urllib3 raises the error itself, never MaxRetryError.
    reason = exc
    if isinstance(reason, urllib3.exceptions.SSLError | ssl.SSLError):
        return TLSError(f"TLS error for {url}: {reason}{via}", url=url)
    if isinstance(reason, urllib3.exceptions.ProtocolError):
        message = f"connection to {url} broke: {_protocol_reason(reason)}"
    # NewConnectionError is a ConnectTimeoutError in urllib3: test it first.
    elif isinstance(reason, urllib3.exceptions.NewConnectionError):
        message = f"cannot connect to {url}: {reason}"
    elif isinstance(reason, urllib3.exceptions.TimeoutError):
        message = f"timed out talking to {url}"
    else:
        message = f"request to {url} failed: {reason}"
    return TransportError(f"{message}{via}", url=url)


def _protocol_reason(exc: Exception) -> str:
    # IncompleteRead says "IncompleteRead(5 bytes read, 10 more expected)".
    inner = exc.args[1] if len(exc.args) > 1 else exc
    return str(inner)


_TUNNEL_FAILED = re.compile(r"Tunnel connection failed: (\d{3})\s*(.*)")


def _proxy_error(exc: Exception, proxy: _Proxy, url: str) -> ProxyError:
    """A urllib3 error on the way to ``proxy`` as a :class:`ProxyError`, credentials left out."""
    import urllib3

    reason = getattr(exc, "original_error", exc)
    where = f"the proxy {proxy.redacted} (from {proxy.source})"
    tunnel = _TUNNEL_FAILED.search(str(reason))
    if tunnel is not None:
        status, phrase = int(tunnel.group(1)), tunnel.group(2).strip()
        if status == 407:
            return _proxy_auth_error(proxy, url, phrase)
        parts = urllib.parse.urlsplit(url)
        target = f"{parts.hostname}:{parts.port or 443}"
        message = f"{where} refused to open a tunnel to {target}: {status} {phrase}"
    elif isinstance(reason, urllib3.exceptions.SSLError | ssl.SSLError):
        message = f"TLS error with {where}: {reason}"
    elif isinstance(reason, urllib3.exceptions.NewConnectionError):
        cause = reason.__cause__ or reason.__context__ or reason
        message = f"cannot connect to {where}: {cause}; check it, or list the host in NO_PROXY"
    elif isinstance(reason, urllib3.exceptions.TimeoutError | TimeoutError):
        message = f"timed out talking to {where}"
    else:
        message = f"{where} failed: {reason}"
    return ProxyError(f"{message} (for {url})", url=url, proxy=proxy.redacted)


def _proxy_auth_error(proxy: _Proxy, url: str, phrase: str) -> ProxyError:
    where = f"the proxy {proxy.redacted} (from {proxy.source})"
    if proxy.authorization is None:
        message = (
            f"{where} asks for credentials (407 {phrase}) for {url}:"
            " put them in its URL, http://USER:PASSWORD@HOST:PORT"
        )
    else:
        message = f"{where} refused the credentials in its URL (407 {phrase}) for {url}"
    return ProxyError(message, url=url, proxy=proxy.redacted)


class Urllib3Transport:
    """The default transport: urllib3 connection pools, TLS verified against system CAs.

    ``ca_certs`` (a PEM file) or ``ssl_context`` replaces the trusted CAs,
    e.g. a private CA; ``SSL_CERT_FILE`` is honoured as by OpenSSL. Requests
    with ``verify_tls=False`` use a separate pool that checks nothing.

    ``proxies`` chooses the proxies: ``None`` reads ``HTTPS_PROXY``,
    ``HTTP_PROXY`` and ``NO_PROXY`` from the environment with Go's rules
    (see :class:`ProxyConfig`), ``{}`` uses none, and ``{"https": URL,
    "http": URL, "no": NO_PROXY}`` or a :class:`ProxyConfig` sets them. An
    https request goes through a ``CONNECT`` tunnel, so the certificate
    checked is still the server's. What the proxy refuses, or a proxy that
    cannot be reached, is a :class:`~appc.errors.ProxyError`.

    >>> transport = Urllib3Transport(proxies={"https": "http://proxy.example.com:3128"})
    >>> transport.proxies.proxy_for("https://example.com/app.aci")
    'http://proxy.example.com:3128'
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
        proxies: ProxyConfig | Mapping[str, str] | None = None,
    ) -> None:
        import urllib3

        if proxies is None:
            proxies = ProxyConfig.from_environment()
        elif not isinstance(proxies, ProxyConfig):
            proxies = ProxyConfig.from_mapping(proxies)
        self._proxies = proxies
        self._ca_certs = os.fspath(ca_certs) if ca_certs is not None else None
        self._ssl_context = ssl_context
        self._pool_size = pool_size
        self._connect_timeout = connect_timeout
        self._read_timeout = read_timeout
        self._timeout = urllib3.Timeout(connect=connect_timeout, read=read_timeout)
        # (proxy URL and credentials, or None; verify_tls) -> pools, made on first use.
        self._managers: dict[
            tuple[tuple[str, str | None] | None, bool], urllib3.PoolManager
        ] = {}
        self._managers_lock = threading.Lock()

    @property
    def proxies(self) -> ProxyConfig:
        """The proxies in use, read from the environment when none were given."""
        return self._proxies

    def _manager(self, proxy: _Proxy | None, verify_tls: bool) -> urllib3.PoolManager:
        key = (None if proxy is None else (proxy.url, proxy.authorization), verify_tls)
        # Fetch workers share a transport: one manager per key, closed by close().
        with self._managers_lock:
            manager = self._managers.get(key)
            if manager is None:
                manager = self._managers[key] = self._new_manager(proxy, verify_tls)
        return manager

    def _new_manager(
        self, proxy: _Proxy | None, verify_tls: bool
    ) -> urllib3.PoolManager:
        import urllib3

        tls: dict[str, Any] = (
            {
                "cert_reqs": "CERT_REQUIRED",
                "ca_certs": self._ca_certs,
                "ssl_context": self._ssl_context,
            }
            if verify_tls
            else {"cert_reqs": "CERT_NONE", "assert_hostname": False}
        )
        common: dict[str, Any] = {
            "num_pools": self._pool_size,
            "timeout": self._timeout,
            "retries": False,
        }
        if proxy is None:
            return urllib3.PoolManager(**common, **tls)
        return urllib3.ProxyManager(
            proxy.url,
            proxy_headers=(
                {}
                if proxy.authorization is None
                else {"Proxy-Authorization": proxy.authorization}
            ),
            # An https proxy is trusted as the servers are (not checked when they are not).
            proxy_ssl_context=self._ssl_context if verify_tls else None,
            **common,
            **tls,
        )

    def send(self, request: Request) -> Response:
        """Send ``request`` with urllib3, through its proxy if any; the body is streamed."""
        import urllib3

        proxy = self._proxies._route(request.url)  # noqa: SLF001  # pyright: ignore[reportPrivateUsage]
        pool = self._manager(proxy, request.verify_tls)
        if proxy is not None:
            logger.debug("%s %s via %s", request.method, request.url, proxy.redacted)
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
            if proxy is None:
                # Malformed URLs too (LocationParseError).
                raise _translate(exc, request.url) from exc
            if isinstance(exc, urllib3.exceptions.ProxyError):
                raise _proxy_error(exc, proxy, request.url) from exc
            # Past the proxy's door (in the CONNECT exchange, or to the server
            # through the tunnel): urllib3 does not say which, the message does.
            via = f" (through the proxy {proxy.redacted} from {proxy.source})"
            raise _translate(exc, request.url, via=via) from exc
        if proxy is not None and response.status == 407:
            # Plain http through the proxy: its refusal comes as a response.
            response.close()
            response.release_conn()
            raise _proxy_auth_error(proxy, request.url, response.reason or "")
        return Response(
            status=response.status,
            headers=Headers(response.headers.items()),
            stream=_Urllib3Body(response, request.url),
            url=request.url,
        )

    def close(self) -> None:
        """Close every pooled connection."""
        with self._managers_lock:
            managers = list(self._managers.values())
        for manager in managers:
            manager.clear()


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
