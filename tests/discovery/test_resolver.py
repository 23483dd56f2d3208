"""The discovery walk, without a network: Go's test tables through MockTransport, and the resolver alone."""

from __future__ import annotations

import json
import urllib.parse

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from appc.discovery import (
    ACIEndpoint,
    Insecure,
    Request,
    Resolver,
    Response,
    discover,
    image_ref,
)
from appc.discovery.resolver import host_os_arch, page_url, simple_url
from appc.errors import DiscoveryError, InvalidAppString, TransportError
from appc.testing import MockTransport
from hypothesis import given
from hypothesis import strategies as st

from tests.discovery.servers import meta_page


VECTORS = json.loads(
    (Path(__file__).parent.parent / "vectors" / "discovery_walk.json").read_text()
)
INSECURE_OPTIONS = (
    Insecure.NONE,
    Insecure.TLS,
    Insecure.HTTP,
    Insecure.TLS | Insecure.HTTP,
)


def _handler(
    served: dict[str, str], auth: dict[str, str] | None
) -> Callable[[Request], Response]:
    def handle(request: Request) -> Response:
        if auth is not None:
            for key, value in auth.items():
                if request.headers.get(key) != value:
                    raise TransportError("wrong header")
        path = urllib.parse.urlsplit(request.url).path
        page = served.get(path)
        if page is None:
            return Response(status=404)
        return Response(status=200, content=meta_page(*VECTORS["pages"][page]).encode())

    return handle


@pytest.mark.parametrize("insecure", INSECURE_OPTIONS, ids=str)
@pytest.mark.parametrize("case", VECTORS["cases"], ids=lambda c: c["id"])
def test_go_walk_table(case: dict[str, Any], insecure: Insecure) -> None:
    transport = MockTransport(_handler(case["served"], case.get("auth")))
    host_headers = {"example.com": case["auth"]} if "auth" in case else None
    expected = case["endpoints"]
    if expected is None:
        with pytest.raises(DiscoveryError) as info:
            discover(
                case["name"],
                case["labels"],
                insecure=insecure,
                transport=transport,
                host_headers=host_headers,
            )
        assert info.value.attempts
        return
    result = discover(
        case["name"],
        case["labels"],
        insecure=insecure,
        transport=transport,
        host_headers=host_headers,
    )
    assert [(e.aci, e.asc) for e in result.endpoints] == [tuple(e) for e in expected]
    assert list(result.public_keys) == (case["keys"] or [])
    if case["keys"] is None:
        assert result.keys_prefix is None


# Go's TestHTTPSOrHTTP: (https works, http works, error status or 0 for a broken
# connection, insecure option, the URL that must answer or None).
HTTPS_OR_HTTP = [
    ("good-server", True, True, 0, Insecure.NONE, "https://good-server?ac-discovery=1"),
    (
        "good-server-no-tls",
        True,
        True,
        0,
        Insecure.TLS,
        "https://good-server-no-tls?ac-discovery=1",
    ),
    ("file-not-found", False, False, 404, Insecure.NONE, None),
    ("file-not-found-no-tls", False, False, 404, Insecure.TLS, None),
    ("completely-broken-server", False, False, 0, Insecure.NONE, None),
    ("file-only-on-http", False, True, 404, Insecure.NONE, None),
    (
        "file-only-on-http",
        False,
        True,
        404,
        Insecure.HTTP,
        "http://file-only-on-http?ac-discovery=1",
    ),
    (
        "https-server-is-down",
        False,
        True,
        0,
        Insecure.HTTP,
        "http://https-server-is-down?ac-discovery=1",
    ),
]


