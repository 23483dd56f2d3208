"""Read image archives: image ID, validation, the manifest.

Every function takes ``src``, a path or a binary file object (read from its
current position), detects gzip, bzip2, xz or plain tar by magic bytes, and
streams: memory does not grow with the image. ``limits`` bounds the work
(:mod:`appc.aci.limits`) and ``progress`` is called as
``progress(bytes_read, total_or_None)`` with the bytes of ``src`` consumed.

>>> import io
>>> from appc.aci.writer import ImageWriter
>>> from appc.manifest import load_image_manifest
>>> manifest = load_image_manifest(
...     b'{"acKind": "ImageManifest", "acVersion": "0.8.11", "name": "example.com/hello"}'
... )
>>> aci = io.BytesIO()
>>> with ImageWriter(aci, manifest) as writer:
...     writer.add_directory("rootfs")
>>> image_id(io.BytesIO(aci.getvalue())) == writer.image_id
True
>>> validate(io.BytesIO(aci.getvalue())).name
ACIdentifier('example.com/hello')
"""

# We work on bytes paths and directory descriptors, where pathlib has no
# equivalent: the os functions are the right tools here.
# ruff: noqa: PTH112, PTH115, PTH118, PTH123, PTH208

from __future__ import annotations

import contextlib
import hashlib
import os
import queue
import stat
import threading

from collections.abc import Callable, Generator, Iterator
from typing import TYPE_CHECKING, BinaryIO, Protocol

from appc.aci._compression import iter_decompressed
from appc.aci.layout import MANIFEST, ROOTFS, LayoutChecker
from appc.aci.limits import DEFAULT_LIMITS, Limits
from appc.errors import (
    ArchiveError,
    InvalidImage,
    InvalidManifest,
    Issue,
    LimitExceeded,
    UnsupportedCompression,
)
from appc.image_id import ImageID


if TYPE_CHECKING:
    from appc.aci._tar import Member, TarReader
    from appc.manifest import ImageManifest


__all__ = [
    "ProgressCallback",
    "Source",
    "image_id",
    "read_manifest",
    "read_manifest_bytes",
    "validate",
    "validate_archive",
    "validate_layout",
]

#: A path or a binary file object.
Source = str | os.PathLike[str] | BinaryIO
#: Called as ``progress(done, total)``; ``total`` is None when unknown.
ProgressCallback = Callable[[int, int | None], None]

# Below this many compressed bytes a hashing thread costs more than it saves.
_THREAD_THRESHOLD = 4 << 20


@contextlib.contextmanager
def open_source(src: Source) -> Generator[tuple[BinaryIO, int | None], None, None]:
    """Open ``src`` for reading; yield the stream and its remaining size if known."""
    if isinstance(src, (str, os.PathLike)):
        try:
            stream = open(src, "rb", buffering=0)  # noqa: SIM115 - closed below
        except OSError as exc:
            raise ArchiveError(
                f"cannot open {os.fsdecode(src)}: {exc.strerror}"
            ) from exc
        with stream:
            yield stream, os.fstat(stream.fileno()).st_size
        return
    size: int | None = None
    with contextlib.suppress(OSError, AttributeError, ValueError):
        if src.seekable():
            start = src.tell()
            size = src.seek(0, os.SEEK_END) - start
            src.seek(start)
    yield src, size


def _reporter(
    progress: ProgressCallback | None, total: int | None
) -> Callable[[int], None] | None:
    if progress is None:
        return None
    done = 0

    def on_read(count: int) -> None:
        nonlocal done
        done += count
        progress(done, total)

    return on_read


def decompressed_chunks(
    src: BinaryIO, total: int | None, limits: Limits, progress: ProgressCallback | None
) -> Iterator[bytes]:
    return iter_decompressed(
        src, max_bytes=limits.max_uncompressed_bytes, on_read=_reporter(progress, total)
    )


class _Failed:
    __slots__ = ("error",)

    def __init__(self, error: BaseException) -> None:
        self.error = error


_DONE = object()


class Prefetcher:
    """Run an iterator of chunks on a worker thread, a few chunks ahead.

    Decompression (zlib, bz2, lzma) releases the GIL, so the caller parses
    one chunk while the worker inflates the next. Errors reach the caller in
    order; :meth:`close` stops the worker early.
    """

    def __init__(self, source: Iterator[bytes], depth: int = 4) -> None:
        self._queue: queue.Queue[object] = queue.Queue(maxsize=depth)
        self._stop = threading.Event()
        self._thread = threading.Thread(
            target=self._run, args=(source,), name="appc-inflate", daemon=True
        )
        self._thread.start()

    def _run(self, source: Iterator[bytes]) -> None:
        put = self._queue.put
        try:
            for chunk in source:
                put(chunk)
                if self._stop.is_set():
                    return
        except BaseException as exc:
            put(_Failed(exc))
            return
        put(_DONE)

    def __iter__(self) -> Iterator[bytes]:
        get = self._queue.get
        while True:
            item = get()
            if isinstance(item, bytes):
                yield item
            elif isinstance(item, _Failed):
                raise item.error
            else:
                return

    def close(self) -> None:
        """Stop the worker and wait for it (it may be blocked on a full queue)."""
        self._stop.set()
        while self._thread.is_alive():
            with contextlib.suppress(queue.Empty):
                while True:
                    self._queue.get_nowait()
            self._thread.join(0.01)


