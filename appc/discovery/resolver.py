"""Meta discovery as a state machine: it says which pages to fetch and reads them.

:class:`Resolver` does no I/O (as h11 does for HTTP): ask it for the next
:class:`~appc.discovery.Request`, fetch that page however you like, and hand
it the status and body (or the error); when it has nothing more to ask,
:meth:`Resolver.result` gives the :class:`DiscoveryResult`.
:func:`appc.discovery.discover` drives it over HTTP.

The walk is the reference's: ``https://PREFIX?ac-discovery=1`` for the full
name, then for each parent (``example.com/a/b``, ``example.com/a``,
``example.com``); any error or a page without a matching tag moves on to the
parent. Image endpoints come from the first page that has any, public keys
from the first page that has any (one walk serves both). With insecure http
a failed https page is tried again over http.

>>> resolver = Resolver("example.com/app", {"version": "1.0", "os": "linux", "arch": "amd64"})
>>> resolver.next_request().url
'https://example.com/app?ac-discovery=1'
>>> resolver.receive_page(200, b'''
...     <meta name="ac-discovery" content="example.com https://example.com/{name}-{version}-{os}-{arch}.{ext}">
...     <meta name="ac-discovery-pubkeys" content="example.com https://example.com/pubkeys.gpg">''')
>>> resolver.next_request() is None
True
>>> result = resolver.result()
>>> result.endpoints[0].aci, result.public_keys
('https://example.com/example.com/app-1.0-linux-amd64.aci', ('https://example.com/pubkeys.gpg',))
"""

from __future__ import annotations

import platform
import sys

from collections.abc import Mapping
from types import MappingProxyType

import attrs

from appc.app_string import ImageRef
from appc.discovery._meta import DISCOVERY, PUBKEYS, parse_meta_tags, prefix_matches
from appc.discovery._protocol import Headers, Request
from appc.discovery._template import (
    ASC_EXT,
    IMAGE_EXT,
    check_label_values,
    render,
    template_variables,
)
from appc.errors import DiscoveryError, HTTPStatusError, InvalidAppString
from appc.names import ACIdentifier


__all__ = [
    "ACIEndpoint",
    "DiscoveryResult",
    "FailedAttempt",
    "Resolver",
    "host_os_arch",
    "image_ref",
    "page_url",
    "simple_url",
]

_PAGE_HEADERS = Headers({"Accept": "text/html, application/xhtml+xml;q=0.9, */*;q=0.1"})


@attrs.frozen(kw_only=True)
class ACIEndpoint:
    """Where an image and its detached signature can be downloaded.

    >>> ACIEndpoint(aci="https://example.com/app.aci", asc="https://example.com/app.aci.asc").asc
    'https://example.com/app.aci.asc'
    """

    aci: str
    asc: str


@attrs.frozen(kw_only=True)
class FailedAttempt:
    """A page that could not be fetched during the walk, and why.

    >>> str(FailedAttempt(prefix="example.com/app", url="https://example.com/app?ac-discovery=1", error="expected a 200 OK got 404"))
    'prefix: example.com/app error: expected a 200 OK got 404'
    """

    prefix: str
    url: str
    error: str

    def __str__(self) -> str:
        return f"prefix: {self.prefix} error: {self.error}"


def _frozen(labels: Mapping[str, str]) -> Mapping[str, str]:
    return MappingProxyType(dict(labels))


