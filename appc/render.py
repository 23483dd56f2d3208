"""Render a stored image with its dependencies into one tree, as rkt did.

An image may depend on others (its manifest's ``dependencies``); running it
needs one root filesystem made of all of them. :func:`render` builds it from
the store with the rules of the Go reference's renderer
(``pkg/acirenderer``), checked against it by a differential test:

1. **The list of images.** The image comes first; each image's dependencies
   are inserted right after it, in declaration order, each one before those
   already inserted, and the walk goes on into them (depth first): for
   ``A -> [B, C]`` and ``C -> [D]`` the list is ``A, C, D, B``. A
   dependency that names an image ID is the stored image with that ID (or
   ID prefix); otherwise it is the newest stored image with its name and
   every one of its labels.
2. **The files.** Each image, in that order, adds the entries under
   ``rootfs/`` that no earlier image provided, except those below a path an
   earlier image provided as something else than a directory. An image's
   own ``pathWhitelist`` keeps only the listed files (directories are always
   kept); the whitelist of the image's topmost ancestor that has one keeps
   only the listed entries, directories included. The manifest is the first
   image's.

Where the Go renderer is unsafe, this one is not:

- a dependency cycle (Go loops forever) raises
  :class:`~appc.errors.DependencyError`, naming it, as does a list longer
  than :data:`MAX_DEPENDENCIES` (a diamond counts once per path, as in Go);
- every image is read through the checks of :func:`appc.aci.extract` (no
  member can reach outside the destination) and hashed on the way: one
  that no longer hashes to its ID raises
  :class:`~appc.errors.StoreCorrupted` (as Go, which checks every image);
- a hard link whose target this image does not provide (hidden by an
  upper image: a Docker whiteout, say) gets the target's own data, read
  again from the image, rather than a link to another image's file;
- the tree is built next to ``dest`` and renamed into place only when
  complete.

>>> import io, json, pathlib, tempfile
>>> from appc.aci import ImageWriter
>>> from appc.manifest import load_image_manifest
>>> tmp = pathlib.Path(tempfile.mkdtemp())
>>> store = Store(tmp / "store")
>>> def stored(name, depends_on=()):
...     manifest = load_image_manifest(json.dumps({"acKind": "ImageManifest",
...         "acVersion": "0.8.11", "name": name,
...         "dependencies": [{"imageName": d} for d in depends_on]}))
...     aci = io.BytesIO()
...     with ImageWriter(aci, manifest) as writer:
...         writer.add_directory("rootfs")
...         writer.add_file("rootfs/etc", name.encode())  # the upper one wins
...         writer.add_file("rootfs/" + name.split("/")[1], b"")
...     return store.import_image(io.BytesIO(aci.getvalue()))
>>> base = stored("example.com/base")
>>> app = stored("example.com/app", depends_on=["example.com/base"])
>>> [(str(entry.image.name), entry.files)
...  for entry in render("example.com/app", tmp / "out", store=store)]
[('example.com/app', ('rootfs', 'rootfs/etc', 'rootfs/app')), ('example.com/base', ('rootfs', 'rootfs/base'))]
>>> sorted(p.name for p in (tmp / "out/rootfs").iterdir()), (tmp / "out/rootfs/etc").read_text()
(['app', 'base', 'etc'], 'example.com/app')
>>> import shutil; shutil.rmtree(tmp)
"""

from __future__ import annotations

import hashlib
import logging
import os
import posixpath

from collections.abc import Iterator
from typing import TYPE_CHECKING, Final, Protocol

import attrs

from appc.aci._extract import DIR_FLAGS, Options, Tree, building, raise_first
from appc.aci._tar import DIRTYPE, LNKTYPE, REGTYPE, REGULAR_TYPES, Member
from appc.aci.layout import MANIFEST, ROOTFS, normalize_name
from appc.aci.limits import DEFAULT_LIMITS, Limits
from appc.aci.reader import ArchiveScan, ProgressCallback, archive_chunks
from appc.errors import DependencyError, StoreCorrupted
from appc.image_id import HashObject, ImageID
from appc.store import Store, StoredImage


if TYPE_CHECKING:
    from appc.manifest import ImageManifest


__all__ = ["MAX_DEPENDENCIES", "RenderedImage", "dependency_list", "plan", "render"]

logger = logging.getLogger(__name__)

#: Images in one dependency list (an image and everything below it, a
#: dependency shared by two branches counted once per branch); a longer list
#: is refused. :func:`appc.fetch.fetch` applies the same bound.
MAX_DEPENDENCIES: Final = 256


