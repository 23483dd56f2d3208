"""Discovery over real HTTP(S) servers on 127.0.0.1, hostile ones included."""

from __future__ import annotations

import socket

from pathlib import Path

import pytest
import trustme

from appc.discovery import (
    MAX_PAGE_SIZE,
    MAX_REDIRECTS,
    Client,
    Insecure,
    Request,
    Response,
    Urllib3Transport,
    discover,
)
from appc.errors import (
    DiscoveryError,
    HTTPStatusError,
    InsecureRedirect,
    ResponseTooLarge,
    TLSError,
    TooManyRedirects,
    TransportError,
)
from appc.testing import MockTransport

from tests.discovery.servers import PageServer, meta_page


PAGE = meta_page(
    ("ac-discovery", "127.0.0.1 https://cdn.example.com/{name}-{version}.{ext}"),
    ("ac-discovery-pubkeys", "127.0.0.1 https://cdn.example.com/keys"),
)
SECRET = {"Authorization": "Basic c2VjcmV0", "Cookie": "session=1"}


@pytest.fixture
def transport(ca_file: Path) -> Urllib3Transport:
    return Urllib3Transport(ca_certs=ca_file)


def test_tls_discovery(tls_server: PageServer, transport: Urllib3Transport) -> None:
    tls_server.add_page("/", PAGE)
    result = discover("127.0.0.1/app", port=tls_server.port, transport=transport)
    assert result.endpoints[0].aci == "https://cdn.example.com/127.0.0.1/app-latest.aci"
    assert [r.path for r in tls_server.requests] == [
        "/app?ac-discovery=1",
        "/?ac-discovery=1",
    ]
    assert tls_server.requests[0].headers["user-agent"].startswith("appc/")


def test_untrusted_certificate(tls_server: PageServer, tmp_path: Path) -> None:
    other = tmp_path / "other.pem"
    trustme.CA().cert_pem.write_to_path(str(other))
    tls_server.add_page("/", PAGE)
    transport = Urllib3Transport(ca_certs=other)
    with pytest.raises(TLSError, match="CERTIFICATE_VERIFY_FAILED"):
        Client(transport).open(tls_server.url + "/")
    with pytest.raises(DiscoveryError) as info:
        discover("127.0.0.1", port=tls_server.port, transport=transport)
    assert "TLS error" in info.value.attempts[0].error
    # Insecure TLS (and only that) accepts the certificate.
    result = discover(
        "127.0.0.1", port=tls_server.port, transport=transport, insecure=Insecure.TLS
    )
    assert result.endpoints


def test_wrong_host_certificate(ca: trustme.CA, ca_file: Path) -> None:
    # A certificate from a trusted CA, but for another name.
    server = PageServer(ca=ca, names=("other.example.com",))
    try:
        with pytest.raises(TLSError, match="CERTIFICATE_VERIFY_FAILED"):
            Client(Urllib3Transport(ca_certs=ca_file)).open(f"{server.url}/")
    finally:
        server.close()


def test_redirect_to_http_is_refused(
    tls_server: PageServer, http_server: PageServer, transport: Urllib3Transport
) -> None:
    http_server.add_page("/plain", PAGE)
    tls_server.add_redirect("/app", f"{http_server.url}/plain")
    with pytest.raises(DiscoveryError) as info:
        discover("127.0.0.1/app", port=tls_server.port, transport=transport)
    assert "refusing the redirect" in info.value.attempts[0].error
    assert http_server.requests == []
    with pytest.raises(InsecureRedirect):
        Client(transport).open(f"{tls_server.url}/app")
    # Allowed with insecure http.
    result = discover(
        "127.0.0.1/app",
        port=tls_server.port,
        transport=transport,
        insecure=Insecure.HTTP,
    )
    assert result.endpoints
    assert [r.bare_path for r in http_server.requests] == ["/plain"]


def test_plain_http_needs_insecure_http(
    http_server: PageServer, transport: Urllib3Transport
) -> None:
    http_server.add_page("/", PAGE)
    with pytest.raises(InsecureRedirect, match="refusing plain http"):
        Client(transport).open(f"{http_server.url}/")
    assert http_server.requests == []
    with Client(transport, insecure=Insecure.HTTP).open(
        f"{http_server.url}/"
    ) as response:
        assert response.status == 200


