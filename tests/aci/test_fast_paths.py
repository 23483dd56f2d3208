"""The fast paths of reading and extracting agree with the general ones.

Nearly every member of a real archive takes a short path: a header matched
in one regular expression (``_plain_member``), a layout check that only
looks at the name and its parent, and a file written into the directory of
the previous member. Each is checked here against the general path it
short-cuts, on crafted and random input, so that the speed-up cannot change
a verdict.
"""

# pyright: reportPrivateUsage=false

from __future__ import annotations

import io
import pathlib
import tarfile

from typing import Literal

import pytest

from appc.aci import _extract, extract
from appc.aci import layout as layout_module
from appc.aci._tar import (
    END_OF_ARCHIVE,
    Member,
    TarEntry,
    TarReader,
    _plain_member,
    encode_header,
)
from appc.aci.layout import LayoutChecker
from appc.aci.limits import Limits
from appc.aci.writer import ImageWriter
from appc.errors import ArchiveError
from appc.manifest import load_image_manifest
from hypothesis import example, given
from hypothesis import strategies as st

from tests.aci.tarcraft import END, Header, octal


_FIELDS = (
    "name",
    "type",
    "mode",
    "uid",
    "gid",
    "size",
    "mtime_ns",
    "linkname",
    "uname",
    "gname",
    "devmajor",
    "devminor",
    "xattrs",
)
_LIMITS = Limits()


def _fields(member: Member) -> tuple[object, ...]:
    return tuple(getattr(member, field) for field in _FIELDS)


def _slow(block: bytes, limits: Limits = _LIMITS) -> Member | ArchiveError | None:
    """What the general path makes of ``block`` (followed by the archive's end)."""
    reader = TarReader(iter([END_OF_ARCHIVE]), limits)
    try:
        return reader._next_slow(block, 0)
    except ArchiveError as exc:
        return exc


def _agree(block: bytes, limits: Limits = _LIMITS) -> Member | None:
    fast = _plain_member(block, limits.max_name_length)
    if fast is not None:
        slow = _slow(block, limits)
        assert isinstance(slow, Member), slow
        assert _fields(fast) == _fields(slow)
    return fast


# -- headers ------------------------------------------------------------------------


def _tarfile_header(
    fmt: Literal[0, 1, 2], kind: bytes, name: str = "rootfs/a", size: int = 0
) -> bytes:
    info = tarfile.TarInfo(name)
    info.type, info.size, info.mode, info.mtime = kind, size, 0o640, 1_700_000_000
    info.uid, info.gid, info.uname, info.gname = 1000, 100, "user", "users"
    if kind in (tarfile.SYMTYPE, tarfile.LNKTYPE):
        info.linkname = "rootfs/target"
    return info.tobuf(format=fmt)[:512]


@pytest.mark.parametrize("fmt", [tarfile.USTAR_FORMAT, tarfile.GNU_FORMAT])
@pytest.mark.parametrize(
    "kind",
    [
        tarfile.REGTYPE,
        tarfile.DIRTYPE,
        tarfile.SYMTYPE,
        tarfile.LNKTYPE,
        tarfile.FIFOTYPE,
    ],
)
def test_common_headers_take_the_fast_path(fmt: Literal[0, 1, 2], kind: bytes) -> None:
    size = 5 if kind == tarfile.REGTYPE else 0
    member = _agree(_tarfile_header(fmt, kind, size=size))
    assert member is not None
    assert (member.name.rstrip("/"), member.uname, member.gname, member.mode) == (
        "rootfs/a",
        "user",
        "users",
        0o640,
    )


def test_our_writer_and_go_write_fast_path_headers() -> None:
    # The bytes of encode_header are those of Go's archive/tar for plain
    # members (checked against actool in test_differential_actool).
    entry = TarEntry(name=b"rootfs/etc/hosts", size=12, mode=0o644, mtime=1, uid=7)
    member = _agree(encode_header(entry))
    assert member is not None
    assert (member.name, member.size, member.uid, member.mtime_ns) == (
        "rootfs/etc/hosts",
        12,
        7,
        10**9,
    )


@pytest.mark.parametrize(
    ("header", "why"),
    [
        (Header(name=b"a", type=b"\0"), "old regular type"),
        (Header(name=b"a", type=b"3"), "device numbers"),
        (Header(name=b"a", type=b"x"), "extended header"),
        (Header(name=b"a", prefix=b"rootfs"), "name prefix"),
        (Header(name=b"a", magic=b""), "pre-POSIX header"),
        (Header(name=b"a", magic=b"ustar\x0001"), "other ustar version"),
        (Header(name=b"a", mode=b"644 \0"), "short number"),
        (Header(name=b"a", size=b"\x80" + b"\0" * 10 + b"\x05"), "base-256 number"),
        (Header(name=b"a", uid=b"0000000 "), "space-terminated number"),
        (Header(name=b"a", type=b"5", size=octal(1, 12)), "data on a directory"),
        (Header(name=b"a" * 100, linkname=b"b"), "name at the limit"),
    ],
)
def test_other_headers_take_the_slow_path(header: Header, why: str) -> None:
    block = header.encode()
    limits = Limits(max_name_length=99) if why == "name at the limit" else _LIMITS
    assert _plain_member(block, limits.max_name_length) is None, why


