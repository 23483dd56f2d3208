"""The HTTP messages and the insecure options."""

from __future__ import annotations

import pytest

from appc.discovery import Headers, Insecure, Request, Response
from appc.testing import MockTransport


def test_insecure_parse() -> None:
    assert Insecure.parse("") == Insecure.NONE
    assert Insecure.parse("http,,TLS ") == Insecure.HTTP | Insecure.TLS
    assert Insecure.parse("image,pubkey") == Insecure.IMAGE | Insecure.PUBKEY
    assert Insecure.parse("all") == Insecure.ALL_FETCH
    with pytest.raises(ValueError, match="unknown insecure option"):
        Insecure.parse("ondisk-typo")


def test_headers() -> None:
    headers = Headers({"Content-Length": "3"})
    assert "content-length" in headers
    number: object = 3
    assert number not in headers
    assert "etag" not in headers
    assert headers.get("ETag") is None
    assert list(headers) == ["Content-Length"]
    assert Headers(None) == Headers()
    with pytest.raises(KeyError):
        headers["etag"]


def test_request_converts_headers() -> None:
    request = Request(url="https://x/", headers={"A": "1"})
    assert isinstance(request.headers, Headers)
    assert request.verify_tls


def test_response_repr_and_url() -> None:
    response = Response(status=404, url="https://x/")
    assert repr(response) == "<Response 404 https://x/>"


def test_mock_transport_keeps_a_response_url() -> None:
    transport = MockTransport(lambda r: Response(status=200, url="https://elsewhere/"))
    assert transport.send(Request(url="https://x/")).url == "https://elsewhere/"
    assert transport.send(Request(url="https://x/")).url == "https://elsewhere/"
    other = MockTransport(lambda r: Response(status=200))
    assert other.send(Request(url="https://x/")).url == "https://x/"