@attrs.frozen(kw_only=True)
class DiscoveryResult:
    """What discovery found for one image: endpoints, public key URLs, failed pages.

    ``endpoints_prefix`` and ``keys_prefix`` name the page each came from
    (``None`` when none was found); ``attempts`` lists every page that could
    not be fetched, in walk order.
    """

    name: ACIdentifier
    labels: Mapping[str, str] = attrs.field(converter=_frozen)
    endpoints: tuple[ACIEndpoint, ...]
    public_keys: tuple[str, ...]
    attempts: tuple[FailedAttempt, ...]
    endpoints_prefix: str | None
    keys_prefix: str | None

    def endpoint_attempts(self) -> tuple[FailedAttempt, ...]:
        """The failed pages walked before the endpoints were found (all, if never).

        >>> DiscoveryResult(name="a", labels={}, endpoints=(), public_keys=(), endpoints_prefix=None, keys_prefix=None,
        ...     attempts=(FailedAttempt(prefix="a", url="u", error="e"),)).endpoint_attempts()[0].prefix
        'a'
        """
        return _attempts_before(self.attempts, self.endpoints_prefix)

    def key_attempts(self) -> tuple[FailedAttempt, ...]:
        """The failed pages walked before the public keys were found (all, if never)."""
        return _attempts_before(self.attempts, self.keys_prefix)

    def to_json(self) -> dict[str, object]:
        """The shape ``actool discover --json`` prints.

        >>> DiscoveryResult(name="a", labels={}, endpoints=(ACIEndpoint(aci="x", asc="y"),), public_keys=("k",),
        ...     attempts=(), endpoints_prefix="a", keys_prefix="a").to_json()
        {'ACIEndpoints': [{'ACI': 'x', 'ASC': 'y'}], 'PublicKeys': ['k']}
        """
        return {
            "ACIEndpoints": [{"ACI": e.aci, "ASC": e.asc} for e in self.endpoints],
            "PublicKeys": list(self.public_keys),
        }


def _attempts_before(
    attempts: tuple[FailedAttempt, ...], found: str | None
) -> tuple[FailedAttempt, ...]:
    if found is None:
        return attempts
    # The walk goes from the longest prefix down: earlier pages are longer.
    depth = found.count("/")
    return tuple(a for a in attempts if a.prefix.count("/") > depth)


def image_ref(name: str, labels: Mapping[str, str] | None = None) -> ImageRef:
    """The image asked for: a name (or ``NAME:VERSION,LABEL=VALUE`` string) and labels.

    Labels passed separately win over those in the string (a label called
    ``name`` is ignored, as in Go). Names with an
    empty, ``.`` or ``..`` path component are refused (Go accepts
    ``a/../b``, which would climb URL paths).

    >>> ref = image_ref("example.com/app:1.0", {"os": "linux"})
    >>> ref.name, ref.version, ref.labels["os"]
    (ACIdentifier('example.com/app'), '1.0', 'linux')
    >>> image_ref("example.com/../app")
    Traceback (most recent call last):
    ...
    appc.errors.InvalidAppString: image name "example.com/../app" has an empty, "." or ".." path component
    """
    ref = ImageRef.parse(name)
    # A label called "name" has no effect in Go (the name comes first): drop it.
    extra = {k: v for k, v in (labels or {}).items() if k != "name"}
    merged = {**ref.labels, **extra}
    ref = ImageRef(name=ref.name, labels=merged)
    if any(part in {"", ".", ".."} for part in ref.name.split("/")):
        raise InvalidAppString(
            name,
            f'image name "{ref.name}" has an empty, "." or ".." path component',
        )
    check_label_values(ref.labels)
    return ref


# Python's platform.machine() names, to appc's arch label (labels.KNOWN_OS_ARCH).
_MACHINES = {
    "x86_64": "amd64",
    "amd64": "amd64",
    "i386": "i386",
    "i486": "i386",
    "i586": "i386",
    "i686": "i386",
    "aarch64": "aarch64",
    "arm64": "aarch64",
    "aarch64_be": "aarch64_be",
    "armv6l": "armv6l",
    "armv7l": "armv7l",
    "armv7b": "armv7b",
    "ppc64": "ppc64",
    "ppc64le": "ppc64le",
    "s390x": "s390x",
}


