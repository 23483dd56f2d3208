"""Docker layers applied in order onto an index of paths, then streamed out.

Layers are applied base first onto an in-memory index that maps each path of
the merged tree to the layer member that provides it: only headers are kept
in memory, member data stays in the layer files and is copied when the ACI is
written, in sorted order. The rules are those of the OCI image spec (and of
the Docker engine):

* ``.wh.NAME`` deletes ``NAME`` and everything under it from lower layers;
* ``.wh..wh..opq`` empties its directory of everything from lower layers
  (docker2aci ignores it: anchors.md 7.5);
* a member replaces what a lower layer had at its path; a directory over a
  directory only replaces the metadata;
* a hard link keeps the content of its source member even when a later layer
  deletes or replaces that source: the first surviving link becomes the file.

Hostile members are refused with :class:`~appc.errors.UnsafeLayer` before
anything is written: absolute names, ``..``, symlinks whose relative target
climbs out of the root, hard links to anything but an earlier member of the
same layer, and members below a symlink or a file of the merged tree.

>>> import io, tarfile
>>> def tar(*members):
...     buf = io.BytesIO()
...     with tarfile.open(fileobj=buf, mode="w") as tf:
...         for name, data in members:
...             info = tarfile.TarInfo(name)
...             info.size = len(data)
...             tf.addfile(info, io.BytesIO(data))
...     return buf.getvalue()
>>> index = LayerIndex(stdio_symlinks=False)
>>> index.apply(BytesLayer("base", tar(("a/x", b"1"), ("a/y", b"2"))))
>>> index.apply(BytesLayer("top", tar(("a/.wh.x", b""),)))
>>> [entry.path for entry in index.entries()]
['a/y']
"""

from __future__ import annotations

import io
import posixpath
import tarfile

from collections.abc import Iterator
from typing import IO, BinaryIO, Final, Protocol, Self

import attrs

from appc.errors import ConversionError, LimitExceeded, UnsafeLayer


__all__ = [
    "MAX_ENTRIES",
    "MAX_LAYERS",
    "STDIO_SYMLINKS",
    "BytesLayer",
    "Entry",
    "Layer",
    "LayerIndex",
    "clean_member_name",
]

#: Paths in the merged tree of one image (the index keeps one header each).
MAX_ENTRIES: Final = 1_000_000
#: Layers in one image (Docker's overlay driver stops at 128).
MAX_LAYERS: Final = 1_000

#: The links docker2aci adds under ``/dev`` when an image lacks them; stdout
#: and stderr deliberately point at the console, as the reference does.
STDIO_SYMLINKS: Final = (
    ("dev/fd", "/proc/self/fd"),
    ("dev/stderr", "/dev/console"),
    ("dev/stdin", "/proc/self/fd/0"),
    ("dev/stdout", "/dev/console"),
)

_WHITEOUT = ".wh."
_OPAQUE = ".wh..wh..opq"
_META = ".wh..wh."  # aufs bookkeeping (.wh..wh.plnk, .wh..wh.aufs): not content
_LINKABLE = (
    tarfile.REGTYPE,
    tarfile.SYMTYPE,
    tarfile.CHRTYPE,
    tarfile.BLKTYPE,
    tarfile.FIFOTYPE,
)


class Layer(Protocol):
    """One layer: a name for messages and a way to read its uncompressed tar."""

    @property
    def label(self) -> str:
        """A name for error messages, such as ``layer 2 (sha256:ab12…)``."""
        ...

    def open(self) -> BinaryIO:
        """Return the uncompressed tar stream, seekable, from its start."""
        ...


@attrs.frozen
class BytesLayer:
    """A layer held in memory (tests, tiny layers).

    >>> BytesLayer("empty", b"").open().read()
    b''
    """

    label: str
    data: bytes

    def open(self) -> BinaryIO:
        """Return the layer bytes as a file."""
        return io.BytesIO(self.data)


def clean_member_name(name: str, what: str = "member") -> str:
    """Normalise a layer member name to ``a/b`` form, refusing names that leave the root.

    ``.`` components and ``./`` prefixes go; the root itself is ``""``.

    >>> clean_member_name("./usr//bin/")
    'usr/bin'
    >>> clean_member_name("../etc/passwd")
    Traceback (most recent call last):
    ...
    appc.errors.UnsafeLayer: member "../etc/passwd" leaves the image root
    """
    if "\0" in name:
        raise UnsafeLayer(f"{what} {name!r} contains a NUL byte")
    try:
        name.encode("utf-8")
    except UnicodeEncodeError as exc:
        raise UnsafeLayer(f"{what} {name!r} is not valid UTF-8") from exc
    if name.startswith("/"):
        raise UnsafeLayer(f'{what} "{name}" is an absolute path')
    parts = [part for part in name.split("/") if part not in ("", ".")]
    if ".." in parts:
        raise UnsafeLayer(f'{what} "{name}" leaves the image root')
    return "/".join(parts)


