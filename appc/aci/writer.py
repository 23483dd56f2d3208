"""Write image archives: :func:`build` from a layout, :class:`ImageWriter` entry by entry.

Output is reproducible: the manifest comes first, then the entries of
``rootfs`` in sorted order with parents first; headers hold only what the
files hold (no user or group names unless ``owner_root``, no access or
change times), so the same tree gives the same image ID on any machine.
With ``SOURCE_DATE_EPOCH`` set, modification times later than it are
clamped to it and the manifest entry gets it, as reproducible-builds.org
recommends for archives.

Unlike actool, extended attributes are kept (the spec says they MUST be), as
PAX ``SCHILY.xattr.*`` records, which GNU tar, Go and Python read; ``system.*``
attributes (ACLs) are left out, since their encoding is not portable.

>>> import io
>>> import appc.manifest
>>> manifest = appc.manifest.load_image_manifest(
...     b'{"acKind": "ImageManifest", "acVersion": "0.8.11", "name": "example.com/hello"}'
... )
>>> out = io.BytesIO()
>>> with ImageWriter(out, manifest) as writer:
...     writer.add_directory("rootfs")
...     writer.add_file("rootfs/hello", b"Hello!\\n", mode=0o755)
>>> writer.image_id
ImageID('sha512-...')
"""

# We work on bytes paths and directory descriptors, where pathlib has no
# equivalent: the os functions are the right tools here.
# ruff: noqa: PTH100, PTH105, PTH108, PTH118, PTH123

from __future__ import annotations

import contextlib
import errno
import hashlib
import os
import secrets
import stat

from collections.abc import Generator, Mapping
from types import TracebackType
from typing import IO, BinaryIO, Literal, Self

import appc.manifest

from appc.aci._compression import (
    ParallelGzipWriter,
    StreamCompressor,
    open_compressor,
)
from appc.aci._tar import (
    BLKTYPE,
    CHRTYPE,
    DIRTYPE,
    END_OF_ARCHIVE,
    FIFOTYPE,
    LNKTYPE,
    REGTYPE,
    SYMTYPE,
    TarEntry,
    encode_header,
    padding,
)
from appc.aci.layout import MANIFEST, LayoutChecker
from appc.aci.limits import DEFAULT_LIMITS, Limits
from appc.aci.reader import (
    Hasher,
    LayoutEntry,
    ProgressCallback,
    check_layout,
    type_of,
)
from appc.errors import ArchiveError, InvalidImage
from appc.image_id import ImageID


__all__ = [
    "ImageWriter",
    "build",
]

_READ_SIZE = 1 << 20
_BATCH = 1 << 20


def _env_source_date_epoch() -> int | None:
    """``SOURCE_DATE_EPOCH`` from the environment, or None if unset."""
    value = os.environ.get("SOURCE_DATE_EPOCH")
    if value is None or not value.strip():
        return None
    try:
        return int(value)
    except ValueError:
        raise ArchiveError(
            f"SOURCE_DATE_EPOCH must be an integer, got {value!r}"
        ) from None


class TarSink:
    """The uncompressed tar stream: hashed on one thread, compressed on others."""

    def __init__(self, compressor: ParallelGzipWriter | StreamCompressor) -> None:
        self._compressor = compressor
        self._hasher = Hasher(hashlib.sha512())
        self._pending = bytearray()
        self.size = 0

    def write(self, data: bytes) -> None:
        self.size += len(data)
        if len(data) >= _BATCH // 4:
            self.flush()
            self._emit(data)
            return
        self._pending += data
        if len(self._pending) >= _BATCH:
            self.flush()

    def flush(self) -> None:
        if self._pending:
            data = bytes(self._pending)
            self._pending.clear()
            self._emit(data)

    def _emit(self, data: bytes) -> None:
        # The hasher reads ``data`` later on its thread: it must be immutable.
        self._hasher.update(data)
        self._compressor.write(data)

    def close(self) -> ImageID:
        self.flush()
        self._hasher.close()
        self._compressor.close()
        return ImageID.from_hash(self._hasher.digest)

    def abort(self) -> None:
        self._hasher.close()
        self._compressor.abort()


