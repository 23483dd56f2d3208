"""The registry client against a scripted server on 127.0.0.1: the odd answers."""

from __future__ import annotations

import base64
import gzip
import hashlib
import http.server
import json
import threading
import urllib.parse

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from appc.discovery import MAX_REDIRECTS, Request, Response
from appc.docker._config import MAX_JSON_SIZE
from appc.docker.registry import (
    RegistryClient,
    fetch_image,
    load_credentials,
    parse_challenge,
)
from appc.errors import (
    ConversionError,
    DigestMismatch,
    InsecureRedirect,
    LimitExceeded,
    RegistryError,
    TooManyRedirects,
    TransportError,
)
from appc.testing import MockTransport

from tests.docker.make_images import File, Image


Answer = tuple[int, dict[str, str], bytes]
Route = Callable[[str, dict[str, str]], Answer]


def _answer(route: Route | Answer | None, path: str, headers: dict[str, str]) -> Answer:
    if route is None:
        return (404, {}, b"")
    if callable(route):
        return route(path, headers)
    return route


def fixed(route: Route | Answer) -> Answer:
    """A route that is a fixed answer (not a function)."""
    assert not callable(route)
    return route


class Server:
    """A tiny HTTP server whose answers the test scripts, per path."""

    def __init__(self) -> None:
        self.routes: dict[str, Route | Answer] = {"/v2/": (200, {}, b"{}")}
        self.seen: list[tuple[str, dict[str, str]]] = []
        server = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                headers = dict(self.headers.items())
                server.seen.append((self.path, headers))
                route = server.routes.get(self.path.split("?")[0])
                status, extra, body = _answer(route, self.path, headers)
                self.send_response(status)
                for key, value in extra.items():
                    self.send_header(key, value)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, format: str, *args: Any) -> None:  # noqa: A002
                pass

        self.httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.host = f"127.0.0.1:{self.httpd.server_address[1]}"
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)

    def blob(self, repository: str, data: bytes) -> str:
        digest = "sha256:" + hashlib.sha256(data).hexdigest()
        self.routes[f"/v2/{repository}/blobs/{digest}"] = (200, {}, data)
        return digest

    def manifest(
        self, repository: str, reference: str, document: dict[str, Any], media_type: str
    ) -> str:
        data = json.dumps(document).encode()
        digest = "sha256:" + hashlib.sha256(data).hexdigest()
        answer = (
            200,
            {"Content-Type": media_type, "Docker-Content-Digest": digest},
            data,
        )
        self.routes[f"/v2/{repository}/manifests/{reference}"] = answer
        self.routes[f"/v2/{repository}/manifests/{digest}"] = answer
        return digest


@pytest.fixture
def server() -> Iterator[Server]:
    fake = Server()
    fake.thread.start()
    try:
        yield fake
    finally:
        fake.httpd.shutdown()
        fake.httpd.server_close()
        fake.thread.join()


NO_HEADERS: dict[str, str] = {}
DOCKER_V2 = "application/vnd.docker.distribution.manifest.v2+json"
LAYER = "application/vnd.docker.image.rootfs.diff.tar.gzip"


def publish(
    server: Server, repository: str = "a/b", tag: str = "latest", **config: Any
) -> Image:
    image = Image(
        layers=[[File("hello", b"hi\n")]],
        repo_tags=[f"{server.host}/{repository}:{tag}"],
        **config,
    )
    blob = image.layer_blobs()[0]
    layer = gzip.compress(blob, mtime=0)
    config_json = image.config_json()
    server.manifest(
        repository,
        tag,
        {
            "schemaVersion": 2,
            "mediaType": DOCKER_V2,
            "config": {
                "mediaType": "application/vnd.docker.container.image.v1+json",
                "digest": server.blob(repository, config_json),
                "size": len(config_json),
            },
            "layers": [
                {
                    "mediaType": LAYER,
                    "digest": server.blob(repository, layer),
                    "size": len(layer),
                }
            ],
        },
        DOCKER_V2,
    )
    return image


def pull(
    server: Server, tmp_path: Path, reference: str = "a/b:latest", **options: Any
) -> Any:
    return fetch_image(
        f"docker://{server.host}/{reference}",
        tmp_path,
        insecure_allow_http=True,
        **options,
    )


def test_fake_registry_works(server: Server, tmp_path: Path) -> None:
    publish(server)
    resolved = pull(server, tmp_path)
    assert resolved.fallback_name == "b"
    assert len(resolved.layers) == 1


