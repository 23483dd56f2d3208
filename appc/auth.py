"""Credentials for discovery, fetch and Docker registries, from rkt's ``auth.d`` files.

rkt read credentials from ``*.json`` files in ``auth.d/`` under its
configuration directories; ``appc`` reads the same files, so that a machine
set up for rkt keeps working:

- system: ``/usr/lib/rkt/auth.d`` (the distribution's),
- local: ``/etc/rkt/auth.d`` (the administrator's),
- user: ``$XDG_CONFIG_HOME/appc/auth.d`` (``~/.config/appc/auth.d``).

A file holds one of two kinds of entry::

    {"rktKind": "auth", "rktVersion": "v1",
     "domains": ["example.com", "images.example.com:8443"],
     "type": "basic", "credentials": {"user": "bob", "password": "s3cret"}}

    {"rktKind": "dockerAuth", "rktVersion": "v1",
     "registries": ["registry-1.docker.io", "quay.io"],
     "credentials": {"user": "bob", "password": "s3cret"}}

``auth`` gives each domain (``host`` or ``host:port``) an ``Authorization``
header for its discovery pages, images, signatures and keys: type ``basic``
(``{"user", "password"}``) sends ``Basic base64(user:password)``, type
``oauth`` (``{"token"}``) sends ``Bearer <token>``. Type ``aws`` (rkt's S3
signature version 4, ``{"accessKeyID", "secretAccessKey", "awsRegion"}``) is
**not supported**: the entry is checked, a warning is logged, and requests to
its domains carry no credentials; it still overrides the same domain in an
earlier directory, so that no other credential is sent there instead.
``dockerAuth`` gives a user and password per Docker registry
(``appc docker2aci``).

The rules are rkt's: only names ending in ``.json``, in name order, not
recursively; a later directory overrides an earlier one domain by domain
(system < local < user); the same domain twice within one directory is an
error. Unlike rkt, a symbolic link to a file is read (Kubernetes mounts
secrets that way), and a file the user may not read (credentials in
``/etc/rkt`` kept for root) is skipped with a warning rather than failing
every fetch. A file that cannot be used raises
:class:`~appc.errors.AuthConfigError`, naming the file; no credential is ever
shown in a ``repr``, a log line or an error message.

:class:`appc.discovery.Client` sends these headers only over https, never
over plain http, even when insecure http is allowed (as rkt).

>>> import json, tempfile
>>> from pathlib import Path
>>> with tempfile.TemporaryDirectory() as config_dir:
...     auth_d = Path(config_dir, "auth.d")
...     auth_d.mkdir()
...     entry = {"rktKind": "auth", "rktVersion": "v1", "domains": ["example.com"],
...              "type": "basic", "credentials": {"user": "bob", "password": "s3cret"}}
...     _ = (auth_d / "example.json").write_text(json.dumps(entry))
...     config = load_auth_config(system_config=None, local_config=None, user_config=config_dir)
>>> config.host_headers()["example.com"]["Authorization"]
'Basic Ym9iOnMzY3JldA=='
>>> config.host_headers()
{'example.com': {'Authorization': '<redacted>'}}
"""

from __future__ import annotations

import base64
import logging
import os
import re
import stat

from collections.abc import Iterable, Iterator, Mapping
from pathlib import Path
from typing import Any, Final, Literal, TypeVar, cast

import attrs

from appc._config_dirs import (
    DEFAULT_LOCAL_CONFIG,
    DEFAULT_SYSTEM_CONFIG,
    default_user_config,
)
from appc._json import loads
from appc.errors import AuthConfigError, InvalidManifest


__all__ = [
    "AUTH_DIR",
    "DEFAULT_LOCAL_CONFIG",
    "DEFAULT_SYSTEM_CONFIG",
    "MAX_AUTH_FILE_SIZE",
    "AuthConfig",
    "AuthType",
    "HostCredentials",
    "RegistryCredentials",
    "default_user_config",
    "load_auth_config",
    "read_auth_dir",
]