def _symlink_escapes(path: str, target: str) -> bool:
    # Relative targets are resolved from the link's directory; absolute ones
    # are resolved inside the container's root at run time, so they stay in.
    if target.startswith("/"):
        return False
    depth = path.count("/")  # components of the directory holding the link
    for part in target.split("/"):
        if part in ("", "."):
            continue
        depth = depth - 1 if part == ".." else depth + 1
        if depth < 0:
            return True
    return False


@attrs.define(slots=True)
class _Node:
    info: tarfile.TarInfo  # the header that defines the path (a link's source)
    layer: int  # the layer whose file holds ``info``'s data (-1: synthetic)
    key: tuple[int, int]  # the inode: (layer, ordinal of the source member)
    owner: int  # the layer whose ACI provides this path (--nosquash)


@attrs.frozen
class Entry:
    """One member of an output ACI, in ``rootfs``-relative form.

    ``info`` is the header to write (name and link target still relative to
    the rootfs); ``layer`` and ``source`` say where its data is, if any.
    """

    path: str
    info: tarfile.TarInfo
    layer: int = -1
    source: tarfile.TarInfo | None = None


def _sort_key(path: str) -> tuple[str, ...]:
    # Component-wise order puts every directory before what it holds.
    return tuple(path.split("/"))


def _synthetic(name: str, kind: bytes, *, linkname: str = "") -> tarfile.TarInfo:
    info = tarfile.TarInfo(name)
    info.type = kind
    info.mode = 0o755 if kind == tarfile.DIRTYPE else 0o777
    info.linkname = linkname
    info.uname = info.gname = "root"
    return info


