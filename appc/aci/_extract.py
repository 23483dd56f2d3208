"""Extract an image archive into a directory, safely.

This is our own extractor, not ``tarfile.extract*``: on Python 3.11.7 the
``data`` filter is bypassable (CVE-2025-4517, reproduced in the test suite).
Every file is created relative to an open directory descriptor, every path
component is opened with ``O_NOFOLLOW``, and the members go through the
checks of :mod:`appc.aci.layout` before anything is written, so no member
can reach outside the destination whatever links the archive holds:

- symlinks are created verbatim and never followed;
- a hard link can only name an earlier member under ``rootfs/`` that is not
  a directory or a symlink;
- setuid and setgid bits, device nodes and ownership are applied only when
  asked for (``preserve_special_bits``, ``devices``, ``preserve_owner``) and
  allowed by the system;
- the tree is built in a private temporary directory next to ``dest`` and
  renamed into place only once the whole archive has been read and
  validated; on any error it is removed and ``dest`` is left untouched.

>>> import io
>>> extract(io.BytesIO(b"not an archive"), "/tmp/never-created")
Traceback (most recent call last):
...
appc.errors.UnsupportedCompression: not a gzip, bzip2 or xz stream nor a tar archive
"""

# We work on bytes paths and directory descriptors, where pathlib has no
# equivalent: the os functions are the right tools here.
# ruff: noqa: PTH100, PTH101, PTH102, PTH104, PTH112, PTH114, PTH118, PTH208, PTH123

from __future__ import annotations

import collections
import contextlib
import errno
import logging
import os
import secrets
import shutil
import stat

from collections.abc import Generator, Iterable
from typing import TYPE_CHECKING

from appc.aci._tar import (
    BLKTYPE,
    CHRTYPE,
    DIRTYPE,
    FIFOTYPE,
    LNKTYPE,
    REGULAR_TYPES,
    SYMTYPE,
    Member,
)
from appc.aci.layout import MANIFEST, normalize_name
from appc.aci.limits import DEFAULT_LIMITS, Limits
from appc.aci.reader import (
    ArchiveScan,
    ProgressCallback,
    Source,
    archive_chunks,
    manifest_issues,
)
from appc.errors import ArchiveError, InvalidImage, UnsafeArchive


if TYPE_CHECKING:
    from appc.manifest import ImageManifest


__all__ = ["extract"]

logger = logging.getLogger(__name__)

DIR_FLAGS = os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW | os.O_CLOEXEC
_FILE_FLAGS = os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | os.O_CLOEXEC
_SPECIAL_BITS = stat.S_ISUID | stat.S_ISGID
_XATTR_DENIED = frozenset((errno.EPERM, errno.ENOTSUP, errno.EOPNOTSUPP, errno.EACCES))
#: Mode of the parents that the archive does not list, and of ``dest``.
IMPLICIT_DIR_MODE = 0o755
#: Directory descriptors kept open while extracting.
_OPEN_DIRS = 64


def _current_umask() -> int:
    """The process umask, read without changing it (Linux); 0o777 if unknown."""
    try:
        with open("/proc/self/status", "rb") as status:
            for line in status:
                if line.startswith(b"Umask:"):
                    return int(line.split()[1], 8)
    except (OSError, ValueError, IndexError):
        pass
    return 0o777  # unknown: always fchmod


class Options:
    __slots__ = ("devices", "preserve_owner", "preserve_special_bits", "xattrs")

    def __init__(
        self,
        *,
        preserve_owner: bool,
        preserve_special_bits: bool,
        devices: bool,
        xattrs: bool,
    ) -> None:
        self.preserve_owner = preserve_owner
        self.preserve_special_bits = preserve_special_bits
        self.devices = devices
        self.xattrs = xattrs


class _DirMeta:
    """What to apply to a directory at the end; ``member`` None for implicit ones."""

    __slots__ = ("member",)

    def __init__(self, member: Member | None) -> None:
        self.member = member


def _os_error(path: str, exc: OSError) -> ArchiveError:
    return ArchiveError(f"cannot extract {path}: {exc.strerror or exc}")