logger = logging.getLogger(__name__)

#: The largest ``auth.d`` file read, in bytes (64 KiB).
MAX_AUTH_FILE_SIZE: Final = 64 << 10
#: The subdirectory of each configuration directory that holds the files.
AUTH_DIR: Final = "auth.d"

#: How an ``auth`` entry authenticates.
AuthType = Literal["basic", "oauth", "aws"]

_AUTH_TYPES: Final = ("basic", "oauth", "aws")
_KINDS: Final = ("auth", "dockerAuth")
_VERSION: Final = "v1"
_REDACTED: Final = "<redacted>"
# A host name (letters, digits, "-", "_", dots) or a bracketed IPv6 address,
# then an optional port: what a URL's authority holds, minus any user.
_DOMAIN: Final = re.compile(
    r"(?:\[[0-9a-f:.]+\]|[a-z0-9_](?:[a-z0-9_.-]*[a-z0-9_])?)(?::([0-9]{1,5}))?"
)
# RFC 6750's b64token is narrower; printable ASCII keeps any header intact.
_TOKEN: Final = re.compile(r"[\x21-\x7e]+")
# Docker Hub goes by several names; docker2aci pulls from the first.
_DOCKER_HUB: Final = ("registry-1.docker.io", "docker.io", "index.docker.io")

_K = TypeVar("_K")
_V = TypeVar("_V")


class _FrozenMapping(Mapping[_K, _V]):
    """An immutable, hashable mapping that keeps the order it was given."""

    __slots__ = ("_items",)

    def __init__(self, items: Mapping[_K, _V] | Iterable[tuple[_K, _V]] = ()) -> None:
        self._items: dict[_K, _V] = dict(items)

    def __getitem__(self, key: _K) -> _V:
        return self._items[key]

    def __iter__(self) -> Iterator[_K]:
        return iter(self._items)

    def __len__(self) -> int:
        return len(self._items)

    def __hash__(self) -> int:
        return hash(frozenset(self._items.items()))

    def __repr__(self) -> str:
        return repr(self._items)


class _SecretHeaders(_FrozenMapping[str, str]):
    """Headers whose values are credentials: shown as ``<redacted>``."""

    __slots__ = ()

    def __repr__(self) -> str:
        return repr(dict.fromkeys(self, _REDACTED))


@attrs.frozen(kw_only=True)
class HostCredentials:
    """How to authenticate to one domain (``host`` or ``host:port``), from one file.

    ``authorization`` is the ``Authorization`` header's value (``None`` for
    the unsupported ``aws`` type); it is left out of the ``repr``, and
    :attr:`headers` shows it as ``<redacted>``.

    >>> from pathlib import Path
    >>> credentials = HostCredentials(
    ...     domain="example.com", type="oauth", path=Path("a.json"), authorization="Bearer t0ken"
    ... )
    >>> credentials
    HostCredentials(domain='example.com', type='oauth', path=PosixPath('a.json'))
    >>> credentials.headers, credentials.headers["Authorization"]
    ({'Authorization': '<redacted>'}, 'Bearer t0ken')
    """

    domain: str
    type: AuthType
    path: Path
    authorization: str | None = attrs.field(default=None, repr=False)

    def __attrs_post_init__(self) -> None:
        if _normalise_domain(self.domain) != self.domain:
            raise AuthConfigError(
                str(self.path), "the domain is not a lower-case host or host:port"
            )
        if self.type not in _AUTH_TYPES:
            raise AuthConfigError(str(self.path), _unknown_type(self.type))
        if (self.authorization is None) != (self.type == "aws"):
            raise AuthConfigError(
                str(self.path),
                f"type {self.type!r} "
                + ("cannot have" if self.type == "aws" else "needs")
                + " an Authorization value",
            )
        if self.authorization is not None and not _TOKEN.fullmatch(
            self.authorization.replace(" ", "")
        ):
            raise AuthConfigError(
                str(self.path), "the Authorization value must be printable ASCII"
            )

    @property
    def supported(self) -> bool:
        """Whether requests get a header (false for ``aws``).

        >>> from pathlib import Path
        >>> HostCredentials(domain="s3.example.com", type="aws", path=Path("a.json")).supported
        False
        """
        return self.authorization is not None

    @property
    def headers(self) -> Mapping[str, str]:
        """The headers to send to the domain (none for ``aws``); values redacted in ``repr``.

        >>> from pathlib import Path
        >>> HostCredentials(domain="s3.example.com", type="aws", path=Path("a.json")).headers
        {}
        """
        if self.authorization is None:
            return _SecretHeaders()
        return _SecretHeaders({"Authorization": self.authorization})