def test_https_down_falls_back_to_http_only_when_allowed(
    http_server: PageServer, transport: Urllib3Transport
) -> None:
    # The port speaks plain http: the https attempt fails at the TLS handshake.
    http_server.add_page("/", PAGE)
    with pytest.raises(DiscoveryError) as info:
        discover("127.0.0.1", port=http_server.port, transport=transport)
    assert len(info.value.attempts) == 1
    assert http_server.requests == []
    result = discover(
        "127.0.0.1", port=http_server.port, transport=transport, insecure=Insecure.HTTP
    )
    assert result.endpoints
    assert [a.url.split(":")[0] for a in result.attempts] == ["https"]
    assert [r.path for r in http_server.requests] == ["/?ac-discovery=1"]


def test_credentials_do_not_follow_a_redirect_to_another_host(
    tls_server: PageServer, tls_server2: PageServer, transport: Urllib3Transport
) -> None:
    tls_server2.add_page("/landing", PAGE)
    # Same 127.0.0.1, other port: another origin. Then "localhost": another host.
    tls_server.add_redirect("/app", f"https://localhost:{tls_server2.port}/landing")
    host_headers = {f"127.0.0.1:{tls_server.port}": SECRET}
    result = discover(
        "127.0.0.1/app",
        port=tls_server.port,
        transport=transport,
        host_headers=host_headers,
    )
    assert result.endpoints
    first = tls_server.requests[0].headers
    assert (first["authorization"], first["cookie"]) == (
        SECRET["Authorization"],
        SECRET["Cookie"],
    )
    landing = tls_server2.requests[0].headers
    assert "authorization" not in landing
    assert "cookie" not in landing
    # Headers the caller set itself are dropped as well.
    tls_server2.reset()
    tls_server.add_redirect("/x", f"{tls_server2.url}/landing")
    Client(transport).open(f"{tls_server.url}/x", headers=SECRET).close()
    assert tls_server2.requests[0].bare_path == "/landing"
    assert "authorization" not in tls_server2.requests[0].headers
    assert "cookie" not in tls_server2.requests[0].headers


def test_same_origin_redirect_keeps_credentials(
    tls_server: PageServer, transport: Urllib3Transport
) -> None:
    tls_server.add_page("/landing", PAGE)
    tls_server.add_redirect("/app", "/landing")
    discover(
        "127.0.0.1/app",
        port=tls_server.port,
        transport=transport,
        host_headers={f"127.0.0.1:{tls_server.port}": SECRET},
    )
    assert [r.headers.get("authorization") for r in tls_server.requests[:2]] == [
        SECRET["Authorization"]
    ] * 2


def test_host_headers_never_over_plain_http(
    http_server: PageServer, tls_server: PageServer, transport: Urllib3Transport
) -> None:
    http_server.add_page("/", PAGE)
    headers = {"127.0.0.1": SECRET}
    client = Client(transport, insecure=Insecure.HTTP, host_headers=headers)
    client.open(f"{http_server.url}/").close()
    # Insecure http allows reading in clear, not sending credentials in clear (rkt's rule).
    assert "authorization" not in http_server.requests[0].headers
    assert "cookie" not in http_server.requests[0].headers
    # The same client sends them to the same host over https.
    tls_server.add_page("/", PAGE)
    client.open(f"{tls_server.url}/").close()
    assert tls_server.requests[0].headers["authorization"] == SECRET["Authorization"]
    # And not after a redirect from https to http on that host either.
    tls_server.add_redirect("/down", f"{http_server.url}/")
    http_server.reset()
    client.open(f"{tls_server.url}/down").close()
    assert "authorization" not in http_server.requests[0].headers


def test_endless_redirects(tls_server: PageServer, transport: Urllib3Transport) -> None:
    tls_server.add_endless_redirect("/app")
    with pytest.raises(TooManyRedirects, match=f"more than {MAX_REDIRECTS} redirects"):
        Client(transport).open(f"{tls_server.url}/app")
    assert len(tls_server.requests) == MAX_REDIRECTS + 1
    tls_server.reset()
    with pytest.raises(DiscoveryError) as info:
        discover(
            "127.0.0.1/app",
            port=tls_server.port,
            transport=transport,
            public_keys=False,
        )
    assert "redirects" in info.value.attempts[0].error


@pytest.mark.parametrize("size", [MAX_PAGE_SIZE + 1, 50 * MAX_PAGE_SIZE])
def test_huge_page(
    tls_server: PageServer, transport: Urllib3Transport, size: int
) -> None:
    tls_server.add_huge_page("/", size)
    with pytest.raises(DiscoveryError) as info:
        discover("127.0.0.1", port=tls_server.port, transport=transport)
    assert "MAX_PAGE_SIZE" in info.value.attempts[0].error