@contextlib.contextmanager
def archive_chunks(
    src: Source, limits: Limits, progress: ProgressCallback | None
) -> Generator[Iterator[bytes], None, None]:
    """The uncompressed stream of ``src``, inflated ahead on a worker thread if large.

    ``progress`` is called on the caller's thread, as chunks are consumed.
    """
    with open_source(src) as (stream, total):
        consumed = [0]

        def count(raw: int) -> None:
            consumed[0] += raw  # on the worker thread: only count here

        chunks = iter_decompressed(
            stream, max_bytes=limits.max_uncompressed_bytes, on_read=count
        )
        if total is not None and total < _THREAD_THRESHOLD:
            prefetcher = None
            source: Iterator[bytes] = chunks
        else:
            prefetcher = Prefetcher(chunks)
            source = iter(prefetcher)
        try:
            yield _report(source, consumed, total, progress)
        finally:
            if prefetcher is not None:
                prefetcher.close()


def _report(
    chunks: Iterator[bytes],
    consumed: list[int],
    total: int | None,
    progress: ProgressCallback | None,
) -> Iterator[bytes]:
    for chunk in chunks:
        yield chunk
        if progress is not None:
            progress(consumed[0], total)


def image_id(
    src: Source,
    *,
    limits: Limits = DEFAULT_LIMITS,
    progress: ProgressCallback | None = None,
) -> ImageID:
    """The image ID: SHA-512 of the whole uncompressed tar stream.

    Padding and anything after the end-of-archive blocks count, as in
    ``zcat FILE | sha512sum``. Decompression and hashing run on two threads.

    >>> import gzip, hashlib, io
    >>> empty_tar = bytes(1024)
    >>> found = image_id(io.BytesIO(gzip.compress(empty_tar)))
    >>> found == "sha512-" + hashlib.sha512(empty_tar).hexdigest()
    True
    """
    with open_source(src) as (stream, total):
        chunks = decompressed_chunks(stream, total, limits, progress)
        digest = hashlib.sha512()
        if total is not None and total < _THREAD_THRESHOLD:
            for chunk in chunks:
                digest.update(chunk)
        else:
            _hash_in_thread(chunks, digest)
    return ImageID.from_hash(digest)


class Digest(Protocol):
    """What :class:`Hasher` needs of a ``hashlib`` object."""

    @property
    def name(self) -> str: ...

    def update(self, data: bytes, /) -> None: ...

    def hexdigest(self) -> str: ...


class Hasher:
    """SHA-512 on a worker thread, fed in order through a bounded queue."""

    def __init__(self, digest: Digest) -> None:
        self.digest = digest
        self._queue: queue.Queue[bytes | None] = queue.Queue(maxsize=8)
        self._thread = threading.Thread(
            target=self._run, name="appc-sha512", daemon=True
        )
        self._thread.start()

    def _run(self) -> None:
        update = self.digest.update
        get = self._queue.get
        while (chunk := get()) is not None:
            update(chunk)

    def update(self, chunk: bytes) -> None:
        self._queue.put(chunk)

    def close(self) -> None:
        self._queue.put(None)
        self._thread.join()


def _hash_in_thread(chunks: Iterator[bytes], digest: Digest) -> None:
    hasher = Hasher(digest)
    try:
        for chunk in chunks:
            hasher.update(chunk)
    finally:
        hasher.close()


class ArchiveScan:
    """Walk an archive's members through the layout checks (shared by readers).

    Iterating yields ``(member, path)``: ``path`` is the normalised name, or
    None for an entry that is ignored or refused (see :attr:`checker`). The
    first ``manifest`` member is read into :attr:`manifest_bytes`.
    """

    def __init__(self, chunks: Iterator[bytes], limits: Limits) -> None:
        from appc.aci._tar import TarReader  # not needed by image_id

        self.reader: TarReader = TarReader(chunks, limits)
        self.checker = LayoutChecker()
        self.limits = limits
        self.manifest_bytes: bytes | None = None

    def __iter__(self) -> Iterator[tuple[Member, str | None]]:
        checker = self.checker
        for member in self.reader:
            path = checker.add(member.name, member.type, member.linkname)
            if path == MANIFEST and self.manifest_bytes is None and member.is_regular:
                self.manifest_bytes = self._read_manifest(member)
            yield member, path

    def _read_manifest(self, member: Member) -> bytes:
        limit = self.limits.max_manifest_size
        if member.size > limit:
            raise LimitExceeded(
                "max_manifest_size",
                limit,
                f"manifest of {member.size} bytes is larger than {limit} (max_manifest_size)",
            )
        return self.reader.read_data()


