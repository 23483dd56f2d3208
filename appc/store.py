"""The local image store: ACIs addressed by image ID, with a ``sqlite3`` index.

The store lives under ``$XDG_DATA_HOME/appc`` (``~/.local/share/appc``)
unless given a directory::

    index.db                          the index (sqlite3): images and remotes
    blobs/sha512/ab/<128 hex>         each ACI, exactly as fetched or imported
    blobs/sha512/ab/<128 hex>.asc     its detached signature, when there was one
    tmp/                              imports and resumable downloads in progress

Images are kept as they came (compressed or not): the image ID is checked
at import and can be checked again (:meth:`Store.verify`), and the stored
signature still matches the stored bytes. The index records each image's
name, labels, size, import and last-use times, signer fingerprint and
source URL; the ``remotes`` table remembers, per URL, the image it gave and
its ``ETag``, ``Last-Modified`` and ``Cache-Control: max-age``, so an
unchanged image is not downloaded twice.

Several processes may use one store at once: files are written under
``tmp/`` and renamed into place, and every change to the index and to the
blobs happens inside one ``BEGIN IMMEDIATE`` transaction; downloads of one
URL are serialised by a lock file. Locks are POSIX ``flock`` locks.

>>> import io, tempfile
>>> from appc.aci import ImageWriter
>>> from appc.manifest import load_image_manifest
>>> manifest = load_image_manifest(
...     b'{"acKind": "ImageManifest", "acVersion": "0.8.11", "name": "example.com/hello",'
...     b' "labels": [{"name": "version", "value": "1.0"}]}'
... )
>>> aci = io.BytesIO()
>>> with ImageWriter(aci, manifest) as writer:
...     writer.add_directory("rootfs")
>>> with tempfile.TemporaryDirectory() as tmp:
...     store = Store(tmp)
...     image = store.import_image(io.BytesIO(aci.getvalue()))
...     found = store.get("example.com/hello:1.0")
...     by_prefix = store.get(image.id[:15])
>>> found.id == image.id == by_prefix.id == writer.image_id, str(found.name)
(True, 'example.com/hello')
"""

from __future__ import annotations

import contextlib
import errno
import hashlib
import json
import logging
import os
import shutil
import sqlite3
import tempfile
import time

from collections.abc import Callable, Generator, Iterator, Mapping
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, BinaryIO, Final, cast

import attrs

from appc.app_string import ImageRef
from appc.errors import (
    AmbiguousImage,
    AppcError,
    ImageNotFound,
    InvalidAppString,
    InvalidImageID,
    StoreCorrupted,
    StoreError,
)
from appc.image_id import ImageID, ImageIDPrefix
from appc.labels import Labels
from appc.names import ACIdentifier


if TYPE_CHECKING:
    from appc.manifest import ImageManifest
    from appc.signing import Signer
    from appc.trust import Keystore


__all__ = [
    "LOCK_TIMEOUT",
    "PARTIAL_GRACE",
    "SCHEMA_VERSION",
    "SQLITE_TIMEOUT",
    "GCResult",
    "PartialDownload",
    "Remote",
    "Store",
    "StoredImage",
    "VerifyResult",
    "default_store_dir",
]

logger = logging.getLogger(__name__)

#: Version of the index layout; a store written by a newer appc is refused.
SCHEMA_VERSION: Final = 1
#: Seconds a write waits for another process's transaction on the index.
SQLITE_TIMEOUT: Final = 60.0
#: Seconds a download waits for another process downloading the same URL.
LOCK_TIMEOUT: Final = 3600.0
#: Partial downloads untouched this long are removed by :meth:`Store.gc`.
PARTIAL_GRACE: Final = timedelta(days=1)

