"""A Docker registry (API v2) client: manifests, blobs, auth.

It speaks what registries serve today: Docker schema 2 and OCI manifests,
manifest lists and OCI indexes (one platform is picked), anonymous, basic
and bearer-token auth (credentials from ``~/.docker/config.json``). Unlike
docker2aci it verifies everything: each manifest against the digest asked
for or the ``Docker-Content-Digest`` the registry announced, each blob
against its digest and size, each layer against the config's ``diff_ids``.

Requests go through :class:`appc.discovery.Client` over a
:class:`~appc.discovery.Transport` (urllib3 by default), so the registry
follows the project's one HTTP policy, as discovery and fetch do: HTTPS is
the default; ``insecure_allow_http`` falls back to plain HTTP and
``insecure_skip_verify`` skips certificate checks, each only when asked; at
most :data:`appc.discovery.MAX_REDIRECTS` redirects, never from HTTPS to
HTTP without ``insecure_allow_http``; and the ``Authorization`` header goes
only to the origin it was meant for, never to blob storage on another host.

>>> parse_challenge('Bearer realm="https://auth.example.com/token",service="reg"')
('bearer', {'realm': 'https://auth.example.com/token', 'service': 'reg'})
"""

from __future__ import annotations

import base64
import hashlib
import logging
import os
import re
import urllib.parse

from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any, Final, Self

from appc.docker._config import MAX_JSON_SIZE, as_object, load_json, parse_image_config
from appc.docker._layers import MAX_LAYERS
from appc.docker._reference import DockerReference, parse_reference
from appc.docker._save import INDEX_MEDIA_TYPES, MANIFEST_MEDIA_TYPES
from appc.docker._source import (
    Digest,
    FileLayer,
    Progress,
    ResolvedImage,
    WindowLayer,
    select_platform,
    spool_layer,
)
from appc.errors import ConversionError, LimitExceeded, RegistryError, TransportError


if TYPE_CHECKING:
    from appc.discovery import Response, Transport, Urllib3Transport


__all__ = [
    "ACCEPT",
    "RegistryClient",
    "fetch_image",
    "load_credentials",
    "parse_challenge",
]

logger = logging.getLogger(__name__)

#: The manifest media types asked for, best first. Schema 1 is not among them.
ACCEPT: Final = (
    "application/vnd.oci.image.index.v1+json",
    "application/vnd.docker.distribution.manifest.list.v2+json",
    "application/vnd.oci.image.manifest.v1+json",
    "application/vnd.docker.distribution.manifest.v2+json",
)
_SCHEMA1: Final = (
    "application/vnd.docker.distribution.manifest.v1+json",
    "application/vnd.docker.distribution.manifest.v1+prettyjws",
)
_FOREIGN: Final = (
    "application/vnd.docker.image.rootfs.foreign.diff.tar.gzip",
    "application/vnd.oci.image.layer.nondistributable.v1.tar",
    "application/vnd.oci.image.layer.nondistributable.v1.tar+gzip",
    "application/vnd.oci.image.layer.nondistributable.v1.tar+zstd",
)
#: Manifest lists and indexes followed down to one image manifest.
MAX_INDEX_DEPTH: Final = 4
_DOCKER_HUB_KEYS: Final = (
    "https://index.docker.io/v1/",
    "index.docker.io",
    "docker.io",
    "registry-1.docker.io",
)
_CHALLENGE_PARAM: Final = re.compile(
    r'\s*([A-Za-z0-9_-]+)\s*=\s*(?:"((?:[^"\\]|\\.)*)"|([^,\s]*))\s*,?'
)


def parse_challenge(header: str) -> tuple[str, dict[str, str]]:
    """Split a ``WWW-Authenticate`` header into its scheme and parameters.

    >>> parse_challenge('Basic realm="test"')
    ('basic', {'realm': 'test'})
    """
    scheme, _, rest = header.strip().partition(" ")
    params: dict[str, str] = {}
    for match in _CHALLENGE_PARAM.finditer(rest):
        value = match[2] if match[2] is not None else match[3]
        params[match[1].lower()] = re.sub(r"\\(.)", r"\1", value)
    return scheme.lower(), params


