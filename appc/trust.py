"""The trust store: which keys may sign images of which names, in rkt's layout.

Three directories, each laid out as rkt's ``trustedkeys``, so existing rkt
trust directories work unchanged:

- system: ``/usr/lib/rkt/trustedkeys`` (the distribution's keys),
- local: ``/etc/rkt/trustedkeys`` (the administrator's, where ``rkt trust`` wrote),
- user: ``$XDG_CONFIG_HOME/appc/trustedkeys`` (``~/.config/appc/trustedkeys``).

Each holds ``root.d/<fingerprint>`` (keys trusted for every image) and
``prefix.d/<prefix>/<fingerprint>`` (keys trusted for one name and the names
below it). A file is an armored public key named after the lower-case
fingerprint of its key; an **empty** file masks that key. Keys load in rkt's
order: root keys (system, local, user), then prefix keys (system, local,
user), each later file replacing or masking earlier ones.

Unlike rkt, prefixes match on whole path components: a key trusted for
``example.com/app`` verifies ``example.com/app`` and ``example.com/app/sub``
but never ``example.com/application`` (rkt compared raw strings).

>>> import tempfile
>>> from pathlib import Path
>>> from appc.signing import PublicKey
>>> from appc.trust import Keystore
>>> from appc.testing.keys import make_key
>>> with tempfile.TemporaryDirectory() as tmp:
...     store = Keystore(system=None, local=None, user=Path(tmp))
...     path = store.add(PublicKey.from_bytes(make_key().public), prefix="example.com/app")
...     len(store.keyring_for("example.com/app/sub")), len(store.keyring_for("example.com/application"))
(1, 0)
"""

from __future__ import annotations

import enum
import logging
import os
import tempfile

from collections.abc import Iterator
from pathlib import Path

import attrs

from appc._config_dirs import (
    DEFAULT_LOCAL_CONFIG,
    DEFAULT_SYSTEM_CONFIG,
    default_user_config,
)
from appc.errors import InvalidACIdentifier, MalformedKey, TrustError
from appc.names import ACIdentifier
from appc.signing import MAX_KEY_FILE_SIZE, Keyring, PublicKey


__all__ = [
    "DEFAULT_LOCAL_DIR",
    "DEFAULT_SYSTEM_DIR",
    "Keystore",
    "Tier",
    "TrustedKey",
    "default_user_dir",
    "prefix_matches",
]

logger = logging.getLogger(__name__)

_KEYS_DIR = "trustedkeys"
#: The distribution's keys (rkt's ``--system-config``, plus ``trustedkeys``).
DEFAULT_SYSTEM_DIR = DEFAULT_SYSTEM_CONFIG / _KEYS_DIR
#: The administrator's keys (rkt's ``--local-config``, plus ``trustedkeys``).
DEFAULT_LOCAL_DIR = DEFAULT_LOCAL_CONFIG / _KEYS_DIR

_ROOT = "root.d"
_PREFIX = "prefix.d"
_HEX = frozenset("0123456789abcdef")


def default_user_dir() -> Path:
    """The user's trust directory: ``$XDG_CONFIG_HOME/appc/trustedkeys``.

    >>> from appc.trust import default_user_dir
    >>> default_user_dir().parts[-2:]
    ('appc', 'trustedkeys')
    """
    return default_user_config() / _KEYS_DIR


class Tier(enum.Enum):
    """The three trust directories, in the order they override each other."""

    SYSTEM = "system"
    LOCAL = "local"
    USER = "user"


@attrs.frozen(kw_only=True)
class TrustedKey:
    """One file in the trust store: a trusted key, or a mask (an empty file).

    ``prefix`` is ``None`` for a root key (trusted for every name).
    """

    fingerprint: str
    prefix: str | None
    tier: Tier
    path: Path
    masked: bool

    @property
    def scope(self) -> str:
        """``root`` or ``prefix <prefix>``, for messages.

        >>> from pathlib import Path
        >>> from appc.trust import Tier, TrustedKey
        >>> TrustedKey(fingerprint="a" * 40, prefix=None, tier=Tier.USER, path=Path("x"), masked=False).scope
        'root'
        """
        return "root" if self.prefix is None else f"prefix {self.prefix}"


def _components(name: str, what: str) -> tuple[str, ...]:
    if "://" in name:
        raise TrustError(
            f"{what} must not contain a URL scheme, omit https:// ({name!r})"
        )
    try:
        ACIdentifier(name)
    except InvalidACIdentifier as exc:
        raise TrustError(f"{what} {name!r} is not a valid image name: {exc}") from exc
    parts = tuple(name.split("/"))
    # Go's ACIdentifier allows "a//b" and "a/../b"; as directories they would
    # alias other prefixes or leave the store, so the trust store refuses them.
    if any(part in {"", ".", ".."} for part in parts):
        raise TrustError(
            f"{what} {name!r} has an empty, '.' or '..' path component; no key can be trusted for it"
        )
    return parts