def test_huge_page_without_length() -> None:
    # A body without Content-Length is counted as it arrives.
    chunks = iter([b"x" * (MAX_PAGE_SIZE // 2)] * 3 + [b""])

    class Endless:
        def read(self, size: int = -1) -> bytes:
            return next(chunks)

        def close(self) -> None:
            pass

    client = Client(MockTransport(lambda r: Response(status=200, stream=Endless())))
    with pytest.raises(ResponseTooLarge):
        client.fetch_small(Request(url="https://example.com/"))


def test_slow_page(tls_server: PageServer, transport: Urllib3Transport) -> None:
    tls_server.add_slow_page("/")
    with pytest.raises(DiscoveryError) as info:
        discover("127.0.0.1", port=tls_server.port, transport=transport, timeout=0.3)
    assert "took too long" in info.value.attempts[0].error


def test_wrong_content_length(
    tls_server: PageServer, transport: Urllib3Transport
) -> None:
    tls_server.add_lying_length("/", PAGE.encode(), claimed=len(PAGE) + 1000)
    with pytest.raises(DiscoveryError) as info:
        discover("127.0.0.1", port=tls_server.port, transport=transport)
    assert "broke" in info.value.attempts[0].error


def test_connection_refused(transport: Urllib3Transport) -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    # Nothing listens on the port now.
    with pytest.raises(TransportError, match="cannot connect"):
        Client(transport).open(f"https://127.0.0.1:{port}/")


def test_other_schemes_are_refused() -> None:
    client = Client(MockTransport(lambda r: Response(status=200)))
    with pytest.raises(TransportError, match="unsupported URL scheme"):
        client.open("ftp://example.com/app.aci")
    redirecting = Client(
        MockTransport(
            lambda r: Response(status=302, headers={"Location": "file:///etc/passwd"})
        )
    )
    with pytest.raises(TransportError, match="unsupported URL scheme"):
        redirecting.open("https://example.com/")


def test_get_bytes() -> None:
    def handle(request: Request) -> Response:
        if request.url.endswith("/ok"):
            return Response(status=200, content=b"data")
        return Response(status=404)

    client = Client(MockTransport(handle))
    assert client.get_bytes("https://example.com/ok", limit=10) == b"data"
    with pytest.raises(HTTPStatusError) as info:
        client.get_bytes("https://example.com/missing", limit=10)
    assert info.value.status == 404
    with pytest.raises(ResponseTooLarge, match="MAX_X"):
        client.get_bytes("https://example.com/ok", limit=3, limit_name="MAX_X")


def test_redirect_without_location_is_the_answer() -> None:
    client = Client(MockTransport(lambda r: Response(status=302)))
    with client.open("https://example.com/") as response:
        assert response.status == 302


def test_bad_url_is_a_transport_error(transport: Urllib3Transport) -> None:
    with pytest.raises(TransportError):
        Client(transport).open("https://[::1/")


def test_read_timeout(tls_server: PageServer, ca_file: Path) -> None:
    tls_server.add_stall("/")
    transport = Urllib3Transport(ca_certs=ca_file, read_timeout=0.2)
    with (
        Client(transport).open(f"{tls_server.url}/") as response,
        pytest.raises(TransportError, match="timed out"),
    ):
        response.read(10)


def _read_all(response: Response) -> int:
    total = 0
    while chunk := response.read(7):
        total += len(chunk)
    return total


def test_streamed_body_cut_short(
    tls_server: PageServer, transport: Urllib3Transport
) -> None:
    tls_server.add_lying_length("/", b"0123456789", claimed=100)
    with Client(transport).open(f"{tls_server.url}/") as response:
        assert response.status == 200
        with pytest.raises(TransportError, match="broke"):
            _read_all(response)


def test_streamed_body_read_to_the_end(
    tls_server: PageServer, transport: Urllib3Transport
) -> None:
    tls_server.add_page("/", PAGE)
    for _ in range(2):  # the second request reuses the connection
        with Client(transport).open(f"{tls_server.url}/") as response:
            assert response.read() == PAGE.encode()
            assert response.read(10) == b""
    assert len(tls_server.requests) == 2


def test_malformed_urls(transport: Urllib3Transport) -> None:
    for url in ("https://exa mple.com/", "https://example.com:99999/", "https://[::1/"):
        with pytest.raises(TransportError):
            Client(transport).open(url)


def test_default_transport_checks_certificates(tls_server: PageServer) -> None:
    # No CA given: the system's, which do not know the test CA.
    tls_server.add_page("/", PAGE)
    with pytest.raises(DiscoveryError) as info:
        discover("127.0.0.1", port=tls_server.port)
    assert "TLS error" in info.value.attempts[0].error
