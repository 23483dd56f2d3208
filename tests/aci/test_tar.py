"""The tar reader and header writer, checked against Python's tarfile and GNU tar."""

from __future__ import annotations

import io
import pathlib
import subprocess
import tarfile

import pytest

from appc.aci._tar import (
    DIRTYPE,
    END_OF_ARCHIVE,
    LNKTYPE,
    REGTYPE,
    SYMTYPE,
    Member,
    TarEntry,
    TarReader,
    encode_header,
    padding,
)
from appc.aci.limits import Limits
from appc.errors import ArchiveError, LimitExceeded
from hypothesis import given
from hypothesis import strategies as st

from tests.aci.tarcraft import END, Header, gnu_long, member, octal, pax
from tests.helpers import require_tool


def _read(data: bytes, limits: Limits | None = None) -> list[Member]:
    reader = TarReader(iter([data]), limits or Limits())
    return list(reader)


def _tarfile_archive(fmt: int) -> bytes:
    stream = io.BytesIO()
    with tarfile.open(fileobj=stream, mode="w", format=fmt) as tar:

        def add(name: str, kind: bytes, data: bytes = b"", **extra: object) -> None:
            info = tarfile.TarInfo(name)
            info.type, info.size, info.mtime, info.mode = (
                kind,
                len(data),
                1_700_000_000,
                0o640,
            )
            info.uid, info.gid, info.uname, info.gname = 1000, 100, "user", "users"
            for key, value in extra.items():
                setattr(info, key, value)
            tar.addfile(info, io.BytesIO(data))

        add("rootfs", tarfile.DIRTYPE)
        add("rootfs/" + "long/" * 30 + "file", tarfile.REGTYPE, b"content")
        add("rootfs/link", tarfile.SYMTYPE, linkname="/" + "target/" * 30)
        add("rootfs/hard", tarfile.LNKTYPE, linkname="rootfs/" + "long/" * 30 + "file")
        add("rootfs/fifo", tarfile.FIFOTYPE)
        add("rootfs/null", tarfile.CHRTYPE, devmajor=1, devminor=3)
        add("rootfs/big-uid", tarfile.REGTYPE, b"x" * 1000, uid=5_000_000)
    return stream.getvalue()


@pytest.mark.parametrize(
    "fmt", [tarfile.GNU_FORMAT, tarfile.PAX_FORMAT], ids=["gnu", "pax"]
)
def test_reads_what_tarfile_writes(fmt: int) -> None:
    data = _tarfile_archive(fmt)
    ours = _read(data)
    with tarfile.open(fileobj=io.BytesIO(data)) as tar:
        theirs = tar.getmembers()
    assert [m.name.rstrip("/") for m in ours] == [t.name for t in theirs]
    for mine, info in zip(ours, theirs, strict=True):
        assert mine.type == info.type.decode()
        assert (mine.mode, mine.uid, mine.gid, mine.size) == (
            info.mode,
            info.uid,
            info.gid,
            info.size,
        )
        assert mine.mtime_ns == int(info.mtime) * 10**9
        assert (mine.linkname, mine.uname, mine.gname) == (
            info.linkname,
            info.uname,
            info.gname,
        )
        assert (mine.devmajor, mine.devminor) == (info.devmajor, info.devminor)


