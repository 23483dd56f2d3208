"""A transport for tests: answer ``appc``'s HTTP requests with a function.

>>> from appc.discovery import Response, discover
>>> from appc.testing import MockTransport
>>> def handler(request):
...     if request.url == "https://example.com/app?ac-discovery=1":
...         return Response(status=200, content=b'<meta name="ac-discovery" content="example.com https://cdn.example.com/app.{ext}">')
...     return Response(status=404)
>>> transport = MockTransport(handler)
>>> discover("example.com/app", transport=transport).endpoints[0].asc
'https://cdn.example.com/app.aci.asc'
>>> [request.url for request in transport.requests]
['https://example.com/app?ac-discovery=1', 'https://example.com?ac-discovery=1']
"""

from __future__ import annotations

from collections.abc import Callable

from appc.discovery._protocol import Request, Response


__all__ = ["MockTransport"]


class MockTransport:
    """A :class:`~appc.discovery.http.Transport` whose answers come from ``handler(request)``.

    Every request is kept in ``requests``. The handler may raise
    :class:`~appc.errors.TransportError` to play a network failure.
    """

    def __init__(self, handler: Callable[[Request], Response]) -> None:
        self.handler = handler
        self.requests: list[Request] = []

    def send(self, request: Request) -> Response:
        """Record ``request`` and return the handler's response."""
        self.requests.append(request)
        response = self.handler(request)
        if not response.url:
            response.url = request.url
        return response
