"""Image discovery: from an image name to the URLs of the image, its signature and keys.

Meta discovery as the appc spec (0.8.11) and the Go reference do it: fetch
``https://PREFIX?ac-discovery=1`` for the name and each parent, read its
``ac-discovery`` and ``ac-discovery-pubkeys`` meta tags, fill the URL
templates with the name and labels. The logic is sans-IO
(:class:`Resolver`); :func:`discover` runs it over a :class:`Transport`
(urllib3 by default). Where the reference is unsafe, ``appc`` is not: meta
prefixes match whole path components, label values are percent-encoded,
https never falls back or redirects to http unless insecure http was asked
for, credentials never follow a redirect to another host, and pages are
bounded in redirects, size and time. Proxies come from ``HTTPS_PROXY``,
``HTTP_PROXY`` and ``NO_PROXY``, read as Go reads them (:class:`ProxyConfig`).

>>> from appc.discovery import Response, discover
>>> from appc.testing import MockTransport
>>> page = b'''<meta name="ac-discovery" content="example.com https://example.com/{name}-{version}.{ext}">
... <meta name="ac-discovery-pubkeys" content="example.com https://example.com/pubkeys.gpg">'''
>>> result = discover("example.com/app:1.0", transport=MockTransport(lambda r: Response(status=200, content=page)))
>>> result.endpoints[0].aci, result.public_keys
('https://example.com/example.com/app-1.0.aci', ('https://example.com/pubkeys.gpg',))
"""

from __future__ import annotations

from appc.discovery._meta import MetaTag, parse_meta_tags, prefix_matches
from appc.discovery._protocol import Headers, Insecure, Request, Response
from appc.discovery._proxy import ProxyConfig
from appc.discovery._template import DEFAULT_VERSION, quote_value, render
from appc.discovery.http import (
    CONNECT_TIMEOUT,
    MAX_PAGE_SIZE,
    MAX_REDIRECTS,
    PAGE_TIMEOUT,
    READ_TIMEOUT,
    Client,
    HostHeaders,
    Transport,
    Urllib3Transport,
    discover,
)
from appc.discovery.resolver import (
    ACIEndpoint,
    DiscoveryResult,
    FailedAttempt,
    Resolver,
    image_ref,
)


__all__ = [
    "CONNECT_TIMEOUT",
    "DEFAULT_VERSION",
    "MAX_PAGE_SIZE",
    "MAX_REDIRECTS",
    "PAGE_TIMEOUT",
    "READ_TIMEOUT",
    "ACIEndpoint",
    "Client",
    "DiscoveryResult",
    "FailedAttempt",
    "Headers",
    "HostHeaders",
    "Insecure",
    "MetaTag",
    "ProxyConfig",
    "Request",
    "Resolver",
    "Response",
    "Transport",
    "Urllib3Transport",
    "discover",
    "image_ref",
    "parse_meta_tags",
    "prefix_matches",
    "quote_value",
    "render",
]