def _config_path() -> Path:
    directory = os.environ.get("DOCKER_CONFIG")
    if directory:
        return Path(directory) / "config.json"
    return Path.home() / ".docker" / "config.json"


def load_credentials(registry: str) -> tuple[str, str] | None:
    """The (user, password) ``docker login`` stored for ``registry``, if any.

    Reads ``$DOCKER_CONFIG/config.json`` (default ``~/.docker/config.json``),
    then the legacy ``~/.dockercfg``. Credential helpers are not run.
    """
    keys = [
        registry,
        f"https://{registry}",
        f"http://{registry}",
        f"https://{registry}/v1/",
    ]
    if registry in _DOCKER_HUB_KEYS:
        keys[:0] = _DOCKER_HUB_KEYS
    for path, nested in ((_config_path(), True), (Path.home() / ".dockercfg", False)):
        try:
            text = path.read_bytes()
        except OSError:
            continue
        try:
            document = load_json(text, str(path))
        except ConversionError:
            logger.warning("ignoring %s: not valid JSON", path)
            continue
        top = as_object(document)
        if top is None:
            continue
        auths = as_object(top.get("auths", {})) if nested else top
        if nested and (top.get("credsStore") or top.get("credHelpers")):
            logger.info("%s names credential helpers; they are not run", path)
        if auths is None:
            continue
        for key in keys:
            entry = as_object(auths.get(key))
            if entry is not None:
                found = _entry_credentials(entry)
                if found is not None:
                    return found
    return None


def _entry_credentials(entry: Mapping[str, Any]) -> tuple[str, str] | None:
    auth = entry.get("auth")
    if isinstance(auth, str) and auth:
        try:
            user, colon, password = (
                base64.b64decode(auth, validate=True).decode().partition(":")
            )
        except (ValueError, UnicodeDecodeError):
            return None
        return (user, password) if colon else None
    username: object = entry.get("username")
    secret: object = entry.get("password")
    if isinstance(username, str) and isinstance(secret, str) and username:
        return username, secret
    return None


def _basic(credentials: tuple[str, str]) -> str:
    return (
        "Basic "
        + base64.b64encode(f"{credentials[0]}:{credentials[1]}".encode()).decode()
    )


def _read(response: Response, limit: int) -> bytes:
    """Up to ``limit`` bytes of a body, a broken connection being a registry error."""
    try:
        return response.read(limit)
    except TransportError as exc:
        raise RegistryError(f"GET {response.url}: {exc}") from exc


