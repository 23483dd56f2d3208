"""Which proxy a request goes through: the rules of Go's ``ProxyFromEnvironment``.

actool and rkt fetch with Go's ``net/http``, which reads the proxy from the
environment as ``golang.org/x/net/http/httpproxy`` says; :class:`ProxyConfig`
follows the same rules:

- an https request goes through ``HTTPS_PROXY``, a plain http one through
  ``HTTP_PROXY``, and neither falls back to the other; ``ALL_PROXY`` is not
  read (Go does not read it);
- each variable is read upper case first, then lower case, and an empty
  value counts as unset;
- a value without a scheme (``proxy.example.com:3128``) is an http proxy;
- ``localhost`` and loopback addresses (``127.0.0.0/8``, ``::1``) never go
  through a proxy;
- ``NO_PROXY`` is a comma-separated list, case and spaces ignored: ``*``
  (nothing is proxied), an IP address or CIDR block (``10.0.0.0/8``), a
  domain (``example.com``: it and its subdomains), a domain with a leading
  ``.`` or ``*.`` (subdomains only); an address or domain may carry a port
  (``example.com:8443``), which must then match too (the request's port
  being 80 or 443 when its URL has none);
- under CGI (``REQUEST_METHOD`` set), a plain http request with an http
  proxy configured is refused, since a client's ``Proxy:`` header becomes
  ``HTTP_PROXY`` there (httpoxy).

The standard library's ``urllib.request.proxy_bypass_environment`` does not
match these (lower case wins, no CIDR blocks, no ``*.`` entries, other port
rules), hence this module. Where Go accepts a proxy URL that cannot work
(another scheme, a bad port) and goes direct, ``appc`` raises
:class:`~appc.errors.ProxyError`; Go's ``socks5://`` proxies are refused
the same way, urllib3 needing an extra package for them.

>>> config = ProxyConfig(https="proxy.example.com:3128", no_proxy="internal.example.com")
>>> config.proxy_for("https://example.com/app.aci")
'http://proxy.example.com:3128'
>>> config.proxy_for("https://images.internal.example.com/app.aci") is None
True
"""

from __future__ import annotations

import base64
import encodings.idna
import ipaddress
import os
import urllib.parse

from collections.abc import Mapping
from typing import Final

from appc.errors import ProxyError


__all__ = ["ProxyConfig"]

_DEFAULT_PORTS: Final = {"http": "80", "https": "443"}
_MAPPING_KEYS: Final = frozenset({"http", "https", "no"})

_Address = ipaddress.IPv4Address | ipaddress.IPv6Address
_Network = ipaddress.IPv4Network | ipaddress.IPv6Network


def _redact(value: str) -> str:
    """``value`` with everything before its last ``@`` (after the scheme) masked."""
    separator = value.find("://")
    start = separator + 3 if separator >= 0 else 0
    at = value.rfind("@")
    if at < start:
        return value
    return f"{value[:start]}***{value[at:]}"


class _Proxy:
    """One proxy: its URL without credentials, and the ``Proxy-Authorization`` they make."""

    __slots__ = ("authorization", "redacted", "source", "url")

    def __init__(self, value: str, source: str) -> None:
        self.source = source
        try:
            if "://" in value:
                parts = urllib.parse.urlsplit(value)
            else:
                # Go's rule: "host:port" alone is an http proxy.
                parts = urllib.parse.urlsplit(f"http://{value}")
            scheme = parts.scheme
            host = parts.hostname or ""
            port = parts.port
        except ValueError as exc:
            raise self._invalid(value, str(exc)) from exc
        if scheme not in _DEFAULT_PORTS:
            raise self._invalid(
                value, f"the scheme {scheme!r} is not supported, only http and https"
            )
        if not host or not host.isprintable() or " " in host:
            raise self._invalid(value, "it has no valid host")
        if port == 0:
            raise self._invalid(value, "port 0")
        netloc = f"[{host}]" if ":" in host else host
        netloc = f"{netloc}:{port or _DEFAULT_PORTS[scheme]}"
        self.url = f"{scheme}://{netloc}"
        self.authorization: str | None = None
        self.redacted = self.url
        if parts.username is not None:
            user = urllib.parse.unquote(parts.username)
            password = urllib.parse.unquote(parts.password or "")
            pair = base64.b64encode(f"{user}:{password}".encode()).decode()
            self.authorization = f"Basic {pair}"
            self.redacted = f"{scheme}://***@{netloc}"

    def _invalid(self, value: str, reason: str) -> ProxyError:
        shown = _redact(value)
        return ProxyError(
            f"{self.source} is not a usable proxy URL ({shown!r}): {reason};"
            " give http://[USER:PASSWORD@]HOST:PORT",
            proxy=shown,
        )

    def __repr__(self) -> str:
        return f"<proxy {self.redacted} from {self.source}>"