@attrs.frozen(kw_only=True)
class RegistryCredentials:
    """A user and password for one Docker registry (``dockerAuth``), from one file.

    Neither the user nor the password is in the ``repr``.

    >>> from pathlib import Path
    >>> credentials = RegistryCredentials(
    ...     registry="quay.io", path=Path("d.json"), user="bob", password="s3cret"
    ... )
    >>> credentials
    RegistryCredentials(registry='quay.io', path=PosixPath('d.json'))
    >>> credentials.as_tuple()
    ('bob', 's3cret')
    """

    registry: str
    path: Path
    user: str = attrs.field(repr=False)
    password: str = attrs.field(repr=False)

    def __attrs_post_init__(self) -> None:
        if _normalise_domain(self.registry) != self.registry:
            raise AuthConfigError(
                str(self.path), "the registry is not a lower-case host or host:port"
            )
        _check_basic(self.user, self.password, self.path)

    def as_tuple(self) -> tuple[str, str]:
        """``(user, password)``, as ``appc.docker.registry.RegistryClient(credentials=...)`` takes them.

        >>> from pathlib import Path
        >>> RegistryCredentials(registry="quay.io", path=Path("d.json"), user="u", password="p").as_tuple()
        ('u', 'p')
        """
        return self.user, self.password


def _freeze_hosts(
    value: Mapping[str, HostCredentials],
) -> Mapping[str, HostCredentials]:
    return _FrozenMapping(value)


def _freeze_registries(
    value: Mapping[str, RegistryCredentials],
) -> Mapping[str, RegistryCredentials]:
    return _FrozenMapping(value)


@attrs.frozen(kw_only=True)
class AuthConfig:
    """Credentials by domain (``auth``) and by Docker registry (``dockerAuth``).

    Both mappings are immutable. :meth:`host_headers` is what
    :func:`appc.discovery.discover`, :func:`appc.fetch.fetch` and
    :class:`appc.discovery.Client` take as ``host_headers``.

    >>> AuthConfig().host_headers(), AuthConfig().registry_credentials("quay.io")
    ({}, None)
    """

    hosts: Mapping[str, HostCredentials] = attrs.field(
        factory=dict[str, HostCredentials], converter=_freeze_hosts
    )
    registries: Mapping[str, RegistryCredentials] = attrs.field(
        factory=dict[str, RegistryCredentials], converter=_freeze_registries
    )

    def host_headers(self) -> Mapping[str, Mapping[str, str]]:
        """``{domain: {"Authorization": ...}}`` for every supported entry; values redacted in ``repr``.

        >>> from pathlib import Path
        >>> entry = HostCredentials(domain="example.com", type="oauth", path=Path("a.json"),
        ...                         authorization="Bearer t0ken")
        >>> AuthConfig(hosts={"example.com": entry}).host_headers()
        {'example.com': {'Authorization': '<redacted>'}}
        """
        return _FrozenMapping(
            (domain, entry.headers)
            for domain, entry in self.hosts.items()
            if entry.supported
        )

    def registry_credentials(self, registry: str) -> tuple[str, str] | None:
        """``(user, password)`` for a registry host, if a ``dockerAuth`` entry names it.

        Docker Hub answers to ``registry-1.docker.io``, ``docker.io`` and
        ``index.docker.io``; an entry under any of these names serves it.

        >>> from pathlib import Path
        >>> entry = RegistryCredentials(registry="docker.io", path=Path("d.json"), user="u", password="p")
        >>> AuthConfig(registries={"docker.io": entry}).registry_credentials("registry-1.docker.io")
        ('u', 'p')
        """
        wanted = registry.lower()
        names = _DOCKER_HUB if wanted in _DOCKER_HUB else (wanted,)
        for name in names:
            entry = self.registries.get(name)
            if entry is not None:
                return entry.as_tuple()
        return None

    def merged(self, later: AuthConfig) -> AuthConfig:
        """This configuration overridden by ``later``, domain by domain and registry by registry.

        >>> AuthConfig().merged(AuthConfig()) == AuthConfig()
        True
        """
        return AuthConfig(
            hosts={**self.hosts, **later.hosts},
            registries={**self.registries, **later.registries},
        )