_COPY_CHUNK = 1 << 20
_SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS images (
    id TEXT PRIMARY KEY,
    name TEXT NOT NULL,
    labels TEXT NOT NULL,
    manifest TEXT NOT NULL,
    size INTEGER NOT NULL,
    import_time REAL NOT NULL,
    last_used REAL,
    signer TEXT,
    source TEXT,
    etag TEXT
);
CREATE INDEX IF NOT EXISTS images_name ON images (name);
CREATE TABLE IF NOT EXISTS remotes (
    url TEXT PRIMARY KEY,
    image_id TEXT NOT NULL,
    etag TEXT,
    last_modified TEXT,
    max_age INTEGER,
    download_time REAL NOT NULL
);
"""
_IMAGE_COLUMNS = "id, name, labels, size, import_time, last_used, signer, source, etag"


def default_store_dir() -> Path:
    """``$XDG_DATA_HOME/appc``, or ``~/.local/share/appc``.

    >>> default_store_dir().name
    'appc'
    """
    base = os.environ.get("XDG_DATA_HOME")
    root = (
        Path(base)
        if base and Path(base).is_absolute()
        else Path.home() / ".local" / "share"
    )
    return root / "appc"


def _time(value: float | None) -> datetime | None:
    return None if value is None else datetime.fromtimestamp(value, UTC)


@attrs.frozen(kw_only=True)
class StoredImage:
    """One image in the store, as the index records it.

    ``signer`` is the fingerprint of the key whose signature was verified at
    import (None if none was); ``source`` is where it came from.
    """

    id: ImageID
    name: ACIdentifier
    labels: Labels
    size: int
    imported: datetime
    last_used: datetime | None
    signer: str | None
    source: str | None
    etag: str | None
    path: Path
    signature_path: Path | None

    @property
    def short_id(self) -> str:
        """The ID shortened as ``rkt image list`` shows it (``sha512-`` + 32 hex).

        >>> from pathlib import Path
        >>> image = StoredImage(id=ImageID("sha512-" + "ab" * 64), name=ACIdentifier("a"), labels=Labels(),
        ...     size=0, imported=datetime.now(UTC), last_used=None, signer=None, source=None, etag=None,
        ...     path=Path("x"), signature_path=None)
        >>> image.short_id
        'sha512-abababababababababababababababab'
        """
        return self.id.short()

    def ref(self) -> str:
        """``name:version,label=value`` of the image (labels sorted, os and arch included).

        >>> from pathlib import Path
        >>> StoredImage(id=ImageID("sha512-" + "ab" * 64), name=ACIdentifier("example.com/a"),
        ...     labels=Labels([("version", "1"), ("os", "linux")]), size=0, imported=datetime.now(UTC),
        ...     last_used=None, signer=None, source=None, etag=None, path=Path("x"), signature_path=None).ref()
        'example.com/a:1,os=linux'
        """
        return str(ImageRef(name=self.name, labels=dict(self.labels)))


@attrs.frozen(kw_only=True)
class Remote:
    """What a URL gave last time: the image and the validators to ask whether it changed."""

    url: str
    image_id: ImageID
    etag: str | None
    last_modified: str | None
    max_age: int | None
    downloaded: datetime

    def fresh(self, now: datetime | None = None) -> bool:
        """Whether ``Cache-Control: max-age`` says it may be used without asking.

        >>> Remote(url="u", image_id=ImageID("sha512-" + "0" * 128), etag=None, last_modified=None,
        ...     max_age=60, downloaded=datetime.now(UTC)).fresh()
        True
        """
        if not self.max_age:
            return False
        moment = now if now is not None else datetime.now(UTC)
        return moment - self.downloaded < timedelta(seconds=self.max_age)


@attrs.frozen(kw_only=True)
class GCResult:
    """What :meth:`Store.gc` removed."""

    removed_images: tuple[ImageID, ...]
    removed_files: tuple[Path, ...]
    freed_bytes: int


@attrs.frozen(kw_only=True)
class VerifyResult:
    """The outcome of re-checking one stored image: ``problem`` is None when it is sound."""

    image: StoredImage
    problem: str | None
    signer: Signer | None = None

    @property
    def ok(self) -> bool:
        """Whether the image still hashes to its ID (and its signature verified, if asked)."""
        return self.problem is None


class PartialDownload:
    """A resumable download of one URL under the store's ``tmp/``, locked for this process.

    ``path`` holds the bytes received so far; :attr:`validators` the
    ``ETag`` and ``Last-Modified`` they came with, to resume only the same
    version of the file (``If-Range``).
    """

    def __init__(self, base: Path, url: str) -> None:
        self.path = base.with_suffix(".part")
        self._meta = base.with_suffix(".json")
        self.url = url

    @property
    def size(self) -> int:
        """Bytes already received."""
        try:
            return self.path.stat().st_size
        except FileNotFoundError:
            return 0

    @property
    def validators(self) -> Mapping[str, str]:
        """``{"etag": ..., "last_modified": ...}`` as saved (missing keys when unknown)."""
        try:
            data: object = json.loads(self._meta.read_text())
        except (OSError, ValueError):
            return {}
        if not isinstance(data, dict):
            return {}
        fields = cast("dict[str, object]", data)
        if fields.get("url") != self.url:
            return {}
        return {k: v for k, v in fields.items() if k != "url" and isinstance(v, str)}

    def save_validators(self, etag: str | None, last_modified: str | None) -> None:
        """Remember the validators of the response being written."""
        data = {"url": self.url}
        if etag:
            data["etag"] = etag
        if last_modified:
            data["last_modified"] = last_modified
        self._meta.write_text(json.dumps(data))

    def reset(self) -> None:
        """Forget the bytes received (the file changed, or they were unusable)."""
        self.path.unlink(missing_ok=True)
        self._meta.unlink(missing_ok=True)


def _use_wal(db: sqlite3.Connection) -> None:
    """Put the index in WAL mode (it stays so), waiting out another process.

    When two connections change the journal mode at once, SQLite answers
    "database is locked" at once instead of calling its busy handler (it
    would deadlock otherwise), so the wait is here: retries for up to
    :data:`SQLITE_TIMEOUT` seconds.
    """
    deadline = time.monotonic() + SQLITE_TIMEOUT
    delay = 0.005
    while True:
        try:
            db.execute("PRAGMA journal_mode=WAL")
        except sqlite3.OperationalError as exc:
            if "locked" not in str(exc) or time.monotonic() >= deadline:
                raise
        else:
            return
        time.sleep(delay)
        delay = min(delay * 2, 0.1)


def _fsync_dir(path: Path) -> None:
    with contextlib.suppress(OSError):
        fd = os.open(path, os.O_RDONLY | os.O_DIRECTORY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)


def _copy_into(src: str | os.PathLike[str] | BinaryIO, dest: BinaryIO) -> int:
    size = 0
    if isinstance(src, str | os.PathLike):
        with open(src, "rb") as stream:  # noqa: PTH123 - a path or a stream alike
            return _copy_into(stream, dest)
    while chunk := src.read(_COPY_CHUNK):
        dest.write(chunk)
        size += len(chunk)
    return size


def _acquire(lock_fd: int, what: str, timeout: float) -> None:
    import fcntl

    deadline = time.monotonic() + timeout
    told = False
    while True:
        try:
            fcntl.flock(lock_fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            if not told:
                logger.info("another process is downloading %s, waiting", what)
                told = True
            if time.monotonic() > deadline:
                raise StoreError(
                    f"another process has been downloading {what} for over {timeout:.0f} s (LOCK_TIMEOUT)"
                ) from None
            time.sleep(0.1)
        else:
            return


class Store:
    """The image store in ``root`` (default :func:`default_store_dir`), created on first use.

    >>> import tempfile
    >>> with tempfile.TemporaryDirectory() as tmp:
    ...     Store(tmp).images()
    ()
    """

    def __init__(self, root: str | os.PathLike[str] | None = None) -> None:
        self.root = Path(root) if root is not None else default_store_dir()
        self.index_path = self.root / "index.db"
        self._blobs = self.root / "blobs" / "sha512"
        self._tmp = self.root / "tmp"
        self._ready = False

    def __repr__(self) -> str:
        return f"Store({str(self.root)!r})"

    # -- the index ----------------------------------------------------------------

    def _setup(self) -> None:
        if self._ready:
            return
        try:
            self._blobs.mkdir(parents=True, exist_ok=True)
            self._tmp.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise StoreError(f"cannot create the store in {self.root}: {exc}") from exc
        with self._connect(setup=False) as db:
            db.execute("BEGIN IMMEDIATE")
            for statement in _SCHEMA.split(";"):
                if statement.strip():
                    db.execute(statement)
            row = db.execute("SELECT value FROM meta WHERE key = 'schema'").fetchone()
            if row is None:
                db.execute(
                    "INSERT INTO meta (key, value) VALUES ('schema', ?)",
                    (str(SCHEMA_VERSION),),
                )
            elif int(row[0]) > SCHEMA_VERSION:
                db.execute("ROLLBACK")
                raise StoreError(
                    f"the store in {self.root} was written by a newer appc (schema {row[0]}); upgrade appc"
                )
            db.execute("COMMIT")
        self._ready = True

    @contextlib.contextmanager
    def _connect(self, *, setup: bool = True) -> Generator[sqlite3.Connection]:
        if setup:
            self._setup()
        db = sqlite3.connect(
            self.index_path, timeout=SQLITE_TIMEOUT, isolation_level=None
        )
        try:
            _use_wal(db)
            yield db
        except sqlite3.Error as exc:
            # Closing the connection rolls back what was not committed.
            raise StoreError(
                f"the store index {self.index_path} failed: {exc}"
            ) from exc
        finally:
            db.close()

    @contextlib.contextmanager
    def _write(self) -> Generator[sqlite3.Connection]:
        """A write transaction: the index and the blobs change under it, never apart."""
        with self._connect() as db:
            db.execute("BEGIN IMMEDIATE")
            try:
                yield db
            except BaseException:
                db.execute("ROLLBACK")
                raise
            db.execute("COMMIT")

    def blob_path(self, image_id: ImageID) -> Path:
        """Where the image with this ID is (or would be) kept."""
        return self._blobs / image_id.hex[:2] / image_id.hex

    def _image(self, row: tuple[object, ...]) -> StoredImage:
        image_id = ImageID(str(row[0]))
        path = self.blob_path(image_id)
        signature = path.with_name(path.name + ".asc")
        labels_json = str(row[2])
        return StoredImage(
            id=image_id,
            name=ACIdentifier(str(row[1])),
            labels=Labels([tuple(pair) for pair in json.loads(labels_json)]),
            size=int(str(row[3])),
            imported=datetime.fromtimestamp(float(str(row[4])), UTC),
            last_used=_time(None if row[5] is None else float(str(row[5]))),
            signer=None if row[6] is None else str(row[6]),
            source=None if row[7] is None else str(row[7]),
            etag=None if row[8] is None else str(row[8]),
            path=path,
            signature_path=signature if signature.exists() else None,
        )

    # -- import ---------------------------------------------------------------------

    def import_image(
        self,
        src: str | os.PathLike[str] | BinaryIO,
        *,
        signature: bytes | None = None,
        signer: str | None = None,
        source: str | None = None,
        etag: str | None = None,
        image_id: ImageID | None = None,
        manifest: ImageManifest | None = None,
        move: bool = False,
    ) -> StoredImage:
        """Add an ACI (a path or a binary stream) to the store and return its entry.

        The archive is validated and its image ID computed, unless both are
        given (:mod:`appc.fetch` computes them while downloading). ``move``
        renames a file under the store's directory instead of copying it.
        Importing an image already there updates its entry.
        """
        self._setup()
        temp = self._tmp / f"import-{os.getpid()}-{os.urandom(6).hex()}"
        try:
            if not (move and isinstance(src, str | os.PathLike) and _moved(src, temp)):
                with temp.open("wb") as out:
                    _copy_into(src, out)
                    out.flush()
                    os.fsync(out.fileno())
            if image_id is None or manifest is None:
                image_id, manifest = _identify(temp)
            return self._commit(
                temp,
                image_id=image_id,
                manifest=manifest,
                signature=signature,
                signer=signer,
                source=source,
                etag=etag,
            )
        finally:
            temp.unlink(missing_ok=True)

    def _commit(
        self,
        temp: Path,
        *,
        image_id: ImageID,
        manifest: ImageManifest,
        signature: bytes | None,
        signer: str | None,
        source: str | None,
        etag: str | None,
    ) -> StoredImage:
        from appc.manifest import dump_manifest

        final = self.blob_path(image_id)
        size = temp.stat().st_size
        asc_temp = None
        if signature is not None:
            asc_temp = temp.with_name(temp.name + ".asc")
            asc_temp.write_bytes(signature)
        try:
            with self._write() as db:
                _place(temp, final, asc_temp)
                db.execute(
                    "INSERT INTO images (id, name, labels, manifest, size, import_time, signer, source, etag)"
                    " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)"
                    " ON CONFLICT (id) DO UPDATE SET import_time = excluded.import_time,"
                    " signer = coalesce(excluded.signer, signer), source = excluded.source,"
                    " etag = excluded.etag, size = excluded.size",
                    (
                        image_id,
                        manifest.name,
                        json.dumps(manifest.labels.pairs()),
                        dump_manifest(manifest),
                        size,
                        time.time(),
                        signer,
                        source,
                        etag,
                    ),
                )
        finally:
            if asc_temp is not None:
                asc_temp.unlink(missing_ok=True)
        logger.info(
            "imported %s (%s) into %s", image_id.short(), manifest.name, self.root
        )
        return self.get(image_id)

    # -- lookups ------------------------------------------------------------------------

    def images(self, name: str | None = None) -> tuple[StoredImage, ...]:
        """Every image (or every image called ``name``), newest import first."""
        query = f"SELECT {_IMAGE_COLUMNS} FROM images"  # noqa: S608 - fixed column list
        params: tuple[str, ...] = ()
        if name is not None:
            query += " WHERE name = ?"
            params = (name,)
        query += " ORDER BY import_time DESC, id"
        with self._connect() as db:
            rows = db.execute(query, params).fetchall()
        return tuple(self._image(row) for row in rows)

    def get(self, ref: str) -> StoredImage:
        """The image for a full image ID, a unique ID prefix (``sha512-1a2b``), or a name with labels.

        A name (``example.com/app:1.0,os=linux``) picks, among the images of
        that name that have every label asked for, the one imported last.
        Raises :class:`~appc.errors.ImageNotFound` or
        :class:`~appc.errors.AmbiguousImage`.
        """
        if ref.startswith("sha512-"):
            return self._by_id(ref)
        try:
            wanted = ImageRef.parse(ref)
        except InvalidAppString as exc:
            raise ImageNotFound(
                f"{ref!r} is neither an image ID nor an image name: {exc}"
            ) from exc
        return self.find(wanted.name, wanted.labels)

    def _by_id(self, ref: str) -> StoredImage:
        try:
            prefix = ImageIDPrefix(ref)
        except InvalidImageID as exc:
            raise ImageNotFound(str(exc)) from exc
        with self._connect() as db:
            rows = db.execute(
                f"SELECT {_IMAGE_COLUMNS} FROM images WHERE substr(id, 1, ?) = ? LIMIT 2",  # noqa: S608
                (len(prefix), prefix),
            ).fetchall()
        if not rows:
            raise ImageNotFound(f"no image with ID {ref} in the store ({self.root})")
        if len(rows) > 1:
            raise AmbiguousImage(f"image ID {ref} is ambiguous: give more digits")
        return self._image(rows[0])

    def find(self, name: str, labels: Mapping[str, str] | None = None) -> StoredImage:
        """The newest image called ``name`` with every label of ``labels``.

        >>> import tempfile
        >>> with tempfile.TemporaryDirectory() as tmp:
        ...     Store(tmp).find("example.com/app", {"version": "1.0"})
        Traceback (most recent call last):
        ...
        appc.errors.ImageNotFound: no image example.com/app:1.0 in the store (...)
        """
        wanted = dict(labels or {})
        for image in self.images(name):
            if all(image.labels.get(k) == v for k, v in wanted.items()):
                return image
        shown = str(ImageRef(name=name, labels=wanted))
        raise ImageNotFound(f"no image {shown} in the store ({self.root})")

    def touch(self, image_id: ImageID) -> None:
        """Record that the image was used now (``gc`` keeps recently used images)."""
        with self._write() as db:
            db.execute(
                "UPDATE images SET last_used = ? WHERE id = ?", (time.time(), image_id)
            )

    # -- using images ------------------------------------------------------------------

    def _existing(self, ref: str) -> StoredImage:
        image = self.get(ref)
        if not image.path.exists():
            raise StoreCorrupted(
                f"image {image.short_id} is in the index but its file {image.path} is missing; "
                "run `appc image gc` to drop it"
            )
        return image

    def open(self, ref: str) -> BinaryIO:
        """The stored ACI, open for reading (binary)."""
        image = self._existing(ref)
        self.touch(image.id)
        return image.path.open("rb")

    def export(
        self,
        ref: str,
        dest: str | os.PathLike[str],
        *,
        overwrite: bool = False,
        signature: bool = False,
    ) -> Path:
        """Write the stored ACI to ``dest`` (and its signature to ``dest.asc`` with ``signature``)."""
        image = self._existing(ref)
        target = Path(dest)
        if target.exists() and not overwrite:
            raise StoreError(f"{target} exists; pass overwrite=True to replace it")
        try:
            _copy_atomically(image.path, target)
            if signature and image.signature_path is not None:
                _copy_atomically(
                    image.signature_path, target.with_name(target.name + ".asc")
                )
        except OSError as exc:
            raise StoreError(
                f"cannot export {image.short_id} to {target}: {exc}"
            ) from exc
        self.touch(image.id)
        return target

    def extract(
        self,
        ref: str,
        dest: str | os.PathLike[str],
        *,
        preserve_owner: bool = False,
        xattrs: bool = True,
    ) -> ImageManifest:
        """Extract the stored image to the layout ``dest`` (see :func:`appc.aci.extract`)."""
        from appc.aci import extract

        image = self._existing(ref)
        manifest = extract(
            image.path, dest, preserve_owner=preserve_owner, xattrs=xattrs
        )
        self.touch(image.id)
        return manifest

    # -- removal and checks ---------------------------------------------------------

    def remove(self, ref: str) -> StoredImage:
        """Delete an image (its file, signature, index entry and cached remotes)."""
        image = self.get(ref)
        with self._write() as db:
            db.execute("DELETE FROM images WHERE id = ?", (image.id,))
            db.execute("DELETE FROM remotes WHERE image_id = ?", (image.id,))
            _unlink_blob(image.path)
        logger.info("removed %s (%s)", image.short_id, image.name)
        return image

    def verify(
        self,
        ref: str | None = None,
        *,
        keystore: Keystore | None = None,
        progress: Callable[[int, int | None], None] | None = None,
    ) -> tuple[VerifyResult, ...]:
        """Hash every stored image again (or the one ``ref`` names) and compare with its ID.

        With a ``keystore``, stored signatures are verified again too,
        against the keys trusted today for the image's name (an image
        imported without a signature is then reported).
        """
        images = (self.get(ref),) if ref is not None else self.images()
        return tuple(self._verify_one(image, keystore, progress) for image in images)

    def _verify_one(
        self,
        image: StoredImage,
        keystore: Keystore | None,
        progress: Callable[[int, int | None], None] | None,
    ) -> VerifyResult:
        from appc.aci import image_id

        if not image.path.exists():
            return VerifyResult(
                image=image, problem=f"the file {image.path} is missing"
            )
        try:
            found = image_id(image.path, progress=progress)
        except AppcError as exc:
            return VerifyResult(image=image, problem=f"cannot be read: {exc}")
        if found != image.id:
            return VerifyResult(
                image=image, problem=f"the file hashes to {found.short()} now"
            )
        if keystore is None:
            return VerifyResult(image=image, problem=None)
        if image.signature_path is None:
            return VerifyResult(image=image, problem="no signature was stored with it")
        from appc.signing import verify

        try:
            signer = verify(
                image.path, image.signature_path, keystore.keyring_for(image.name)
            )
        except AppcError as exc:
            return VerifyResult(image=image, problem=f"signature: {exc}")
        return VerifyResult(image=image, problem=None, signer=signer)

    def gc(
        self,
        *,
        unused_for: timedelta | None = None,
        partial_grace: timedelta = PARTIAL_GRACE,
    ) -> GCResult:
        """Tidy the store: drop files without an entry, entries without a file, old leftovers.

        ``unused_for`` also removes images not used (fetched, exported,
        extracted) for that long. Partial downloads untouched for
        ``partial_grace`` are removed unless a download holds them.
        """
        self._setup()
        removed_images: list[ImageID] = []
        removed_files: list[Path] = []
        freed = 0
        now = time.time()
        with self._write() as db:
            rows = db.execute(
                "SELECT id, import_time, last_used FROM images"
            ).fetchall()
            known = {str(row[0]) for row in rows}
            for row in rows:
                image_id = ImageID(str(row[0]))
                path = self.blob_path(image_id)
                used = float(row[2] if row[2] is not None else row[1])
                stale = (
                    unused_for is not None and now - used > unused_for.total_seconds()
                )
                if path.exists() and not stale:
                    continue
                db.execute("DELETE FROM images WHERE id = ?", (image_id,))
                db.execute("DELETE FROM remotes WHERE image_id = ?", (image_id,))
                freed += _unlink_blob(path)
                removed_images.append(image_id)
            for path in sorted(self._blobs.glob("*/*")):
                image_hex = path.name.removesuffix(".asc")
                if f"sha512-{image_hex}" in known:
                    continue
                freed += path.stat().st_size
                path.unlink()
                removed_files.append(path)
        for path in self._stale_temporaries(now - partial_grace.total_seconds()):
            with contextlib.suppress(FileNotFoundError):
                freed += path.stat().st_size
                path.unlink()
                removed_files.append(path)
        return GCResult(
            removed_images=tuple(removed_images),
            removed_files=tuple(removed_files),
            freed_bytes=freed,
        )

    def _stale_temporaries(self, before: float) -> Iterator[Path]:
        import fcntl

        for path in sorted(self._tmp.iterdir()):
            if path.suffix == ".lock":
                continue
            try:
                if path.stat().st_mtime > before:
                    continue
            except FileNotFoundError:
                continue
            lock = path.with_suffix(".lock")
            if not lock.exists():
                yield path
                continue
            fd = os.open(lock, os.O_RDWR)
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                continue  # a download is using it
            finally:
                os.close(fd)
            yield path

    # -- remotes and downloads ------------------------------------------------------

    def remote(self, url: str) -> Remote | None:
        """What ``url`` gave last time, if that image is still in the store."""
        with self._connect() as db:
            row = db.execute(
                "SELECT r.url, r.image_id, r.etag, r.last_modified, r.max_age, r.download_time"
                " FROM remotes r JOIN images i ON i.id = r.image_id WHERE r.url = ?",
                (url,),
            ).fetchone()
        if row is None:
            return None
        return Remote(
            url=str(row[0]),
            image_id=ImageID(str(row[1])),
            etag=None if row[2] is None else str(row[2]),
            last_modified=None if row[3] is None else str(row[3]),
            max_age=None if row[4] is None else int(row[4]),
            downloaded=datetime.fromtimestamp(float(row[5]), UTC),
        )

    def record_remote(
        self,
        url: str,
        image_id: ImageID,
        *,
        etag: str | None = None,
        last_modified: str | None = None,
        max_age: int | None = None,
    ) -> None:
        """Remember what ``url`` gave, with its validators and freshness."""
        with self._write() as db:
            db.execute(
                "INSERT INTO remotes (url, image_id, etag, last_modified, max_age, download_time)"
                " VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT (url) DO UPDATE SET"
                " image_id = excluded.image_id, etag = excluded.etag,"
                " last_modified = excluded.last_modified, max_age = excluded.max_age,"
                " download_time = excluded.download_time",
                (url, image_id, etag, last_modified, max_age, time.time()),
            )

    @contextlib.contextmanager
    def partial(
        self, url: str, *, timeout: float = LOCK_TIMEOUT
    ) -> Generator[PartialDownload]:
        """Hold the download of ``url``: its partial file, locked against other processes."""
        self._setup()
        base = self._tmp / f"download-{hashlib.sha256(url.encode()).hexdigest()[:40]}"
        lock_path = base.with_suffix(".lock")
        fd = os.open(lock_path, os.O_RDWR | os.O_CREAT, 0o644)
        try:
            _acquire(fd, url, timeout)
            yield PartialDownload(base, url)
        finally:
            os.close(fd)

    def temporary_file(self, prefix: str = "file-") -> Path:
        """A new empty file under ``tmp/`` (the caller removes it)."""
        self._setup()
        fd, name = tempfile.mkstemp(dir=self._tmp, prefix=prefix)
        os.close(fd)
        return Path(name)


def _place(temp: Path, final: Path, asc_temp: Path | None) -> None:
    """Rename a new blob (and its signature) into place; the caller holds the write lock."""
    try:
        final.parent.mkdir(exist_ok=True)
        temp.replace(final)
        if asc_temp is not None:
            asc_temp.replace(final.with_name(final.name + ".asc"))
    except OSError as exc:
        raise StoreError(f"cannot write to the store: {exc}") from exc
    _fsync_dir(final.parent)


def _moved(src: str | os.PathLike[str], dest: Path) -> bool:
    try:
        Path(src).replace(dest)
    except OSError as exc:
        if exc.errno == errno.EXDEV:
            return False  # another file system: copy instead
        raise StoreError(
            f"cannot move {os.fsdecode(src)} into the store: {exc}"
        ) from exc
    return True


def _unlink_blob(path: Path) -> int:
    freed = 0
    for file in (path, path.with_name(path.name + ".asc")):
        try:
            freed += file.stat().st_size
            file.unlink()
        except FileNotFoundError:
            continue
    return freed


def _copy_atomically(src: Path, dest: Path) -> None:
    fd, name = tempfile.mkstemp(dir=dest.parent, prefix=f".{dest.name}.")
    try:
        with os.fdopen(fd, "wb") as out, src.open("rb") as stream:
            shutil.copyfileobj(stream, out, _COPY_CHUNK)
        os.chmod(name, 0o644)  # noqa: PTH101
        Path(name).replace(dest)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(name)  # noqa: PTH108
        raise


def _identify(path: Path) -> tuple[ImageID, ImageManifest]:
    from appc.aci import image_id, validate

    manifest = validate(path)
    return image_id(path), manifest
