"""The hostile archive corpus: each archive, what we must say, what actool says.

Every archive is built here in code (see ``tarcraft``) so that it can be
read and reviewed. ``actool_valid`` is actool 0.8.11's verdict, checked by
``test_hostile.py::test_actool_verdict`` against the real binary; where it
says True and we reject, we are stricter on purpose (see ``message``).
"""

from __future__ import annotations

import attrs

from appc.errors import ArchiveError, InvalidImage

from tests.aci.tarcraft import (
    END,
    Header,
    directory,
    gnu_long,
    hardlink,
    image,
    manifest,
    member,
    octal,
    pax,
    symlink,
)


@attrs.frozen
class Case:
    """One archive of the corpus.

    ``validate`` raises ``InvalidImage`` for every case, with ``message`` (a
    fragment) among its issues. ``extract`` raises ``UnsafeArchive`` when
    ``unsafe`` (the member could reach outside), else ``error``:
    ``InvalidImage`` for layout problems, ``ArchiveError`` for bad headers.
    """

    name: str
    archive: bytes
    message: str
    actool_valid: bool
    unsafe: bool = False
    error: type[ArchiveError] = InvalidImage


def _cve_2025_4517() -> bytes:
    """CPython's test_realpath_limit_attack, moved under rootfs/.

    Nested directories and one-letter symlinks to them, a long symlink whose
    target climbs back out, ``escape`` through it, a hard link through
    ``escape``, then an overwrite of that hard link and a new file through
    ``escape``. ``tarfile``'s data filter lets this write outside on 3.11.7.
    """
    steps = "abcdefghijklmnop"
    component = "d" * 200
    members: list[bytes] = []
    path = "rootfs"
    for step in steps:
        members.append(directory(f"{path}/{component}"))
        members.append(symlink(f"{path}/{step}", component))
        path = f"{path}/{component}"
    link_path = "rootfs/" + "/".join(steps) + "/" + "l" * 254
    long_members = [
        symlink(link_path, "/".join([".."] * (len(steps) + 1))),
        symlink("rootfs/escape", link_path[len("rootfs/") :] + "/.."),
        hardlink("rootfs/flaglink", "rootfs/escape/flag"),
        member("rootfs/flaglink", b"overwrite"),
        member("rootfs/escape/newfile", b"new"),
    ]
    return image(*members, *long_members)


def _gnu_prefix_octal() -> bytes:
    # Go reads octal digits at 345 as the GNU atime; Python as a name prefix.
    return image(member("rootfs/a", b"", magic=b"ustar  \0", prefix=b"12345670123"))


def _number_field_with_leading_nul() -> bytes:
    # Go trims the NUL and reads 1000 octal (512 bytes); Python stops at the
    # NUL and reads 0: the two see different members after this one.
    header = Header(name=b"rootfs/a", size=b"\x0000000001000")
    return image(header.encode() + b"x" * 512)