def test_not_a_registry(server: Server, tmp_path: Path) -> None:
    server.routes["/v2/"] = (404, {}, b"")
    with pytest.raises(RegistryError, match="not a Docker registry v2"):
        pull(server, tmp_path)


def test_schema1_is_refused(server: Server, tmp_path: Path) -> None:
    server.routes["/v2/a/b/manifests/latest"] = (
        200,
        {"Content-Type": "application/vnd.docker.distribution.manifest.v1+prettyjws"},
        b'{"schemaVersion": 1, "name": "a/b"}',
    )
    with pytest.raises(RegistryError, match="schema 1"):
        pull(server, tmp_path)


def test_announced_digest_must_match(server: Server, tmp_path: Path) -> None:
    publish(server)
    status, headers, body = fixed(server.routes["/v2/a/b/manifests/latest"])
    server.routes["/v2/a/b/manifests/latest"] = (
        status,
        headers,
        body.replace(b'"size"', b' "size"', 1),
    )
    with pytest.raises(DigestMismatch, match="manifest a/b@latest"):
        pull(server, tmp_path)


def test_manifest_without_digest_header(server: Server, tmp_path: Path) -> None:
    publish(server)
    _status, headers, body = fixed(server.routes["/v2/a/b/manifests/latest"])
    server.routes["/v2/a/b/manifests/latest"] = (
        200,
        {"Content-Type": "text/plain"},
        body,
    )
    resolved = pull(server, tmp_path)
    assert resolved.manifest_digest == headers["Docker-Content-Digest"]


def test_manifest_by_digest_is_verified(server: Server, tmp_path: Path) -> None:
    publish(server)
    other = "sha256:" + "0" * 64
    _status, headers, body = fixed(server.routes["/v2/a/b/manifests/latest"])
    server.routes[f"/v2/a/b/manifests/{other}"] = (200, headers, body)
    with pytest.raises(DigestMismatch):
        pull(server, tmp_path, f"a/b@{other}")


def test_manifest_size_limit(server: Server, tmp_path: Path) -> None:
    server.routes["/v2/a/b/manifests/latest"] = (200, {}, b" " * (MAX_JSON_SIZE + 1))
    with pytest.raises(LimitExceeded, match="MAX_JSON_SIZE"):
        pull(server, tmp_path)


def test_blob_digest_and_size(server: Server, tmp_path: Path) -> None:
    publish(server)
    document = json.loads(fixed(server.routes["/v2/a/b/manifests/latest"])[2])
    layer_path = f"/v2/a/b/blobs/{document['layers'][0]['digest']}"
    status, headers, data = fixed(server.routes[layer_path])
    server.routes[layer_path] = (status, headers, data + b"extra")
    with pytest.raises(DigestMismatch, match="larger than its declared"):
        pull(server, tmp_path)
    server.routes[layer_path] = (status, headers, data[:-1])
    with pytest.raises(DigestMismatch, match="expected"):
        pull(server, tmp_path)


def test_foreign_layers_and_layer_count(server: Server, tmp_path: Path) -> None:
    publish(server)
    document = json.loads(fixed(server.routes["/v2/a/b/manifests/latest"])[2])
    document["layers"][0]["mediaType"] = (
        "application/vnd.docker.image.rootfs.foreign.diff.tar.gzip"
    )
    server.manifest("a/b", "foreign", document, DOCKER_V2)
    with pytest.raises(ConversionError, match="foreign"):
        pull(server, tmp_path, "a/b:foreign")
    document["layers"] = []
    server.manifest("a/b", "none", document, DOCKER_V2)
    with pytest.raises(ConversionError, match="lists 1 layers, the manifest 0"):
        pull(server, tmp_path, "a/b:none")


def test_unsupported_media_type(server: Server, tmp_path: Path) -> None:
    server.manifest(
        "a/b", "latest", {"mediaType": "application/x-other"}, "application/x-other"
    )
    with pytest.raises(RegistryError, match="unsupported manifest media type"):
        pull(server, tmp_path)
    server.routes["/v2/a/b/manifests/list"] = (200, {"Content-Type": DOCKER_V2}, b"[]")
    with pytest.raises(RegistryError, match="not a JSON object"):
        pull(server, tmp_path, "a/b:list")


def test_http_errors(server: Server, tmp_path: Path) -> None:
    server.routes["/v2/a/b/manifests/latest"] = (500, {}, b"boom")
    with pytest.raises(RegistryError, match="HTTP 500 boom"):
        pull(server, tmp_path)