# -- NO_PROXY ------------------------------------------------------------------


def _split_host_port(text: str) -> tuple[str, str]:
    """Go's ``net.SplitHostPort``: ``host:port`` or ``[host]:port``; ValueError otherwise."""
    colon = text.rfind(":")
    if colon < 0:
        raise ValueError("missing port")
    if text.startswith("["):
        end = text.find("]")
        if end < 0 or end + 1 != colon:
            raise ValueError("bad brackets")
        host, rest_start, port_start = text[1:end], 1, end + 1
    else:
        host, rest_start, port_start = text[:colon], 0, 0
        if ":" in host:
            raise ValueError("too many colons")
    if "[" in text[rest_start:] or "]" in text[port_start:]:
        raise ValueError("unexpected bracket")
    return host, text[colon + 1 :]


def _parse_ip(text: str) -> _Address | None:
    """Go's ``net.ParseIP``, an IPv4-mapped IPv6 address being its IPv4 address."""
    if "%" in text:  # Go takes no zone here
        return None
    try:
        address = ipaddress.ip_address(text)
    except ValueError:
        return None
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        return address.ipv4_mapped
    return address


def _parse_cidr(text: str) -> _Network | None:
    """Go's ``net.ParseCIDR``: an address, ``/`` and a prefix length, host bits allowed."""
    address, slash, length = text.partition("/")
    if not slash or not length.isascii() or not length.isdigit():
        return None
    if _parse_ip(address) is None:
        return None
    try:
        network = ipaddress.ip_network(f"{address}/{length}", strict=False)
    except ValueError:
        return None
    mapped = getattr(network.network_address, "ipv4_mapped", None)
    if mapped is not None:
        # Go matches IPv4 addresses against an IPv4-mapped block (::ffff:10.0.0.0/104).
        return ipaddress.ip_network(f"{mapped}/{network.prefixlen - 96}")
    return network


def _ascii(host: str) -> str:
    """A host name in IDNA (ASCII) form, as Go compares them; unchanged if that fails."""
    if host.isascii():
        return host
    try:
        return ".".join(
            label if label.isascii() else encodings.idna.ToASCII(label).decode()
            for label in host.split(".")
        )
    except UnicodeError:
        return host