def test_reads_gnu_tar_output(tmp_path: pathlib.Path) -> None:
    tar_tool = require_tool("tar")
    root = tmp_path / "tree"
    (root / "rootfs" / ("d" * 120)).mkdir(parents=True)
    (root / "rootfs" / ("d" * 120) / "f").write_bytes(b"data" * 300)
    (root / "rootfs" / "s").symlink_to("x" * 150)
    listing: dict[str, list[tuple[str, str, int, str]]] = {}
    for fmt in ("gnu", "posix", "ustar"):
        if fmt == "ustar":
            # ustar holds neither a 150-byte link nor a 120-byte component.
            (root / "rootfs" / "s").unlink()
            (root / "rootfs" / ("d" * 120)).rename(root / "rootfs" / ("d" * 90))
        out = subprocess.run(
            [
                tar_tool,
                "-c",
                f"--format={fmt}",
                "--sort=name",
                "--numeric-owner",
                "-C",
                str(root),
                "rootfs",
            ],
            capture_output=True,
            check=True,
        ).stdout
        listing[fmt] = sorted(
            (m.name.rstrip("/"), m.type, m.size, m.linkname) for m in _read(out)
        )
    expected = {
        ("rootfs", DIRTYPE, 0, ""),
        ("rootfs/" + "d" * 120, DIRTYPE, 0, ""),
        ("rootfs/" + "d" * 120 + "/f", REGTYPE, 1200, ""),
        ("rootfs/s", SYMTYPE, 0, "x" * 150),
    }
    assert set(listing["gnu"]) == expected
    assert set(listing["posix"]) == expected
    assert set(listing["ustar"]) == {
        ("rootfs", DIRTYPE, 0, ""),
        ("rootfs/" + "d" * 90, DIRTYPE, 0, ""),
        ("rootfs/" + "d" * 90 + "/f", REGTYPE, 1200, ""),
    }


def test_member_data_and_skipping() -> None:
    data = member("a", b"first") + member("b", b"second") + END
    reader = TarReader(iter([data[i : i + 7] for i in range(0, len(data), 7)]))
    names: list[str] = []
    for item in reader:
        names.append(item.name)
        if item.name == "b":
            assert reader.read_data() == b"second"
    assert names == ["a", "b"]
    assert reader.ended
    assert reader.offset == len(data)


def test_partial_data_read_then_skip() -> None:
    data = member("a", b"0123456789" * 100) + member("b", b"x") + END
    reader = TarReader(iter([data]))
    iterator = iter(reader)
    next(iterator)
    assert bytes(next(reader.iter_data(limit=5))) == b"01234"
    assert next(iterator).name == "b"


def test_drain_counts_trailing_bytes() -> None:
    data = member("a", b"x") + END + b"\0" * 9000 + b"tail"
    reader = TarReader(iter([data[i : i + 1000] for i in range(0, len(data), 1000)]))
    assert [m.name for m in reader] == ["a"]
    assert reader.drain() == 9004
    assert reader.offset == len(data)


def test_end_without_end_blocks_is_accepted() -> None:
    # Go's reader stops quietly at EOF on a block boundary; so do we.
    assert [m.name for m in _read(member("a", b"x"))] == ["a"]


def test_v7_header(tmp_path: pathlib.Path) -> None:
    tar_tool = require_tool("tar")
    (tmp_path / "rootfs").mkdir()
    (tmp_path / "rootfs" / "f").write_bytes(b"v7")
    out = subprocess.run(
        [
            tar_tool,
            "-c",
            "--format=v7",
            "--owner=someone:1",
            "-C",
            str(tmp_path),
            "rootfs/f",
        ],
        capture_output=True,
        check=True,
    ).stdout
    (found,) = _read(out)
    assert out[257:263] == bytes(6)  # no magic: a pre-POSIX header
    assert (found.name, found.size, found.uid, found.uname) == ("rootfs/f", 2, 1, "")
    device = member("dev", b"", magic=b"", type=b"3")
    with pytest.raises(ArchiveError, match="cannot describe a device"):
        _read(device + END)


def test_old_regular_type_with_slash_is_a_directory() -> None:
    (found,) = _read(Header(name=b"dir/", type=b"\0").encode() + END)
    assert found.type == DIRTYPE
    (found,) = _read(Header(name=b"file", type=b"\0").encode() + END)
    assert found.type == REGTYPE


def test_ustar_prefix() -> None:
    (found,) = _read(member("name", b"", prefix=b"some/prefix") + END)
    assert found.name == "some/prefix/name"