@pytest.mark.parametrize(
    ("host", "https_ok", "http_ok", "error", "insecure", "answered"), HTTPS_OR_HTTP
)
def test_go_https_or_http_table(  # noqa: PLR0917
    host: str,
    https_ok: bool,
    http_ok: bool,
    error: int,
    insecure: Insecure,
    answered: str | None,
) -> None:
    page = meta_page(
        ("ac-discovery", f"{host} https://{host}/{{name}}.{{ext}}"),
        ("ac-discovery-pubkeys", f"{host} https://{host}/keys"),
    ).encode()

    def handle(request: Request) -> Response:
        scheme = urllib.parse.urlsplit(request.url).scheme
        if (scheme == "https" and https_ok) or (scheme == "http" and http_ok):
            return Response(status=200, content=page)
        if error:
            return Response(status=error)
        raise TransportError("failed as requested")

    transport = MockTransport(handle)
    if answered is None:
        with pytest.raises(DiscoveryError):
            discover(host, insecure=insecure, transport=transport)
        assert all(not r.url.startswith("http:") for r in transport.requests) or (
            Insecure.HTTP in insecure
        )
        return
    result = discover(host, insecure=insecure, transport=transport)
    assert transport.requests[-1].url == answered
    assert result.endpoints == (
        ACIEndpoint(
            aci=f"https://{host}/{host}.aci", asc=f"https://{host}/{host}.aci.asc"
        ),
    )
    # Certificates are checked unless insecure TLS was asked for.
    assert all(
        r.verify_tls == (Insecure.TLS not in insecure) for r in transport.requests
    )


def test_fallback_records_both_tries() -> None:
    transport = MockTransport(lambda r: Response(status=404))
    with pytest.raises(DiscoveryError) as info:
        discover("example.com/app", insecure=Insecure.HTTP, transport=transport)
    assert [a.url for a in info.value.attempts] == [
        "https://example.com/app?ac-discovery=1",
        "http://example.com/app?ac-discovery=1",
        "https://example.com?ac-discovery=1",
        "http://example.com?ac-discovery=1",
    ]
    assert {a.error for a in info.value.attempts} == {"expected a 200 OK got 404"}


def test_no_http_without_insecure_http() -> None:
    transport = MockTransport(lambda r: Response(status=500))
    with pytest.raises(DiscoveryError):
        discover("example.com/a/b", insecure=Insecure.TLS, transport=transport)
    assert [r.url for r in transport.requests] == [
        "https://example.com/a/b?ac-discovery=1",
        "https://example.com/a?ac-discovery=1",
        "https://example.com?ac-discovery=1",
    ]


# -- the deviations from Go, on purpose -----------------------------------------


def _serve(*tags: tuple[str, str]) -> MockTransport:
    page = meta_page(*tags).encode()
    return MockTransport(lambda r: Response(status=200, content=page))


def test_prefix_matches_whole_components() -> None:
    transport = _serve(
        ("ac-discovery", "example.com/foo https://evil.example.com/{name}.{ext}"),
        ("ac-discovery-pubkeys", "example.com/foo https://evil.example.com/keys"),
    )
    with pytest.raises(DiscoveryError):
        discover("example.com/foobar", transport=transport)
    for name in ("example.com/foo", "example.com/foo/bar"):
        result = discover(name, transport=transport)
        assert result.endpoints[0].aci == f"https://evil.example.com/{name}.aci"
        assert result.public_keys == ("https://evil.example.com/keys",)


def test_trailing_slash_prefix_covers_its_children() -> None:
    transport = _serve(
        ("ac-discovery", "example.com/ https://cdn.example.com/{name}.{ext}")
    )
    assert discover("example.com/app", transport=transport).endpoints


@pytest.mark.parametrize(
    ("version", "rendered"),
    [
        ("1.0/../../x", "1.0%2F..%2F..%2Fx"),
        ("1.0?x=1#y", "1.0%3Fx%3D1%23y"),
        ("a b&c", "a%20b%26c"),
        ("{os}", "%7Bos%7D"),
        ("1.0+build", "1.0%2Bbuild"),
        ("v1.2.3-rc.1_x~y", "v1.2.3-rc.1_x~y"),
    ],
)
def test_label_values_are_percent_encoded(version: str, rendered: str) -> None:
    transport = _serve(
        (
            "ac-discovery",
            "example.com https://cdn.example.com/{name}/{version}/{os}.{ext}",
        )
    )
    result = discover(
        "example.com/app", {"version": version, "os": "linux"}, transport=transport
    )
    assert (
        result.endpoints[0].aci
        == f"https://cdn.example.com/example.com/app/{rendered}/linux.aci"
    )
    assert urllib.parse.urlsplit(result.endpoints[0].aci).path.count("/") == 4


@pytest.mark.parametrize("value", [".", ".."])
def test_dot_segment_label_values_are_refused(value: str) -> None:
    transport = _serve()
    with pytest.raises(InvalidAppString):
        discover("example.com/app", {"version": value}, transport=transport)
    assert transport.requests == []