class ImageWriter:
    """Write an ACI: the manifest first, then the entries you add, checked as added.

    Each entry goes through the same layout rules as :func:`appc.aci.validate`
    (a refused entry raises :class:`~appc.errors.InvalidImage` and is not
    written), so what this writes always validates. ``close()`` (or leaving
    the ``with`` block) writes the end of the archive and sets
    :attr:`image_id`; ``abort()`` (or an exception in the block) stops
    without finishing it. ``checked=True`` skips the checks, for entries
    that were validated already (as :func:`build` validates the layout).

    ``out`` is a binary file object or a path. A path is written through a
    temporary file beside it, renamed into place by ``close()`` and removed
    by ``abort()``, so a failed image never appears under its name; an
    existing file is an error unless ``overwrite``.

    Every ``add_*`` method takes the entry's ``mode``, owner (``uid``,
    ``gid`` and the names ``uname``, ``gname``, empty by default), ``mtime``
    in seconds and extended attributes (``xattrs``, name to value). Names
    longer than a tar header holds, large numbers and extended attributes go
    in PAX records.
    """

    def __init__(
        self,
        out: str | os.PathLike[str] | BinaryIO,
        manifest: appc.manifest.ImageManifest,
        *,
        compression: Literal["gzip", "bzip2", "xz", "none"] = "gzip",
        manifest_mtime: int = 0,
        threads: int | None = None,
        compression_level: int | None = None,
        checked: bool = False,
        overwrite: bool = False,
    ) -> None:
        from appc.manifest import dump_manifest

        data = dump_manifest(manifest).encode()
        self._output: _OutputFile | None = None
        if isinstance(out, (str, os.PathLike)):
            self._output = _OutputFile(os.fspath(out), overwrite)
            stream = self._output.stream
        else:
            stream = out
        try:
            self._compressor = open_compressor(
                stream, compression, threads=threads, level=compression_level
            )
        except BaseException:
            if self._output is not None:
                self._output.discard()
            raise
        self._sink = TarSink(self._compressor)
        self._checker = None if checked else LayoutChecker()
        self._finished = False
        self.image_id: ImageID | None = None
        if self._checker is not None:
            self._checker.add(MANIFEST, REGTYPE)
        self._write(
            TarEntry(
                name=MANIFEST.encode(),
                mode=0o644,
                size=len(data),
                mtime=manifest_mtime,
                uname=b"root",
                gname=b"root",
            ),
            data,
        )

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        if exc_type is None:
            self.close()
        else:
            self.abort()

    def _writable(self) -> None:
        if self._finished:
            raise ArchiveError("this ImageWriter is closed or aborted: start a new one")

    def _check(self, entry: TarEntry) -> None:
        checker = self._checker
        if checker is None:
            return
        name = os.fsdecode(entry.name)
        before = len(checker.issues)
        checker.add(name, entry.type, os.fsdecode(entry.linkname))
        if len(checker.issues) > before:
            raise InvalidImage(f"cannot add {name!r}", checker.issues[before:])

    def _write(self, entry: TarEntry, data: bytes = b"") -> None:
        self._sink.write(encode_header(entry))
        if data:
            self._sink.write(data)
            self._sink.write(b"\0" * padding(len(data)))

    def _add(self, entry: TarEntry, data: bytes = b"") -> None:
        self._writable()
        self._check(entry)
        self._write(entry, data)

    def add_directory(
        self,
        name: str,
        *,
        mode: int = 0o755,
        uid: int = 0,
        gid: int = 0,
        mtime: int = 0,
        uname: str = "",
        gname: str = "",
        xattrs: Mapping[str, bytes] | None = None,
    ) -> None:
        """Add a directory (``rootfs`` itself first)."""
        self._add(
            _tar_entry(
                name,
                DIRTYPE,
                mode=mode,
                uid=uid,
                gid=gid,
                mtime=mtime,
                uname=uname,
                gname=gname,
                xattrs=xattrs,
            )
        )

    def add_file(
        self,
        name: str,
        data: bytes,
        *,
        mode: int = 0o644,
        uid: int = 0,
        gid: int = 0,
        mtime: int = 0,
        uname: str = "",
        gname: str = "",
        xattrs: Mapping[str, bytes] | None = None,
    ) -> None:
        """Add a regular file with the given content."""
        entry = _tar_entry(
            name,
            REGTYPE,
            mode=mode,
            uid=uid,
            gid=gid,
            mtime=mtime,
            uname=uname,
            gname=gname,
            xattrs=xattrs,
            size=len(data),
        )
        self._add(entry, data)

    def add_stream(
        self,
        name: str,
        stream: IO[bytes],
        size: int,
        *,
        mode: int = 0o644,
        uid: int = 0,
        gid: int = 0,
        mtime: int = 0,
        uname: str = "",
        gname: str = "",
        xattrs: Mapping[str, bytes] | None = None,
    ) -> None:
        """Add a regular file of ``size`` bytes read from ``stream``, a chunk at a time.

        ``stream`` is a binary file object positioned at the data, such as a
        member of another archive (``tarfile.TarFile.extractfile``); memory
        stays bounded whatever the size. The stream must hold exactly
        ``size`` bytes: if it ends early or holds more,
        :class:`~appc.errors.ArchiveError` is raised and the writer is
        aborted, since the archive can no longer be finished (a path output
        is removed). The stream is not closed.

        >>> import io
        >>> import appc.manifest
        >>> manifest = appc.manifest.load_image_manifest(
        ...     b'{"acKind": "ImageManifest", "acVersion": "0.8.11", "name": "example.com/hello"}'
        ... )
        >>> with ImageWriter(io.BytesIO(), manifest) as writer:
        ...     writer.add_directory("rootfs")
        ...     writer.add_stream("rootfs/hello", io.BytesIO(b"Hello!\\n"), 7, mode=0o755)
        >>> writer.image_id
        ImageID('sha512-...')
        >>> with ImageWriter(io.BytesIO(), manifest) as writer:
        ...     writer.add_directory("rootfs")
        ...     writer.add_stream("rootfs/short", io.BytesIO(b"abc"), 10)
        Traceback (most recent call last):
        ...
        appc.errors.ArchiveError: the data of 'rootfs/short' ended after 3 of its 10 bytes...
        """
        if size < 0:
            raise ArchiveError(f"cannot add {name!r}: its size {size} is negative")
        entry = _tar_entry(
            name,
            REGTYPE,
            mode=mode,
            uid=uid,
            gid=gid,
            mtime=mtime,
            uname=uname,
            gname=gname,
            xattrs=xattrs,
            size=size,
        )
        self._writable()
        self._check(entry)
        self._sink.write(encode_header(entry))
        try:
            _copy_stream(stream, size, self._sink, name)
        except BaseException:
            # The header promised ``size`` bytes: the archive cannot go on.
            self.abort()
            raise
        self._sink.write(b"\0" * padding(size))

    def add_symlink(
        self,
        name: str,
        target: str,
        *,
        mode: int = 0o777,
        uid: int = 0,
        gid: int = 0,
        mtime: int = 0,
        uname: str = "",
        gname: str = "",
        xattrs: Mapping[str, bytes] | None = None,
    ) -> None:
        """Add a symlink; the target is stored verbatim."""
        self._add(
            _tar_entry(
                name,
                SYMTYPE,
                mode=mode,
                uid=uid,
                gid=gid,
                mtime=mtime,
                uname=uname,
                gname=gname,
                xattrs=xattrs,
                linkname=target,
            )
        )

    def add_hardlink(
        self,
        name: str,
        target: str,
        *,
        mode: int = 0o644,
        uid: int = 0,
        gid: int = 0,
        mtime: int = 0,
        uname: str = "",
        gname: str = "",
        xattrs: Mapping[str, bytes] | None = None,
    ) -> None:
        """Add a hard link to an earlier regular file (``target`` is its full name)."""
        self._add(
            _tar_entry(
                name,
                LNKTYPE,
                mode=mode,
                uid=uid,
                gid=gid,
                mtime=mtime,
                uname=uname,
                gname=gname,
                xattrs=xattrs,
                linkname=target,
            )
        )

    def add_device(
        self,
        name: str,
        kind: Literal["char", "block"],
        major: int,
        minor: int,
        *,
        mode: int = 0o600,
        uid: int = 0,
        gid: int = 0,
        mtime: int = 0,
        uname: str = "",
        gname: str = "",
        xattrs: Mapping[str, bytes] | None = None,
    ) -> None:
        """Add a character or block device node.

        >>> import io
        >>> import appc.manifest
        >>> manifest = appc.manifest.load_image_manifest(
        ...     b'{"acKind": "ImageManifest", "acVersion": "0.8.11", "name": "example.com/hello"}'
        ... )
        >>> with ImageWriter(io.BytesIO(), manifest) as writer:
        ...     writer.add_directory("rootfs")
        ...     writer.add_directory("rootfs/dev")
        ...     writer.add_device("rootfs/dev/null", "char", 1, 3, mode=0o666)
        """
        types = {"char": CHRTYPE, "block": BLKTYPE}
        if kind not in types:
            raise ArchiveError(
                f"cannot add {name!r}: a device is 'char' or 'block', not {kind!r}"
            )
        self._add(
            _tar_entry(
                name,
                types[kind],
                mode=mode,
                uid=uid,
                gid=gid,
                mtime=mtime,
                uname=uname,
                gname=gname,
                xattrs=xattrs,
                devmajor=major,
                devminor=minor,
            )
        )

    def add_fifo(
        self,
        name: str,
        *,
        mode: int = 0o644,
        uid: int = 0,
        gid: int = 0,
        mtime: int = 0,
        uname: str = "",
        gname: str = "",
        xattrs: Mapping[str, bytes] | None = None,
    ) -> None:
        """Add a named pipe (fifo)."""
        self._add(
            _tar_entry(
                name,
                FIFOTYPE,
                mode=mode,
                uid=uid,
                gid=gid,
                mtime=mtime,
                uname=uname,
                gname=gname,
                xattrs=xattrs,
            )
        )

    def add_layout_file(
        self, entry: LayoutEntry, header: TarEntry, fd: int | None
    ) -> None:
        # A file of a layout directory, its data streamed from ``fd``.
        self._writable()
        self._check(header)
        self._sink.write(encode_header(header))
        if fd is not None and header.type == REGTYPE and header.size:
            _copy_data(fd, entry, header.size, self._sink)
            self._sink.write(b"\0" * padding(header.size))

    def close(self) -> ImageID:
        """Finish the archive (and move a path output into place); return its image ID."""
        if self.image_id is not None:
            return self.image_id
        self._writable()
        checker = self._checker
        if checker is not None:
            checker.finish()
            if checker.issues:
                self.abort()
                raise InvalidImage("invalid app container image", checker.issues)
        try:
            self._sink.write(END_OF_ARCHIVE)
            image_id = self._sink.close()
        except BaseException:
            self.abort()
            raise
        self._finished = True
        if self._output is not None:
            self._output.commit()
        self.image_id = image_id
        return image_id

    def abort(self) -> None:
        """Stop without finishing the archive: a path output is removed, a file object left incomplete."""
        if self._finished:
            return
        self._finished = True
        try:
            self._sink.abort()
        finally:
            if self._output is not None:
                self._output.discard()