CASES: tuple[Case, ...] = (
    # -- names --------------------------------------------------------------
    Case(
        "traversal",
        image(member("rootfs/../../evil", b"x")),
        "path contains '..'",
        False,
        unsafe=True,
    ),
    Case(
        "traversal-back-inside",
        image(member("rootfs/../rootfs/x", b"x")),
        "path contains '..'",
        True,
        unsafe=True,
    ),
    Case(
        "absolute-name",
        image(member("/rootfs/x", b"x")),
        "absolute path",
        False,
        unsafe=True,
    ),
    Case(
        "absolute-etc",
        image(member("/etc/passwd", b"x")),
        "absolute path",
        False,
        unsafe=True,
    ),
    Case(
        "dot-symlink",
        image(symlink(".", "/")),
        "a member named '.' must be a directory",
        True,
        unsafe=True,
    ),
    Case(
        "rootfs-dot-symlink",
        image(symlink("rootfs/.", "/")),
        "rootfs is not a directory",
        False,
    ),
    Case(
        "rootfsX-prefix",
        image(member("rootfsX/a", b"x")),
        'unrecognized file path in layout: "rootfsX/a"',
        True,
    ),
    Case(
        "extra-top-level",
        image(member("extra", b"x")),
        'unrecognized file path in layout: "extra"',
        False,
    ),
    Case(
        "no-manifest",
        directory("rootfs") + END,
        "no image manifest found in layout",
        False,
    ),
    Case(
        "implicit-rootfs",
        manifest() + member("rootfs/a", b"x") + END,
        "no rootfs found in layout",
        False,
    ),
    Case(
        "rootfs-is-a-file",
        manifest() + member("rootfs", b"x") + END,
        "rootfs is not a directory",
        False,
    ),
    Case(
        "manifest-is-a-directory",
        directory("manifest") + directory("rootfs") + END,
        "manifest is not a regular file",
        False,
    ),
    Case(
        "bad-manifest",
        member("manifest", b"{}") + directory("rootfs") + END,
        "image manifest validation failed",
        False,
    ),
    # -- duplicates -----------------------------------------------------------
    Case(
        "duplicate-file",
        image(member("rootfs/a", b"1"), member("rootfs/a", b"2")),
        "duplicate file entry in archive: rootfs/a",
        False,
    ),
    Case(
        "duplicate-via-dot-slash",
        image(member("rootfs/a", b"1"), member("./rootfs/a", b"2")),
        "duplicate file entry in archive: rootfs/a",
        False,
    ),
    Case(
        "duplicate-manifest",
        image(manifest()),
        "duplicate file entry in archive: manifest",
        False,
    ),
    Case(
        "duplicate-rootfs",
        image(directory("rootfs")),
        "duplicate file entry in archive: rootfs",
        True,
    ),
    Case(
        "file-replaces-parent",
        image(member("rootfs/d/f", b"x"), member("rootfs/d", b"y")),
        "earlier members are inside it",
        True,
        unsafe=True,
    ),
    # -- symlinks -------------------------------------------------------------
    Case(
        "symlink-write-through",
        image(symlink("rootfs/s", "/etc"), member("rootfs/s/passwd", b"x")),
        "passes through the symlink rootfs/s",
        True,
        unsafe=True,
    ),
    Case(
        "symlink-dir-then-write",
        image(symlink("rootfs/s", "../../.."), member("rootfs/s/x", b"x")),
        "passes through the symlink rootfs/s",
        True,
        unsafe=True,
    ),
    Case(
        "symlink-escape",
        image(symlink("rootfs/s", "../../..")),
        "symlink target '../../..' leaves rootfs",
        True,
        unsafe=True,
    ),
    Case(
        "symlink-escape-deep",
        image(directory("rootfs/a"), symlink("rootfs/a/s", "../../x")),
        "leaves rootfs",
        True,
        unsafe=True,
    ),
    Case(
        "symlink-chain-escape",
        image(
            directory("rootfs/a"),
            directory("rootfs/x"),
            symlink("rootfs/a/s", "../x"),
            symlink("rootfs/e", "a/s/../.."),
        ),
        "symlink target 'a/s/../..' leaves rootfs",
        True,
        unsafe=True,
    ),
    Case(
        "symlink-empty-target",
        image(symlink("rootfs/s", "")),
        "symlink with an empty target",
        True,
        unsafe=True,
    ),
    Case(
        "parent-is-a-file",
        image(member("rootfs/f", b"x"), member("rootfs/f/g", b"y")),
        "parent rootfs/f is not a directory",
        True,
        unsafe=True,
    ),
    # -- hard links -------------------------------------------------------------
    Case(
        "hardlink-outside",
        image(hardlink("rootfs/h", "/etc/passwd")),
        "absolute path",
        True,
        unsafe=True,
    ),
    Case(
        "hardlink-dotdot",
        image(hardlink("rootfs/h", "../../etc/passwd")),
        "path contains '..'",
        True,
        unsafe=True,
    ),
    Case(
        "hardlink-to-manifest",
        image(hardlink("rootfs/h", "manifest")),
        "outside rootfs",
        True,
        unsafe=True,
    ),
    Case(
        "hardlink-forward",
        image(hardlink("rootfs/h", "rootfs/later"), member("rootfs/later", b"x")),
        "is not an earlier member",
        True,
        unsafe=True,
    ),
    Case(
        "hardlink-to-directory",
        image(directory("rootfs/d"), hardlink("rootfs/h", "rootfs/d")),
        "is a directory",
        True,
        unsafe=True,
    ),
    Case(
        "hardlink-to-symlink",
        image(symlink("rootfs/s", "/etc/passwd"), hardlink("rootfs/h", "rootfs/s")),
        "is a symlink",
        True,
        unsafe=True,
    ),
    Case(
        "hardlink-through-symlink",
        image(symlink("rootfs/s", "/etc"), hardlink("rootfs/h", "rootfs/s/passwd")),
        "is not an earlier member",
        True,
        unsafe=True,
    ),
    Case(
        "cve-2025-4517",
        _cve_2025_4517(),
        "passes through the symlink",
        False,
        unsafe=True,
    ),
    # -- header differentials (Go and Python read these differently) -----------
    Case(
        "pax-path-and-gnu-longname",
        image(
            pax([(b"path", b"rootfs/fine")])
            + gnu_long(b"L", b"../../evil")
            + member("rootfs/x", b"")
        ),
        "both a PAX path and a GNU long name",
        False,
        error=ArchiveError,
    ),
    Case(
        "gnu-longname-then-pax-path",
        image(
            gnu_long(b"L", b"rootfs/one")
            + pax([(b"path", b"rootfs/two")])
            + member("rootfs/x", b"")
        ),
        "both a PAX path and a GNU long name",
        True,
        error=ArchiveError,
    ),
    Case(
        "pax-linkpath-and-gnu-longlink",
        image(
            pax([(b"linkpath", b"/a")])
            + gnu_long(b"K", b"/b")
            + symlink("rootfs/x", "c")
        ),
        "both a PAX linkpath and a GNU long link",
        True,
        error=ArchiveError,
    ),
    Case(
        "two-pax-headers",
        image(
            pax([(b"path", b"rootfs/one")])
            + pax([(b"path", b"rootfs/two")])
            + member("rootfs/x", b"")
        ),
        "two PAX headers for one member",
        True,
        error=ArchiveError,
    ),
    Case(
        "two-gnu-longnames",
        image(
            gnu_long(b"L", b"rootfs/one")
            + gnu_long(b"L", b"rootfs/two")
            + member("rootfs/x", b"")
        ),
        "two GNU long names for one member",
        True,
        error=ArchiveError,
    ),
    Case(
        "pax-size-disagrees",
        image(pax([(b"size", b"0")]) + member("rootfs/x", b"A" * 512)),
        "PAX size 0 disagrees with header size 512",
        False,
        error=ArchiveError,
    ),
    Case(
        "pax-global-header",
        image(pax([(b"comment", b"hi")], global_=True)),
        "PAX global header",
        False,
        error=ArchiveError,
    ),
    Case(
        "pax-empty-path",
        image(pax([(b"path", b"")]) + member("rootfs/x", b"")),
        "PAX record 'path' is empty",
        True,
        error=ArchiveError,
    ),
    Case(
        "numeric-leading-nul",
        _number_field_with_leading_nul(),
        "not an octal number",
        True,
        error=ArchiveError,
    ),
    Case(
        "numeric-underscore",
        image(member("rootfs/a", b"", mode=b"000_644\0")),
        "not an octal number",
        False,
        error=ArchiveError,
    ),
    Case(
        "gnu-header-with-prefix",
        image(member("a", b"", magic=b"ustar  \0", prefix=b"rootfs")),
        "GNU header with data where Python reads a name prefix",
        True,
        error=ArchiveError,
    ),
    Case(
        "gnu-header-with-octal-prefix",
        _gnu_prefix_octal(),
        "GNU header with data where Python reads a name prefix",
        True,
        error=ArchiveError,
    ),
    Case(
        "v7-header-with-prefix",
        image(member("a", b"", magic=b"\0" * 8, prefix=b"rootfs")),
        "pre-POSIX header with data where Python reads a name prefix",
        False,
        error=ArchiveError,
    ),
    Case(
        "old-regular-slash-disagreement",
        image(
            pax([(b"path", b"rootfs/file")])
            + Header(name=b"rootfs/dir/", type=b"\0").encode()
        ),
        "is a directory to one reader and a file to another",
        True,
        error=ArchiveError,
    ),
    Case(
        "directory-with-data",
        image(
            Header(name=b"rootfs/d", type=b"5", size=octal(512, 12)).encode()
            + b"\0" * 512
        ),
        "is not a regular file but has 512 bytes of data",
        True,
        error=ArchiveError,
    ),
    Case(
        "gnu-sparse",
        image(member("rootfs/s", b"", type=b"S")),
        "GNU sparse file",
        False,
        error=ArchiveError,
    ),
    Case(
        "single-zero-block-then-member",
        manifest() + b"\0" * 512 + directory("rootfs") + END,
        "zero block not followed by a second one",
        False,
        error=ArchiveError,
    ),
    Case(
        "bad-checksum",
        image(member("rootfs/a", b"", chksum=b"0000000\0")),
        "checksum mismatch",
        False,
        error=ArchiveError,
    ),
    Case(
        "truncated-member",
        manifest()
        + directory("rootfs")
        + Header(name=b"rootfs/a", size=octal(4096, 12)).encode()
        + b"x" * 100,
        "member data ends early",
        False,
        error=ArchiveError,
    ),
)