def test_redirects_drop_credentials_for_other_hosts(
    server: Server, tmp_path: Path
) -> None:
    other = Server()
    other.thread.start()
    try:
        publish(server)
        document = json.loads(fixed(server.routes["/v2/a/b/manifests/latest"])[2])
        layer_path = f"/v2/a/b/blobs/{document['layers'][0]['digest']}"
        other.routes["/storage/layer"] = fixed(server.routes[layer_path])
        server.routes[layer_path] = (
            307,
            {"Location": f"http://{other.host}/storage/layer"},
            b"",
        )
        server.routes["/v2/"] = (401, {"WWW-Authenticate": 'Basic realm="r"'}, b"")

        answer = fixed(server.routes["/v2/a/b/manifests/latest"])

        def needs_auth(path: str, headers: dict[str, str]) -> Answer:
            if headers.get("Authorization", "").startswith("Basic "):
                return answer
            return (401, {"WWW-Authenticate": 'Basic realm="r"'}, b"")

        server.routes["/v2/a/b/manifests/latest"] = needs_auth
        pull(server, tmp_path, credentials=("u", "p"))
        assert other.seen[0][0] == "/storage/layer"
        assert "Authorization" not in other.seen[0][1]
    finally:
        other.httpd.shutdown()
        other.httpd.server_close()
        other.thread.join()


def test_redirect_loops_and_bad_schemes(server: Server, tmp_path: Path) -> None:
    server.routes["/v2/a/b/manifests/latest"] = (
        302,
        {"Location": "/v2/a/b/manifests/latest"},
        b"",
    )
    with pytest.raises(RegistryError, match="more than 10 redirects") as caught:
        pull(server, tmp_path)
    assert isinstance(caught.value.__cause__, TooManyRedirects)
    server.routes["/v2/a/b/manifests/latest"] = (
        302,
        {"Location": "file:///etc/passwd"},
        b"",
    )
    with pytest.raises(RegistryError, match="unsupported URL scheme"):
        pull(server, tmp_path)


def _bearer(server: Server, token_route: Route, challenge: str | None = None) -> None:
    realm = f"http://{server.host}/token"
    server.routes["/token"] = token_route
    header = (
        challenge or f'Bearer realm="{realm}",service="svc",scope="repository:a/b:pull"'
    )
    answer = fixed(server.routes["/v2/a/b/manifests/latest"])

    def guarded(path: str, headers: dict[str, str]) -> Answer:
        if headers.get("Authorization") == "Bearer good":
            return answer
        return (401, {"WWW-Authenticate": header}, b"")

    server.routes["/v2/a/b/manifests/latest"] = guarded


def test_bearer_token_flow(server: Server, tmp_path: Path) -> None:
    publish(server)
    _bearer(server, lambda path, headers: (200, {}, b'{"access_token": "good"}'))
    pull(server, tmp_path, credentials=("u", "p"))
    token_requests = [
        (path, headers) for path, headers in server.seen if path.startswith("/token")
    ]
    assert "scope=repository%3Aa%2Fb%3Apull" in token_requests[0][0]
    assert "service=svc" in token_requests[0][0]
    assert (
        token_requests[0][1]["Authorization"]
        == "Basic " + base64.b64encode(b"u:p").decode()
    )


@pytest.mark.parametrize(
    ("token_answer", "challenge", "message"),
    [
        ((200, NO_HEADERS, b"{}"), None, "sent no token"),
        ((200, NO_HEADERS, b"[]"), None, "sent no token"),
        ((403, NO_HEADERS, b""), None, "answered HTTP 403"),
        ((200, NO_HEADERS, b""), 'Bearer service="svc"', "missing realm"),
        (
            (200, NO_HEADERS, b""),
            'Bearer realm="ftp://x/token"',
            "cannot get a token from ftp://x/token: unsupported URL scheme",
        ),
        ((200, NO_HEADERS, b'{"token": "bad"}'), None, "access denied"),
        ((200, NO_HEADERS, b""), "Negotiate", "asks for credentials"),
    ],
)
def test_bearer_token_failures(
    server: Server,
    tmp_path: Path,
    token_answer: Answer,
    challenge: str | None,
    message: str,
) -> None:
    publish(server)
    _bearer(server, lambda path, headers: token_answer, challenge)
    with pytest.raises(RegistryError, match=message):
        pull(server, tmp_path)


def test_unreachable_registry(tmp_path: Path) -> None:
    from tests.docker.servers import free_port

    with pytest.raises(RegistryError):
        fetch_image(
            f"docker://127.0.0.1:{free_port()}/a/b", tmp_path, insecure_allow_http=True
        )