def _tar_entry(
    name: str,
    kind: str,
    *,
    mode: int,
    uid: int,
    gid: int,
    mtime: int,
    uname: str,
    gname: str,
    xattrs: Mapping[str, bytes] | None,
    size: int = 0,
    linkname: str = "",
    devmajor: int = 0,
    devminor: int = 0,
) -> TarEntry:
    return TarEntry(
        name=os.fsencode(name),
        type=kind,
        mode=mode,
        uid=uid,
        gid=gid,
        size=size,
        mtime=mtime,
        linkname=os.fsencode(linkname),
        uname=os.fsencode(uname),
        gname=os.fsencode(gname),
        devmajor=devmajor,
        devminor=devminor,
        xattrs=_encode_xattrs(name, xattrs),
    )


def _encode_xattrs(
    name: str, xattrs: Mapping[str, bytes] | None
) -> tuple[tuple[bytes, bytes], ...]:
    if not xattrs:
        return ()
    encoded: list[tuple[bytes, bytes]] = []
    for key, value in xattrs.items():
        raw = os.fsencode(key)
        # A PAX record is "key=value": such a name would not read back.
        if not raw or b"=" in raw or b"\0" in raw:
            raise ArchiveError(
                f"cannot add {name!r}: {key!r} is not an extended attribute name"
            )
        encoded.append((raw, bytes(value)))
    return tuple(sorted(encoded))


