# pyright: reportPrivateUsage=false
"""Proxies as Go's net/http reads them: the NO_PROXY rules, then real requests through a proxy.

The rules are a table checked against Go itself (``golang.org/x/net/http/httpproxy``
through ``tests/oracle/values_oracle.go``) plus properties, one of them
differential. The end-to-end tests run a forwarding proxy on 127.0.0.1
(``tests/discovery/proxy.py``). Go never proxies localhost or loopback
addresses, so the servers are addressed as ``images.test``, a name only the
proxy resolves (to 127.0.0.1), as a real proxy resolves names for its
clients; in this process ``*.test`` names do not resolve at all (no DNS
query leaves), except where a test maps one to go direct.
"""

from __future__ import annotations

import base64
import json
import logging
import os
import socket
import ssl
import subprocess
import threading

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import hypothesis
import hypothesis.strategies as st
import pytest
import trustme
import urllib3

from appc import cli
from appc.discovery import (
    Client,
    Insecure,
    ProxyConfig,
    Request,
    Urllib3Transport,
    discover,
)
from appc.discovery.http import _proxy_error
from appc.docker.registry import RegistryClient
from appc.errors import (
    DiscoveryError,
    ProxyError,
    RegistryError,
    TLSError,
    TransportError,
)

from tests.discovery.proxy import ForwardingProxy
from tests.discovery.servers import PageServer, meta_page
from tests.oracle import GoOracle, go_oracle_or_skip


PROXY = "http://proxy.test:3128"
SECRET = "s3cr3t-p@ss:word"


# -- the rules ------------------------------------------------------------------

# (NO_PROXY, request URL, whether it goes through the proxy); every row is Go's
# answer (test_the_table_is_gos checks it against Go).
NO_PROXY_TABLE: list[tuple[str, str, bool]] = [
    ("", "https://example.com/", True),
    ("", "http://example.com/", True),
    # Never proxied: localhost and loopback addresses, whatever NO_PROXY says.
    ("", "https://localhost/", False),
    ("", "https://localhost:8443/", False),
    ("", "http://127.0.0.1/", False),
    ("", "https://127.1.2.3:8443/", False),
    ("", "https://[::1]:443/", False),
    ("", "https://[::ffff:127.0.0.1]/", False),
    ("", "https://localhost.example.com/", True),
    # *: nothing.
    ("*", "https://example.com/", False),
    ("example.org, *", "http://example.com/", False),
    # A domain: it and its subdomains, not names that merely end the same.
    ("example.com", "https://example.com/", False),
    ("example.com", "https://images.example.com/", False),
    ("example.com", "https://badexample.com/", True),
    ("example.com", "https://example.com.evil.test/", True),
    # A leading dot or *.: subdomains only.
    (".example.com", "https://example.com/", True),
    (".example.com", "https://a.b.example.com/", False),
    ("*.example.com", "https://example.com/", True),
    ("*.example.com", "https://a.example.com/", False),
    # Case, spaces and empty entries do not matter.
    ("  EXAMPLE.com ", "https://example.com/", False),
    (" , ,example.com,", "https://example.com", False),
    # A port must match; the request's is 443 or 80 when its URL has none.
    ("example.com:8443", "https://example.com:8443/", False),
    ("example.com:8443", "https://example.com/", True),
    ("example.com:443", "https://example.com/", False),
    ("example.com:443", "http://example.com/", True),
    ("example.com:", "https://example.com:8443/", False),
    (":443", "https://example.com/", True),
    # IP addresses and CIDR blocks (host bits allowed), IPv4 and IPv6.
    ("10.0.0.0/8", "https://10.20.30.40/", False),
    ("10.0.0.0/8", "https://11.0.0.1/", True),
    ("10.1.2.3/8", "https://10.9.9.9/", False),
    ("192.168.1.1", "https://192.168.1.1:8443/", False),
    ("192.168.1.1:8443", "https://192.168.1.1/", True),
    ("192.168.1.1:8443", "https://192.168.1.1:8443/", False),
    ("2001:db8::/32", "https://[2001:db8::1]/", False),
    ("2001:db8::/32", "https://[2001:db9::1]/", True),
    ("2001:db8::1", "https://[2001:db8::1]/", False),
    ("[2001:db8::1]:443", "https://[2001:db8::1]/", False),
    ("[2001:db8::1]:8443", "https://[2001:db8::1]/", True),
    ("::/0", "https://10.0.0.1/", True),
    # IPv4-mapped IPv6 addresses are their IPv4 address.
    ("::ffff:10.0.0.0/104", "https://10.1.1.1/", False),
    ("::ffff:10.0.0.0/80", "https://10.1.1.1/", True),
    ("10.0.0.1", "https://[::ffff:10.0.0.1]/", False),
    ("10.0.0.0/8", "https://[::ffff:10.0.0.1]/", False),
    # Go's quirks, kept: what is not an address is a name suffix, matched as text.
    ("0.0.1", "https://10.0.0.1/", False),
    ("1.2.3.4/33", "https://1.2.3.4/", True),
    ("10.0.0.0/255.0.0.0", "https://10.0.0.1/", True),
    ("[2001:db8::1]", "https://[2001:db8::1]/", True),
    ("fe80::1%eth0", "https://[fe80::1]/", True),
    ("example.com/8", "https://example.com/", True),
    ("a]b:443", "https://example.com/", True),
    ("[a]b]:443", "https://example.com/", True),
    # Internationalised names compare in their ASCII (IDNA) form.
    ("bücher.example", "https://xn--bcher-kva.example/", False),
    ("xn--bcher-kva.example", "https://bücher.example/", False),
    # A name IDNA cannot encode (a label too long) is compared as it is.
    ("ü" * 70 + ".example", "https://example.com/", True),
]


def _config(no_proxy: str = "", *, cgi: bool = False) -> ProxyConfig:
    return ProxyConfig(http=PROXY, https=PROXY, no_proxy=no_proxy, cgi=cgi)


@pytest.mark.parametrize(("no_proxy", "url", "proxied"), NO_PROXY_TABLE)
def test_no_proxy_rules(no_proxy: str, url: str, *, proxied: bool) -> None:
    assert _config(no_proxy).proxy_for(url) == (PROXY if proxied else None)


@pytest.fixture(scope="module")
def go() -> Iterator[GoOracle]:
    oracle = go_oracle_or_skip()
    yield oracle
    oracle.close()


def _gos_answer(go: GoOracle, no_proxy: str, url: str, **extra: Any) -> str | None:
    raw = {"http": PROXY, "https": PROXY, "no": no_proxy, **extra}
    answer = go.ask("proxy_for", url, raw=raw)
    if not answer["ok"]:
        return f"error: {answer['error']}"
    return answer["output"] or None


def test_the_table_is_gos(go: GoOracle) -> None:
    for no_proxy, url, proxied in NO_PROXY_TABLE:
        expected = PROXY if proxied else None
        assert _gos_answer(go, no_proxy, url) == expected, (no_proxy, url)


def test_where_we_differ_from_go(go: GoOracle) -> None:
    # Go compares "localhost" before lowering the case; DNS names have no case.
    assert _gos_answer(go, "", "https://LOCALHOST/") == PROXY
    assert _config().proxy_for("https://LOCALHOST/") is None


_LABELS = st.sampled_from(["a", "b", "example", "com", "test", "0", "1", "10"])
_NAMES = st.lists(_LABELS, min_size=1, max_size=3).map(".".join)
_ADDRESSES = st.sampled_from(
    [
        "10.0.0.1",
        "10.1.0.1",
        "127.0.0.1",
        "1.0.0.10",
        "::1",
        "2001:db8::1",
        "::ffff:10.0.0.1",
    ]
)
_PORTS = st.sampled_from(["", "80", "443", "8443"])


@st.composite
def _no_proxy_entries(draw: st.DrawFn) -> str:
    kind = draw(st.sampled_from(["name", "address", "cidr", "star", "junk"]))
    if kind == "star":
        return "*"
    if kind == "cidr":
        return draw(
            st.sampled_from(
                [
                    "10.0.0.0/8",
                    "10.1.0.0/16",
                    "::ffff:10.0.0.0/104",
                    "2001:db8::/32",
                    "::/0",
                    "0.0.0.0/0",
                ]
            )
        )
    if kind == "junk":
        return draw(st.sampled_from(["", " ", ":", ":80", "[", "[::1]", "*.", "."]))
    host = draw(_NAMES) if kind == "name" else draw(_ADDRESSES)
    if kind == "name":
        host = draw(st.sampled_from(["", ".", "*."])) + host
    port = draw(_PORTS)
    if port:
        host = f"[{host}]" if ":" in host else host
        return f"{host}:{port}"
    return host


_NO_PROXY = st.lists(_no_proxy_entries(), max_size=4).map(",".join)


@st.composite
def _urls(draw: st.DrawFn) -> str:
    host = draw(st.one_of(_NAMES, _ADDRESSES, st.just("localhost")))
    host = f"[{host}]" if ":" in host else host
    port = draw(_PORTS)
    scheme = draw(st.sampled_from(["http", "https"]))
    return f"{scheme}://{host}{':' + port if port else ''}/"


@hypothesis.given(no_proxy=_NO_PROXY, url=_urls())
def test_same_answer_as_go(go: GoOracle, no_proxy: str, url: str) -> None:
    assert _config(no_proxy).proxy_for(url) == _gos_answer(go, no_proxy, url)


@hypothesis.given(
    entries=st.lists(_no_proxy_entries(), max_size=5),
    url=_urls(),
    data=st.data(),
)
def test_the_order_of_entries_does_not_matter(
    entries: list[str], url: str, data: st.DataObject
) -> None:
    shuffled = data.draw(st.permutations(entries))
    assert _config(",".join(entries)).proxy_for(url) == _config(
        ",".join(shuffled)
    ).proxy_for(url)


@hypothesis.given(
    no_proxy=_NO_PROXY,
    host=st.sampled_from(
        ["localhost", "127.0.0.1", "127.255.0.9", "[::1]", "[::ffff:127.0.0.2]"]
    ),
    port=_PORTS,
)
def test_loopback_is_never_proxied(no_proxy: str, host: str, port: str) -> None:
    url = f"https://{host}{':' + port if port else ''}/x"
    assert _config(no_proxy).proxy_for(url) is None


@hypothesis.given(name=_NAMES, sub=_NAMES, no_proxy=_NO_PROXY)
def test_a_listed_domain_and_its_subdomains_go_direct(
    name: str, sub: str, no_proxy: str
) -> None:
    config = _config(f"{no_proxy},{name}")
    assert config.proxy_for(f"https://{name}/") is None
    assert config.proxy_for(f"http://{sub}.{name}:8443/") is None


def test_each_scheme_has_its_own_proxy() -> None:
    config = ProxyConfig(https="http://secure.test:1")
    assert config.proxy_for("https://example.com/") == "http://secure.test:1"
    # No fallback from one to the other, as Go.
    assert config.proxy_for("http://example.com/") is None
    assert ProxyConfig(http=PROXY).proxy_for("https://example.com/") is None
    assert config.proxy_for("ftp://example.com/") is None
    # A URL that does not parse goes direct: the transport reports it.
    assert config.proxy_for("https://[::1/") is None
    assert config.proxy_for("https://example.com:99999/") is None


def test_cgi_refuses_the_http_proxy_as_go() -> None:
    config = ProxyConfig.from_environment(
        {"REQUEST_METHOD": "GET", "HTTP_PROXY": PROXY, "HTTPS_PROXY": PROXY}
    )
    with pytest.raises(ProxyError, match=r"refusing HTTP_PROXY .* CGI"):
        config.proxy_for("http://example.com/")
    assert config.proxy_for("https://example.com/") == PROXY
    # No http proxy, nothing to refuse.
    assert ProxyConfig(cgi=True).proxy_for("http://example.com/") is None


def test_cgi_answer_is_gos(go: GoOracle) -> None:
    answer = _gos_answer(go, "", "http://example.com/", cgi=True)
    assert answer is not None
    assert "refusing to use HTTP_PROXY value in CGI environment" in answer


@pytest.mark.parametrize(
    ("environ", "https", "http", "no_proxy"),
    [
        ({}, None, None, ""),
        (
            {"HTTPS_PROXY": "http://upper:1", "https_proxy": "http://lower:2"},
            "http://upper:1",
            None,
            "",
        ),
        (
            {"HTTPS_PROXY": "", "https_proxy": "http://lower:2"},
            "http://lower:2",
            None,
            "",
        ),
        ({"http_proxy": "lower:2"}, None, "http://lower:2", ""),
        ({"NO_PROXY": "a.test", "no_proxy": "b.test"}, None, None, "a.test"),
        ({"NO_PROXY": "", "no_proxy": "b.test"}, None, None, "b.test"),
        # Go reads no ALL_PROXY; neither does appc.
        ({"ALL_PROXY": "http://all:3", "all_proxy": "http://all:3"}, None, None, ""),
    ],
)
def test_environment_upper_case_first(
    environ: dict[str, str], https: str | None, http: str | None, no_proxy: str
) -> None:
    config = ProxyConfig.from_environment(environ)
    assert config.proxy_for("https://example.com/") == https
    assert config.proxy_for("http://example.com/") == http
    assert config.no_proxy == no_proxy


