"""Real HTTP(S) servers on 127.0.0.1 for discovery and fetch tests, hostile ones included.

A :class:`PageServer` is a stdlib ``ThreadingHTTPServer`` on a free loopback
port, over TLS with a certificate from ``trustme`` (for ``127.0.0.1`` and
``localhost``) or plain HTTP. Routes map a path (query aside) to a handler;
helpers add discovery pages, files (with ETag, Last-Modified, Range and
conditional requests, as nginx serves them), redirects and misbehaving
responses. Every request is recorded with its headers, and the bytes of
file bodies sent are counted. The server runs on a daemon thread and is
shut down by :meth:`PageServer.close` (the fixtures call it).
"""

from __future__ import annotations

import base64
import email.utils
import hashlib
import http.server
import socket
import ssl
import threading
import time
import urllib.parse

from collections.abc import Callable, Generator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import attrs
import trustme


Handler = Callable[["RequestHandler"], None]

# Seconds between the bytes of a slow page.
SLOW_INTERVAL = 0.05


@attrs.frozen
class Recorded:
    """One request the server received."""

    method: str
    path: str  # path and query, as sent
    headers: dict[str, str]  # lower-case names

    @property
    def bare_path(self) -> str:
        return urllib.parse.urlsplit(self.path).path


class RequestHandler(http.server.BaseHTTPRequestHandler):
    server: _Server  # pyright: ignore[reportIncompatibleVariableOverride]
    protocol_version = "HTTP/1.1"

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002
        pass

    def _dispatch(self) -> None:
        owner = self.server.owner
        owner.requests.append(
            Recorded(
                method=self.command,
                path=self.path,
                headers={k.lower(): v for k, v in self.headers.items()},
            )
        )
        wanted = owner.required_authorization
        if wanted is not None and self.headers.get("Authorization") != wanted:
            self.send_simple(
                401, b"unauthorized", {"WWW-Authenticate": 'Basic realm="test"'}
            )
            return
        route = owner.routes.get(urllib.parse.urlsplit(self.path).path)
        if route is None:
            self.send_simple(404, b"not found")
            return
        route(self)

    do_GET = _dispatch  # noqa: N815
    do_HEAD = _dispatch  # noqa: N815

    def send_simple(
        self,
        status: int,
        body: bytes,
        headers: dict[str, str] | None = None,
        content_type: str = "text/html; charset=utf-8",
    ) -> None:
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        for key, value in (headers or {}).items():
            self.send_header(key, value)
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)
            self.server.owner.body_bytes += len(body)


class _Server(http.server.ThreadingHTTPServer):
    daemon_threads = True
    block_on_close = False
    owner: PageServer


@attrs.define
class ServedFile:
    """A file served with validators and byte ranges."""

    data: bytes
    etag: str | None
    last_modified: float
    ranges: bool
    cache_control: str | None = None
    # Stop after this many body bytes of a full (200) response, then close.
    cut_at: int | None = None
    cuts_left: int = 0
    # Cut ranged (206) answers too, after cut_at bytes of their body.
    cut_ranges: bool = False