def _copy_stream(stream: IO[bytes], size: int, sink: TarSink, name: str) -> None:
    left = size
    while left:
        chunk = stream.read(min(left, _READ_SIZE))
        if not chunk:
            raise ArchiveError(
                f"the data of {name!r} ended after {size - left} of its {size} bytes"
                " (give add_stream the size of the data)"
            )
        if len(chunk) > left:
            break
        # The sink hashes on another thread: it needs bytes nobody can change.
        sink.write(bytes(chunk))
        left -= len(chunk)
    if left or stream.read(1):
        raise ArchiveError(
            f"the data of {name!r} is longer than its {size} bytes"
            " (give add_stream the size of the data)"
        )


class _OutputFile:
    """A file written under a temporary name beside ``target``, renamed into place by :meth:`commit`."""

    def __init__(self, target: str, overwrite: bool) -> None:
        if not overwrite and os.path.lexists(target):
            raise ArchiveError(
                f"target file {os.fsdecode(target)} exists (try --overwrite)"
            )
        directory, base = os.path.split(os.path.abspath(target))
        self._target = target
        self._overwrite = overwrite
        self._temp = os.path.join(directory, f".{base}.{secrets.token_hex(4)}.partial")
        try:
            fd = os.open(
                self._temp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_CLOEXEC, 0o666
            )
        except OSError as exc:
            raise ArchiveError(
                f"cannot create {os.fsdecode(target)}: {exc.strerror}"
            ) from exc
        self.stream: BinaryIO = open(fd, "wb")  # noqa: SIM115 - closed by commit or discard

    def commit(self) -> None:
        """Close the file and give it its name; on failure, remove it."""
        try:
            self.stream.close()
            if self._overwrite:
                os.replace(self._temp, self._target)
                return
            # link() fails if the target appeared meanwhile: never clobber.
            try:
                os.link(self._temp, self._target)
            except FileExistsError:
                raise ArchiveError(
                    f"target file {os.fsdecode(self._target)} exists (try --overwrite)"
                ) from None
            os.unlink(self._temp)
        except BaseException:
            self.discard()
            raise

    def discard(self) -> None:
        """Close and remove the temporary file."""
        self.stream.close()
        with contextlib.suppress(FileNotFoundError):
            os.unlink(self._temp)