class RegistryClient:
    """Requests to one registry, with auth and scheme fallback, under appc's HTTP policy.

    Requests go through :class:`appc.discovery.Client` over ``transport``
    (default: an :class:`~appc.discovery.Urllib3Transport` trusting
    ``ca_certs`` if given, else the system CAs; tests pass
    :class:`appc.testing.MockTransport`). ``insecure_allow_http`` allows
    plain http, as a fallback when https fails and in redirects;
    ``insecure_skip_verify`` skips certificate checks. Credentials default
    to what ``docker login`` stored for the registry. Failures are
    :class:`~appc.errors.RegistryError`, caused by the transport's error.

    >>> from appc.discovery import Response
    >>> from appc.testing import MockTransport
    >>> transport = MockTransport(lambda request: Response(status=200))
    >>> with RegistryClient("registry.example.com", transport=transport) as client:
    ...     client.ping()
    >>> transport.requests[0].url
    'https://registry.example.com/v2/'
    """

    def __init__(
        self,
        registry: str,
        *,
        insecure_allow_http: bool = False,
        insecure_skip_verify: bool = False,
        ca_certs: str | os.PathLike[str] | None = None,
        credentials: tuple[str, str] | None = None,
        transport: Transport | None = None,
    ) -> None:
        from appc.discovery import Client, Insecure, Urllib3Transport

        if transport is not None and ca_certs is not None:
            raise ConversionError(
                "ca_certs configures the default transport: give it to your"
                " transport instead (Urllib3Transport(ca_certs=...))"
            )
        self.registry = registry
        self._allow_http = insecure_allow_http
        self._credentials = (
            credentials if credentials is not None else load_credentials(registry)
        )
        self._authorization: dict[str, str] = {}  # scope -> header value
        self._scheme = "https"
        self._own_transport: Urllib3Transport | None = None
        if transport is None:
            transport = self._own_transport = Urllib3Transport(ca_certs=ca_certs)
        insecure = Insecure.NONE
        if insecure_allow_http:
            insecure |= Insecure.HTTP
        if insecure_skip_verify:
            insecure |= Insecure.TLS
        self._client = Client(transport, insecure=insecure)

    def close(self) -> None:
        """Close the connections of the default transport (a given one is the caller's)."""
        if self._own_transport is not None:
            self._own_transport.close()

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- transport ------------------------------------------------------

    def _open(self, url: str, headers: Mapping[str, str]) -> Response:
        """GET under the client's policy; any final status is returned."""
        try:
            return self._client.open(url, headers=headers)
        except TransportError as exc:
            raise RegistryError(f"GET {url}: {exc}") from exc

    def _authorized(
        self, url: str, headers: Mapping[str, str], authorization: str | None
    ) -> Response:
        # The client drops Authorization on a redirect to another origin.
        if authorization is None:
            return self._open(url, headers)
        return self._open(url, {**headers, "Authorization": authorization})

    def _url(self, path: str) -> str:
        return f"{self._scheme}://{self.registry}{path}"

    def ping(self) -> None:
        """Check that the registry speaks API v2 (falling back to HTTP if allowed)."""
        try:
            response = self._open(self._url("/v2/"), {})
        except RegistryError:
            if not self._allow_http:
                raise
            logger.info("%s: https failed, trying http", self.registry)
            self._scheme = "http"
            response = self._open(self._url("/v2/"), {})
        response.close()
        if response.status not in (200, 401):
            raise RegistryError(
                f"{self.registry} is not a Docker registry v2 (HTTP {response.status} on /v2/)"
            )

    def _token(self, params: Mapping[str, str], scope: str) -> str:
        realm = params.get("realm", "")
        if not realm:
            raise RegistryError(
                f"{self.registry}: missing realm in bearer auth challenge"
            )
        query = {"scope": params.get("scope") or scope}
        if params.get("service"):
            query["service"] = params["service"]
        url = realm + ("&" if "?" in realm else "?") + urllib.parse.urlencode(query)
        headers: dict[str, str] = {}
        if self._credentials is not None:
            headers["Authorization"] = _basic(self._credentials)
        try:
            response = self._client.open(url, headers=headers)
        except TransportError as exc:
            raise RegistryError(
                f"{self.registry}: cannot get a token from {realm}: {exc}"
            ) from exc
        with response:
            if response.status != 200:
                raise RegistryError(
                    f"{self.registry}: the token service answered HTTP {response.status}"
                )
            document = load_json(_read(response, MAX_JSON_SIZE + 1), "token response")
        answer = as_object(document) or {}
        token: Any = answer.get("token") or answer.get("access_token")
        if not isinstance(token, str) or not token:
            raise RegistryError(f"{self.registry}: the token service sent no token")
        return f"Bearer {token}"

    def get(
        self, path: str, repository: str, headers: Mapping[str, str] = {}
    ) -> Response:
        """An authorised GET of ``path``: a 2xx response, its body unread (close it)."""
        scope = f"repository:{repository}:pull"
        url = self._url(path)
        response = self._authorized(url, headers, self._authorization.get(scope))
        if response.status == 401:
            challenge = response.headers.get("WWW-Authenticate", "")
            response.close()
            scheme, params = parse_challenge(challenge)
            if scheme == "bearer":
                self._authorization[scope] = self._token(params, scope)
            elif scheme == "basic" and self._credentials is not None:
                self._authorization[scope] = _basic(self._credentials)
            else:
                raise RegistryError(
                    f"{self.registry} asks for credentials: log in with `docker login "
                    f"{self.registry}` (credentials are read from {_config_path()})"
                )
            response = self._authorized(url, headers, self._authorization[scope])
        if 200 <= response.status < 300:
            return response
        status = response.status
        with response:
            body = _read(response, 4096).decode("utf-8", "replace").strip()
        if status == 401:
            raise RegistryError(
                f"GET {url}: access denied (HTTP 401), check your credentials"
            )
        if status == 404:
            raise RegistryError(f"GET {url}: not found (HTTP 404) {body}".rstrip())
        raise RegistryError(f"GET {url}: HTTP {status} {body}".rstrip())

    # -- API ----------------------------------------------------------------

    def manifest(self, repository: str, reference: str) -> tuple[Any, str, str]:
        """Fetch and verify a manifest; returns (document, media type, digest)."""
        response = self.get(
            f"/v2/{repository}/manifests/{reference}",
            repository,
            {"Accept": ", ".join(ACCEPT)},
        )
        with response:
            data = _read(response, MAX_JSON_SIZE + 1)
        announced = response.headers.get("Docker-Content-Digest", "")
        media_type = response.headers.get("Content-Type", "").split(";")[0].strip()
        if len(data) > MAX_JSON_SIZE:
            raise LimitExceeded(
                "MAX_JSON_SIZE", MAX_JSON_SIZE, "manifest is too large (MAX_JSON_SIZE)"
            )
        what = f"manifest {repository}@{reference}"
        expected = reference if ":" in reference else announced
        if expected:
            Digest.parse(expected).verify(data, what)
            digest = expected
        else:
            digest = "sha256:" + hashlib.sha256(data).hexdigest()
        document = as_object(load_json(data, what))
        if document is None:
            raise RegistryError(f"{what}: not a JSON object")
        body_type: Any = document.get("mediaType")
        if media_type in _SCHEMA1 or document.get("schemaVersion") == 1:
            raise RegistryError(
                f"{what} is a Docker schema 1 manifest, which is not supported: "
                "push the image again with a current client"
            )
        if media_type not in (*INDEX_MEDIA_TYPES, *MANIFEST_MEDIA_TYPES) and isinstance(
            body_type, str
        ):
            media_type = body_type
        return document, media_type, digest

    def blob(self, repository: str, digest: Digest) -> Response:
        """Start downloading a blob (the caller verifies it while reading, and closes it)."""
        return self.get(f"/v2/{repository}/blobs/{digest}", repository)

    def small_blob(self, repository: str, digest: Digest, what: str) -> bytes:
        """Download and verify a blob that fits in memory (a config)."""
        with self.blob(repository, digest) as response:
            data = _read(response, MAX_JSON_SIZE + 1)
        if len(data) > MAX_JSON_SIZE:
            raise LimitExceeded(
                "MAX_JSON_SIZE", MAX_JSON_SIZE, f"{what} is too large (MAX_JSON_SIZE)"
            )
        return digest.verify(data, what)


