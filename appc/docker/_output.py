"""Write one ACI from a manifest and the entries of a layer index.

The archive is reproducible: the manifest comes first, then ``rootfs``, then
the entries in the order given (sorted by :class:`LayerIndex`), with headers
encoded by :func:`appc.aci._tar.encode_header`; the image ID is the SHA-512
of the uncompressed tar, computed while writing. The file appears under its
final name only when complete (written beside it, then renamed).

.. note:: This is the narrow piece of an "ACI from a manifest plus members"
   writer that docker2aci needs; it belongs in :mod:`appc.aci` once that
   package exposes a streaming writer.
"""

from __future__ import annotations

import os
import tarfile
import tempfile

from collections.abc import Iterable
from pathlib import Path
from typing import IO, Final

from appc.aci._compression import Compression, open_compressor
from appc.aci._tar import (
    DIRTYPE,
    END_OF_ARCHIVE,
    REGTYPE,
    TarEntry,
    encode_header,
    padding,
)
from appc.aci.layout import LayoutChecker
from appc.aci.writer import TarSink
from appc.docker._layers import Entry, LayerReader
from appc.errors import ConversionError, UnsafeLayer
from appc.image_id import ImageID


__all__ = ["COPY_BUFFER_SIZE", "write_aci"]

#: Bytes copied at a time from a layer into the archive.
COPY_BUFFER_SIZE: Final = 1 << 20
_ROOTFS: Final = b"rootfs"


def _tar_entry(entry: Entry) -> TarEntry:
    info = entry.info
    kind = info.type.decode("ascii")
    name = f"rootfs/{entry.path}".encode()
    linkname = b""
    if info.type == tarfile.LNKTYPE:
        linkname = f"rootfs/{info.linkname}".encode()
    elif info.type == tarfile.SYMTYPE:
        linkname = info.linkname.encode()
    xattrs = tuple(
        sorted(
            (
                key.removeprefix("SCHILY.xattr.").encode("utf-8", "surrogateescape"),
                value.encode("utf-8", "surrogateescape"),
            )
            for key, value in info.pax_headers.items()
        )
    )
    return TarEntry(
        name=name,
        type=kind,
        mode=info.mode,
        uid=info.uid,
        gid=info.gid,
        size=info.size if info.type == tarfile.REGTYPE else 0,
        mtime=int(info.mtime),
        linkname=linkname,
        uname=info.uname.encode(),
        gname=info.gname.encode(),
        devmajor=info.devmajor if info.ischr() or info.isblk() else 0,
        devminor=info.devminor if info.ischr() or info.isblk() else 0,
        xattrs=xattrs,
    )


def _check(checker: LayoutChecker, header: TarEntry) -> None:
    # The same rules as appc.aci.validate, entry by entry, before writing it.
    before = len(checker.issues)
    checker.add(header.name.decode(), header.type, header.linkname.decode())
    if len(checker.issues) > before:
        issues = "; ".join(str(issue) for issue in checker.issues[before:])
        raise UnsafeLayer(f"refusing to write {header.name.decode()!r}: {issues}")


def _finish(checker: LayoutChecker) -> None:
    checker.finish()
    if checker.issues:
        issues = "; ".join(str(issue) for issue in checker.issues)
        raise UnsafeLayer(f"the converted image would not be valid: {issues}")


def _copy(source: IO[bytes], size: int, sink: TarSink, path: str) -> None:
    left = size
    while left:
        chunk = source.read(min(left, COPY_BUFFER_SIZE))
        if not chunk:
            raise ConversionError(f'layer data of "{path}" ends early')
        sink.write(chunk)
        left -= len(chunk)
    sink.write(b"\0" * padding(size))


def write_aci(
    path: Path,
    manifest: bytes,
    entries: Iterable[Entry],
    reader: LayerReader,
    *,
    compression: Compression = "gzip",
    mtime: int = 0,
) -> ImageID:
    """Write the ACI at ``path`` and return its image ID."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, temp_name = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
    temp = Path(temp_name)
    try:
        with os.fdopen(fd, "wb") as out:
            # The same pipeline as appc.aci.build: SHA-512 on one thread,
            # gzip on the others.
            sink = TarSink(open_compressor(out, compression))
            try:
                image_id = _write(sink, manifest, entries, reader, mtime)
            except BaseException:
                sink.abort()
                raise
        # mkstemp makes the file private; an ACI is as readable as any file.
        umask = os.umask(0)
        os.umask(umask)
        temp.chmod(0o666 & ~umask)
        temp.replace(path)
    except BaseException:
        temp.unlink(missing_ok=True)
        raise
    return image_id


def _write(
    sink: TarSink,
    manifest: bytes,
    entries: Iterable[Entry],
    reader: LayerReader,
    mtime: int,
) -> ImageID:
    sink.write(
        encode_header(
            TarEntry(
                name=b"manifest",
                type=REGTYPE,
                mode=0o644,
                size=len(manifest),
                mtime=mtime,
                uname=b"root",
                gname=b"root",
            )
        )
    )
    sink.write(manifest + b"\0" * padding(len(manifest)))
    sink.write(
        encode_header(
            TarEntry(
                name=_ROOTFS,
                type=DIRTYPE,
                mode=0o755,
                mtime=mtime,
                uname=b"root",
                gname=b"root",
            )
        )
    )
    checker = LayoutChecker()
    checker.add("manifest", REGTYPE)
    checker.add("rootfs", DIRTYPE)
    for entry in entries:
        header = _tar_entry(entry)
        _check(checker, header)
        sink.write(encode_header(header))
        data = reader.data(entry)
        if data is not None:
            with data:
                _copy(data, entry.info.size, sink, entry.path)
    _finish(checker)
    sink.write(END_OF_ARCHIVE)
    return sink.close()