def _open_regular(entry: LayoutEntry) -> int:
    """Open a regular file of the layout, checking it is the one walked."""
    try:
        fd = os.open(entry.path, os.O_RDONLY | os.O_NOFOLLOW | os.O_CLOEXEC)
    except OSError as exc:
        raise ArchiveError(
            f"cannot read {os.fsdecode(entry.path)}: {exc.strerror}"
        ) from exc
    st = os.fstat(fd)
    if (st.st_dev, st.st_ino) != (entry.stat.st_dev, entry.stat.st_ino):
        os.close(fd)
        raise ArchiveError(f"{os.fsdecode(entry.path)} was replaced while building")
    return fd


def _copy_data(fd: int, entry: LayoutEntry, size: int, sink: TarSink) -> None:
    left = size
    while left:
        chunk = os.read(fd, min(left, _READ_SIZE))
        if not chunk:
            raise ArchiveError(f"{os.fsdecode(entry.path)} shrank while building")
        sink.write(chunk)
        left -= len(chunk)


def read_xattrs(path: bytes, fd: int | None) -> tuple[tuple[bytes, bytes], ...]:
    """The extended attributes of a file (through ``fd`` when open), sorted."""
    try:
        if fd is not None:
            names = os.listxattr(fd)
        else:
            names = os.listxattr(path, follow_symlinks=False)
        found: list[tuple[bytes, bytes]] = []
        for name in sorted(names):
            if name.startswith("system."):
                continue
            if fd is not None:
                value = os.getxattr(fd, name)
            else:
                value = os.getxattr(path, name, follow_symlinks=False)
            found.append((os.fsencode(name), value))
    except OSError as exc:
        if exc.errno in (errno.ENOTSUP, errno.EOPNOTSUPP):
            return ()
        raise ArchiveError(
            f"cannot read the xattrs of {os.fsdecode(path)}: {exc.strerror}"
        ) from exc
    return tuple(found)