@attrs.frozen
class RenderedImage:
    """One image of a dependency list: the stored image, its manifest, its depth.

    ``level`` is 0 for the image rendered, 1 for its dependencies, and so
    on; ``chain`` the image IDs from the rendered image down to this one
    (how cycles are caught); ``files`` is filled by :func:`render` and
    :func:`plan`: the paths this image provides. See the module's example.

    >>> [field.name for field in attrs.fields(RenderedImage)]
    ['image', 'manifest', 'level', 'chain', 'files']
    """

    image: StoredImage
    manifest: ImageManifest
    level: int
    chain: tuple[ImageID, ...] = attrs.field(repr=False, default=())
    files: tuple[str, ...] = ()


def _manifest_of(image: StoredImage) -> ImageManifest:
    from appc.aci import read_manifest

    return read_manifest(image.path)


def dependency_list(image: StoredImage, store: Store) -> list[RenderedImage]:
    """The images to render for ``image``, upper first, as the Go renderer orders them.

    Raises :class:`~appc.errors.ImageNotFound` for a dependency missing
    from the store and :class:`~appc.errors.DependencyError` for a cycle or
    more than :data:`MAX_DEPENDENCIES` images.

    >>> import io, tempfile
    >>> from appc.aci import ImageWriter
    >>> from appc.manifest import load_image_manifest
    >>> manifest = load_image_manifest(b'{"acKind": "ImageManifest", "acVersion": "0.8.11",'
    ...     b' "name": "example.com/app", "dependencies": [{"imageName": "example.com/base"}]}')
    >>> aci = io.BytesIO()
    >>> with ImageWriter(aci, manifest) as writer:
    ...     writer.add_directory("rootfs")
    >>> with tempfile.TemporaryDirectory() as tmp:
    ...     store = Store(tmp)
    ...     dependency_list(store.import_image(io.BytesIO(aci.getvalue())), store)
    Traceback (most recent call last):
    ...
    appc.errors.ImageNotFound: no image example.com/base in the store (...)
    """
    images = [RenderedImage(image, _manifest_of(image), 0, (image.id,))]
    index = 0
    while index < len(images):
        parent = images[index]
        for dependency in parent.manifest.dependencies:
            if dependency.image_id:
                found = store.get(str(dependency.image_id))
            else:
                found = store.find(str(dependency.image_name), dict(dependency.labels))
            if found.id in parent.chain:
                cycle = [*parent.chain, found.id]
                start = cycle.index(found.id)
                names = [_name_of(images, image_id) for image_id in cycle[start:]]
                raise DependencyError("dependency cycle: " + " -> ".join(names))
            if len(images) >= MAX_DEPENDENCIES:
                raise DependencyError(
                    f"{image.ref()} needs more than {MAX_DEPENDENCIES} images "
                    "(MAX_DEPENDENCIES)"
                )
            # Each one right after its parent: the last declared comes first.
            images.insert(
                index + 1,
                RenderedImage(
                    found,
                    _manifest_of(found),
                    parent.level + 1,
                    (*parent.chain, found.id),
                ),
            )
        index += 1
    return images


def _name_of(images: list[RenderedImage], image_id: ImageID) -> str:
    return next(entry.image.ref() for entry in images if entry.image.id == image_id)


def _whitelist(paths: tuple[str, ...]) -> frozenset[str] | None:
    # Go: filepath.Join("rootfs", path), so "/a/b/" is "rootfs/a/b".
    if not paths:
        return None
    return frozenset(posixpath.normpath(f"{ROOTFS}/{path}") for path in paths)


def _upper_whitelist(
    images: list[RenderedImage], position: int
) -> frozenset[str] | None:
    """The whitelist of the topmost ancestor that has one, on this image's branch."""
    found: frozenset[str] | None = None
    level = images[position].level
    for entry in reversed(images[: position + 1]):
        if entry.level < level and entry.manifest.path_whitelist:
            found = _whitelist(entry.manifest.path_whitelist)
        level = entry.level
    return found


class _Hasher(Protocol):
    """What :func:`_hashed` needs of ``hashlib.sha512()``."""

    def update(self, data: bytes, /) -> None: ...


class _Selection:
    """The file rules of the Go renderer, fed one image at a time, in list order."""

    def __init__(self) -> None:
        self.provided: dict[str, str] = {}  # path -> tar type of who provided it

    def chooser(self, images: list[RenderedImage], position: int) -> _ImageChooser:
        return _ImageChooser(
            self.provided,
            own=_whitelist(images[position].manifest.path_whitelist),
            upper=_upper_whitelist(images, position),
        )