@pytest.mark.parametrize(
    "name", ["example.com//app", "example.com/./app", "example.com/../app"]
)
def test_names_with_dot_or_empty_components_are_refused(name: str) -> None:
    with pytest.raises(InvalidAppString, match="path component"):
        image_ref(name)


def test_label_called_ext_does_not_merge_image_and_signature_urls() -> None:
    # Go substitutes a label "ext" before {ext}: the ACI and ASC URLs become one.
    transport = _serve(
        ("ac-discovery", "example.com https://cdn.example.com/{name}.{ext}")
    )
    endpoint = discover("example.com/app", {"ext": "x"}, transport=transport).endpoints[
        0
    ]
    assert (endpoint.aci, endpoint.asc) == (
        "https://cdn.example.com/example.com/app.aci",
        "https://cdn.example.com/example.com/app.aci.asc",
    )


def test_unknown_variable_skips_template_and_keeps_order() -> None:
    transport = _serve(
        ("ac-discovery", "example.com https://a.example.com/{name}-{unknown}.{ext}"),
        ("ac-discovery", "example.com https://b.example.com/{name}.{ext}"),
        ("ac-discovery", "example.com https://c.example.com/{name}-{channel}.{ext}"),
        ("ac-discovery-pubkeys", "example.com https://b.example.com/k1"),
        ("ac-discovery-pubkeys", "example.com https://b.example.com/k2"),
    )
    result = discover("example.com/app", {"channel": "beta"}, transport=transport)
    assert [e.aci for e in result.endpoints] == [
        "https://b.example.com/example.com/app.aci",
        "https://c.example.com/example.com/app-beta.aci",
    ]
    assert result.public_keys == (
        "https://b.example.com/k1",
        "https://b.example.com/k2",
    )


def test_name_string_with_labels() -> None:
    transport = _serve(
        (
            "ac-discovery",
            "example.com https://cdn.example.com/{name}-{version}-{os}.{ext}",
        )
    )
    result = discover("example.com/app:2.0,os=linux", transport=transport)
    assert (
        result.endpoints[0].aci
        == "https://cdn.example.com/example.com/app-2.0-linux.aci"
    )
    assert result.labels["version"] == "2.0"
    # Labels passed apart win over the string's.
    result = discover(
        "example.com/app:2.0", {"version": "3.0", "os": "linux"}, transport=transport
    )
    assert (
        result.endpoints[0].aci
        == "https://cdn.example.com/example.com/app-3.0-linux.aci"
    )


def test_insecure_true_means_http_and_tls() -> None:
    transport = MockTransport(lambda r: Response(status=404))
    with pytest.raises(DiscoveryError):
        discover("example.com", insecure=True, transport=transport)
    assert [r.url.split(":")[0] for r in transport.requests] == ["https", "http"]
    assert not transport.requests[0].verify_tls


def test_port_is_added_to_every_page() -> None:
    transport = MockTransport(lambda r: Response(status=404))
    with pytest.raises(DiscoveryError):
        discover("127.0.0.1/app", port=8443, transport=transport)
    assert [r.url for r in transport.requests] == [
        "https://127.0.0.1:8443/app?ac-discovery=1",
        "https://127.0.0.1:8443?ac-discovery=1",
    ]


def test_stops_at_endpoints_when_keys_not_wanted() -> None:
    transport = _serve(
        ("ac-discovery", "example.com https://cdn.example.com/{name}.{ext}")
    )
    result = discover("example.com/a/b", transport=transport, public_keys=False)
    assert len(transport.requests) == 1
    assert result.public_keys == ()
    assert result.endpoints_prefix == "example.com/a/b"


def test_one_walk_serves_both_kinds() -> None:
    pages = {
        "/a/b": meta_page(
            ("ac-discovery", "example.com https://cdn.example.com/{name}.{ext}")
        ),
        "": meta_page(("ac-discovery-pubkeys", "example.com https://example.com/keys")),
    }

    def handle(request: Request) -> Response:
        page = pages.get(urllib.parse.urlsplit(request.url).path)
        if page is None:
            return Response(status=404)
        return Response(status=200, content=page.encode())

    transport = MockTransport(handle)
    result = discover("example.com/a/b", transport=transport)
    # Each page fetched once, where actool walks twice.
    assert len(transport.requests) == 3
    assert result.endpoints_prefix == "example.com/a/b"
    assert result.keys_prefix == "example.com"
    assert [a.prefix for a in result.endpoint_attempts()] == []
    assert [a.prefix for a in result.key_attempts()] == ["example.com/a"]