class Tree:
    """The destination tree, reached only through directory descriptors.

    Descriptors of recently used directories are kept (at most
    :data:`_OPEN_DIRS`), so that a member next to the previous one, or one
    level down, costs one ``openat`` at most.
    """

    def __init__(self, root_fd: int, options: Options) -> None:
        self.root_fd = root_fd
        self.options = options
        self.dirs: dict[tuple[str, ...], _DirMeta] = {}
        self.skipped: set[str] = set()
        self._fds: collections.OrderedDict[tuple[str, ...], int] = (
            collections.OrderedDict()
        )
        self._umask = _current_umask()
        self._mode_mask = 0o7777 & (
            ~0 if options.preserve_special_bits else ~_SPECIAL_BITS
        )
        # The directory of the previous member, as a path and a descriptor.
        self._last_dir: str | None = None
        self._last_fd = root_fd

    def close(self) -> None:
        """Close every cached descriptor."""
        self._last_dir = None
        while self._fds:
            os.close(self._fds.popitem()[1])

    def dir_fd(self, parts: tuple[str, ...], *, create: bool) -> int:
        """A borrowed descriptor of the directory ``parts``; missing ones made (0700)."""
        fds = self._fds
        # The deepest directory on the way that is open already.
        depth = len(parts)
        fd = self.root_fd
        while depth:
            cached = fds.get(parts[:depth])
            if cached is not None:
                fds.move_to_end(parts[:depth])
                fd = cached
                break
            depth -= 1
        for level in range(depth + 1, len(parts) + 1):
            name = parts[level - 1]
            try:
                child = os.open(name, DIR_FLAGS, dir_fd=fd)
            except FileNotFoundError:
                if not create:
                    raise
                os.mkdir(name, 0o700, dir_fd=fd)
                self.dirs.setdefault(parts[:level], _DirMeta(None))
                child = os.open(name, DIR_FLAGS, dir_fd=fd)
            fds[parts[:level]] = fd = child
            if len(fds) > _OPEN_DIRS:
                # The least recently used: never the one just opened.
                os.close(fds.popitem(last=False)[1])
                self._last_dir = None  # it may have been that one
        return fd

    def parent(self, parts: tuple[str, ...]) -> int:
        """The borrowed descriptor of the directory holding ``parts``."""
        return self.dir_fd(parts[:-1], create=True)

    def mode(self, member: Member) -> int:
        """The permission bits to give ``member`` (setuid/setgid if allowed)."""
        return member.mode & self._mode_mask

    def add(
        self,
        member: Member,
        path: str,
        data: Iterable[bytes | memoryview] = (),
    ) -> None:
        """Create one member; ``data`` is the content of a regular file."""
        try:
            if member.type in REGULAR_TYPES:
                self._file(member, path, data)
            else:
                self._add(member, tuple(path.split("/")), path)
        except OSError as exc:
            raise _os_error(path, exc) from exc

    def _add(self, member: Member, parts: tuple[str, ...], path: str) -> None:
        name = parts[-1]
        kind = member.type
        if kind == DIRTYPE:
            self._directory(member, parts)
            return
        fd = self.parent(parts)
        if kind == SYMTYPE:
            os.symlink(member.linkname, name, dir_fd=fd)
            self._owner_and_time(member, fd, name)
        elif kind == LNKTYPE:
            self._hardlink(member, name, path)
        elif kind in (CHRTYPE, BLKTYPE):
            self._device(member, fd, name, path)
        elif kind == FIFOTYPE:  # pragma: no branch - the reader admits no other type
            os.mkfifo(name, 0o600, dir_fd=fd)
            self._special_metadata(member, fd, name)

    def _directory(self, member: Member, parts: tuple[str, ...]) -> None:
        fd = self.parent(parts)
        try:
            os.mkdir(parts[-1], 0o700, dir_fd=fd)
        except FileExistsError:
            # Created earlier as the parent of another member: check it is one.
            self.dir_fd(parts, create=False)
        self.dirs[parts] = _DirMeta(member)

    def _file(
        self, member: Member, path: str, data: Iterable[bytes | memoryview]
    ) -> None:
        # The hot path of extraction: one call per file, the directory of the
        # previous member reused without a lookup.
        slash = path.rfind("/")
        parent = path[:slash] if slash > 0 else ""
        if parent == self._last_dir:
            dir_fd = self._last_fd
        else:
            dir_fd = self._last_fd = self.dir_fd(
                tuple(parent.split("/")) if parent else (), create=True
            )
            self._last_dir = parent
        # Created with its final mode when the umask lets it through; fchmod
        # otherwise (one system call less per file in the common case).
        mode = member.mode & self._mode_mask
        fd = os.open(path[slash + 1 :], _FILE_FLAGS, mode & 0o777, dir_fd=dir_fd)
        try:
            for piece in data:
                written = os.write(fd, piece)
                rest = piece
                while written < len(rest):  # rare: a short write
                    rest = rest[written:]
                    written = os.write(fd, rest)
            if member.xattrs:
                self._xattrs(fd, member)
            if self.options.preserve_owner:
                os.fchown(fd, member.uid, member.gid)
            if mode & (self._umask | 0o7000) or self.options.preserve_owner:
                os.fchmod(fd, mode)  # (fchown clears setuid bits: set them again)
            os.utime(fd, ns=(member.mtime_ns, member.mtime_ns))
        finally:
            os.close(fd)

    def _xattrs(self, fd: int, member: Member) -> None:
        if not self.options.xattrs:
            return
        for key, value in member.xattrs.items():
            try:
                os.setxattr(fd, key, value)
            except OSError as exc:
                # trusted.* and security.* need privileges; some file systems
                # have no xattrs at all: keep going, but say so.
                if exc.errno not in _XATTR_DENIED:
                    raise
                logger.warning(
                    "cannot set xattr %s on %s: %s", key, member.name, exc.strerror
                )

    def _owner_and_time(self, member: Member, dir_fd: int, name: str) -> None:
        if self.options.preserve_owner:
            os.chown(name, member.uid, member.gid, dir_fd=dir_fd, follow_symlinks=False)
        os.utime(
            name,
            ns=(member.mtime_ns, member.mtime_ns),
            dir_fd=dir_fd,
            follow_symlinks=False,
        )

    def _special_metadata(self, member: Member, dir_fd: int, name: str) -> None:
        if self.options.preserve_owner:
            os.chown(name, member.uid, member.gid, dir_fd=dir_fd, follow_symlinks=False)
        # The node was just made in our private directory: it is no symlink.
        os.chmod(name, self.mode(member), dir_fd=dir_fd)
        os.utime(
            name,
            ns=(member.mtime_ns, member.mtime_ns),
            dir_fd=dir_fd,
            follow_symlinks=False,
        )

    def _hardlink(self, member: Member, name: str, path: str) -> None:
        target = normalize_name(member.linkname)
        if isinstance(target, str):  # pragma: no cover - the layout checks refused it
            raise UnsafeArchive(
                f"{path}: hard link target {member.linkname!r}: {target}"
            )
        target_path = "/".join(target)
        if target_path in self.skipped:
            self.skipped.add(path)
            return
        # Our own descriptor: looking up the other directory may evict it.
        target_fd = os.dup(self.dir_fd(target[:-1], create=False))
        try:
            os.link(
                target[-1],
                name,
                src_dir_fd=target_fd,
                dst_dir_fd=self.parent(tuple(path.split("/"))),
                follow_symlinks=False,
            )
        finally:
            os.close(target_fd)

    def _device(self, member: Member, dir_fd: int, name: str, path: str) -> None:
        if not self.options.devices:
            logger.warning(
                "skipping device node %s (pass devices=True to create it)", path
            )
            self.skipped.add(path)
            return
        kind = stat.S_IFCHR if member.type == CHRTYPE else stat.S_IFBLK
        try:
            os.mknod(
                name,
                kind | 0o600,
                os.makedev(member.devmajor, member.devminor),
                dir_fd=dir_fd,
            )
        except PermissionError as exc:
            raise ArchiveError(
                f"cannot create device node {path}: {exc.strerror} (needs root)"
            ) from exc
        self._special_metadata(member, dir_fd, name)

    def finish_dirs(self) -> None:
        """Apply directory metadata last, deepest first, so writes were possible."""
        self.close()
        for parts in sorted(self.dirs, key=len, reverse=True):
            try:
                self._finish_dir(parts)
            except OSError as exc:
                raise _os_error("/".join(parts), exc) from exc

    def _finish_dir(self, parts: tuple[str, ...]) -> None:
        member = self.dirs[parts].member
        fd = self.dir_fd(parts, create=False)
        if member is None:
            os.fchmod(fd, IMPLICIT_DIR_MODE)
            return
        self._xattrs(fd, member)
        if self.options.preserve_owner:
            os.fchown(fd, member.uid, member.gid)
        os.fchmod(fd, self.mode(member))
        os.utime(fd, ns=(member.mtime_ns, member.mtime_ns))


def raise_first(scan: ArchiveScan, seen: int) -> None:
    issues = scan.checker.issues[seen:]
    if not issues:
        return
    unsafe = [issue for issue in issues if issue in scan.checker.unsafe]
    if unsafe:
        raise UnsafeArchive(str(unsafe[0]))
    raise InvalidImage("invalid app container image", issues)


def prepare_destination(dest: str) -> str:
    """Check ``dest`` and return the private directory to extract into."""
    if os.path.islink(dest):
        raise UnsafeArchive(f"destination {dest} is a symlink")
    if os.path.lexists(dest):
        if not os.path.isdir(dest):
            raise ArchiveError(f"destination {dest} exists and is not a directory")
        if os.listdir(dest):
            raise ArchiveError(f"destination {dest} is not empty")
    parent, base = os.path.split(os.path.abspath(dest))
    temp = os.path.join(parent, f".{base}.{secrets.token_hex(4)}.partial")
    try:
        os.mkdir(temp, 0o700)
    except OSError as exc:
        raise ArchiveError(f"cannot create {temp}: {exc.strerror}") from exc
    return temp


def remove_partial(temp: str) -> None:
    try:
        shutil.rmtree(temp)
    except OSError:
        # Directories the archive made read-only: open them up, then retry.
        for directory, subdirs, _files in os.walk(temp):
            for name in subdirs:
                path = os.path.join(directory, name)
                if not os.path.islink(path):
                    with contextlib.suppress(OSError):
                        os.chmod(path, 0o700)
        shutil.rmtree(temp, ignore_errors=True)