def test_star_header_with_short_prefix_is_read() -> None:
    (found,) = _read(
        member("name", b"", prefix=b"pre", tail=b"\0" * 8 + b"tar\0") + END
    )
    assert found.name == "pre/name"


def test_star_header_with_long_prefix_is_refused() -> None:
    # Go reads 131 bytes of prefix for star headers, Python 155.
    data = member("name", b"", prefix=b"p" * 140, tail=b"\0" * 8 + b"tar\0") + END
    with pytest.raises(ArchiveError, match="star header"):
        _read(data)


def test_base256_numbers() -> None:
    big = b"\x80" + (5_000_000_000).to_bytes(11, "big")
    negative = b"\xff" * 12
    (found,) = _read(
        member("n", b"", uid=b"\x80" + (2**40).to_bytes(7, "big"), mtime=negative) + END
    )
    assert found.uid == 2**40
    assert found.mtime_ns == -1 * 10**9
    with pytest.raises(ArchiveError, match="out of range"):
        _read(member("n", b"", mtime=b"\xff" + b"\x00" * 11) + END)
    with pytest.raises(ArchiveError):
        _read(member("n", b"", uid=b"\xff" * 8) + END)  # negative uid
    header = Header(name=b"big", size=big).encode()
    reader = TarReader(iter([header]))
    assert next(iter(reader)).size == 5_000_000_000


def test_signed_checksum_is_accepted() -> None:
    header = bytearray(Header(name="é".encode("latin-1") * 3).encode())
    signed = (
        sum(b - 256 if b > 127 else b for b in header[:148]) + 256 + sum(header[156:])
    )
    header[148:156] = b"%06o\0 " % signed
    (found,) = _read(bytes(header) + END)
    assert found.name == "\udce9" * 3


def test_pax_records_are_applied() -> None:
    records = [
        (b"path", b"rootfs/p"),
        (b"linkpath", b"t"),
        (b"uid", b"123"),
        (b"gid", b"456"),
        (b"uname", b"u"),
        (b"gname", b"g"),
        (b"mtime", b"1700000000.5"),
        (b"SCHILY.xattr.user.key", b"v\0\n="),
        (b"comment", b"ignored"),
    ]
    (found,) = _read(pax(records) + Header(name=b"x", type=b"2").encode() + END)
    assert (found.name, found.linkname, found.uid, found.gid) == (
        "rootfs/p",
        "t",
        123,
        456,
    )
    assert (found.uname, found.gname, found.mtime_ns) == (
        "u",
        "g",
        1_700_000_000_500_000_000,
    )
    assert found.xattrs == {"user.key": b"v\0\n="}


def test_pax_negative_time_and_large_size() -> None:
    size = 0o77777777777 + 1
    data = (
        pax([(b"mtime", b"-1.25"), (b"size", str(size).encode())])
        + Header(name=b"x").encode()
    )
    reader = TarReader(iter([data]))
    found = next(iter(reader))
    assert (found.mtime_ns, found.size) == (-1_250_000_000, size)


@pytest.mark.parametrize(
    ("records", "message"),
    [
        (b"5 a=b\n", "malformed PAX record"),
        (b"x a=b\n", "malformed PAX record length"),
        (b"06 a=b\n", "malformed PAX record length"),
        (b"9 a=b\n", "malformed PAX record"),
        (b"6 a=bX", "malformed PAX record"),
        (b"5 =b\n", "no key"),
        (b"7 a\0=b\n", "NUL in key"),
        (b"6 a=b\n6 a=c\n", "appears twice"),
        (b"10 uid=-5\n", "is not a number"),
        (b"14 mtime=1e10\n", "is not a time"),
        (b"12 path=a\0b\n", "holds a NUL byte"),
        (b"23 GNU.sparse.size=100\n", "GNU sparse file"),
    ],
)
def test_bad_pax_records(records: bytes, message: str) -> None:
    header = Header(
        name=b"././@PaxHeader", type=b"x", size=octal(len(records), 12)
    ).encode()
    data = header + records + b"\0" * padding(len(records)) + member("x") + END
    with pytest.raises(ArchiveError, match=message):
        _read(data)