class _NoProxy:
    """A parsed ``NO_PROXY`` list (Go's ``httpproxy`` matchers)."""

    __slots__ = ("addresses", "domains", "everything", "networks")

    def __init__(self, value: str) -> None:
        self.everything = False
        self.networks: list[_Network] = []
        self.addresses: list[tuple[_Address, str]] = []
        # (suffix with its leading dot, port or "", whether the bare name matches too)
        self.domains: list[tuple[str, str, bool]] = []
        for raw in value.split(","):
            entry = raw.strip().lower()
            if not entry:
                continue
            if entry == "*":
                self.everything = True
                return
            network = _parse_cidr(entry)
            if network is not None:
                self.networks.append(network)
                continue
            self._add(entry)

    def _add(self, entry: str) -> None:
        try:
            host, port = _split_host_port(entry)
        except ValueError:
            host, port = entry, ""
        if not host:
            return  # ":80": no host, ignored as Go does
        address = _parse_ip(host)
        if address is not None:
            self.addresses.append((address, port))
            return
        if host.startswith("*."):
            host = host[1:]
        match_host = not host.startswith(".")
        if match_host:
            host = f".{host}"
        self.domains.append((_ascii(host), port, match_host))

    def use_proxy(self, host: str, port: str) -> bool:
        """Whether a request to ``host`` on ``port`` goes through the proxy."""
        host = _ascii(host).strip().lower()
        # Go compares "localhost" before lowering the case: any case here.
        if host == "localhost":
            return False
        address = _parse_ip(host)
        if address is not None and address.is_loopback:
            return False
        if self.everything:
            return False
        if address is not None:
            if any(_contains(network, address) for network in self.networks):
                return False
            if any(
                address == listed and listed_port in ("", port)
                for listed, listed_port in self.addresses
            ):
                return False
        return not any(
            (host.endswith(suffix) or (match_host and host == suffix[1:]))
            and listed_port in ("", port)
            for suffix, listed_port, match_host in self.domains
        )


def _contains(network: _Network, address: _Address) -> bool:
    return network.version == address.version and address in network


# -- the configuration -----------------------------------------------------------


def _from_environ(environ: Mapping[str, str], *names: str) -> tuple[str, str]:
    """The first of ``names`` set to a non-empty value (Go's getEnvAny): (value, name)."""
    for name in names:
        value = environ.get(name, "")
        if value:
            return value, name
    return "", names[0]