def prefix_matches(prefix: str, name: str) -> bool:
    """Whether a key trusted for ``prefix`` may sign images called ``name`` (whole components).

    >>> from appc.trust import prefix_matches
    >>> prefix_matches("example.com/app", "example.com/app/sub"), prefix_matches("example.com/app", "example.com/application")
    (True, False)
    """
    wanted = tuple(prefix.split("/"))
    return tuple(name.split("/"))[: len(wanted)] == wanted


def _is_fingerprint(name: str) -> bool:
    return len(name) == 40 and set(name) <= _HEX


def _normalise_fingerprint(fingerprint: str) -> str:
    value = fingerprint.replace(" ", "").lower()
    value = value.removeprefix("0x")
    if not _is_fingerprint(value):
        raise TrustError(f"{fingerprint!r} is not a key fingerprint (40 hex digits)")
    return value


@attrs.frozen(kw_only=True)
class Keystore:
    """A trust store over rkt's three directories; ``None`` leaves one out.

    >>> from appc.trust import DEFAULT_LOCAL_DIR, Keystore
    >>> Keystore().local == DEFAULT_LOCAL_DIR
    True
    """

    system: Path | None = DEFAULT_SYSTEM_DIR
    local: Path | None = DEFAULT_LOCAL_DIR
    user: Path | None = attrs.field(factory=default_user_dir)

    @classmethod
    def from_config_dirs(
        cls,
        *,
        system_config: str | os.PathLike[str] | None = DEFAULT_SYSTEM_CONFIG,
        local_config: str | os.PathLike[str] | None = DEFAULT_LOCAL_CONFIG,
        user_config: str | os.PathLike[str] | None = None,
    ) -> Keystore:
        """From configuration directories, as rkt's ``--system-config``/``--local-config`` take them.

        ``trustedkeys`` is appended to each; ``user_config`` defaults to
        ``$XDG_CONFIG_HOME/appc``.

        >>> from appc.trust import Keystore
        >>> Keystore.from_config_dirs(local_config="/srv/rkt").local
        PosixPath('/srv/rkt/trustedkeys')
        """
        user = (
            Path(user_config) / _KEYS_DIR
            if user_config is not None
            else default_user_dir()
        )
        return cls(
            system=Path(system_config) / _KEYS_DIR
            if system_config is not None
            else None,
            local=Path(local_config) / _KEYS_DIR if local_config is not None else None,
            user=user,
        )

    def _tiers(self) -> Iterator[tuple[Tier, Path]]:
        for tier, path in (
            (Tier.SYSTEM, self.system),
            (Tier.LOCAL, self.local),
            (Tier.USER, self.user),
        ):
            if path is not None:
                yield tier, path

    def _dir(self, tier: Tier) -> Path:
        path = dict(self._tiers()).get(tier)
        if path is None:
            raise TrustError(f"this trust store has no {tier.value} directory")
        return path

    # -- Reading -------------------------------------------------------------

    def keyring_for(self, name: str) -> Keyring:
        """The keys trusted to sign images called ``name``: root keys and prefix keys.

        An empty file masks its key; a file that does not hold the key its
        name says is an error (fix or remove it), as in rkt.
        """
        parts = _components(name, "image name")
        keys: dict[str, PublicKey] = {}
        for _tier, base in self._tiers():
            self._walk(base / _ROOT, keys)
        for _tier, base in self._tiers():
            for depth in range(1, len(parts) + 1):
                self._walk(base.joinpath(_PREFIX, *parts[:depth]), keys)
        return Keyring(tuple(keys.values()))

    def _walk(self, directory: Path, keys: dict[str, PublicKey]) -> None:
        for path in _key_files(directory):
            if path.stat().st_size == 0:
                keys.pop(path.name, None)
                continue
            keys[path.name] = _load(path)

    def entries(self) -> tuple[TrustedKey, ...]:
        """Every file in every directory: trusted keys and masks.

        >>> from pathlib import Path
        >>> from appc.trust import Keystore
        >>> Keystore(system=None, local=None, user=Path("/nonexistent")).entries()
        ()
        """
        found: list[TrustedKey] = []
        for tier, base in self._tiers():
            found.extend(
                TrustedKey(
                    fingerprint=p.name,
                    prefix=None,
                    tier=tier,
                    path=p,
                    masked=p.stat().st_size == 0,
                )
                for p in _key_files(base / _ROOT)
            )
            prefix_root = base / _PREFIX
            if not prefix_root.is_dir():
                continue
            for directory, subdirs, _files in os.walk(prefix_root):
                subdirs.sort()
                folder = Path(directory)
                if folder == prefix_root:
                    continue
                prefix = folder.relative_to(prefix_root).as_posix()
                found.extend(
                    TrustedKey(
                        fingerprint=p.name,
                        prefix=prefix,
                        tier=tier,
                        path=p,
                        masked=p.stat().st_size == 0,
                    )
                    for p in _key_files(folder)
                )
        return tuple(found)

    def prefix_exists(self, prefix: str) -> bool:
        """Whether a key is trusted for ``prefix`` or one of its parents (root keys aside).

        rkt's ``TrustedKeyPrefixExists``: discovery fetches keys only when this is false.

        >>> from pathlib import Path
        >>> from appc.trust import Keystore
        >>> Keystore(system=None, local=None, user=Path("/nonexistent")).prefix_exists("example.com/app")
        False
        """
        parts = _components(prefix, "prefix")
        for depth in range(len(parts), 0, -1):
            for _tier, base in self._tiers():
                if any(
                    p.stat().st_size > 0
                    for p in _key_files(base.joinpath(_PREFIX, *parts[:depth]))
                ):
                    return True
        return False

    # -- Writing ---------------------------------------------------------------

    def _scope_dir(self, tier: Tier, prefix: str | None, root: bool) -> Path:
        if root == (prefix is not None):
            raise TrustError("give exactly one of a prefix or root=True")
        base = self._dir(tier)
        if prefix is None:
            return base / _ROOT
        return base.joinpath(_PREFIX, *_components(prefix, "prefix"))

    def add(
        self,
        key: PublicKey,
        *,
        prefix: str | None = None,
        root: bool = False,
        tier: Tier = Tier.USER,
    ) -> Path:
        """Trust ``key`` for images under ``prefix`` (or every image with ``root=True``).

        Writes ``<dir>/prefix.d/<prefix>/<fingerprint>`` (or ``root.d``) in
        ``tier``, replacing the same key there; directories 0755, files 0644 as
        rkt. Returns the path.
        """
        directory = self._scope_dir(tier, prefix, root)
        directory.mkdir(mode=0o755, parents=True, exist_ok=True)
        path = directory / key.fingerprint
        _write_atomically(path, key.armored().encode("ascii"))
        logger.info(
            "trusted key %s for %s at %s",
            key.fingerprint,
            prefix or "every image",
            path,
        )
        return path

    def mask(
        self,
        fingerprint: str,
        *,
        prefix: str | None = None,
        root: bool = False,
        tier: Tier = Tier.USER,
    ) -> Path:
        """Distrust a key trusted in an earlier directory (the system's, say) with an empty file."""
        directory = self._scope_dir(tier, prefix, root)
        directory.mkdir(mode=0o755, parents=True, exist_ok=True)
        path = directory / _normalise_fingerprint(fingerprint)
        _write_atomically(path, b"")
        return path

    def remove(
        self,
        fingerprint: str,
        *,
        prefix: str | None = None,
        root: bool = False,
        tier: Tier = Tier.USER,
    ) -> tuple[Path, ...]:
        """Delete a key's files from ``tier``: for one scope, or (neither given) every scope.

        Masks (empty files) are removed too. Raises :class:`~appc.errors.TrustError`
        when nothing was there.
        """
        wanted = _normalise_fingerprint(fingerprint)
        if prefix is None and not root:
            base = self._dir(tier)
            paths = [
                e.path
                for e in self.entries()
                if e.fingerprint == wanted and e.path.is_relative_to(base)
            ]
        else:
            paths = [self._scope_dir(tier, prefix, root) / wanted]
        removed: list[Path] = []
        for path in paths:
            try:
                path.unlink()
            except FileNotFoundError:
                continue
            removed.append(path)
        if not removed:
            raise TrustError(
                f"key {wanted} is not in the {tier.value} trust directory ({self._dir(tier)})"
            )
        return tuple(removed)