def test_from_environment_reads_os_environ(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("https_proxy", "proxy.test:3128")
    assert ProxyConfig.from_environment() == ProxyConfig(https="http://proxy.test:3128")


@pytest.mark.parametrize(
    ("value", "url"),
    [
        ("proxy.test:3128", "http://proxy.test:3128"),
        ("10.0.0.1:3128", "http://10.0.0.1:3128"),
        ("proxy.test", "http://proxy.test:80"),
        ("http://proxy.test", "http://proxy.test:80"),
        ("https://proxy.test", "https://proxy.test:443"),
        ("HTTP://Proxy.Test:3128/ignored/path", "http://proxy.test:3128"),
        ("http://[2001:db8::1]:3128", "http://[2001:db8::1]:3128"),
        ("http://user:pw@proxy.test:3128", "http://proxy.test:3128"),
    ],
)
def test_proxy_urls(value: str, url: str) -> None:
    assert ProxyConfig(https=value).proxy_for("https://example.com/") == url


@pytest.mark.parametrize(
    ("value", "reason"),
    [
        ("socks5://proxy.test:1080", "scheme 'socks5' is not supported"),
        ("ftp://proxy.test", "scheme 'ftp' is not supported"),
        ("http://proxy.test:99999", "out of range"),
        ("http://proxy.test:abc", "Port could not be cast"),
        ("http://:3128", "no valid host"),
        ("http://pro xy.test:3128", "no valid host"),
        ("http://proxy.test:0", "port 0"),
        ("http://[::1:3128", "Invalid IPv6 URL"),
    ],
)
def test_unusable_proxy_urls(value: str, reason: str) -> None:
    with pytest.raises(
        ProxyError, match="the https proxy is not a usable proxy URL"
    ) as info:
        ProxyConfig(https=value)
    assert reason in str(info.value)
    with pytest.raises(ProxyError, match=r"^HTTP_PROXY is not a usable"):
        ProxyConfig.from_environment({"HTTP_PROXY": value})
    with pytest.raises(ProxyError, match=r"^proxies\['http'\] is not a usable"):
        Urllib3Transport(proxies={"http": value})


def test_unusable_proxy_url_keeps_its_credentials_secret() -> None:
    with pytest.raises(ProxyError) as info:
        ProxyConfig(https=f"socks5://admin:{SECRET}@proxy.test:1080")
    assert info.value.proxy == "socks5://***@proxy.test:1080"
    for shown in (str(info.value), repr(info.value)):
        assert "admin" not in shown
        assert SECRET not in shown
    # Without a scheme, and with an "@" in the password.
    with pytest.raises(ProxyError) as info:
        ProxyConfig(https="admin:p@ss@proxy.test:99999")
    assert info.value.proxy == "***@proxy.test:99999"


def test_credentials_make_proxy_authorization_and_never_show() -> None:
    config = ProxyConfig(
        https=f"http://ad%40min:{SECRET.replace('@', '%40')}@proxy.test:3128"
    )
    proxy = config._route("https://example.com/")
    assert proxy is not None
    expected = base64.b64encode(f"ad@min:{SECRET}".encode()).decode()
    assert proxy.authorization == f"Basic {expected}"
    assert proxy.redacted == "http://***@proxy.test:3128"
    for shown in (repr(config), repr(proxy), config.proxy_for("https://example.com/")):
        assert "min" not in str(shown)
        assert "s3cr3t" not in str(shown)
    # A user without a password, as Go: "user:".
    alone = ProxyConfig(https="http://user@proxy.test:3128")._route("https://x.test/")
    assert alone is not None
    assert alone.authorization == "Basic " + base64.b64encode(b"user:").decode()


def test_mapping_keys() -> None:
    assert ProxyConfig.from_mapping({}) == ProxyConfig()
    assert ProxyConfig.from_mapping({"https": "", "http": ""}) == ProxyConfig()
    with pytest.raises(ProxyError, match=r"unknown proxy keys \['all', 'socks'\]"):
        ProxyConfig.from_mapping({"all": PROXY, "socks": PROXY})


def test_config_value_semantics() -> None:
    config = ProxyConfig(
        https="http://u:p@proxy.test:3128", no_proxy="a.test", cgi=True
    )
    assert config == ProxyConfig(
        https="http://u:p@proxy.test:3128", no_proxy="a.test", cgi=True
    )
    assert config != ProxyConfig(
        https="http://u:q@proxy.test:3128", no_proxy="a.test", cgi=True
    )
    assert config != "ProxyConfig()"
    assert (
        len(
            {
                config,
                ProxyConfig(
                    https="http://u:p@proxy.test:3128", no_proxy="a.test", cgi=True
                ),
            }
        )
        == 1
    )
    assert repr(config) == (
        "ProxyConfig(http=None, https='http://***@proxy.test:3128', no_proxy='a.test', cgi=True)"
    )


def test_transport_reads_the_environment_when_built(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("HTTPS_PROXY", PROXY)
    monkeypatch.setenv("NO_PROXY", "direct.test")
    transport = Urllib3Transport()
    assert transport.proxies == ProxyConfig(https=PROXY, no_proxy="direct.test")
    assert Urllib3Transport(proxies={}).proxies == ProxyConfig()
    given = ProxyConfig(http=PROXY)
    assert Urllib3Transport(proxies=given).proxies is given


# -- through a real proxy -------------------------------------------------------


@pytest.fixture(autouse=True)
def resolver(monkeypatch: pytest.MonkeyPatch) -> dict[str, str]:
    """``*.test`` names do not resolve in this process, unless a test maps one here."""
    names: dict[str, str] = {}
    real = socket.getaddrinfo

    def getaddrinfo(host: Any, *args: Any, **kwargs: Any) -> Any:
        if isinstance(host, str) and host.endswith(".test"):
            if host not in names:
                raise socket.gaierror(socket.EAI_NONAME, f"{host} is not resolved here")
            host = names[host]
        return real(host, *args, **kwargs)

    monkeypatch.setattr(socket, "getaddrinfo", getaddrinfo)
    return names


@pytest.fixture
def proxy() -> Iterator[ForwardingProxy]:
    server = ForwardingProxy()
    yield server
    server.close()


@pytest.fixture
def images(ca: trustme.CA) -> Iterator[PageServer]:
    """An https server whose certificate is for ``images.test`` only."""
    server = PageServer(ca=ca, names=("images.test",))
    yield server
    server.close()


@pytest.fixture
def plain_images() -> Iterator[PageServer]:
    server = PageServer()
    yield server
    server.close()


def _page(port: int) -> str:
    base = f"https://images.test:{port}"
    return meta_page(
        ("ac-discovery", f"images.test {base}/{{name}}-{{version}}.{{ext}}"),
        ("ac-discovery-pubkeys", f"images.test {base}/keys.gpg"),
    )


def test_discovery_goes_through_https_proxy(
    monkeypatch: pytest.MonkeyPatch,
    proxy: ForwardingProxy,
    images: PageServer,
    ca_file: Path,
) -> None:
    monkeypatch.setenv("HTTPS_PROXY", proxy.url)
    images.add_page("/app", _page(images.port))
    result = discover(
        "images.test/app",
        port=images.port,
        transport=Urllib3Transport(ca_certs=ca_file),
    )
    assert (
        result.endpoints[0].aci
        == f"https://images.test:{images.port}/images.test/app-latest.aci"
    )
    assert proxy.targets == [f"CONNECT images.test:{images.port}"]
    assert [r.path for r in images.requests] == ["/app?ac-discovery=1"]
    assert "proxy-authorization" not in images.requests[0].headers


def test_fetch_streams_through_the_tunnel(
    monkeypatch: pytest.MonkeyPatch,
    proxy: ForwardingProxy,
    images: PageServer,
    ca_file: Path,
) -> None:
    monkeypatch.setenv("https_proxy", f"127.0.0.1:{proxy.port}")
    data = bytes(range(256)) * 8192  # 2 MiB
    images.add_file("/app.aci", data)
    client = Client(Urllib3Transport(ca_certs=ca_file))
    for _ in range(2):  # the second one reuses the tunnel
        with client.open(f"https://images.test:{images.port}/app.aci") as response:
            assert response.status == 200
            assert response.read() == data
    assert proxy.targets == [f"CONNECT images.test:{images.port}"]
    assert len(images.requests) == 2


def test_registry_client_uses_the_environment_proxy(
    monkeypatch: pytest.MonkeyPatch,
    proxy: ForwardingProxy,
    images: PageServer,
    ca_file: Path,
) -> None:
    monkeypatch.setenv("HTTPS_PROXY", proxy.url)
    images.add_page("/v2/", "{}")
    with RegistryClient(
        f"images.test:{images.port}", ca_certs=ca_file, credentials=("u", "p")
    ) as registry:
        registry.ping()
    assert proxy.targets == [f"CONNECT images.test:{images.port}"]
    assert images.requests[0].bare_path == "/v2/"


def test_registry_client_reports_the_proxy(
    monkeypatch: pytest.MonkeyPatch, images: PageServer, ca_file: Path
) -> None:
    monkeypatch.setenv("HTTPS_PROXY", f"http://127.0.0.1:{_closed_port()}")
    with (
        RegistryClient(
            f"images.test:{images.port}", ca_certs=ca_file, credentials=("u", "p")
        ) as registry,
        pytest.raises(RegistryError, match="cannot connect to the proxy") as info,
    ):
        registry.ping()
    assert isinstance(info.value.__cause__, ProxyError)


def test_no_proxy_goes_direct(  # noqa: PLR0917 - fixtures
    monkeypatch: pytest.MonkeyPatch,
    proxy: ForwardingProxy,
    images: PageServer,
    tls_server: PageServer,
    ca_file: Path,
    resolver: dict[str, str],
) -> None:
    monkeypatch.setenv("HTTPS_PROXY", proxy.url)
    monkeypatch.setenv("NO_PROXY", "example.org, .test")
    resolver["images.test"] = "127.0.0.1"
    images.add_page("/", "direct")
    client = Client(Urllib3Transport(ca_certs=ca_file))
    with client.open(f"https://images.test:{images.port}/") as response:
        assert response.read() == b"direct"
    # Loopback goes direct whatever NO_PROXY says (Go's rule).
    monkeypatch.delenv("NO_PROXY")
    tls_server.add_page("/", "loopback")
    with Client(Urllib3Transport(ca_certs=ca_file)).open(
        f"{tls_server.url}/"
    ) as response:
        assert response.read() == b"loopback"
    assert proxy.handled == []


def test_explicit_proxies_override_the_environment(
    monkeypatch: pytest.MonkeyPatch,
    proxy: ForwardingProxy,
    images: PageServer,
    ca_file: Path,
    resolver: dict[str, str],
) -> None:
    monkeypatch.setenv("HTTPS_PROXY", f"http://127.0.0.1:{_closed_port()}")
    images.add_page("/", "hello")
    url = f"https://images.test:{images.port}/"
    through = Client(Urllib3Transport(ca_certs=ca_file, proxies={"https": proxy.url}))
    with through.open(url) as response:
        assert response.read() == b"hello"
    assert proxy.targets == [f"CONNECT images.test:{images.port}"]
    resolver["images.test"] = "127.0.0.1"
    with Client(Urllib3Transport(ca_certs=ca_file, proxies={})).open(url) as response:
        assert response.read() == b"hello"
    assert len(proxy.handled) == 1


def test_proxy_credentials_come_from_the_url(
    monkeypatch: pytest.MonkeyPatch,
    proxy: ForwardingProxy,
    images: PageServer,
    ca_file: Path,
    caplog: pytest.LogCaptureFixture,
) -> None:
    proxy.require_basic_auth("ad@min", SECRET)
    images.add_page("/", "hello")
    url = f"https://images.test:{images.port}/"
    monkeypatch.setenv("HTTPS_PROXY", proxy.url_with("ad@min", SECRET))
    with (
        caplog.at_level(logging.DEBUG),
        Client(Urllib3Transport(ca_certs=ca_file)).open(url) as response,
    ):
        assert response.read() == b"hello"
    assert proxy.handled[0].proxy_authorization == proxy.required_authorization
    # The server at the end of the tunnel never sees them.
    assert "proxy-authorization" not in images.requests[0].headers
    assert "via http://***@127.0.0.1" in caplog.text
    assert SECRET not in caplog.text
    assert proxy.required_authorization is not None
    assert proxy.required_authorization.split()[1] not in caplog.text  # nor encoded


def test_proxy_asking_for_credentials(
    monkeypatch: pytest.MonkeyPatch,
    proxy: ForwardingProxy,
    images: PageServer,
    ca_file: Path,
) -> None:
    proxy.require_basic_auth("admin", SECRET)
    url = f"https://images.test:{images.port}/"
    monkeypatch.setenv("HTTPS_PROXY", proxy.url)
    with pytest.raises(
        ProxyError, match=r"asks for credentials .*407.* http://USER:PASSWORD@HOST:PORT"
    ):
        Client(Urllib3Transport(ca_certs=ca_file)).open(url)
    monkeypatch.setenv("HTTPS_PROXY", proxy.url_with("admin", "wrong-" + SECRET))
    with pytest.raises(ProxyError, match="refused the credentials in its URL") as info:
        Client(Urllib3Transport(ca_certs=ca_file)).open(url)
    assert info.value.proxy == f"http://***@127.0.0.1:{proxy.port}"
    assert info.value.url == url
    for shown in (str(info.value), repr(info.value)):
        assert "admin" not in shown
        assert SECRET not in shown
    assert images.requests == []


def _closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
    return port


def test_unreachable_proxy_is_a_proxy_error(
    monkeypatch: pytest.MonkeyPatch, images: PageServer, ca_file: Path
) -> None:
    port = _closed_port()
    monkeypatch.setenv("HTTPS_PROXY", f"http://admin:{SECRET}@127.0.0.1:{port}")
    transport = Urllib3Transport(ca_certs=ca_file)
    with pytest.raises(ProxyError) as info:
        Client(transport).open(f"https://images.test:{images.port}/")
    message = str(info.value)
    assert message.startswith(
        f"cannot connect to the proxy http://***@127.0.0.1:{port} (from HTTPS_PROXY)"
    )
    assert "Connection refused" in message
    assert "NO_PROXY" in message
    # Discovery records it as the pages' error.
    with pytest.raises(DiscoveryError) as failed:
        discover("images.test/app", port=images.port, transport=transport)
    errors = [attempt.error for attempt in failed.value.attempts]
    assert errors
    assert all("cannot connect to the proxy" in error for error in errors)
    for shown in (message, repr(info.value), str(failed.value), *errors):
        assert "admin" not in shown
        assert SECRET not in shown


def test_proxy_refusing_the_tunnel(
    monkeypatch: pytest.MonkeyPatch, proxy: ForwardingProxy, ca_file: Path
) -> None:
    monkeypatch.setenv("HTTPS_PROXY", proxy.url)
    with pytest.raises(
        ProxyError,
        match=r"refused to open a tunnel to nowhere\.test:443: 502 Bad Gateway",
    ):
        Client(Urllib3Transport(ca_certs=ca_file)).open("https://nowhere.test/")


def test_the_servers_certificate_is_still_checked(
    monkeypatch: pytest.MonkeyPatch,
    proxy: ForwardingProxy,
    ca: trustme.CA,
    ca_file: Path,
) -> None:
    # A certificate from a trusted CA, but not for images.test.
    impostor = PageServer(ca=ca, names=("other.test",))
    try:
        impostor.add_page("/", "impostor")
        monkeypatch.setenv("HTTPS_PROXY", proxy.url)
        url = f"https://images.test:{impostor.port}/"
        transport = Urllib3Transport(ca_certs=ca_file)
        with pytest.raises(TLSError, match="CERTIFICATE_VERIFY_FAILED"):
            Client(transport).open(url)
        assert proxy.targets == [f"CONNECT images.test:{impostor.port}"]
        # Insecure TLS (and only that) accepts it, through the proxy still.
        with Client(transport, insecure=Insecure.TLS).open(url) as response:
            assert response.read() == b"impostor"
        assert len(proxy.handled) == 2
    finally:
        impostor.close()


def test_plain_http_through_http_proxy(
    monkeypatch: pytest.MonkeyPatch,
    proxy: ForwardingProxy,
    plain_images: PageServer,
    resolver: dict[str, str],
) -> None:
    plain_images.add_page("/page", "plain")
    url = f"http://images.test:{plain_images.port}/page?x=1"
    monkeypatch.setenv("HTTP_PROXY", proxy.url)
    client = Client(Urllib3Transport(), insecure=Insecure.HTTP)
    with client.open(url) as response:
        assert response.read() == b"plain"
    assert proxy.targets == [f"GET {url}"]
    assert plain_images.requests[0].path == "/page?x=1"
    # HTTPS_PROXY is for https only: with just it, plain http goes direct.
    monkeypatch.delenv("HTTP_PROXY")
    monkeypatch.setenv("HTTPS_PROXY", proxy.url)
    resolver["images.test"] = "127.0.0.1"
    with Client(Urllib3Transport(), insecure=Insecure.HTTP).open(url) as response:
        assert response.read() == b"plain"
    assert len(proxy.handled) == 1


def test_plain_http_proxy_asking_for_credentials(
    monkeypatch: pytest.MonkeyPatch, proxy: ForwardingProxy, plain_images: PageServer
) -> None:
    proxy.require_basic_auth("admin", SECRET)
    plain_images.add_page("/", "plain")
    url = f"http://images.test:{plain_images.port}/"
    monkeypatch.setenv("http_proxy", proxy.url_with("admin", SECRET))
    with Client(Urllib3Transport(), insecure=Insecure.HTTP).open(url) as response:
        assert response.read() == b"plain"
    assert proxy.handled[0].proxy_authorization == proxy.required_authorization
    monkeypatch.setenv("http_proxy", proxy.url)
    with pytest.raises(ProxyError, match="asks for credentials"):
        Client(Urllib3Transport(), insecure=Insecure.HTTP).open(url)


def test_cgi_environment_refuses_http_proxy(
    monkeypatch: pytest.MonkeyPatch, proxy: ForwardingProxy
) -> None:
    monkeypatch.setenv("REQUEST_METHOD", "GET")
    monkeypatch.setenv("HTTP_PROXY", proxy.url)
    with pytest.raises(ProxyError, match="CGI"):
        Client(Urllib3Transport(), insecure=Insecure.HTTP).open("http://images.test/")
    assert proxy.handled == []


@pytest.mark.parametrize("with_context", [False, True])
def test_https_proxy(
    monkeypatch: pytest.MonkeyPatch,
    ca: trustme.CA,
    ca_file: Path,
    images: PageServer,
    with_context: bool,
) -> None:
    # TLS to the proxy, and TLS to the server inside it.
    tls_proxy = ForwardingProxy(ca=ca)
    try:
        monkeypatch.setenv("HTTPS_PROXY", tls_proxy.url)
        images.add_page("/", "hello")
        if with_context:
            context = ssl.create_default_context()
            ca.configure_trust(context)  # pyright: ignore[reportUnknownMemberType]
            transport = Urllib3Transport(ssl_context=context)
        else:
            transport = Urllib3Transport(ca_certs=ca_file)
        with Client(transport).open(f"https://images.test:{images.port}/") as response:
            assert response.read() == b"hello"
        assert tls_proxy.targets == [f"CONNECT images.test:{images.port}"]
    finally:
        tls_proxy.close()


def test_untrusted_https_proxy(
    monkeypatch: pytest.MonkeyPatch, images: PageServer, ca_file: Path
) -> None:
    stranger = ForwardingProxy(ca=trustme.CA())
    try:
        monkeypatch.setenv("HTTPS_PROXY", stranger.url)
        url = f"https://images.test:{images.port}/"
        transport = Urllib3Transport(ca_certs=ca_file)
        with pytest.raises(ProxyError, match="TLS error with the proxy"):
            Client(transport).open(url)
        assert stranger.handled == []
        # Insecure TLS checks neither the proxy nor the server, as Go's InsecureSkipVerify.
        images.add_page("/", "hello")
        with Client(transport, insecure=Insecure.TLS).open(url) as response:
            assert response.read() == b"hello"
        assert stranger.targets == [f"CONNECT images.test:{images.port}"]
    finally:
        stranger.close()


def _raw_proxy(*, hold: bool) -> tuple[int, Callable[[], None]]:
    """A "proxy" that reads the request, then says nothing (``hold``) or hangs up."""
    listener = socket.create_server(("127.0.0.1", 0))
    done = threading.Event()

    def serve() -> None:
        connection, _ = listener.accept()
        with connection:
            connection.recv(1024)
            if hold:
                done.wait(5)

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()

    def stop() -> None:
        done.set()
        thread.join(5)
        listener.close()

    return listener.getsockname()[1], stop


def test_proxy_that_never_answers(monkeypatch: pytest.MonkeyPatch) -> None:
    port, stop = _raw_proxy(hold=True)
    try:
        monkeypatch.setenv("HTTPS_PROXY", f"127.0.0.1:{port}")
        transport = Urllib3Transport(connect_timeout=0.3)
        # Whether the proxy or the server behind it is slow, urllib3 does not tell.
        with pytest.raises(TransportError) as info:
            transport.send(Request(url="https://images.test/"))
        assert str(info.value) == (
            "timed out talking to https://images.test/"
            f" (through the proxy http://127.0.0.1:{port} from HTTPS_PROXY)"
        )
    finally:
        stop()


def test_proxy_that_hangs_up(monkeypatch: pytest.MonkeyPatch) -> None:
    port, stop = _raw_proxy(hold=False)
    try:
        monkeypatch.setenv("HTTPS_PROXY", f"127.0.0.1:{port}")
        with pytest.raises(TransportError) as info:
            Urllib3Transport().send(Request(url="https://images.test/"))
        assert str(info.value) == (
            "connection to https://images.test/ broke: Remote end closed connection"
            f" without response (through the proxy http://127.0.0.1:{port} from HTTPS_PROXY)"
        )
    finally:
        stop()


def test_bad_proxy_variable_fails_before_any_request(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("HTTPS_PROXY", f"socks5://admin:{SECRET}@127.0.0.1:1080")
    with pytest.raises(
        ProxyError, match=r"^HTTPS_PROXY is not a usable proxy URL"
    ) as info:
        discover("images.test/app")
    assert SECRET not in str(info.value)


@pytest.mark.parametrize(
    ("reason", "message"),
    [
        (
            urllib3.exceptions.ConnectTimeoutError("slow"),
            (
                "timed out talking to the proxy http://***@proxy.test:3128"
                " (from the https proxy) (for https://images.test/)"
            ),
        ),
        (
            OSError("odd"),
            (
                "the proxy http://***@proxy.test:3128 (from the https proxy)"
                " failed: odd (for https://images.test/)"
            ),
        ),
    ],
)
def test_other_proxy_failures(reason: Exception, message: str) -> None:
    # A proxy that stops answering as the connection opens: nothing local does that.
    proxy = ProxyConfig(https=f"http://admin:{SECRET}@proxy.test:3128")._route(
        "https://images.test/"
    )
    assert proxy is not None
    failure = urllib3.exceptions.ProxyError("Unable to connect to proxy", reason)
    assert str(_proxy_error(failure, proxy, "https://images.test/")) == message


@pytest.mark.interop
def test_actool_goes_through_the_same_proxy(  # noqa: PLR0917 - fixtures
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    actool: str,
    proxy: ForwardingProxy,
    images: PageServer,
    ca_file: Path,
) -> None:
    # Go's net/http reads HTTPS_PROXY for actool; appc reads it the same way.
    images.add_page("/app", _page(images.port))
    name = "images.test/app:1.0,os=linux,arch=amd64"
    done = subprocess.run(
        [actool, "discover", "--json", "--port", str(images.port), name],
        env={
            "PATH": os.environ.get("PATH", ""),
            "HOME": os.environ.get("HOME", "/"),
            "SSL_CERT_FILE": str(ca_file),
            "HTTPS_PROXY": proxy.url,
        },
        capture_output=True,
        text=True,
        check=True,
        timeout=60,
    )
    expected = json.loads(done.stdout[done.stdout.index("{") :])
    assert proxy.targets == [f"CONNECT images.test:{images.port}"]
    monkeypatch.setenv("HTTPS_PROXY", proxy.url)
    args = [
        "discover",
        "--json",
        "--ca-certs",
        str(ca_file),
        "--port",
        str(images.port),
    ]
    assert cli.main([*args, "--no-auth-config", name]) == 0
    assert json.loads(capsys.readouterr().out) == expected
    assert proxy.targets == [f"CONNECT images.test:{images.port}"] * 2