def host_os_arch(
    system: str | None = None, machine: str | None = None
) -> dict[str, str]:
    """The ``os`` and ``arch`` labels of this machine, as rkt adds them to a fetch by name.

    Unknown platforms give no label rather than a wrong one.

    >>> host_os_arch("linux", "x86_64"), host_os_arch("linux", "aarch64"), host_os_arch("plan9", "x")
    ({'os': 'linux', 'arch': 'amd64'}, {'os': 'linux', 'arch': 'aarch64'}, {})
    """
    system = sys.platform if system is None else system
    machine = platform.machine() if machine is None else machine
    os_name = next(
        (n for n in ("linux", "darwin", "freebsd") if system.startswith(n)), None
    )
    if os_name is None:
        return {}
    arch = _MACHINES.get(machine.lower())
    if os_name == "darwin" and arch == "amd64":
        arch = "x86_64"
    return {"os": os_name, "arch": arch} if arch is not None else {"os": os_name}


def page_url(prefix: str, scheme: str, port: int | None) -> str:
    """The discovery page URL of a prefix, as Go builds it.

    >>> page_url("example.com", "https", None), page_url("127.0.0.1/app", "http", 8080)
    ('https://example.com?ac-discovery=1', 'http://127.0.0.1:8080/app?ac-discovery=1')
    """
    host, slash, path = prefix.partition("/")
    if port is not None:
        host = f"{host}:{port}"
    return f"{scheme}://{host}{slash}{path}?ac-discovery=1"


def simple_url(variables: Mapping[str, str], port: int | None) -> str | None:
    """The legacy simple-discovery URL ``https://{name}-{version}-{os}-{arch}.aci``, if all are known.

    >>> simple_url({"version": "1.0", "os": "linux", "arch": "amd64", "name": "example.com/app"}, None)
    'https://example.com/app-1.0-linux-amd64.aci'
    """
    rendered = render("{name}-{version}-{os}-{arch}.{ext}", variables, IMAGE_EXT)
    if rendered is None:
        return None
    host, slash, rest = rendered.partition("/")
    if not slash:
        # A one-component name: the version and platform land in the host.
        return None
    if port is not None:
        host = f"{host}:{port}"
    return f"https://{host}/{rest}"