def _dict(value: Any, what: str) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise RegistryError(f"invalid {what}: expected an object")
    return value  # pyright: ignore[reportUnknownVariableType]


def _list(value: Any, what: str) -> list[Any]:
    if not isinstance(value, list):
        raise RegistryError(f"invalid {what}: expected a list")
    return value  # pyright: ignore[reportUnknownVariableType]


def fetch_image(
    source: str,
    directory: Path,
    *,
    os_name: str | None = None,
    arch: str | None = None,
    insecure_allow_http: bool = False,
    insecure_skip_verify: bool = False,
    ca_certs: str | os.PathLike[str] | None = None,
    credentials: tuple[str, str] | None = None,
    progress: Progress | None = None,
    transport: Transport | None = None,
) -> ResolvedImage:
    """Resolve ``docker://…`` to one image, its layers downloaded into ``directory``.

    The options are :class:`RegistryClient`'s.
    """
    reference = parse_reference(source)
    with RegistryClient(
        reference.registry,
        insecure_allow_http=insecure_allow_http,
        insecure_skip_verify=insecure_skip_verify,
        ca_certs=ca_certs,
        credentials=credentials,
        transport=transport,
    ) as client:
        client.ping()
        return _fetch(
            client,
            reference,
            directory=directory,
            os_name=os_name,
            arch=arch,
            progress=progress,
        )