class _Headers:
    """Tar headers for the files of a layout: owners, clamped times, hard links."""

    def __init__(self, *, owner_root: bool, epoch: int | None) -> None:
        self.owner_root = owner_root
        self.epoch = epoch
        self._inodes: dict[tuple[int, int], bytes] = {}

    def mtime(self, st: os.stat_result) -> int:
        seconds = st.st_mtime_ns // 10**9
        if self.epoch is not None and seconds > self.epoch:
            return self.epoch
        return seconds

    def header(self, entry: LayoutEntry, fd: int | None) -> TarEntry:
        st = entry.stat
        kind = type_of(st)
        assert kind is not None  # noqa: S101 - walk_layout's callers drop sockets
        size = 0
        linkname = entry.linkname
        if kind == REGTYPE:
            size = st.st_size
            if st.st_nlink > 1:
                key = (st.st_dev, st.st_ino)
                first = self._inodes.get(key)
                if first is None:
                    self._inodes[key] = entry.name
                else:
                    kind, size, linkname = LNKTYPE, 0, first
        devmajor = devminor = 0
        if kind in (CHRTYPE, BLKTYPE):
            devmajor, devminor = os.major(st.st_rdev), os.minor(st.st_rdev)
        return TarEntry(
            name=entry.name,
            type=kind,
            mode=stat.S_IMODE(st.st_mode),
            uid=0 if self.owner_root else st.st_uid,
            gid=0 if self.owner_root else st.st_gid,
            size=size,
            mtime=self.mtime(st),
            linkname=linkname,
            uname=b"root" if self.owner_root else b"",
            gname=b"root" if self.owner_root else b"",
            devmajor=devmajor,
            devminor=devminor,
            xattrs=() if kind == LNKTYPE else read_xattrs(entry.path, fd),
        )


@contextlib.contextmanager
def output_file(
    out: str | os.PathLike[str] | BinaryIO, overwrite: bool
) -> Generator[BinaryIO, None, None]:
    """Write to ``out`` through a temporary file renamed into place at the end."""
    if not isinstance(out, (str, os.PathLike)):
        yield out
        return
    output = _OutputFile(os.fspath(out), overwrite)
    try:
        yield output.stream
    except BaseException:
        output.discard()
        raise
    output.commit()


def build(
    layout_dir: str | os.PathLike[str],
    out: str | os.PathLike[str] | BinaryIO,
    *,
    compression: Literal["gzip", "bzip2", "xz", "none"] = "gzip",
    owner_root: bool = False,
    overwrite: bool = False,
    compression_level: int | None = None,
    source_date_epoch: int | None = None,
    threads: int | None = None,
    limits: Limits = DEFAULT_LIMITS,
    progress: ProgressCallback | None = None,
) -> ImageID:
    """Build an ACI from a layout directory; return its image ID.

    The layout is validated first (:class:`~appc.errors.InvalidImage` lists
    every problem). ``out`` is a path (written through a temporary file, so a
    failed build leaves nothing; an existing file is an error unless
    ``overwrite``) or a binary file object. ``source_date_epoch`` defaults to
    the environment's ``SOURCE_DATE_EPOCH``. gzip runs on ``threads``
    threads (default: one per core) at ``compression_level`` (default 5).
    ``progress(done, total)`` counts bytes of file data.

    >>> build("/nonexistent", "/tmp/x.aci")
    Traceback (most recent call last):
    ...
    appc.errors.ArchiveError: given path '/nonexistent' is not a directory
    """
    manifest, entries, manifest_entry = check_layout(layout_dir, limits)
    epoch = (
        source_date_epoch if source_date_epoch is not None else _env_source_date_epoch()
    )
    headers = _Headers(owner_root=owner_root, epoch=epoch)
    manifest_mtime = epoch if epoch is not None else headers.mtime(manifest_entry.stat)
    # Each inode once: later names of a hard-linked file carry no data.
    total = sum(
        {
            (entry.stat.st_dev, entry.stat.st_ino): entry.stat.st_size
            for entry in entries
            if stat.S_ISREG(entry.stat.st_mode)
        }.values()
    )
    done = 0
    with output_file(out, overwrite) as stream:
        writer = ImageWriter(
            stream,
            manifest,
            compression=compression,
            manifest_mtime=manifest_mtime,
            threads=threads,
            compression_level=compression_level,
            checked=True,
        )
        try:
            for entry in entries:
                regular = stat.S_ISREG(entry.stat.st_mode)
                fd = _open_regular(entry) if regular else None
                try:
                    header = headers.header(entry, fd)
                    writer.add_layout_file(entry, header, fd)
                finally:
                    if fd is not None:
                        os.close(fd)
                if progress is not None and header.size:
                    done += header.size
                    progress(done, total)
            return writer.close()
        except BaseException:
            writer.abort()
            raise