class ProxyConfig:
    """The proxy for http requests, the one for https requests, and the hosts that bypass them.

    ``http`` and ``https`` are proxy URLs (``http://[USER:PASSWORD@]HOST:PORT``,
    ``https://`` for TLS to the proxy, or just ``HOST:PORT``); ``None`` or
    ``""`` for none. ``no_proxy`` is a ``NO_PROXY`` list. ``cgi`` refuses the
    http proxy for plain http requests, as Go does under CGI. The rules are
    Go's (see the module docs). Credentials go in ``Proxy-Authorization`` to
    the proxy only; ``repr`` and messages mask them. A URL that cannot be
    used raises :class:`~appc.errors.ProxyError`.

    >>> config = ProxyConfig(https="http://user:secret@proxy.example.com:3128", no_proxy=".internal, 10.0.0.0/8")
    >>> config
    ProxyConfig(http=None, https='http://***@proxy.example.com:3128', no_proxy='.internal, 10.0.0.0/8')
    >>> config.proxy_for("https://example.com/app.aci")
    'http://proxy.example.com:3128'
    >>> [config.proxy_for(url) for url in ("https://a.internal/", "https://10.1.2.3/", "http://example.com/")]
    [None, None, None]
    """

    __slots__ = ("_cgi", "_http", "_https", "_no_proxy", "_no_proxy_text")

    def __init__(
        self,
        *,
        http: str | None = None,
        https: str | None = None,
        no_proxy: str = "",
        cgi: bool = False,
    ) -> None:
        self._setup(
            http=http,
            https=https,
            no_proxy=no_proxy,
            cgi=cgi,
            sources=("the http proxy", "the https proxy"),
        )

    def _setup(
        self,
        *,
        http: str | None,
        https: str | None,
        no_proxy: str,
        cgi: bool,
        sources: tuple[str, str],
    ) -> None:
        self._http = _Proxy(http, sources[0]) if http else None
        self._https = _Proxy(https, sources[1]) if https else None
        self._no_proxy_text = no_proxy
        self._no_proxy = _NoProxy(no_proxy)
        self._cgi = cgi

    @classmethod
    def from_environment(cls, environ: Mapping[str, str] | None = None) -> ProxyConfig:
        """The configuration Go reads: ``HTTP_PROXY``, ``HTTPS_PROXY``, ``NO_PROXY`` (upper case first).

        ``environ`` defaults to :data:`os.environ`.

        >>> ProxyConfig.from_environment({"https_proxy": "proxy.example.com:3128", "NO_PROXY": "example.org"})
        ProxyConfig(http=None, https='http://proxy.example.com:3128', no_proxy='example.org')
        """
        environ = os.environ if environ is None else environ
        http, http_name = _from_environ(environ, "HTTP_PROXY", "http_proxy")
        https, https_name = _from_environ(environ, "HTTPS_PROXY", "https_proxy")
        no_proxy, _ = _from_environ(environ, "NO_PROXY", "no_proxy")
        config = cls.__new__(cls)
        config._setup(  # noqa: SLF001 - this class's own instance
            http=http,
            https=https,
            no_proxy=no_proxy,
            cgi=bool(environ.get("REQUEST_METHOD")),
            sources=(http_name, https_name),
        )
        return config

    @classmethod
    def from_mapping(cls, proxies: Mapping[str, str]) -> ProxyConfig:
        """From ``{"http": URL, "https": URL, "no": NO_PROXY}``, the shape of ``urllib.request.getproxies()``.

        Missing keys mean no proxy (``{}``: none at all); other keys are refused.

        >>> ProxyConfig.from_mapping({"https": "http://proxy.example.com:3128", "no": "example.org"})
        ProxyConfig(http=None, https='http://proxy.example.com:3128', no_proxy='example.org')
        """
        unknown = sorted(set(proxies) - _MAPPING_KEYS)
        if unknown:
            raise ProxyError(
                f"unknown proxy keys {unknown}: give 'http', 'https' and 'no' (NO_PROXY)"
            )
        config = cls.__new__(cls)
        config._setup(  # noqa: SLF001 - this class's own instance
            http=proxies.get("http"),
            https=proxies.get("https"),
            no_proxy=proxies.get("no", ""),
            cgi=False,
            sources=("proxies['http']", "proxies['https']"),
        )
        return config

    @property
    def no_proxy(self) -> str:
        """The ``NO_PROXY`` list, as given."""
        return self._no_proxy_text

    def _route(self, url: str) -> _Proxy | None:
        """The proxy for a request to ``url``, None to go direct."""
        try:
            parts = urllib.parse.urlsplit(url)
            scheme = parts.scheme.lower()
            host = parts.hostname or ""
            port = parts.port
        except ValueError:
            return None  # the transport reports the bad URL itself
        if scheme == "https":
            proxy = self._https
        elif scheme == "http":
            proxy = self._http
        else:
            return None
        if proxy is None:
            return None
        if scheme == "http" and self._cgi:
            raise ProxyError(
                f"refusing {proxy.source} for {url} in a CGI environment"
                " (REQUEST_METHOD is set): a client can set it (httpoxy)",
                url=url,
                proxy=proxy.redacted,
            )
        wanted = str(port) if port is not None else _DEFAULT_PORTS[scheme]
        return proxy if self._no_proxy.use_proxy(host, wanted) else None

    def proxy_for(self, url: str) -> str | None:
        """The URL (without credentials) of the proxy a request to ``url`` goes through, None if direct.

        >>> ProxyConfig(http="proxy.example.com:8080").proxy_for("http://localhost:8000/") is None
        True
        """
        proxy = self._route(url)
        return None if proxy is None else proxy.url

    def _key(self) -> tuple[object, ...]:
        proxies = tuple(
            None if proxy is None else (proxy.url, proxy.authorization)
            for proxy in (self._http, self._https)
        )
        return (*proxies, self._no_proxy_text, self._cgi)

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, ProxyConfig):
            return NotImplemented
        return self._key() == other._key()

    def __hash__(self) -> int:
        return hash(self._key())

    def __repr__(self) -> str:
        http = None if self._http is None else self._http.redacted
        https = None if self._https is None else self._https.redacted
        cgi = ", cgi=True" if self._cgi else ""
        return f"ProxyConfig(http={http!r}, https={https!r}, no_proxy={self._no_proxy_text!r}{cgi})"