def _fetch(
    client: RegistryClient,
    reference: DockerReference,
    *,
    directory: Path,
    os_name: str | None,
    arch: str | None,
    progress: Progress | None,
) -> ResolvedImage:
    repository = reference.repository
    document, media_type, digest = client.manifest(
        repository, reference.digest or reference.tag
    )
    for _depth in range(MAX_INDEX_DEPTH):
        if media_type not in INDEX_MEDIA_TYPES:
            break
        entries = [
            _dict(e, "manifest list entry")
            for e in _list(document.get("manifests"), "manifest list")
        ]
        chosen = select_platform(
            entries, os_name=os_name, arch=arch, what=f"{reference}"
        )
        child = Digest.parse(chosen.get("digest"))
        document, media_type, digest = client.manifest(repository, str(child))
    if media_type not in MANIFEST_MEDIA_TYPES:
        raise RegistryError(
            f'{reference}: unsupported manifest media type "{media_type}"'
        )
    config_descriptor = _dict(document.get("config"), "manifest config")
    config_digest = Digest.parse(config_descriptor.get("digest"))
    config = parse_image_config(
        load_json(
            client.small_blob(repository, config_digest, "image config"), "image config"
        )
    )
    descriptors = [
        _dict(d, "manifest layer")
        for d in _list(document.get("layers"), "manifest layers")
    ]
    if len(descriptors) > MAX_LAYERS:
        raise LimitExceeded(
            "MAX_LAYERS", MAX_LAYERS, f"more than {MAX_LAYERS} layers (MAX_LAYERS)"
        )
    if len(config.diff_ids) != len(descriptors):
        raise ConversionError(
            f"{reference}: the config lists {len(config.diff_ids)} layers, the manifest {len(descriptors)}"
        )
    layers: list[FileLayer | WindowLayer] = []
    for number, (descriptor, diff_id) in enumerate(
        zip(descriptors, config.diff_ids, strict=True)
    ):
        if descriptor.get("mediaType") in _FOREIGN:
            raise ConversionError(
                f"{reference}: layer {number} is a foreign (non-distributable) layer, not supported"
            )
        blob_digest = Digest.parse(descriptor.get("digest"))
        size = descriptor.get("size")
        with client.blob(repository, blob_digest) as response:
            try:
                layer = spool_layer(
                    response,  # type: ignore[arg-type]
                    label=f"Downloading {str(blob_digest)[:19]}",
                    directory=directory,
                    blob_digest=blob_digest,
                    diff_id=Digest.parse(diff_id),
                    size=size if isinstance(size, int) else None,
                    progress=progress,
                )
            except TransportError as exc:
                raise RegistryError(
                    f"downloading layer {number} ({blob_digest}): {exc}"
                ) from exc
        layers.append(layer)
    return ResolvedImage(
        config=config,
        layers=tuple(layers),
        layer_ids=config.diff_ids,
        reference=reference,
        fallback_name=reference.repository.rpartition("/")[2],
        manifest_digest=digest,
    )