def load_auth_config(
    *,
    system_config: str | os.PathLike[str] | None = DEFAULT_SYSTEM_CONFIG,
    local_config: str | os.PathLike[str] | None = DEFAULT_LOCAL_CONFIG,
    user_config: str | os.PathLike[str] | None = None,
) -> AuthConfig:
    """Read ``auth.d`` in the system, local and user configuration directories, later ones winning.

    ``None`` leaves the system or local directory out; ``user_config``
    defaults to ``$XDG_CONFIG_HOME/appc``. A missing directory holds nothing.
    Raises :class:`~appc.errors.AuthConfigError` for a file that cannot be used.

    >>> load_auth_config(system_config=None, local_config=None, user_config="/nonexistent")
    AuthConfig(hosts={}, registries={})
    """
    user = Path(user_config) if user_config is not None else default_user_config()
    config = AuthConfig()
    for base in (system_config, local_config, user):
        if base is not None:
            config = config.merged(read_auth_dir(Path(base) / AUTH_DIR))
    return config


def read_auth_dir(directory: str | os.PathLike[str]) -> AuthConfig:
    """Read one ``auth.d`` directory; the same domain (or registry) twice in it is an error.

    >>> read_auth_dir("/nonexistent/auth.d")
    AuthConfig(hosts={}, registries={})
    """
    hosts: dict[str, HostCredentials] = {}
    registries: dict[str, RegistryCredentials] = {}
    for path in _auth_files(Path(directory)):
        data = _read(path)
        if data is None:
            continue
        found_hosts, found_registries = _parse(data, path)
        for entry in found_hosts:
            _add(hosts, entry.domain, entry, path, "auth for domain")
        for credentials in found_registries:
            _add(
                registries,
                credentials.registry,
                credentials,
                path,
                "credentials for docker registry",
            )
    return AuthConfig(hosts=hosts, registries=registries)


_Entry = TypeVar("_Entry", HostCredentials, RegistryCredentials)


def _add(
    table: dict[str, _Entry], name: str, entry: _Entry, path: Path, what: str
) -> None:
    earlier = table.get(name)
    if earlier is not None:
        where = "this file" if earlier.path == path else str(earlier.path)
        raise AuthConfigError(
            str(path), f"{what} {name!r} is already specified in {where}"
        )
    table[name] = entry


# -- reading files ------------------------------------------------------------


def _auth_files(directory: Path) -> list[Path]:
    try:
        names = sorted(entry.name for entry in os.scandir(directory))
    except FileNotFoundError:
        return []
    except PermissionError:
        logger.warning(
            "skipping %s: permission denied (its credentials are not used)", directory
        )
        return []
    except OSError as exc:
        raise AuthConfigError(
            str(directory), f"cannot be read as a directory: {exc.strerror or exc}"
        ) from exc
    return [directory / name for name in names if name.endswith(".json")]