class Resolver:
    """The discovery walk for one image, without I/O (see the module docs).

    ``insecure_http`` retries a failed https page over http; ``port`` is
    added to each page's host; ``simple`` first tries the legacy simple
    discovery URL (removed from spec 0.8) with a HEAD request;
    ``public_keys`` False stops once endpoints are found.
    """

    def __init__(
        self,
        name: str,
        labels: Mapping[str, str] | None = None,
        *,
        insecure_http: bool = False,
        port: int | None = None,
        simple: bool = False,
        public_keys: bool = True,
    ) -> None:
        ref = image_ref(name, labels)
        self.name: ACIdentifier = ref.name
        self.labels: Mapping[str, str] = ref.labels
        self._variables = template_variables(self.name, self.labels)
        self._insecure_http = insecure_http
        self._port = port
        self._want_keys = public_keys
        parts = self.name.split("/")
        self._prefixes = ["/".join(parts[:end]) for end in range(len(parts), 0, -1)]
        self._attempts: list[FailedAttempt] = []
        self._endpoints: tuple[ACIEndpoint, ...] = ()
        self._keys: tuple[str, ...] = ()
        self._endpoints_prefix: str | None = None
        self._keys_prefix: str | None = None
        self._pending: Request | None = None
        self._pending_prefix = ""
        self._simple = simple_url(self._variables, port) if simple else None

    # -- the state machine ------------------------------------------------------

    def _done(self) -> bool:
        if not self._endpoints:
            return False
        return not self._want_keys or self._keys_prefix is not None

    def next_request(self) -> Request | None:
        """The next page to fetch, or None when the walk is over.

        Call :meth:`receive_page` or :meth:`receive_error` before asking again.
        """
        if self._pending is not None:
            return self._pending
        if self._done():
            return None
        if self._simple is not None:
            self._pending = Request(url=self._simple, method="HEAD")
            self._pending_prefix = self.name
            return self._pending
        if not self._prefixes:
            return None
        self._pending_prefix = self._prefixes[0]
        self._pending = Request(
            url=page_url(self._pending_prefix, "https", self._port),
            headers=_PAGE_HEADERS,
        )
        return self._pending

    def _take(self) -> Request:
        request = self._pending
        if request is None:
            raise RuntimeError(
                "no request is waiting for an answer: call next_request()"
            )
        self._pending = None
        return request

    def _fallback(self, request: Request) -> None:
        # Insecure http: the same page again over http, after https failed.
        if (
            self._insecure_http
            and request.url.startswith("https://")
            and request.method == "GET"
        ):
            self._pending = attrs.evolve(
                request, url="http://" + request.url.removeprefix("https://")
            )
        else:
            self._prefixes.pop(0)

    def receive_error(self, error: BaseException | str) -> None:
        """The page could not be fetched (a network or TLS error, a refused redirect...)."""
        request = self._take()
        self._attempts.append(
            FailedAttempt(
                prefix=self._pending_prefix, url=request.url, error=str(error)
            )
        )
        if request.url == self._simple:
            self._simple = None
            return
        self._fallback(request)

    def receive_page(self, status: int, body: bytes) -> None:
        """The status and body of the page asked for (redirects already followed)."""
        request = self._take()
        if status != 200:
            self._attempts.append(
                FailedAttempt(
                    prefix=self._pending_prefix,
                    url=request.url,
                    error=str(
                        HTTPStatusError(
                            f"expected a 200 OK got {status}", status=status
                        )
                    ),
                )
            )
            if request.url == self._simple:
                self._simple = None
                return
            self._fallback(request)
            return
        if request.url == self._simple:
            self._simple = None
            self._endpoints = (ACIEndpoint(aci=request.url, asc=request.url + ".asc"),)
            return
        prefix = self._prefixes.pop(0)
        endpoints, keys = self._read(body)
        if endpoints and not self._endpoints:
            self._endpoints, self._endpoints_prefix = endpoints, prefix
        if keys and self._keys_prefix is None:
            self._keys, self._keys_prefix = keys, prefix

    def _read(self, body: bytes) -> tuple[tuple[ACIEndpoint, ...], tuple[str, ...]]:
        endpoints: list[ACIEndpoint] = []
        keys: list[str] = []
        for tag in parse_meta_tags(body):
            if not prefix_matches(tag.prefix, self.name):
                continue
            if tag.name == DISCOVERY:
                asc = render(tag.uri, self._variables, ASC_EXT)
                aci = render(tag.uri, self._variables, IMAGE_EXT)
                if aci is not None and asc is not None:
                    endpoints.append(ACIEndpoint(aci=aci, asc=asc))
            elif tag.name == PUBKEYS:
                keys.append(tag.uri)
        return tuple(endpoints), tuple(keys)

    # -- the outcome ------------------------------------------------------------

    def result(self, *, require_endpoints: bool = True) -> DiscoveryResult:
        """What was found; raises :class:`~appc.errors.DiscoveryError` without endpoints.

        >>> resolver = Resolver("example.com/app")
        >>> resolver.receive_error(Exception("x")) if resolver.next_request() else None
        >>> resolver.receive_error(Exception("y")) if resolver.next_request() else None
        >>> resolver.next_request() is None
        True
        >>> resolver.result()
        Traceback (most recent call last):
        ...
        appc.errors.DiscoveryError: discovery failed for example.com/app: no ac-discovery meta tag matched (2 pages failed)
        """
        if require_endpoints and not self._endpoints:
            failed = f" ({len(self._attempts)} pages failed)" if self._attempts else ""
            raise DiscoveryError(
                f"discovery failed for {self.name}: no ac-discovery meta tag matched{failed}",
                self._attempts,
            )
        return DiscoveryResult(
            name=self.name,
            labels=self.labels,
            endpoints=self._endpoints,
            public_keys=self._keys,
            attempts=tuple(self._attempts),
            endpoints_prefix=self._endpoints_prefix,
            keys_prefix=self._keys_prefix,
        )