class _ImageChooser:
    def __init__(
        self,
        provided: dict[str, str],
        *,
        own: frozenset[str] | None,
        upper: frozenset[str] | None,
    ) -> None:
        self.provided = provided
        self.own = own
        self.upper = upper
        self.chosen: list[str] = []

    def choose(self, path: str, kind: str) -> bool:
        """Whether this image provides ``path`` (a normalised member name)."""
        provided = self.provided
        if path == ROOTFS and kind == DIRTYPE:
            self.chosen.append(path)
            if path in provided:
                return False  # listed for this image, but made by the first
            provided[path] = kind
            return True
        if not path.startswith(ROOTFS + "/"):
            return False
        if kind != DIRTYPE and self.own is not None and path not in self.own:
            return False
        if self.upper is not None and path not in self.upper:
            return False
        if path in provided:
            return False
        parent = posixpath.dirname(path)
        while parent:
            if provided.get(parent, DIRTYPE) != DIRTYPE:
                return False
            parent = posixpath.dirname(parent)
        provided[path] = kind
        self.chosen.append(path)
        return True


def _hashed(chunks: Iterator[bytes], digest: _Hasher) -> Iterator[bytes]:
    for chunk in chunks:
        digest.update(chunk)
        yield chunk


def render(
    image: str | StoredImage,
    dest: str | os.PathLike[str],
    *,
    store: Store | None = None,
    preserve_owner: bool = False,
    preserve_special_bits: bool = False,
    devices: bool = False,
    xattrs: bool = True,
    limits: Limits = DEFAULT_LIMITS,
    progress: ProgressCallback | None = None,
) -> list[RenderedImage]:
    """Render the stored ``image`` (ID, ID prefix, name, or entry) and its dependencies to ``dest``.

    ``dest`` becomes a layout: the image's ``manifest`` and a ``rootfs/``
    made of every image of :func:`dependency_list`, by the rules of the
    module docs. It must not exist or be an empty directory. The options
    are :func:`appc.aci.extract`'s; ``progress(done, total)`` follows the
    bytes of all the images' files. Returns the list, each image with the
    paths it provided.

    >>> import tempfile
    >>> with tempfile.TemporaryDirectory() as tmp:
    ...     render("example.com/app:1.0", f"{tmp}/out", store=Store(tmp))
    Traceback (most recent call last):
    ...
    appc.errors.ImageNotFound: no image example.com/app:1.0 in the store (...)
    """
    used = store if store is not None else Store()
    images = dependency_list(_entry(image, used), used)
    target = os.fsdecode(dest)
    options = Options(
        preserve_owner=preserve_owner,
        preserve_special_bits=preserve_special_bits,
        devices=devices,
        xattrs=xattrs,
    )
    with building(target, "rendered image") as temp:
        rendered = _render_into(temp, images, options, limits, progress)
    for entry in images:
        used.touch(entry.image.id)
    return rendered


def _entry(image: str | StoredImage, store: Store) -> StoredImage:
    return image if isinstance(image, StoredImage) else store.get(image)


def plan(
    image: str | StoredImage, *, store: Store | None = None
) -> list[RenderedImage]:
    """What :func:`render` would do, without writing: each image and the paths it provides.

    Every image is read and hashed, as for rendering.

    >>> import tempfile
    >>> with tempfile.TemporaryDirectory() as tmp:
    ...     plan("example.com/app:1.0", store=Store(tmp))
    Traceback (most recent call last):
    ...
    appc.errors.ImageNotFound: no image example.com/app:1.0 in the store (...)
    """
    used = store if store is not None else Store()
    images = dependency_list(_entry(image, used), used)
    selection = _Selection()
    planned: list[RenderedImage] = []
    for position, entry in enumerate(images):
        chooser = selection.chooser(images, position)
        _render_image(None, entry, chooser, DEFAULT_LIMITS)
        planned.append(attrs.evolve(entry, files=tuple(chooser.chosen)))
    return planned


def _render_into(
    temp: str,
    images: list[RenderedImage],
    options: Options,
    limits: Limits,
    progress: ProgressCallback | None,
) -> list[RenderedImage]:
    total = sum(entry.image.size for entry in images)
    read = 0  # the bytes of the images done

    def report(done: int, _size: int | None) -> None:
        assert progress is not None  # noqa: S101 - only passed along with it
        progress(read + done, total)

    root_fd = os.open(temp, DIR_FLAGS)
    tree = Tree(root_fd, options)
    selection = _Selection()
    rendered: list[RenderedImage] = []
    manifest: tuple[Member, bytes] | None = None
    try:
        for position, entry in enumerate(images):
            chooser = selection.chooser(images, position)
            found = _render_image(
                tree, entry, chooser, limits, None if progress is None else report
            )
            read += entry.image.size
            if position == 0:
                manifest = found
            rendered.append(attrs.evolve(entry, files=tuple(chooser.chosen)))
        assert manifest is not None  # noqa: S101 - the list starts with the image
        member, data = manifest
        tree.add(member, MANIFEST, (data,))
        tree.finish_dirs()
        return rendered
    finally:
        tree.close()
        os.close(root_fd)