def manifest_issues(data: bytes) -> tuple[ImageManifest | None, list[Issue]]:
    from appc.manifest import load_image_manifest

    try:
        return load_image_manifest(data), []
    except InvalidManifest as exc:
        issues = [Issue(MANIFEST, f"image manifest validation failed: {exc.summary}")]
        issues.extend(
            Issue(f"{MANIFEST} {issue.path}", issue.message) for issue in exc.issues
        )
        return None, issues


def validate_archive(
    src: Source,
    *,
    limits: Limits = DEFAULT_LIMITS,
    progress: ProgressCallback | None = None,
) -> ImageManifest:
    """Validate an image archive and return its manifest; see :func:`validate`."""
    with archive_chunks(src, limits, progress) as chunks:
        scan = ArchiveScan(chunks, limits)
        try:
            for _member in scan:
                pass
            # Read to the end, so a corrupt or over-budget tail is caught too.
            scan.reader.drain()
        except (LimitExceeded, UnsupportedCompression):
            raise
        except ArchiveError as exc:
            issues = [
                *scan.checker.issues,
                Issue(f"offset {scan.reader.offset}", str(exc)),
            ]
            raise InvalidImage("invalid app container image", issues) from exc
    return _finish(scan.checker, scan.manifest_bytes, "invalid app container image")


def _finish(
    checker: LayoutChecker, manifest_bytes: bytes | None, summary: str
) -> ImageManifest:
    checker.finish()
    # actool reports stray paths after the manifest: keep its first line first.
    stray = [
        i for i in checker.issues if i.message.startswith("unrecognized file path")
    ]
    issues = [i for i in checker.issues if i not in stray]
    manifest = None
    if manifest_bytes is not None:
        manifest, found = manifest_issues(manifest_bytes)
        issues.extend(found)
    issues.extend(stray)
    if issues or manifest is None:
        raise InvalidImage(summary, issues)
    return manifest


def validate(
    src: Source,
    *,
    limits: Limits = DEFAULT_LIMITS,
    progress: ProgressCallback | None = None,
) -> ImageManifest:
    """Validate an image archive, or a layout directory; return its manifest.

    Raises :class:`~appc.errors.InvalidImage` listing every problem found
    (actool reports only the first), :class:`~appc.errors.LimitExceeded` when
    a budget runs out and :class:`~appc.errors.UnsupportedCompression` for a
    file that is no archive.

    >>> import io
    >>> validate(io.BytesIO(b"\\0" * 1024))
    Traceback (most recent call last):
    ...
    appc.errors.UnsupportedCompression: not a gzip, bzip2 or xz stream nor a tar archive
    """
    if isinstance(src, (str, os.PathLike)) and os.path.isdir(src):
        return validate_layout(src)
    return validate_archive(src, limits=limits, progress=progress)


# --------------------------------------------------------------------------
# Layout directories


class LayoutEntry:
    """One file of a layout directory: its relative name and ``lstat``."""

    __slots__ = ("linkname", "name", "path", "stat")

    def __init__(
        self, name: bytes, path: bytes, st: os.stat_result, linkname: bytes
    ) -> None:
        self.name = name  # relative to the layout, e.g. b"rootfs/etc"
        self.path = path  # absolute
        self.stat = st
        self.linkname = linkname


_TYPE_OF_MODE = {
    stat.S_IFREG: "0",
    stat.S_IFLNK: "2",
    stat.S_IFCHR: "3",
    stat.S_IFBLK: "4",
    stat.S_IFDIR: "5",
    stat.S_IFIFO: "6",
}


def type_of(st: os.stat_result) -> str | None:
    """The tar type flag of a file, or None for a socket (never archived)."""
    return _TYPE_OF_MODE.get(stat.S_IFMT(st.st_mode))


def walk_layout(root: str | os.PathLike[str]) -> Iterator[LayoutEntry]:
    """Yield ``manifest``, ``rootfs`` and everything under it, sorted, parents first.

    Other top-level names are yielded too (without descending), so a checker
    can report them. Symlinks are never followed.
    """
    base = os.fsencode(root)
    try:
        top = sorted(os.listdir(base))
    except OSError as exc:
        raise ArchiveError(
            f"cannot read layout {os.fsdecode(base)}: {exc.strerror}"
        ) from exc
    for name in top:
        path = os.path.join(base, name)
        st = os.lstat(path)
        link = os.readlink(path) if stat.S_ISLNK(st.st_mode) else b""
        yield LayoutEntry(name, path, st, link)
        if name == ROOTFS.encode() and stat.S_ISDIR(st.st_mode):
            yield from _walk_dir(path, name)


