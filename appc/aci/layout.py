"""The rules of an image layout, shared by archives and directories (no I/O).

An image is a ``manifest`` file and a ``rootfs`` directory; everything else
lives under ``rootfs/``. :class:`LayoutChecker` is fed the entries of an
archive or a directory one at a time, in order, and collects every problem
as an :class:`~appc.errors.Issue`. The messages are actool's where actool has
the rule; the rules below are ours, where actool is unsafe:

- names must be relative and free of ``..``; a non-directory may not be
  named ``.`` (the umoci pattern that replaced the root with a symlink);
- ``rootfs/`` is a path component, so ``rootfsX/a`` is not inside it;
- no member may sit below a symlink member (write-through), nor below a
  non-directory;
- a hard link must name an earlier member under ``rootfs/`` that is not a
  directory or a symlink;
- a symlink, resolved through the image's own symlinks with ``/`` standing
  for ``rootfs``, must not climb above ``rootfs`` (the CVE-2025-4517 chain);
- every name appears once, ``manifest`` and ``rootfs`` included.

>>> checker = LayoutChecker()
>>> for name, kind in [("manifest", "0"), ("rootfs", "5"), ("rootfs/a", "0")]:
...     _ = checker.add(name, kind)
>>> checker.finish()
>>> checker.issues
[]
>>> _ = checker.add("rootfsX/b", "0")
>>> [str(issue) for issue in checker.issues]
['rootfsX/b: unrecognized file path in layout: "rootfsX/b"']
"""

from __future__ import annotations

import json
import re

from collections import deque
from typing import Final

from appc.errors import Issue


__all__ = [
    "MANIFEST",
    "MAX_SYMLINK_HOPS",
    "ROOTFS",
    "LayoutChecker",
    "normalize_name",
]

MANIFEST: Final = "manifest"
ROOTFS: Final = "rootfs"

#: Symlinks followed while resolving one link target (Linux's ``MAXSYMLINKS``).
#: A longer chain is a loop to the kernel, which fails it: not an escape.
MAX_SYMLINK_HOPS: Final = 40

# Tar type flags (see appc.aci._tar); directories are fed with the same ones.
_REGULAR: Final = frozenset(("0", "\0", "7"))
_HARDLINK: Final = "1"
_SYMLINK: Final = "2"
_DIRECTORY: Final = "5"
_IMPLICIT_DIR: Final = "implicit"  # a parent that has no member of its own
_KNOWN: Final = frozenset(("0", "\0", "7", "1", "2", "3", "4", "5", "6"))
_DIRECTORIES: Final = frozenset((_DIRECTORY, _IMPLICIT_DIR))
# Kinds that need no check beyond their name and parent: files, directories.
_PLAIN_KINDS: Final = frozenset(("0", "7", _DIRECTORY))
# A name below rootfs/ without empty, "." or ".." components (one trailing
# slash allowed): normalize_name would return it unchanged.
_PLAIN_NAME: Final = re.compile(r"rootfs(?:/(?!\.\.?(?:/|\Z))[^/]+)+/?")


def _quote(name: str) -> str:
    # Go's %q for the common cases (actool's message format).
    return json.dumps(name, ensure_ascii=False)


def normalize_name(name: str) -> tuple[str, ...] | str:
    """The components of a member name, or the reason it is unsafe.

    ``.`` components and repeated or trailing slashes vanish, as Go's
    ``filepath.Clean`` makes them; ``..`` is refused rather than resolved.

    >>> normalize_name("./rootfs//etc/")
    ('rootfs', 'etc')
    >>> normalize_name("rootfs/../../etc/passwd")
    "path contains '..'"
    """
    if not name:
        return "empty member name"
    if name[0] == "/":
        return "absolute path"
    split = name.split("/")
    if "" in split or "." in split:
        parts = tuple(part for part in split if part and part != ".")
    else:
        parts = tuple(split)
    if ".." in parts:
        return "path contains '..'"
    return parts