def _key_files(directory: Path) -> list[Path]:
    try:
        entries = sorted(directory.iterdir())
    except (FileNotFoundError, NotADirectoryError):
        return []
    # Hidden files (editor backups, .keep) are not keys; directories nest prefixes.
    return [p for p in entries if not p.name.startswith(".") and p.is_file()]


def _load(path: Path) -> PublicKey:
    try:
        with path.open("rb") as stream:
            data = stream.read(MAX_KEY_FILE_SIZE + 1)
        keyring = Keyring.from_bytes(data)
    except (OSError, MalformedKey) as exc:
        raise TrustError(
            f"trusted key file {path} cannot be read: {exc}; fix or remove it"
        ) from exc
    if not keyring.keys:
        raise TrustError(
            f"trusted key file {path} holds no key; remove it (an empty file masks a key)"
        )
    key = keyring.keys[0]
    if key.fingerprint != path.name:
        raise TrustError(
            f"fingerprint mismatch: trusted key file {path} holds key {key.fingerprint}; rename or remove it"
        )
    if len(keyring.keys) > 1:
        logger.warning(
            "trusted key file %s holds %d keys; only the first is trusted",
            path,
            len(keyring.keys),
        )
    return key


def _write_atomically(path: Path, data: bytes) -> None:
    descriptor, temporary = tempfile.mkstemp(dir=path.parent, prefix=".tmp-")
    try:
        with os.fdopen(descriptor, "wb") as stream:
            stream.write(data)
        Path(temporary).chmod(0o644)
        Path(temporary).replace(path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise
