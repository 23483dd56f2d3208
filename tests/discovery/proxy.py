"""A forwarding HTTP proxy on 127.0.0.1 for the proxy tests, as squid or tinyproxy behave.

``CONNECT host:port`` opens a tunnel (https); a request with an absolute URI
(``GET http://host:port/path``) is forwarded (plain http). The proxy
resolves host names itself, from its ``hosts`` table only (``images.test``
-> ``127.0.0.1`` by default): a made-up name reaches the test servers
through it and nowhere else, and anything else gets a 502. It counts what
it handled, and with :meth:`ForwardingProxy.require_basic_auth` answers 407
to a request without those credentials. Given a ``trustme`` CA it speaks TLS
itself (an ``https://`` proxy).
"""

from __future__ import annotations

import base64
import http.client
import http.server
import select
import socket
import ssl
import threading
import urllib.parse

from collections.abc import Mapping
from typing import Any

import attrs
import trustme


# Headers that concern one connection, not the request: not forwarded.
_HOP_BY_HOP = frozenset(
    {
        "connection",
        "keep-alive",
        "proxy-authorization",
        "proxy-connection",
        "te",
        "trailer",
        "transfer-encoding",
        "upgrade",
    }
)


@attrs.frozen
class Handled:
    """One request the proxy received: ``CONNECT images.test:443`` or ``GET http://...``."""

    method: str
    target: str
    proxy_authorization: str | None


class _Handler(http.server.BaseHTTPRequestHandler):
    server: _Server  # pyright: ignore[reportIncompatibleVariableOverride]
    protocol_version = "HTTP/1.1"

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002
        pass

    def _admit(self) -> bool:
        owner = self.server.owner
        given = self.headers.get("Proxy-Authorization")
        owner.handled.append(Handled(self.command, self.path, given))
        wanted = owner.required_authorization
        if wanted is None or given == wanted:
            return True
        self.send_response(407, "Proxy Authentication Required")
        self.send_header("Proxy-Authenticate", 'Basic realm="proxy"')
        self.send_header("Content-Length", "0")
        self.end_headers()
        return False

    def _refuse(self, status: int, reason: str) -> None:
        self.send_response(status, reason)
        self.send_header("Content-Length", "0")
        self.send_header("Connection", "close")
        self.end_headers()
        self.close_connection = True

    def do_CONNECT(self) -> None:
        if not self._admit():
            return
        host, _, port = self.path.rpartition(":")
        address = self.server.owner.hosts.get(host)
        if address is None or not port.isdigit():
            self._refuse(502, "Bad Gateway")
            return
        try:
            upstream = socket.create_connection((address, int(port)), timeout=10)
        except OSError:
            self._refuse(502, "Bad Gateway")
            return
        self.send_response(200, "Connection established")
        self.end_headers()
        self.wfile.flush()
        self.close_connection = True
        with upstream:
            _relay(self.connection, upstream, self.server.owner.closing)

    def _forward(self) -> None:
        if not self._admit():
            return
        parts = urllib.parse.urlsplit(self.path)
        address = self.server.owner.hosts.get(parts.hostname or "")
        if parts.scheme != "http" or address is None:
            self._refuse(502, "Bad Gateway")
            return
        headers = {
            key: value
            for key, value in self.headers.items()
            if key.lower() not in _HOP_BY_HOP
        }
        upstream = http.client.HTTPConnection(address, parts.port or 80, timeout=10)
        try:
            path = parts.path or "/"
            if parts.query:
                path = f"{path}?{parts.query}"
            upstream.request(self.command, path, headers=headers)
            answer = upstream.getresponse()
            body = answer.read()
        finally:
            upstream.close()
        self.send_response(answer.status, answer.reason)
        for key, value in answer.getheaders():
            if key.lower() not in _HOP_BY_HOP and key.lower() != "content-length":
                self.send_header(key, value)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)

    do_GET = _forward  # noqa: N815
    do_HEAD = _forward  # noqa: N815


def _relay(
    client: socket.socket, upstream: socket.socket, closing: threading.Event
) -> None:
    """Copy bytes both ways until a side closes (or the proxy does)."""
    peers: dict[socket.socket, socket.socket] = {client: upstream, upstream: client}
    while not closing.is_set():
        # Bytes TLS has already decrypted are not seen by select: read them first.
        ready: list[socket.socket] = [
            s for s in peers if isinstance(s, ssl.SSLSocket) and s.pending()
        ]
        if not ready:
            ready, _, _ = select.select(list(peers), [], [], 0.05)
        for source in ready:
            try:
                data = source.recv(65536)
                if not data:
                    return
                peers[source].sendall(data)
            except OSError:
                return


class _Server(http.server.ThreadingHTTPServer):
    daemon_threads = True
    block_on_close = False
    owner: ForwardingProxy


class ForwardingProxy:
    """A proxy on 127.0.0.1: ``url`` is ``http://127.0.0.1:PORT`` (``https://`` with a CA)."""

    def __init__(
        self,
        *,
        hosts: Mapping[str, str] | None = None,
        ca: trustme.CA | None = None,
    ) -> None:
        self.hosts = dict(hosts or {"images.test": "127.0.0.1"})
        self.handled: list[Handled] = []
        # When set, every request without this Proxy-Authorization value gets a 407.
        self.required_authorization: str | None = None
        self.closing = threading.Event()
        self._server = _Server(("127.0.0.1", 0), _Handler)
        self._server.owner = self
        self.port: int = self._server.server_address[1]
        self.scheme = "http"
        if ca is not None:
            context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
            ca.issue_cert("127.0.0.1").configure_cert(context)  # pyright: ignore[reportUnknownMemberType]
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

    def url_with(self, user: str, password: str) -> str:
        """The proxy's URL with credentials, percent-encoded."""
        quoted = f"{urllib.parse.quote(user, safe='')}:{urllib.parse.quote(password, safe='')}"
        return f"{self.scheme}://{quoted}@127.0.0.1:{self.port}"

    def require_basic_auth(self, user: str, password: str) -> None:
        """Answer 407 to every request without these credentials."""
        pair = base64.b64encode(f"{user}:{password}".encode()).decode()
        self.required_authorization = f"Basic {pair}"

    @property
    def targets(self) -> list[str]:
        """``METHOD target`` of each request handled."""
        return [f"{h.method} {h.target}" for h in self.handled]

    def close(self) -> None:
        self.closing.set()
        self._server.shutdown()
        self._server.server_close()
        self._thread.join()
