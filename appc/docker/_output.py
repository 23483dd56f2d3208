"""Write one ACI from a manifest and the entries of a layer index.

The entries go through :class:`appc.aci.ImageWriter`: the manifest first,
then ``rootfs``, then the entries in the order given (sorted by
:class:`~appc.docker._layers.LayerIndex`), each checked by the same rules
as :func:`appc.aci.validate` before it is written and its data copied from
the layer in bounded chunks. The image ID is the SHA-512 of the
uncompressed tar, computed while writing; the file appears under its final
name only when complete.
"""

from __future__ import annotations

import tarfile

from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Literal, TypedDict

from appc.aci import ImageWriter
from appc.docker._layers import Entry, LayerReader
from appc.errors import ArchiveError, ConversionError, InvalidImage, UnsafeLayer
from appc.image_id import ImageID


if TYPE_CHECKING:
    from appc.manifest import ImageManifest


__all__ = ["write_aci"]


class _Metadata(TypedDict):
    mode: int
    uid: int
    gid: int
    mtime: int
    uname: str
    gname: str
    xattrs: Mapping[str, bytes]


def _metadata(info: tarfile.TarInfo) -> _Metadata:
    # The index keeps only SCHILY.xattr.* records (see _layers._copy_header).
    return _Metadata(
        mode=info.mode,
        uid=info.uid,
        gid=info.gid,
        mtime=int(info.mtime),
        uname=info.uname,
        gname=info.gname,
        xattrs={
            key.removeprefix("SCHILY.xattr."): value.encode("utf-8", "surrogateescape")
            for key, value in info.pax_headers.items()
        },
    )


def _issues(exc: InvalidImage) -> str:
    return "; ".join(str(issue) for issue in exc.issues)


def _add(writer: ImageWriter, entry: Entry, reader: LayerReader) -> None:
    info = entry.info
    name = f"rootfs/{entry.path}"
    metadata = _metadata(info)
    if info.type == tarfile.DIRTYPE:
        writer.add_directory(name, **metadata)
    elif info.type == tarfile.SYMTYPE:
        writer.add_symlink(name, info.linkname, **metadata)
    elif info.type == tarfile.LNKTYPE:
        writer.add_hardlink(name, f"rootfs/{info.linkname}", **metadata)
    elif info.type in (tarfile.CHRTYPE, tarfile.BLKTYPE):
        kind: Literal["char", "block"] = "char" if info.ischr() else "block"
        writer.add_device(name, kind, info.devmajor, info.devminor, **metadata)
    elif info.type == tarfile.FIFOTYPE:
        writer.add_fifo(name, **metadata)
    else:
        data = reader.data(entry)
        if data is None:  # pragma: no cover - the index gives files their source
            raise ConversionError(f'no data for "{entry.path}"')
        with data:
            writer.add_stream(name, data, info.size, **metadata)


def write_aci(
    path: Path,
    manifest: ImageManifest,
    entries: Iterable[Entry],
    reader: LayerReader,
    *,
    compression: Literal["gzip", "none"] = "gzip",
    mtime: int = 0,
) -> ImageID:
    """Write the ACI at ``path`` (replacing any file there) and return its image ID."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with ImageWriter(
        path,
        manifest,
        compression=compression,
        manifest_mtime=mtime,
        overwrite=True,
    ) as writer:
        writer.add_directory("rootfs", mtime=mtime, uname="root", gname="root")
        for entry in entries:
            try:
                _add(writer, entry, reader)
            except InvalidImage as exc:
                raise UnsafeLayer(
                    f"refusing to write {'rootfs/' + entry.path!r}: {_issues(exc)}"
                ) from exc
            except ArchiveError as exc:
                # A header that cannot be encoded, layer data that does not
                # match its header: the layer is at fault.
                raise ConversionError(f'cannot write "{entry.path}": {exc}') from exc
        try:
            return writer.close()
        except InvalidImage as exc:
            raise UnsafeLayer(
                f"the converted image would not be valid: {_issues(exc)}"
            ) from exc