def test_gnu_long_name_and_link() -> None:
    data = (
        gnu_long(b"L", b"rootfs/" + b"n" * 200)
        + gnu_long(b"K", b"t" * 300)
        + Header(name=b"short", type=b"1").encode()
    )
    (found,) = _read(data + END)
    assert found.name == "rootfs/" + "n" * 200
    assert (found.type, found.linkname) == (LNKTYPE, "t" * 300)


def test_two_gnu_long_links() -> None:
    data = (
        gnu_long(b"K", b"a")
        + gnu_long(b"K", b"b")
        + Header(name=b"x", type=b"2").encode()
    )
    with pytest.raises(ArchiveError, match="two GNU long links"):
        _read(data + END)


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (b"x" * 100, "partial header block"),
        (pax([(b"path", b"a")]), "extended header without a member"),
        (pax([(b"path", b"a")]) + END, "extended header followed by the end"),
        (
            Header(name=b"L", type=b"L", size=octal(100, 12)).encode() + b"x" * 50,
            "extended header data ends early",
        ),
        (Header(name=b"v", type=b"V").encode(), "GNU volume header"),
        (Header(name=b"q", type=b"Q").encode(), "type 'Q'"),
        (Header(name=b"a", size=b"-1\0").encode(), "not an octal number"),
        (Header(name=b"a", mode=b"0000009\0").encode(), "not an octal number"),
        (END[:512] + b"\0" * 100, "zero block not followed"),
    ],
)
def test_bad_streams(data: bytes, message: str) -> None:
    with pytest.raises(ArchiveError, match=message):
        _read(data)


def test_negative_base256_size() -> None:
    with pytest.raises(ArchiveError, match="negative size"):
        _read(Header(name=b"a", size=b"\xff" * 12).encode() + END)


def test_limits() -> None:
    long_pax = pax([(b"comment", b"c" * 2000)]) + member("a") + END
    with pytest.raises(LimitExceeded, match="max_extended_header_size"):
        _read(long_pax, Limits(max_extended_header_size=1000))
    long_name = gnu_long(b"L", b"n" * 2000) + member("a") + END
    with pytest.raises(LimitExceeded, match="max_extended_header_size"):
        _read(long_name, Limits(max_extended_header_size=1000))
    with pytest.raises(LimitExceeded, match="max_name_length"):
        _read(long_name, Limits(max_name_length=1000))
    with pytest.raises(LimitExceeded, match="max_members"):
        _read(member("a") + member("b") + END, Limits(max_members=1))


@given(st.binary(min_size=0, max_size=3000))
def test_fuzz_random_bytes(data: bytes) -> None:
    try:
        reader = TarReader(iter([data]))
        for _member in reader:
            b"".join(reader.iter_data())
    except ArchiveError:
        pass


@given(st.binary(min_size=512, max_size=512), st.binary(max_size=1500))
def test_fuzz_checksummed_headers(block: bytes, rest: bytes) -> None:
    header = bytearray(block)
    header[148:156] = b"        "
    header[148:156] = b"%06o\0 " % sum(header)
    try:
        reader = TarReader(iter([bytes(header) + rest]))
        for _member in reader:
            b"".join(reader.iter_data())
    except ArchiveError:
        pass


# -- writing ------------------------------------------------------------------------


_names = st.text(
    st.characters(codec="utf-8", exclude_characters="/\0"), min_size=1, max_size=60
)