def _read(path: Path) -> bytes | None:
    # O_NONBLOCK: a FIFO named *.json must not hang the open; regular files
    # ignore the flag.
    try:
        descriptor = os.open(path, os.O_RDONLY | os.O_NONBLOCK | os.O_CLOEXEC)
    except FileNotFoundError:
        return None  # a dangling symbolic link, or removed meanwhile
    except PermissionError:
        logger.warning(
            "skipping %s: permission denied (its credentials are not used)", path
        )
        return None
    except OSError as exc:
        raise AuthConfigError(
            str(path), f"cannot be opened: {exc.strerror or exc}"
        ) from exc
    try:
        if not stat.S_ISREG(os.fstat(descriptor).st_mode):
            return None  # a directory or a FIFO: not a configuration file
        data = _read_at_most(descriptor, MAX_AUTH_FILE_SIZE + 1)
    except OSError as exc:
        raise AuthConfigError(
            str(path), f"cannot be read: {exc.strerror or exc}"
        ) from exc
    finally:
        os.close(descriptor)
    if len(data) > MAX_AUTH_FILE_SIZE:
        raise AuthConfigError(
            str(path),
            f"the file is larger than MAX_AUTH_FILE_SIZE ({MAX_AUTH_FILE_SIZE} bytes)",
        )
    return data


def _read_at_most(descriptor: int, size: int) -> bytes:
    chunks: list[bytes] = []
    while size > 0 and (chunk := os.read(descriptor, size)):
        chunks.append(chunk)
        size -= len(chunk)
    return b"".join(chunks)


# -- parsing -------------------------------------------------------------------


def _load_json(data: bytes, path: Path) -> object:
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise AuthConfigError(
            str(path), f"not UTF-8 text (bad byte at offset {exc.start})"
        ) from exc
    if text.startswith("\ufeff"):
        raise AuthConfigError(
            str(path),
            "the file starts with a byte order mark, which JSON does not allow",
        )
    try:
        return cast("object", loads(text, max_size=MAX_AUTH_FILE_SIZE))
    except InvalidManifest as exc:
        # The issues name places and key names, never values.
        reasons = "; ".join(str(issue) for issue in exc.issues)
        raise AuthConfigError(str(path), f"not valid JSON: {reasons}") from exc


def _parse(
    data: bytes, path: Path
) -> tuple[list[HostCredentials], list[RegistryCredentials]]:
    document = _load_json(data, path)
    if not isinstance(document, dict):
        raise AuthConfigError(str(path), "the file is not a JSON object")
    fields = cast("dict[str, Any]", document)
    kind = fields.get("rktKind")
    version = fields.get("rktVersion")
    if not isinstance(kind, str) or not kind:
        raise AuthConfigError(str(path), "no rktKind specified (a non-empty string)")
    if not isinstance(version, str) or not version:
        raise AuthConfigError(str(path), "no rktVersion specified (a non-empty string)")
    if kind not in _KINDS:
        raise AuthConfigError(
            str(path),
            f'an auth.d file has rktKind "auth" or "dockerAuth", not {_shown(kind)}',
        )
    if version != _VERSION:
        raise AuthConfigError(
            str(path),
            f'no parser for rktKind "{kind}" and rktVersion {_shown(version)} (only "v1")',
        )
    if kind == "auth":
        return _parse_auth(fields, path), []
    return [], _parse_docker_auth(fields, path)