class PageServer:
    """A server on 127.0.0.1: ``url`` is ``https://127.0.0.1:PORT`` (or http)."""

    def __init__(
        self,
        *,
        ca: trustme.CA | None = None,
        names: tuple[str, ...] = ("127.0.0.1", "localhost"),
    ) -> None:
        self.requests: list[Recorded] = []
        self.routes: dict[str, Handler] = {}
        # When set, every request without this Authorization value gets a 401.
        self.required_authorization: str | None = None
        self.body_bytes = 0
        self.closing = threading.Event()
        self._server = _Server(("127.0.0.1", 0), RequestHandler)
        self._server.owner = self
        self.port: int = self._server.server_address[1]
        self.scheme = "http"
        self.ca_pem = ca.cert_pem.bytes() if ca is not None else b""
        if ca is not None:
            context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
            ca.issue_cert(*names).configure_cert(context)  # pyright: ignore[reportUnknownMemberType]
            self._server.socket = context.wrap_socket(
                self._server.socket, server_side=True
            )
            self.scheme = "https"
        self._thread = threading.Thread(
            target=self._server.serve_forever,
            kwargs={"poll_interval": 0.05},
            daemon=True,
        )
        self._thread.start()

    @property
    def url(self) -> str:
        return f"{self.scheme}://127.0.0.1:{self.port}"

    def close(self) -> None:
        self.closing.set()
        self._server.shutdown()
        self._server.server_close()
        self._thread.join()

    def require_basic_auth(self, user: str, password: str) -> None:
        """Answer 401 to every request without these credentials (Basic auth)."""
        pair = base64.b64encode(f"{user}:{password}".encode()).decode()
        self.required_authorization = f"Basic {pair}"

    def reset(self) -> None:
        self.requests.clear()
        self.body_bytes = 0

    # -- routes ------------------------------------------------------------

    def add(self, path: str, handler: Handler) -> None:
        self.routes[path] = handler

    def add_page(self, path: str, html: str | bytes, status: int = 200) -> None:
        """A discovery page (served whatever the query)."""
        body = html.encode() if isinstance(html, str) else html
        self.add(path, lambda h: h.send_simple(status, body))

    def add_redirect(self, path: str, location: str, status: int = 302) -> None:
        self.add(path, lambda h: h.send_simple(status, b"", {"Location": location}))

    def add_endless_redirect(self, path: str) -> None:
        counter = iter(range(1_000_000))

        def handler(h: RequestHandler) -> None:
            h.send_simple(302, b"", {"Location": f"{path}?hop={next(counter)}"})

        self.add(path, handler)

    def add_huge_page(self, path: str, size: int) -> None:
        """A page of ``size`` bytes, streamed (never held in memory)."""

        def handler(h: RequestHandler) -> None:
            h.send_response(200)
            h.send_header("Content-Type", "text/html")
            h.send_header("Content-Length", str(size))
            h.end_headers()
            block = b"<p>" + b"x" * 65533
            sent = 0
            try:
                while sent < size:
                    piece = block[: size - sent]
                    h.wfile.write(piece)
                    sent += len(piece)
            except OSError:
                pass

        self.add(path, handler)

    def add_slow_page(self, path: str) -> None:
        """A page that sends one byte every SLOW_INTERVAL until the client gives up."""

        def handler(h: RequestHandler) -> None:
            h.send_response(200)
            h.send_header("Content-Type", "text/html")
            h.send_header("Connection", "close")
            h.end_headers()
            h.close_connection = True
            try:
                for _ in range(100_000):
                    h.wfile.write(b" ")
                    h.wfile.flush()
                    time.sleep(SLOW_INTERVAL)
            except OSError:
                pass

        self.add(path, handler)

    def add_stall(self, path: str) -> None:
        """Headers, then nothing until the server closes."""

        def handler(h: RequestHandler) -> None:
            h.send_response(200)
            h.send_header("Content-Length", "10")
            h.end_headers()
            h.wfile.flush()
            self.closing.wait(30)

        self.add(path, handler)

    def add_lying_length(self, path: str, body: bytes, claimed: int) -> None:
        """Claims ``claimed`` bytes of Content-Length, sends ``body``, closes."""

        def handler(h: RequestHandler) -> None:
            h.send_response(200)
            h.send_header("Content-Type", "application/octet-stream")
            h.send_header("Content-Length", str(claimed))
            h.send_header("Connection", "close")
            h.end_headers()
            h.wfile.write(body)
            h.close_connection = True

        self.add(path, handler)

    def add_file(
        self,
        path: str,
        data: bytes,
        *,
        etag: bool = True,
        ranges: bool = True,
        cache_control: str | None = None,
        last_modified: float | None = None,
    ) -> ServedFile:
        served = ServedFile(
            data=data,
            etag='"' + hashlib.sha256(data).hexdigest()[:16] + '"' if etag else None,
            last_modified=time.time() - 60 if last_modified is None else last_modified,
            ranges=ranges,
            cache_control=cache_control,
        )
        self.add(path, lambda h: self._serve_file(h, served))
        return served

    def _serve_file(self, h: RequestHandler, served: ServedFile) -> None:
        headers: dict[str, str] = {
            "Last-Modified": email.utils.formatdate(served.last_modified, usegmt=True)
        }
        if served.etag:
            headers["ETag"] = served.etag
        if served.ranges:
            headers["Accept-Ranges"] = "bytes"
        if served.cache_control:
            headers["Cache-Control"] = served.cache_control
        if _not_modified(h, served):
            h.send_response(304)
            for key, value in headers.items():
                h.send_header(key, value)
            h.send_header("Content-Length", "0")
            h.end_headers()
            return
        data = served.data
        range_header = h.headers.get("Range")
        if served.ranges and range_header and _if_range_ok(h, served):
            start = int(range_header.removeprefix("bytes=").split("-")[0])
            if start >= len(data):
                h.send_simple(
                    416, b"", {**headers, "Content-Range": f"bytes */{len(data)}"}
                )
                return
            body = data[start:]
            headers["Content-Range"] = f"bytes {start}-{len(data) - 1}/{len(data)}"
            if served.cut_ranges and served.cut_at is not None and served.cuts_left > 0:
                served.cuts_left -= 1
                self._cut(h, 206, headers, body, served.cut_at)
                return
            h.send_simple(206, body, headers, "application/octet-stream")
            return
        if served.cut_at is not None and served.cuts_left > 0:
            served.cuts_left -= 1
            self._cut(h, 200, headers, data, served.cut_at)
            return
        h.send_simple(200, data, headers, "application/octet-stream")

    def _cut(
        self,
        h: RequestHandler,
        status: int,
        headers: dict[str, str],
        data: bytes,
        at: int,
    ) -> None:
        """Announce all of ``data``, send ``at`` bytes of it, then drop the connection."""
        h.send_response(status)
        for key, value in headers.items():
            h.send_header(key, value)
        h.send_header("Content-Type", "application/octet-stream")
        h.send_header("Content-Length", str(len(data)))
        h.send_header("Connection", "close")
        h.end_headers()
        h.wfile.write(data[:at])
        h.wfile.flush()
        self.body_bytes += min(at, len(data))
        h.close_connection = True
        # Drop the connection without a clean TLS shutdown, as a crash would.
        h.connection.shutdown(socket.SHUT_RDWR)