@contextlib.contextmanager
def building(target: str, what: str) -> Generator[str]:
    """A private directory next to ``target``, renamed to it if the block succeeds.

    On any error the directory is removed and ``target`` left as it was;
    ``what`` names the tree in the error when the rename fails.
    """
    temp = prepare_destination(target)
    try:
        yield temp
        os.chmod(temp, IMPLICIT_DIR_MODE)
        try:
            os.rename(temp, target)
        except OSError as exc:
            raise ArchiveError(
                f"cannot move the {what} to {target}: {exc.strerror}"
            ) from exc
    except BaseException:
        remove_partial(temp)
        raise


def extract(
    src: Source,
    dest: str | os.PathLike[str],
    *,
    preserve_owner: bool = False,
    preserve_special_bits: bool = False,
    devices: bool = False,
    xattrs: bool = True,
    limits: Limits = DEFAULT_LIMITS,
    progress: ProgressCallback | None = None,
) -> ImageManifest:
    """Extract an image archive to the layout ``dest`` (``manifest`` + ``rootfs/``).

    ``dest`` must not exist or be an empty directory. Modes, times, links,
    fifos and extended attributes are restored; ownership only with
    ``preserve_owner`` (needs root), setuid/setgid bits only with
    ``preserve_special_bits``, device nodes only with ``devices`` (needs
    root; otherwise they are skipped with a warning). Raises
    :class:`~appc.errors.UnsafeArchive` for a member that could reach outside
    ``dest``, :class:`~appc.errors.InvalidImage` for other problems; either
    way ``dest`` is left as it was.
    """
    target = os.fsdecode(dest)
    options = Options(
        preserve_owner=preserve_owner,
        preserve_special_bits=preserve_special_bits,
        devices=devices,
        xattrs=xattrs,
    )
    with (
        archive_chunks(src, limits, progress) as chunks,
        building(target, "extracted image") as temp,
    ):
        return _extract_into(temp, ArchiveScan(chunks, limits), options)


def _extract_into(temp: str, scan: ArchiveScan, options: Options) -> ImageManifest:
    root_fd = os.open(temp, DIR_FLAGS)
    tree = Tree(root_fd, options)
    manifest_member: Member | None = None
    try:
        seen = 0
        issues = scan.checker.issues
        reader = scan.reader
        for member, path in scan:
            if len(issues) != seen:
                raise_first(scan, seen)
            if path is None:
                continue
            if path == MANIFEST:
                manifest_member = member
                continue
            if member.size:
                view = reader.data_view()
                tree.add(member, path, reader.iter_data() if view is None else (view,))
            else:
                tree.add(member, path)
        scan.reader.drain()
        scan.checker.finish()
        raise_first(scan, seen)
        # finish() reported a missing manifest, so both are set here.
        assert scan.manifest_bytes is not None  # noqa: S101
        assert manifest_member is not None  # noqa: S101
        manifest, issues = manifest_issues(scan.manifest_bytes)
        if manifest is None:
            raise InvalidImage("invalid app container image", issues)
        tree.add(manifest_member, MANIFEST, (scan.manifest_bytes,))
        tree.finish_dirs()
        return manifest
    finally:
        tree.close()
        os.close(root_fd)