class LayerIndex:
    """The merged tree of the layers applied so far (headers only).

    ``stdio_symlinks`` seeds the tree with docker2aci's ``/dev`` links, which
    any layer may replace or delete.
    """

    def __init__(
        self, *, stdio_symlinks: bool = True, max_entries: int = MAX_ENTRIES
    ) -> None:
        self._nodes: dict[str, _Node] = {}
        self._children: dict[str, set[str]] = {}
        self._groups: dict[tuple[int, int], set[str]] = {}
        self._max_entries = max_entries
        self._layers: list[Layer] = []
        self._touched: set[tuple[int, int]] = set()
        #: Whether any whiteout or opaque directory removed something so far.
        self.deleted = False
        if stdio_symlinks:
            self._put("dev", _Node(_synthetic("dev", tarfile.DIRTYPE), -1, (-1, 0), 0))
            for ordinal, (name, target) in enumerate(STDIO_SYMLINKS, start=1):
                info = _synthetic(name, tarfile.SYMTYPE, linkname=target)
                self._put(name, _Node(info, -1, (-1, ordinal), 0))

    @property
    def layers(self) -> tuple[Layer, ...]:
        """The layers applied, base first."""
        return tuple(self._layers)

    def __len__(self) -> int:
        return len(self._nodes)

    def __contains__(self, path: object) -> bool:
        return path in self._nodes

    # -- tree primitives --------------------------------------------------

    def _put(self, path: str, node: _Node) -> None:
        old = self._nodes.get(path)
        if old is not None:
            self._forget(path, old)
        elif len(self._nodes) >= self._max_entries:
            raise LimitExceeded(
                "MAX_ENTRIES",
                self._max_entries,
                f"the image has more than {self._max_entries} paths (MAX_ENTRIES)",
            )
        self._nodes[path] = node
        if not node.info.isdir():
            self._groups.setdefault(node.key, set()).add(path)
        if path:
            self._children.setdefault(posixpath.dirname(path), set()).add(path)

    def _forget(self, path: str, node: _Node) -> None:
        members = self._groups.get(node.key)
        if members is not None:
            members.discard(path)
            if members:
                self._touched.add(node.key)
            else:
                del self._groups[node.key]

    def _remove_tree(self, path: str) -> bool:
        """Remove ``path`` and everything under it; say whether anything went."""
        removed = False
        stack = [path]
        while stack:
            current = stack.pop()
            node = self._nodes.pop(current, None)
            if node is not None:
                self._forget(current, node)
                removed = True
            stack.extend(self._children.pop(current, ()))
        if path:
            siblings = self._children.get(posixpath.dirname(path))
            if siblings is not None:
                siblings.discard(path)
        return removed

    def _empty_dir(self, path: str) -> bool:
        removed = False
        for child in sorted(self._children.get(path, ())):
            removed = self._remove_tree(child) or removed
        return removed

    # -- applying a layer -------------------------------------------------

    def apply(self, layer: Layer) -> None:
        """Apply the next layer (base first) onto the tree."""
        number = len(self._layers)
        if number >= MAX_LAYERS:
            raise LimitExceeded(
                "MAX_LAYERS",
                MAX_LAYERS,
                f"the image has more than {MAX_LAYERS} layers (MAX_LAYERS)",
            )
        self._layers.append(layer)
        self._touched = set()
        members, whiteouts, opaques = _scan(layer)
        for directory in opaques:
            self.deleted = self._empty_dir(directory) or self.deleted
        for target in whiteouts:
            self.deleted = self._remove_tree(target) or self.deleted
        seen: dict[str, _Node] = {}
        for ordinal, path, info in members:
            node = _node_for(
                number, layer, ordinal=ordinal, path=path, info=info, seen=seen
            )
            seen[path] = node
            if not info.isdir():
                self._remove_tree(path)
            self._put(path, node)
        for _ordinal, path, _info in members:
            self._check_parents(layer, path)
        # A hard link whose source a layer deleted or replaced is provided
        # again, by this layer, with the source's content.
        for key in self._touched:
            for path in self._groups.get(key, ()):
                self._nodes[path].owner = number

    def _check_parents(self, layer: Layer, path: str) -> None:
        if path not in self._nodes:
            return  # replaced later in the same layer
        parent = posixpath.dirname(path)
        while parent:
            node = self._nodes.get(parent)
            if node is not None and not node.info.isdir():
                kind = "symlink" if node.info.issym() else "non-directory"
                raise UnsafeLayer(
                    f'{layer.label}: "{path}" is below "{parent}", which is a {kind}'
                )
            parent = posixpath.dirname(parent)

    # -- reading the result -----------------------------------------------

    def whitelist(self) -> tuple[str, ...]:
        """Every path of the merged tree, absolute and sorted (a pathWhitelist)."""
        return tuple("/" + path for path in sorted(self._nodes, key=_sort_key))

    def entries(self, owner: int | None = None) -> Iterator[Entry]:
        """Yield the members of the merged tree, sorted, parents first.

        With ``owner``, only the paths that layer's ACI provides (--nosquash).
        Hard links come after the file they link to; when a link's source was
        deleted or replaced, the first surviving link carries the content.
        """
        paths = sorted(
            (p for p, n in self._nodes.items() if owner is None or n.owner == owner),
            key=_sort_key,
        )
        primaries: dict[tuple[int, int], str] = {}
        for path in paths:
            node = self._nodes[path]
            info = node.info
            if info.isdir():
                yield Entry(path, _copy_header(info, path))
                continue
            if not info.isreg():
                # Only files share data; a hard link to a symlink, device or
                # fifo is written as a copy of it.
                yield Entry(path, _copy_header(info, path))
                continue
            primary = primaries.setdefault(node.key, path)
            if primary != path:
                link = _copy_header(info, path)
                link.type = tarfile.LNKTYPE
                link.linkname = primary
                link.size = 0
                yield Entry(path, link)
                continue
            yield Entry(path, _copy_header(info, path), node.layer, info)

    def find(self, path: str) -> tarfile.TarInfo | None:
        """The header that provides ``path`` in the merged tree, if any."""
        node = self._nodes.get(path)
        return None if node is None else node.info