class LayoutChecker:
    """Check the entries of one image, in order; see the module's rules.

    :meth:`add` takes a name, a tar type flag (``"0"`` file, ``"1"`` hard
    link, ``"2"`` symlink, ``"3"``/``"4"`` devices, ``"5"`` directory, ``"6"``
    fifo) and the link target. ``issues`` lists every problem; ``unsafe``
    those that could write outside the image.
    """

    def __init__(self) -> None:
        self.issues: list[Issue] = []
        self.unsafe: list[Issue] = []
        self.has_manifest = False
        self.has_rootfs = False
        # Every path under rootfs (and rootfs itself) -> type flag.
        self._types: dict[str, str] = {}
        self._symlinks: dict[str, str] = {}

    def _issue(self, path: str, message: str, *, unsafe: bool = False) -> None:
        issue = Issue(path, message)
        self.issues.append(issue)
        if unsafe:
            self.unsafe.append(issue)

    def add(self, name: str, kind: str, linkname: str = "") -> str | None:
        """Record one entry; return its normalised path, or None if it is refused.

        >>> LayoutChecker().add("./rootfs/a/../b", "0") is None
        True
        """
        if kind in _PLAIN_KINDS and _PLAIN_NAME.fullmatch(name) is not None:
            # The common case, decided here as the general path below would:
            # a clean name whose parent is rootfs or a known directory.
            path = name[:-1] if name[-1] == "/" else name
            types = self._types
            parent = path[: path.rfind("/")]
            if (parent == ROOTFS or types.get(parent) in _DIRECTORIES) and (
                path not in types
            ):
                types[path] = kind
                return path
        parts = normalize_name(name)
        if isinstance(parts, str):
            self._issue(name, parts, unsafe=True)
            return None
        if kind not in _KNOWN:
            self._issue(name, f"unsupported member type {kind!r}")
            return None
        if not parts:
            if kind != _DIRECTORY:
                self._issue(name, "a member named '.' must be a directory", unsafe=True)
                return None
            return None
        path = "/".join(parts)
        if path == MANIFEST:
            self._manifest(path, kind)
            return path
        if parts[0] != ROOTFS:
            self._issue(path, f"unrecognized file path in layout: {_quote(path)}")
            return None
        if len(parts) == 1:
            self._rootfs(path, kind)
            return path
        if not self._parents_ok(path, parts):
            return None
        known = self._types.get(path)
        if known is not None:
            if known == _IMPLICIT_DIR and kind == _DIRECTORY:
                self._types[path] = kind
                return path
            if known == _IMPLICIT_DIR:
                self._issue(
                    path,
                    "earlier members are inside it, but it is not a directory",
                    unsafe=True,
                )
            else:
                self._issue(path, f"duplicate file entry in archive: {path}")
            return None
        if kind == _HARDLINK and not self._hardlink_ok(path, linkname):
            return None
        if kind == _SYMLINK and not linkname:
            self._issue(path, "symlink with an empty target", unsafe=True)
            return None
        self._types[path] = kind
        if kind == _SYMLINK:
            self._symlinks[path] = linkname
        return path

    def _manifest(self, path: str, kind: str) -> None:
        if self.has_manifest:
            self._issue(path, f"duplicate file entry in archive: {path}")
        elif kind not in _REGULAR:
            self._issue(path, "manifest is not a regular file")
        self.has_manifest = True

    def _rootfs(self, path: str, kind: str) -> None:
        if kind != _DIRECTORY:
            self._issue(path, "rootfs is not a directory")
        elif self.has_rootfs:
            self._issue(path, f"duplicate file entry in archive: {path}")
        self.has_rootfs = True

    def _parents_ok(self, path: str, parts: tuple[str, ...]) -> bool:
        types = self._types
        missing: list[str] = []
        end = len(path)
        for depth in range(len(parts) - 1, 1, -1):
            end -= len(parts[depth]) + 1
            parent = path[:end]
            kind = types.get(parent)
            if kind is None:
                missing.append(parent)
                continue
            if kind == _SYMLINK:
                self._issue(
                    path, f"path passes through the symlink {parent}", unsafe=True
                )
                return False
            if kind not in _DIRECTORIES:
                self._issue(path, f"parent {parent} is not a directory", unsafe=True)
                return False
            break
        for parent in missing:
            types[parent] = _IMPLICIT_DIR
        return True

    def _hardlink_ok(self, path: str, linkname: str) -> bool:
        target = normalize_name(linkname)
        if isinstance(target, str):
            self._issue(path, f"hard link target {linkname!r}: {target}", unsafe=True)
            return False
        target_path = "/".join(target)
        if not target or target[0] != ROOTFS or len(target) == 1:
            self._issue(
                path, f"hard link target {linkname!r} is outside rootfs", unsafe=True
            )
            return False
        kind = self._types.get(target_path)
        if kind is None or kind == _IMPLICIT_DIR:
            self._issue(
                path,
                f"hard link target {linkname!r} is not an earlier member",
                unsafe=True,
            )
            return False
        if kind in (_DIRECTORY, _SYMLINK):
            what = "directory" if kind == _DIRECTORY else "symlink"
            self._issue(path, f"hard link target {linkname!r} is a {what}", unsafe=True)
            return False
        return True

    def finish(self) -> None:
        """Run the checks that need every entry: presence, symlink targets."""
        if not self.has_manifest:
            self._issue(MANIFEST, "no image manifest found in layout")
        if not self.has_rootfs:
            self._issue(ROOTFS, "no rootfs found in layout")
        for path, target in self._symlinks.items():
            if self._escapes(path, target):
                self._issue(
                    path, f"symlink target {target!r} leaves rootfs", unsafe=True
                )

    def _escapes(self, path: str, target: str) -> bool:
        """Whether ``target``, resolved from ``path``'s directory, climbs above rootfs."""
        stack = path.split("/")[1:-1]  # the link's directory, relative to rootfs
        todo = deque(target.split("/"))
        if target.startswith("/"):
            stack = []
        hops = 0
        types = self._types
        symlinks = self._symlinks
        while todo:
            part = todo.popleft()
            if not part or part == ".":
                continue
            if part == "..":
                if not stack:
                    return True
                stack.pop()
                continue
            stack.append(part)
            current = ROOTFS + "/" + "/".join(stack)
            if types.get(current) != _SYMLINK:
                continue
            hops += 1
            if hops > MAX_SYMLINK_HOPS:
                return False
            stack.pop()
            next_target = symlinks[current]
            if next_target.startswith("/"):
                stack = []
            todo.extendleft(reversed(next_target.split("/")))
        return False