def test_legacy_simple_discovery() -> None:
    def handle(request: Request) -> Response:
        if request.method == "HEAD":
            assert request.url == "https://example.com/app-1.0-linux-amd64.aci"
            return Response(status=200)
        return Response(
            status=200,
            content=meta_page(
                ("ac-discovery-pubkeys", "example.com https://example.com/keys")
            ).encode(),
        )

    labels = {"version": "1.0", "os": "linux", "arch": "amd64"}
    transport = MockTransport(handle)
    result = discover("example.com/app", labels, simple=True, transport=transport)
    assert result.endpoints == (
        ACIEndpoint(
            aci="https://example.com/app-1.0-linux-amd64.aci",
            asc="https://example.com/app-1.0-linux-amd64.aci.asc",
        ),
    )
    assert result.public_keys == ("https://example.com/keys",)
    # Off by default: no HEAD request.
    transport = MockTransport(handle)
    with pytest.raises(DiscoveryError):
        discover("example.com/app", labels, transport=transport)
    assert all(r.method == "GET" for r in transport.requests)


@pytest.mark.parametrize("failure", ["status", "error"])
def test_legacy_simple_discovery_falls_back_to_meta(failure: str) -> None:
    def handle(request: Request) -> Response:
        if request.method == "HEAD":
            if failure == "error":
                raise TransportError("refused")
            return Response(status=404)
        return Response(
            status=200,
            content=meta_page(
                ("ac-discovery", "example.com https://cdn.example.com/{name}.{ext}")
            ).encode(),
        )

    result = discover(
        "example.com/app",
        {"os": "linux", "arch": "amd64"},
        simple=True,
        transport=MockTransport(handle),
    )
    assert result.endpoints[0].aci == "https://cdn.example.com/example.com/app.aci"
    assert result.attempts[0].url == "https://example.com/app-latest-linux-amd64.aci"


def test_simple_url_needs_all_variables() -> None:
    assert simple_url({"name": "example.com/app"}, None) is None
    assert (
        simple_url(
            {"name": "app", "version": "1", "os": "linux", "arch": "amd64"}, None
        )
        is None
    )
    assert (
        simple_url(
            {"name": "example.com/app", "version": "1", "os": "linux", "arch": "amd64"},
            8443,
        )
        == "https://example.com:8443/app-1-linux-amd64.aci"
    )


def test_page_url() -> None:
    assert (
        page_url("example.com/a/b", "https", None)
        == "https://example.com/a/b?ac-discovery=1"
    )
    assert page_url("example.com", "http", 80) == "http://example.com:80?ac-discovery=1"


def test_resolver_protocol_errors() -> None:
    resolver = Resolver("example.com/app")
    with pytest.raises(RuntimeError):
        resolver.receive_page(200, b"")
    first = resolver.next_request()
    assert first is not None
    # Asking again before answering gives the same request.
    assert resolver.next_request() is first


def test_result_without_endpoints_when_not_required() -> None:
    resolver = Resolver("example.com")
    assert resolver.next_request() is not None
    resolver.receive_page(
        200, meta_page(("ac-discovery-pubkeys", "example.com https://k")).encode()
    )
    assert resolver.next_request() is None
    result = resolver.result(require_endpoints=False)
    assert result.endpoints == ()
    assert result.public_keys == ("https://k",)
    assert str(result.name) == "example.com"


def test_host_os_arch() -> None:
    assert host_os_arch("linux", "armv7l") == {"os": "linux", "arch": "armv7l"}
    assert host_os_arch("freebsd13", "AMD64") == {"os": "freebsd", "arch": "amd64"}
    assert host_os_arch("linux", "riscv64") == {"os": "linux"}
    assert host_os_arch("darwin", "x86_64") == {"os": "darwin", "arch": "x86_64"}
    assert host_os_arch("win32", "AMD64") == {}
    assert set(host_os_arch()) <= {"os", "arch"}


@given(st.binary(max_size=400), st.integers(min_value=100, max_value=599))
def test_any_page_is_read_without_crashing(body: bytes, status: int) -> None:
    resolver = Resolver("example.com/app", {"version": "1"})
    while resolver.next_request() is not None:
        resolver.receive_page(status, body)
    try:
        result = resolver.result()
    except DiscoveryError:
        return
    assert all(e.aci.endswith(".aci") for e in result.endpoints)