@given(
    parts=st.lists(_names, min_size=1, max_size=6),
    link=st.text(st.characters(codec="utf-8", exclude_characters="\0"), max_size=200),
    mode=st.integers(0, 0o7777),
    uid=st.integers(0, 2**40),
    mtime=st.integers(-(2**40), 2**40),
    xattrs=st.dictionaries(
        st.sampled_from(["user.a", "user.b", "trusted.c"]), st.binary(max_size=50)
    ),
)
def test_encode_round_trip(
    *,
    parts: list[str],
    link: str,
    mode: int,
    uid: int,
    mtime: int,
    xattrs: dict[str, bytes],
) -> None:
    name = "/".join(parts)
    entry = TarEntry(
        name=name.encode(),
        type=SYMTYPE,
        mode=mode,
        uid=uid,
        gid=uid // 3,
        mtime=mtime,
        linkname=link.encode(),
        uname=b"someone" * 6,
        xattrs=tuple(sorted((k.encode(), v) for k, v in xattrs.items())),
    )
    data = encode_header(entry) + END_OF_ARCHIVE
    (ours,) = _read(data)
    assert (ours.name, ours.linkname, ours.mode, ours.uid, ours.gid) == (
        name,
        link,
        mode,
        uid,
        uid // 3,
    )
    assert (ours.mtime_ns, ours.uname, ours.xattrs) == (
        mtime * 10**9,
        "someone" * 6,
        xattrs,
    )
    with tarfile.open(fileobj=io.BytesIO(data)) as tar:
        (theirs,) = tar.getmembers()
    assert (theirs.name, theirs.linkname, theirs.uid, int(theirs.mtime)) == (
        name,
        link,
        uid,
        mtime,
    )
    assert {
        k: v.encode("utf-8", "surrogateescape")
        for k, v in theirs.pax_headers.items()
        if k.startswith("SCHILY.xattr.")
    } == {"SCHILY.xattr." + k: v for k, v in xattrs.items()}


def test_encode_plain_ustar_when_possible() -> None:
    header = encode_header(
        TarEntry(name=b"rootfs/" + b"d" * 120 + b"/file", size=5, mtime=1)
    )
    assert len(header) == 512  # split into prefix and name, no PAX header
    (found,) = _read(header + b"hello".ljust(512, b"\0") + END)
    assert found.name == "rootfs/" + "d" * 120 + "/file"


def test_encode_large_size_uses_pax() -> None:
    size = 10 * 2**30
    header = encode_header(TarEntry(name=b"big", size=size))
    assert header[156:157] == b"x"
    with tarfile.open(
        fileobj=io.BytesIO(header + END_OF_ARCHIVE), ignore_zeros=False
    ) as tar:
        info = tar.next()
    assert info is not None
    assert info.size == size


def test_encode_refuses_huge_device_numbers() -> None:
    with pytest.raises(ArchiveError, match="device number"):
        encode_header(TarEntry(name=b"dev", type="3", devmajor=2**30))


def test_member_helpers() -> None:
    (found,) = _read(Header(name=b"d", type=b"5").encode() + END)
    assert found.is_dir
    assert not found.is_regular
    assert repr(found) == "Member(name='d', type='5', size=0)"


def test_reading_after_the_end() -> None:
    reader = TarReader(iter([member("a") + END]))
    assert [m.name for m in reader] == ["a"]
    assert list(reader) == []


def test_skip_across_chunks() -> None:
    data = member("a", b"x" * 5000) + member("b", b"y") + END
    chunks = [data[i : i + 100] for i in range(0, len(data), 100)]
    reader = TarReader(iter(chunks))
    assert [m.name for m in reader] == ["a", "b"]
    with pytest.raises(ArchiveError, match="member data ends early"):
        list(TarReader(iter([member("a", b"x" * 5000)[:2000]])))


def test_encode_long_link_and_owner_names() -> None:
    entry = TarEntry(
        name=b"l", type=SYMTYPE, linkname=b"t" * 150, uname=b"u" * 40, gname=b"g" * 40
    )
    (found,) = _read(encode_header(entry) + END_OF_ARCHIVE)
    assert (found.linkname, found.uname, found.gname) == ("t" * 150, "u" * 40, "g" * 40)