def test_checksum_must_match_exactly() -> None:
    block = bytearray(Header(name=b"rootfs/a").encode())
    good = _plain_member(bytes(block), 4096)
    assert good is not None
    stored = int(block[148:154], 8)
    # Off by adler32's modulus: a sum taken modulo 65521 would accept it.
    for wrong in (stored + 65521, stored - 1, stored + 1):
        if 0 <= wrong < 0o1000000:
            block[148:156] = b"%06o\0 " % wrong
            assert _plain_member(bytes(block), 4096) is None
            assert isinstance(_slow(bytes(block)), ArchiveError)


def test_signed_checksum_goes_to_the_slow_path() -> None:
    # Bytes >= 0x80 make the signed sum differ; old tars wrote that one.
    block = bytearray(Header(name=b"rootfs/\xe9t\xe9").encode())
    block[148:156] = b" " * 8
    signed = sum(b - 256 if b & 0x80 else b for b in block)
    block[148:156] = b"%06o\0 " % signed
    assert _plain_member(bytes(block), 4096) is None
    slow = _slow(bytes(block))
    assert isinstance(slow, Member)
    assert slow.name == "rootfs/\udce9t\udce9"


def test_checksum_of_a_full_header() -> None:
    # Every byte 0xff outside the fields the regular expression fixes: the
    # largest sums adler32 has to take without wrapping.
    block = bytearray(b"\xff" * 512)
    block[100:148] = octal(0o644, 8) + octal(0, 8) + octal(0, 8) + octal(0, 12) * 2
    block[156:157] = b"0"
    block[257:265] = b"ustar\x0000"
    block[329:346] = octal(0, 8) + octal(0, 8) + b"\0"
    block[148:156] = b" " * 8
    block[148:156] = b"%06o\0 " % sum(block)
    member = _agree(bytes(block))
    assert member is not None
    assert member.name == "\udcff" * 100


_field_bytes = st.one_of(
    st.binary(max_size=12),
    st.sampled_from([b"", b"0000644", b"00000000012", b"7777777", b" 644", b"\0"]),
)


@given(
    name=st.binary(max_size=100),
    mode=_field_bytes,
    size=st.one_of(st.integers(0, 2000).map(lambda n: octal(n, 12)), _field_bytes),
    mtime=st.one_of(
        st.integers(0, 8**11 - 1).map(lambda n: octal(n, 12)), _field_bytes
    ),
    kind=st.sampled_from([b"0", b"1", b"2", b"3", b"5", b"6", b"7", b"\0", b"x", b"8"]),
    linkname=st.binary(max_size=100),
    magic=st.sampled_from([b"ustar\x0000", b"ustar  \0", b"", b"ustar\x00  "]),
    uname=st.binary(max_size=32),
    prefix=st.sampled_from([b"", b"rootfs", b"\0x"]),
    max_name_length=st.sampled_from([4096, 100, 10]),
)
@example(
    name=b"rootfs/a",
    mode=b"0000644",
    size=octal(3, 12),
    mtime=octal(1, 12),
    kind=b"0",
    linkname=b"",
    magic=b"ustar\x0000",
    uname=b"root",
    prefix=b"",
    max_name_length=4096,
)
def test_fuzz_fast_header_equals_slow_header(
    *,
    name: bytes,
    mode: bytes,
    size: bytes,
    mtime: bytes,
    kind: bytes,
    linkname: bytes,
    magic: bytes,
    uname: bytes,
    prefix: bytes,
    max_name_length: int,
) -> None:
    block = Header(
        name=name,
        mode=mode[:8],
        size=size[:12],
        mtime=mtime[:12],
        type=kind,
        linkname=linkname,
        magic=magic,
        uname=uname,
        prefix=prefix,
    ).encode()
    _agree(block, Limits(max_name_length=max_name_length))


@given(st.binary(min_size=512, max_size=512), st.integers(0, 511))
def test_fuzz_random_blocks(block: bytes, index: int) -> None:
    _agree(block)
    # A plain header with one byte replaced.
    plain = bytearray(Header(name=b"rootfs/f", size=octal(9, 12)).encode())
    plain[index] = block[index]
    _agree(bytes(plain))


def test_member_budget_on_the_fast_path() -> None:
    data = b"".join(Header(name=b"rootfs/%d" % i).encode() for i in range(3)) + END
    with pytest.raises(ArchiveError, match="max_members"):
        list(TarReader(iter([data]), Limits(max_members=2)))
    assert len(list(TarReader(iter([data]), Limits(max_members=3)))) == 3