def test_parse_challenge() -> None:
    assert parse_challenge('Bearer realm="a\\"b", scope=x') == (
        "bearer",
        {"realm": 'a"b', "scope": "x"},
    )


def test_credentials_from_docker_config(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("HOME", str(tmp_path))
    monkeypatch.setenv("DOCKER_CONFIG", str(tmp_path / "docker"))
    assert load_credentials("example.com") is None
    (tmp_path / "docker").mkdir()
    config = tmp_path / "docker" / "config.json"
    auth = base64.b64encode(b"user:pa:ss").decode()
    config.write_text(
        json.dumps(
            {
                "credsStore": "desktop",
                "auths": {
                    "https://index.docker.io/v1/": {"auth": auth},
                    "https://example.com": {"username": "u2", "password": "p2"},
                    "bad.example": {"auth": "!!!"},
                    "nocolon.example": {"auth": base64.b64encode(b"user").decode()},
                    "empty.example": {},
                },
            }
        )
    )
    assert load_credentials("registry-1.docker.io") == ("user", "pa:ss")
    assert load_credentials("example.com") == ("u2", "p2")
    assert load_credentials("bad.example") is None
    assert load_credentials("nocolon.example") is None
    assert load_credentials("empty.example") is None
    config.write_text("{not json")
    (tmp_path / ".dockercfg").write_text(json.dumps({"legacy.example": {"auth": auth}}))
    assert load_credentials("legacy.example") == ("user", "pa:ss")
    config.write_text('{"auths": []}')
    assert load_credentials("legacy.example") == ("user", "pa:ss")
    config.write_text("[]")
    monkeypatch.delenv("DOCKER_CONFIG")
    assert load_credentials("other.example") is None


# -- the HTTP policy, through appc.testing.MockTransport ------------------------------


def _sha256(data: bytes) -> str:
    return "sha256:" + hashlib.sha256(data).hexdigest()


def _one_layer_image() -> tuple[bytes, dict[str, bytes]]:
    """The manifest of a one-layer image, and its blobs by digest."""
    image = Image(layers=[[File("hello", b"hi\n")]])
    layer = gzip.compress(image.layer_blobs()[0], mtime=0)
    config = image.config_json()
    manifest = {
        "schemaVersion": 2,
        "mediaType": DOCKER_V2,
        "config": {
            "mediaType": "application/vnd.docker.container.image.v1+json",
            "digest": _sha256(config),
            "size": len(config),
        },
        "layers": [{"mediaType": LAYER, "digest": _sha256(layer), "size": len(layer)}],
    }
    return json.dumps(manifest).encode(), {
        _sha256(config): config,
        _sha256(layer): layer,
    }


class _Broken:
    """A response body whose connection breaks."""

    def read(self, size: int = -1, /) -> bytes:
        raise TransportError("connection to the registry broke", url="")

    def close(self) -> None:
        pass


def _registry(blob_location: str, *, broken: str = "") -> Callable[[Request], Response]:
    """registry.example.com with bearer auth, its blobs redirected to ``blob_location``.

    ``broken`` names a path whose body breaks while it is read.
    """
    manifest, blobs = _one_layer_image()
    challenge = 'Bearer realm="https://auth.example.com/token",service="registry"'

    def handle(request: Request) -> Response:
        url = urllib.parse.urlsplit(request.url)
        digest = url.path.rpartition("/")[2]
        if url.hostname == "auth.example.com":
            return Response(status=200, content=b'{"token": "good"}')
        if url.path.startswith("/storage/"):
            if url.path == broken:
                return Response(status=200, stream=_Broken())
            return Response(status=200, content=blobs[digest])
        if request.headers.get("Authorization") != "Bearer good":
            return Response(status=401, headers={"WWW-Authenticate": challenge})
        if url.path == "/v2/":
            return Response(status=200)
        if url.path == broken:
            return Response(status=200, stream=_Broken())
        if url.path == "/v2/a/b/manifests/latest":
            return Response(
                status=200, headers={"Content-Type": DOCKER_V2}, content=manifest
            )
        return Response(status=307, headers={"Location": f"{blob_location}/{digest}"})

    return handle


def _mock_pull(transport: MockTransport, tmp_path: Path, **options: Any) -> Any:
    return fetch_image(
        "docker://registry.example.com/a/b:latest",
        tmp_path,
        transport=transport,
        credentials=("u", "p"),
        **options,
    )


@pytest.mark.parametrize(
    ("blob_location", "same_origin"),
    [
        ("https://cdn.example.com/storage", False),
        ("https://registry.example.com/storage", True),
    ],
)
def test_authorization_stays_with_the_registry_origin(
    tmp_path: Path, blob_location: str, same_origin: bool
) -> None:
    transport = MockTransport(_registry(blob_location))
    resolved = _mock_pull(transport, tmp_path)
    assert len(resolved.layers) == 1
    sent = {r.url: r.headers.get("Authorization") for r in transport.requests}
    blobs = [url for url in sent if "/v2/a/b/blobs/" in url]
    storage = [url for url in sent if "/storage/" in url]
    assert len(blobs) == len(storage) == 2  # the config and the layer
    assert all(sent[url] == "Bearer good" for url in blobs)
    # The bearer token goes to the registry's own storage, never to another host's.
    assert all(sent[url] == ("Bearer good" if same_origin else None) for url in storage)
    token = [url for url in sent if url.startswith("https://auth.example.com/")]
    assert sent[token[0]] == "Basic " + base64.b64encode(b"u:p").decode()


def test_redirect_to_plain_http_needs_insecure_allow_http(tmp_path: Path) -> None:
    handler = _registry("http://cdn.example.com/storage")
    transport = MockTransport(handler)
    with pytest.raises(RegistryError, match="refusing the redirect") as caught:
        _mock_pull(transport, tmp_path)
    assert isinstance(caught.value.__cause__, InsecureRedirect)
    assert not [r for r in transport.requests if r.url.startswith("http:")]
    transport = MockTransport(handler)
    _mock_pull(transport, tmp_path, insecure_allow_http=True)
    plain = [r for r in transport.requests if r.url.startswith("http:")]
    assert len(plain) == 2
    assert all("Authorization" not in r.headers for r in plain)


def test_too_many_redirects_is_a_registry_error() -> None:
    transport = MockTransport(
        lambda request: Response(status=302, headers={"Location": request.url})
    )
    with (
        RegistryClient(
            "registry.example.com", transport=transport, credentials=None
        ) as client,
        pytest.raises(
            RegistryError, match=f"more than {MAX_REDIRECTS} redirects"
        ) as caught,
    ):
        client.ping()
    assert isinstance(caught.value.__cause__, TooManyRedirects)
    assert len(transport.requests) == MAX_REDIRECTS + 1


def test_plain_http_only_as_an_allowed_fallback() -> None:
    def handle(request: Request) -> Response:
        if request.url.startswith("https:"):
            raise TransportError("cannot connect", url=request.url)
        return Response(status=200)

    for allow_http in (False, True):
        transport = MockTransport(handle)
        with RegistryClient(
            "registry.example.com",
            transport=transport,
            credentials=None,
            insecure_allow_http=allow_http,
        ) as client:
            if allow_http:
                client.ping()
            else:
                with pytest.raises(RegistryError, match="cannot connect"):
                    client.ping()
        urls = [r.url for r in transport.requests]
        assert urls == ["https://registry.example.com/v2/"] + (
            ["http://registry.example.com/v2/"] if allow_http else []
        )


def test_skip_verify_reaches_the_transport() -> None:
    for skip in (False, True):
        transport = MockTransport(lambda request: Response(status=200))
        with RegistryClient(
            "registry.example.com",
            transport=transport,
            credentials=None,
            insecure_skip_verify=skip,
        ) as client:
            client.ping()
        assert transport.requests[0].verify_tls is not skip


def test_ca_certs_belong_to_the_transport(tmp_path: Path) -> None:
    transport = MockTransport(lambda request: Response(status=200))
    with pytest.raises(ConversionError, match="give it to your transport"):
        RegistryClient("r.example.com", transport=transport, ca_certs=tmp_path / "ca")


@pytest.mark.parametrize(
    ("broken", "message"),
    [
        (
            "/v2/a/b/manifests/latest",
            "GET https://registry.example.com/v2/a/b/manifests",
        ),
        ("/storage/LAYER", "downloading layer 0"),
    ],
)
def test_broken_bodies_are_registry_errors(
    tmp_path: Path, broken: str, message: str
) -> None:
    manifest, _blobs = _one_layer_image()
    layer_digest = json.loads(manifest)["layers"][0]["digest"]
    transport = MockTransport(
        _registry(
            "https://cdn.example.com/storage",
            broken=broken.replace("LAYER", layer_digest),
        )
    )
    with pytest.raises(RegistryError, match=message) as caught:
        _mock_pull(transport, tmp_path)
    assert isinstance(caught.value.__cause__, TransportError)