def _parse_auth(fields: dict[str, Any], path: Path) -> list[HostCredentials]:
    domains = _names(fields, "domains", path)
    auth_type = fields.get("type")
    if auth_type is None or auth_type == "":
        raise AuthConfigError(
            str(path), 'no auth type specified ("basic", "oauth" or "aws")'
        )
    if not isinstance(auth_type, str):
        raise AuthConfigError(str(path), "type must be a string")
    credentials = _credentials(fields, path)
    authorization: str | None
    kind: AuthType
    if auth_type == "basic":
        kind = "basic"
        user, password = _basic(credentials, path)
        pair = f"{user}:{password}".encode()
        authorization = "Basic " + base64.b64encode(pair).decode("ascii")
    elif auth_type == "oauth":
        kind = "oauth"
        token = _string(credentials, "token", path, "no oauth bearer token specified")
        if not _TOKEN.fullmatch(token):
            raise AuthConfigError(
                str(path),
                "the oauth token must be printable ASCII without spaces",
            )
        authorization = f"Bearer {token}"
    elif auth_type == "aws":
        kind = "aws"
        _string(credentials, "accessKeyID", path, "no accessKeyID specified")
        _string(credentials, "secretAccessKey", path, "no secretAccessKey specified")
        if not isinstance(credentials.get("awsRegion", ""), str):
            raise AuthConfigError(str(path), "credentials.awsRegion must be a string")
        logger.warning(
            "%s: aws credentials (S3 signature version 4) are not supported; "
            "requests to %s go without credentials",
            path,
            ", ".join(domains),
        )
        authorization = None
    else:
        raise AuthConfigError(str(path), _unknown_type(auth_type))
    return [
        HostCredentials(
            domain=domain, type=kind, path=path, authorization=authorization
        )
        for domain in domains
    ]


def _parse_docker_auth(fields: dict[str, Any], path: Path) -> list[RegistryCredentials]:
    registries = _names(fields, "registries", path)
    user, password = _basic(_credentials(fields, path), path)
    return [
        RegistryCredentials(registry=registry, path=path, user=user, password=password)
        for registry in registries
    ]


def _names(fields: dict[str, Any], key: str, path: Path) -> list[str]:
    value = fields.get(key)
    if value is None or value == []:
        raise AuthConfigError(str(path), f"no {key} specified")
    if not isinstance(value, list):
        raise AuthConfigError(str(path), f"{key} must be a list of host names")
    names: list[str] = []
    for index, item in enumerate(cast("list[object]", value)):
        if not isinstance(item, str):
            raise AuthConfigError(str(path), f"{key}[{index}] must be a string")
        if not item:
            raise AuthConfigError(str(path), f"{key}[{index}] is empty")
        name = _normalise_domain(item)
        if name is None:
            # Not quoted: a mistyped entry may hold a user or a password.
            raise AuthConfigError(
                str(path),
                f"{key}[{index}] is not a host or host:port (no scheme, user, path or spaces)",
            )
        names.append(name)
    return names


def _normalise_domain(text: str) -> str | None:
    lowered = text.lower()
    found = _DOMAIN.fullmatch(lowered)
    if found is None:
        return None
    port = found[1]
    if port is not None and not 0 < int(port) <= 65535:
        return None
    return lowered


def _credentials(fields: dict[str, Any], path: Path) -> dict[str, Any]:
    value = fields.get("credentials")
    if value is None:
        raise AuthConfigError(str(path), "no credentials specified")
    if not isinstance(value, dict):
        raise AuthConfigError(str(path), "credentials must be a JSON object")
    return cast("dict[str, Any]", value)


def _string(credentials: dict[str, Any], key: str, path: Path, missing: str) -> str:
    value = credentials.get(key)
    if value is None or value == "":
        raise AuthConfigError(str(path), missing)
    if not isinstance(value, str):
        raise AuthConfigError(str(path), f"credentials.{key} must be a string")
    return value


def _basic(credentials: dict[str, Any], path: Path) -> tuple[str, str]:
    user = _string(credentials, "user", path, "user not specified")
    password = _string(credentials, "password", path, "password not specified")
    _check_basic(user, password, path)
    return user, password


def _check_basic(user: str, password: str, path: Path) -> None:
    if not user:
        raise AuthConfigError(str(path), "user not specified")
    if not password:
        raise AuthConfigError(str(path), "password not specified")
    if ":" in user:
        # Basic auth splits user and password at the first colon.
        raise AuthConfigError(str(path), "the user must not contain ':'")


def _unknown_type(auth_type: str) -> str:
    return f'unknown auth type {_shown(auth_type)} (use "basic", "oauth" or "aws")'


def _shown(value: str) -> str:
    # Kinds, versions and types are vocabulary, not secrets; keep them short.
    return repr(value if len(value) <= 40 else value[:40] + "...")