def _scan(
    layer: Layer,
) -> tuple[list[tuple[int, str, tarfile.TarInfo]], list[str], list[str]]:
    members: list[tuple[int, str, tarfile.TarInfo]] = []
    whiteouts: list[str] = []
    opaques: list[str] = []
    for ordinal, info in enumerate(_iter_headers(layer)):
        path = clean_member_name(info.name, f"{layer.label}: member")
        if not path:
            if not info.isdir():
                raise UnsafeLayer(
                    f'{layer.label}: the root "{info.name}" is not a directory'
                )
            continue  # "./" itself: the rootfs entry is ours
        parent, base = posixpath.split(path)
        if base == _OPAQUE:
            opaques.append(parent)
        elif any(part.startswith(_META) for part in path.split("/")):
            continue  # aufs bookkeeping and what is inside it
        elif base.startswith(_WHITEOUT):
            target = base[len(_WHITEOUT) :]
            if target in ("", ".", ".."):
                raise UnsafeLayer(f'{layer.label}: invalid whiteout "{info.name}"')
            whiteouts.append(posixpath.join(parent, target))
        else:
            members.append((ordinal, path, info))
    return members, whiteouts, opaques


def _node_for(
    number: int,
    layer: Layer,
    *,
    ordinal: int,
    path: str,
    info: tarfile.TarInfo,
    seen: dict[str, _Node],
) -> _Node:
    if info.issym() and not info.linkname:
        raise UnsafeLayer(f'{layer.label}: symlink "{path}" has an empty target')
    if info.issym() and _symlink_escapes(path, info.linkname):
        raise UnsafeLayer(
            f'{layer.label}: symlink "{path}" -> "{info.linkname}" leaves the image root'
        )
    if info.islnk():
        target = clean_member_name(info.linkname, f"{layer.label}: hard link target")
        source = seen.get(target)
        if source is None or source.info.isdir():
            raise UnsafeLayer(
                f'{layer.label}: hard link "{path}" -> "{info.linkname}" does not point'
                " to an earlier file of the same layer"
            )
        # Every link to the same source shares its inode, and so its key.
        return _Node(source.info, number, source.key, number)
    if not (info.isreg() or info.isdir() or info.type in _LINKABLE):
        raise ConversionError(
            f'{layer.label}: member "{path}" has an unsupported type {info.type!r}'
        )
    return _Node(info, number, (number, ordinal), number)


def _copy_header(info: tarfile.TarInfo, path: str) -> tarfile.TarInfo:
    # A fresh header: tarfile would otherwise keep the layer's own PAX path,
    # size and time records. Only extended attributes travel.
    out = tarfile.TarInfo(path)
    out.mode = info.mode
    out.uid = info.uid
    out.gid = info.gid
    out.mtime = info.mtime
    out.uname = info.uname
    out.gname = info.gname
    if info.isreg():
        out.type = tarfile.REGTYPE
        out.size = info.size
    else:
        out.type = info.type
    out.linkname = info.linkname if info.issym() else ""
    out.devmajor = info.devmajor
    out.devminor = info.devminor
    out.pax_headers = {
        key: value
        for key, value in info.pax_headers.items()
        if key.startswith("SCHILY.xattr.")
    }
    return out


def _iter_headers(layer: Layer) -> Iterator[tarfile.TarInfo]:
    with layer.open() as raw:
        if not raw.read(1):
            return  # docker save writes empty layers as empty files
        raw.seek(0)
        try:
            with tarfile.open(fileobj=raw, mode="r:") as archive:
                while True:
                    info = archive.next()
                    if info is None:
                        return
                    yield info
        except (tarfile.TarError, EOFError, UnicodeError, ValueError) as exc:
            raise ConversionError(
                f"{layer.label}: not a valid tar archive: {exc}"
            ) from exc


class LayerReader:
    """Random access to the member data of the layers, for writing entries."""

    def __init__(self, layers: tuple[Layer, ...]) -> None:
        self._layers = layers
        self._open: dict[int, tuple[BinaryIO, tarfile.TarFile]] = {}

    def data(self, entry: Entry) -> IO[bytes] | None:
        """A file with the data of ``entry`` (``None`` when it has none)."""
        if entry.source is None:
            return None
        opened = self._open.get(entry.layer)
        if opened is None:
            layer = self._layers[entry.layer]
            raw = layer.open()
            # Both stay open until close(): members are read one at a time.
            # The layer was parsed once already, so this cannot fail.
            archive = tarfile.open(fileobj=raw, mode="r:")  # noqa: SIM115
            opened = self._open[entry.layer] = (raw, archive)
        data = opened[1].extractfile(entry.source)
        if data is None:  # pragma: no cover - sources are regular files
            raise ConversionError(f"no data for {entry.path!r}")
        return data

    def close(self) -> None:
        """Close every layer file opened."""
        for raw, archive in self._open.values():
            archive.close()
            raw.close()
        self._open.clear()

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