def _not_modified(h: RequestHandler, served: ServedFile) -> bool:
    match = h.headers.get("If-None-Match")
    if match is not None:
        return served.etag is not None and match == served.etag
    since = h.headers.get("If-Modified-Since")
    if since is not None:
        parsed = email.utils.parsedate_to_datetime(since).timestamp()
        return int(served.last_modified) <= parsed
    return False


def _if_range_ok(h: RequestHandler, served: ServedFile) -> bool:
    validator = h.headers.get("If-Range")
    if validator is None:
        return True
    if validator.startswith('"'):
        return validator == served.etag
    return email.utils.formatdate(served.last_modified, usegmt=True) == validator


@contextmanager
def page_server(ca: trustme.CA | None = None) -> Generator[PageServer]:
    server = PageServer(ca=ca)
    try:
        yield server
    finally:
        server.close()


def meta_page(*tags: tuple[str, str]) -> str:
    """An HTML page with one ``<meta name=... content=...>`` per (name, content)."""
    metas = "\n".join(
        f'<meta name="{name}" content="{content}">' for name, content in tags
    )
    return f"<!DOCTYPE html>\n<html><head><title>x</title>\n{metas}\n</head><body></body></html>\n"


def write_ca(ca: trustme.CA, directory: Path) -> Path:
    path = directory / "ca.pem"
    ca.cert_pem.write_to_path(str(path))
    return path