def _walk_dir(path: bytes, name: bytes) -> Iterator[LayoutEntry]:
    try:
        with os.scandir(path) as it:
            children = sorted(it, key=lambda entry: entry.name)
    except OSError as exc:
        raise ArchiveError(f"cannot read {os.fsdecode(path)}: {exc.strerror}") from exc
    for child in children:
        child_name = name + b"/" + child.name
        st = child.stat(follow_symlinks=False)
        link = os.readlink(child.path) if stat.S_ISLNK(st.st_mode) else b""
        yield LayoutEntry(child_name, child.path, st, link)
        if stat.S_ISDIR(st.st_mode):
            yield from _walk_dir(child.path, child_name)


def check_layout(
    root: str | os.PathLike[str], limits: Limits = DEFAULT_LIMITS
) -> tuple[ImageManifest, list[LayoutEntry], LayoutEntry]:
    """Validate a layout directory; return its manifest, its rootfs entries, its manifest file."""
    checker = LayoutChecker()
    entries: list[LayoutEntry] = []
    manifest_bytes: bytes | None = None
    manifest_entry: LayoutEntry | None = None
    if not os.path.isdir(root):
        raise ArchiveError(f"given path {os.fsdecode(root)!r} is not a directory")
    for entry in walk_layout(root):
        kind = type_of(entry.stat)
        if kind is None:
            continue
        path = checker.add(os.fsdecode(entry.name), kind, os.fsdecode(entry.linkname))
        if path == MANIFEST and kind == "0":
            manifest_bytes = _read_manifest_file(entry, limits)
            manifest_entry = entry
        elif path is not None and path != MANIFEST:
            entries.append(entry)
    manifest = _finish(checker, manifest_bytes, "invalid image layout")
    assert manifest_entry is not None  # noqa: S101 - _finish found the manifest
    return manifest, entries, manifest_entry


def _read_manifest_file(entry: LayoutEntry, limits: Limits) -> bytes:
    limit = limits.max_manifest_size
    if entry.stat.st_size > limit:
        raise LimitExceeded(
            "max_manifest_size",
            limit,
            f"manifest of {entry.stat.st_size} bytes is larger than {limit} (max_manifest_size)",
        )
    fd = os.open(entry.path, os.O_RDONLY | os.O_NOFOLLOW | os.O_CLOEXEC)
    with open(fd, "rb") as stream:
        return stream.read(limit + 1)[:limit]


def validate_layout(
    root: str | os.PathLike[str], *, limits: Limits = DEFAULT_LIMITS
) -> ImageManifest:
    """Validate an image layout directory (``manifest`` + ``rootfs/``); return its manifest."""
    manifest, _entries, _manifest_entry = check_layout(root, limits)
    return manifest


# --------------------------------------------------------------------------
# The manifest alone


def read_manifest_bytes(src: Source, *, limits: Limits = DEFAULT_LIMITS) -> bytes:
    """The stored bytes of the first ``manifest`` member, unparsed (``cat-manifest``).

    Like actool, the archive is read only as far as that member.
    """
    with open_source(src) as (stream, total):
        from appc.aci._tar import TarReader

        reader = TarReader(decompressed_chunks(stream, total, limits, None), limits)
        for member in reader:
            parts = member.name.split("/")
            if [part for part in parts if part and part != "."] != [MANIFEST]:
                continue
            if not member.is_regular:
                raise InvalidImage(
                    "invalid app container image",
                    [Issue(MANIFEST, "manifest is not a regular file")],
                )
            limit = limits.max_manifest_size
            if member.size > limit:
                raise LimitExceeded(
                    "max_manifest_size",
                    limit,
                    f"manifest of {member.size} bytes is larger than {limit} (max_manifest_size)",
                )
            return reader.read_data()
    raise InvalidImage(
        "invalid app container image", [Issue(MANIFEST, "missing manifest")]
    )


def read_manifest(src: Source, *, limits: Limits = DEFAULT_LIMITS) -> ImageManifest:
    """The image manifest of an archive, parsed and validated.

    Only the archive's first ``manifest`` member is read (it comes first in
    the images :func:`appc.aci.build` writes); the rest of the archive is not
    checked: use :func:`validate` for that.
    """
    from appc.manifest import load_image_manifest

    return load_image_manifest(read_manifest_bytes(src, limits=limits))