def _render_image(
    tree: Tree | None,
    entry: RenderedImage,
    chooser: _ImageChooser,
    limits: Limits,
    progress: ProgressCallback | None = None,
) -> tuple[Member, bytes]:
    """Write what ``entry`` provides (choose only, without a tree); return its manifest."""
    digest = hashlib.sha512()
    manifest_member: Member | None = None
    skipped: set[str] = set()  # this image's paths that it does not provide
    # Hard links to a file of this image that it does not provide (a lower
    # layer's file that a Docker whiteout removed, say): by target path.
    pending: dict[str, list[tuple[str, Member]]] = {}
    aliases: dict[str, str] = {}  # such a link -> the target it stands for
    with archive_chunks(entry.image.path, limits, progress) as chunks:
        scan = ArchiveScan(_hashed(chunks, digest), limits)
        issues = scan.checker.issues
        reader = scan.reader
        for member, path in scan:
            if issues:
                raise_first(scan, 0)
            if path == MANIFEST and manifest_member is None:
                manifest_member = member
            if path is None or path == MANIFEST:
                continue
            if not chooser.choose(path, member.type):
                skipped.add(path)
                continue
            if tree is None:
                continue
            if member.type == LNKTYPE:
                target = _link_target(member)
                target = aliases.get(target, target)
                if target in skipped:
                    pending.setdefault(target, []).append((path, member))
                    aliases[path] = target
                    continue
            if member.type in REGULAR_TYPES and member.size:
                view = reader.data_view()
                tree.add(member, path, reader.iter_data() if view is None else (view,))
            else:
                tree.add(member, path)
        reader.drain()
        scan.checker.finish()
        raise_first(scan, 0)
    _check_hash(entry, digest)
    if tree is not None and pending:
        _copy_link_targets(tree, entry, pending, limits)
    # finish() reported a missing manifest, so both are set here; the bytes
    # hash to the image's ID, so they are the manifest dependency_list read.
    assert scan.manifest_bytes is not None  # noqa: S101
    assert manifest_member is not None  # noqa: S101
    return manifest_member, scan.manifest_bytes


def _check_hash(entry: RenderedImage, digest: HashObject) -> None:
    if ImageID.from_hash(digest) != entry.image.id:
        raise StoreCorrupted(
            f"{entry.image.ref()} ({entry.image.path}) no longer hashes to its "
            f"image ID {entry.image.id}"
        )


def _copy_link_targets(
    tree: Tree,
    entry: RenderedImage,
    pending: dict[str, list[tuple[str, Member]]],
    limits: Limits,
) -> None:
    """Write hard links whose target this image does not provide, from a second read.

    The first link of a target gets a copy of its data (and its metadata,
    which a hard link shares); the others are linked to that copy. Only the
    paths chosen in the first read are written.
    """
    digest = hashlib.sha512()
    with archive_chunks(entry.image.path, limits, None) as chunks:
        scan = ArchiveScan(_hashed(chunks, digest), limits)
        reader = scan.reader
        for member, path in scan:
            if path is None or path not in pending or not member.is_regular:
                continue  # what is left in pending is reported below
            links = pending.pop(path)
            first, _link = links[0]
            tree.add(_as_regular_file(member, first), first, reader.iter_data())
            for other, link in links[1:]:
                tree.add(
                    Member(name=other, type=LNKTYPE, linkname=first, mode=link.mode),
                    other,
                )
        reader.drain()
    _check_hash(entry, digest)
    for target, links in pending.items():
        for path, _link in links:
            logger.warning(
                "%s: skipping hard link %s: its target %s is not a regular file",
                entry.image.ref(),
                path,
                target,
            )


def _as_regular_file(member: Member, name: str) -> Member:
    """``member`` as a regular file called ``name`` (its data read separately)."""
    return Member(
        name=name,
        type=REGTYPE,
        mode=member.mode,
        uid=member.uid,
        gid=member.gid,
        size=member.size,
        mtime_ns=member.mtime_ns,
        uname=member.uname,
        gname=member.gname,
        xattrs=member.xattrs,
    )


def _link_target(member: Member) -> str:
    parts = normalize_name(member.linkname)
    return "/".join(parts) if isinstance(parts, tuple) else member.linkname