def test_data_view_within_and_across_chunks() -> None:
    data = encode_header(TarEntry(name=b"f", size=700)) + b"x" * 700 + b"\0" * 324
    whole = TarReader(iter([data + END]))
    next(iter(whole))
    view = whole.data_view()
    assert view is not None
    assert bytes(view) == b"x" * 700
    rest = whole.data_view()
    assert rest is not None
    assert bytes(rest) == b""  # nothing left to read
    split = TarReader(iter([data[:800], data[800:] + END]))
    next(iter(split))
    assert split.data_view() is None  # runs past the chunk: consumes nothing
    assert b"".join(split.iter_data()) == b"x" * 700


# -- layout -------------------------------------------------------------------------


_components = st.sampled_from(["a", "b", ".", "..", "", "rootfs", "c d", ".x", "..y"])
_entries = st.lists(
    st.tuples(
        st.lists(_components, min_size=1, max_size=4).map("/".join),
        st.sampled_from(["0", "5", "7", "2", "1", "6"]),
        st.sampled_from(["", "rootfs/a", "../x"]),
    ),
    max_size=25,
)


def _check_all(
    entries: list[tuple[str, str, str]],
) -> tuple[list[str | None], list[str], list[str]]:
    checker = LayoutChecker()
    paths = [checker.add(name, kind, link) for name, kind, link in entries]
    checker.finish()
    return (
        paths,
        [str(issue) for issue in checker.issues],
        [str(issue) for issue in checker.unsafe],
    )


@given(_entries, st.sampled_from(["rootfs", "./rootfs/", "rootfs/"]))
@example([("a", "2", "rootfs/a"), ("a/b", "0", "")], "rootfs")  # below a symlink
@example([("a", "0", ""), ("a/b", "5", "")], "rootfs")  # below a file
@example([("a/b", "0", ""), ("a", "0", "")], "rootfs")  # a file over a parent
@example([("a", "5", ""), ("a/", "5", "")], "rootfs")  # a duplicate
@example([("a/b/c", "0", ""), ("a/b", "5", "")], "rootfs")  # implicit made explicit
def test_fuzz_layout_fast_path_agrees(
    entries: list[tuple[str, str, str]], root: str
) -> None:
    prefixed = [
        (f"{root}/{name}" if not name.startswith("..") else name, kind, link)
        for name, kind, link in entries
    ]
    prefixed = [("rootfs", "5", ""), ("manifest", "0", ""), *prefixed]
    fast = _check_all(prefixed)
    mp = pytest.MonkeyPatch()
    try:
        mp.setattr(layout_module, "_PLAIN_KINDS", frozenset[str]())
        slow = _check_all(prefixed)
    finally:
        mp.undo()
    assert fast == slow


@pytest.mark.parametrize(
    ("name", "plain"),
    [
        ("rootfs/a", True),
        ("rootfs/a/b/", True),
        ("rootfs/..a/.b", True),
        ("rootfs", False),
        ("rootfs/", False),
        ("rootfs//a", False),
        ("rootfs/./a", False),
        ("rootfs/a/.", False),
        ("rootfs/a/..", False),
        ("rootfs/../a", False),
        ("./rootfs/a", False),
        ("rootfsX/a", False),
        ("rootfs/a//", False),
    ],
)
def test_plain_names(name: str, plain: bool) -> None:
    assert (layout_module._PLAIN_NAME.fullmatch(name) is not None) is plain


# -- extraction ---------------------------------------------------------------------


_MANIFEST = load_image_manifest(
    b'{"acKind": "ImageManifest", "acVersion": "0.8.11", "name": "example.com/fast"}'
)


def test_previous_directory_is_forgotten_when_its_descriptor_is_closed(
    tmp_path: pathlib.Path,
) -> None:
    # A file in x, then more directories than descriptors kept open (so x's
    # is closed and its number reused), then another file in x: it must land
    # in x, not in whatever directory now has that descriptor number.
    aci = io.BytesIO()
    with ImageWriter(aci, _MANIFEST) as writer:
        writer.add_directory("rootfs")
        writer.add_directory("rootfs/x")
        writer.add_file("rootfs/x/first", b"1")
        for index in range(_extract._OPEN_DIRS + 6):
            writer.add_directory(f"rootfs/d{index}")
            writer.add_directory(f"rootfs/d{index}/sub")
        writer.add_file("rootfs/x/second", b"2")
    extract(io.BytesIO(aci.getvalue()), tmp_path / "out")
    assert sorted(p.name for p in (tmp_path / "out/rootfs/x").iterdir()) == [
        "first",
        "second",
    ]
    assert (tmp_path / "out/rootfs/x/second").read_bytes() == b"2"
    for index in range(_extract._OPEN_DIRS + 6):
        assert [p.name for p in (tmp_path / f"out/rootfs/d{index}").iterdir()] == [
            "sub"
        ]
