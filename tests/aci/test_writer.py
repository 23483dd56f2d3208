"""Building ACIs: interop with actool and the shell tools, reproducibility, fidelity."""

from __future__ import annotations

import contextlib
import io
import os
import pathlib
import re
import stat
import subprocess
import tarfile

import pytest

from appc.aci import ImageWriter, build, image_id, validate
from appc.errors import ArchiveError, InvalidImage
from appc.manifest import dump_manifest, load_image_manifest

from tests.aci.tarcraft import MANIFEST_JSON
from tests.helpers import require_tool


def make_tree(root: pathlib.Path) -> pathlib.Path:
    """A layout with one of everything an ACI can hold."""
    rootfs = root / "rootfs"
    (rootfs / "etc").mkdir(parents=True)
    (rootfs / "bin").mkdir()
    (root / "manifest").write_bytes(MANIFEST_JSON)
    (rootfs / "etc" / "hello").write_bytes(b"hello\n" * 1000)
    (rootfs / "etc" / "hello").chmod(0o640)
    os.link(rootfs / "etc" / "hello", rootfs / "etc" / "hard")
    (rootfs / "etc" / "localtime").symlink_to("/usr/share/zoneinfo/UTC")
    (rootfs / "bin" / "suid").write_bytes(b"\x7fELF")
    os.chown(
        rootfs / "bin" / "suid", 1234, 5678
    )  # before chmod, which chown would undo
    (rootfs / "bin" / "suid").chmod(0o4755)
    (rootfs / "bin" / ("long-name-" * 20)).write_bytes(b"long")
    os.mkfifo(rootfs / "etc" / "fifo", 0o600)
    os.setxattr(rootfs / "etc" / "hello", "user.appc", b"kept")
    (rootfs / "empty").mkdir(mode=0o700)
    os.utime(rootfs / "etc" / "hello", (1_600_000_000, 1_600_000_000))
    with contextlib.suppress(PermissionError):  # not root: no device node
        os.mknod(rootfs / "null", 0o666 | stat.S_IFCHR, os.makedev(1, 3))
    return root


def _members(data: bytes) -> list[tarfile.TarInfo]:
    with tarfile.open(fileobj=io.BytesIO(data)) as tar:
        return tar.getmembers()


def _decompress(tool: str, path: pathlib.Path) -> bytes:
    if tool == "cat":
        return path.read_bytes()
    return subprocess.run(
        [require_tool(tool), "-dc", str(path)], capture_output=True, check=True
    ).stdout


@pytest.mark.interop
@pytest.mark.parametrize(
    ("compression", "tool"),
    [("gzip", "gzip"), ("bzip2", "bzip2"), ("xz", "xz"), ("none", "cat")],
)
def test_actool_accepts_what_we_build(
    compression: str, tool: str, tmp_path: pathlib.Path, actool: str
) -> None:
    layout = make_tree(tmp_path / "layout")
    out = tmp_path / "image.aci"
    built = build(layout, out, compression=compression)  # type: ignore[arg-type]
    subprocess.run([actool, "validate", str(out)], check=True)
    printed = subprocess.run(
        [actool, "cat-manifest", str(out)], capture_output=True, check=True
    ).stdout
    assert printed == dump_manifest(load_image_manifest(MANIFEST_JSON)).encode() + b"\n"
    tar = _decompress(tool, out)
    sha = subprocess.run(
        [require_tool("sha512sum")], input=tar, capture_output=True, check=True
    ).stdout
    assert built == "sha512-" + sha.split()[0].decode()
    assert image_id(out) == built


def _comparable(info: tarfile.TarInfo) -> tuple[object, ...]:
    return (
        info.name.rstrip("/"),
        info.type,
        info.mode,
        info.uid,
        info.gid,
        info.size,
        info.linkname,
        int(info.mtime),
    )


def _whole_seconds(root: pathlib.Path) -> None:
    """Give every file a whole-second mtime: actool rounds, GNU tar and we truncate."""
    for directory, dirs, files in os.walk(root):
        for name in [*dirs, *files]:
            path = pathlib.Path(directory) / name
            seconds = path.lstat().st_mtime_ns // 10**9
            os.utime(path, ns=(seconds * 10**9, seconds * 10**9), follow_symlinks=False)


@pytest.mark.interop
def test_same_entries_as_actool_build(tmp_path: pathlib.Path, actool: str) -> None:
    layout = make_tree(tmp_path / "layout")
    _whole_seconds(layout)
    build(layout, tmp_path / "ours.aci", compression="none")
    subprocess.run(
        [
            actool,
            "build",
            "--no-compression",
            str(layout),
            str(tmp_path / "theirs.aci"),
        ],
        check=True,
    )
    ours = _members((tmp_path / "ours.aci").read_bytes())
    theirs = _members((tmp_path / "theirs.aci").read_bytes())
    # The manifest comes first with us, last with actool (which stamps it "now").
    assert ours[0].name == "manifest"
    assert theirs[-1].name == "manifest"
    assert sorted(map(_comparable, ours[1:])) == sorted(map(_comparable, theirs[:-1]))
    # We keep xattrs (the spec's MUST); actool drops them.
    (hello,) = (m for m in ours if m.name == "rootfs/etc/hard")  # holds the data
    assert hello.pax_headers["SCHILY.xattr.user.appc"] == "kept"
    assert not any(
        key.startswith("SCHILY.xattr.") for m in theirs for key in m.pax_headers
    )


def test_entries_sorted_parents_first(tmp_path: pathlib.Path) -> None:
    layout = make_tree(tmp_path / "layout")
    (layout / "rootfs" / "a.b").write_text("")
    (layout / "rootfs" / "a").mkdir()
    (layout / "rootfs" / "a" / "z").write_text("")
    sink = io.BytesIO()
    build(layout, sink, compression="none")
    names = [m.name for m in _members(sink.getvalue())]
    assert names[:5] == ["manifest", "rootfs", "rootfs/a", "rootfs/a/z", "rootfs/a.b"]
    assert "rootfs/etc/hard" in names


def test_hard_links_and_sockets(tmp_path: pathlib.Path) -> None:
    import socket

    layout = make_tree(tmp_path / "layout")
    with socket.socket(socket.AF_UNIX) as server:
        server.bind(str(layout / "rootfs" / "sock"))
        sink = io.BytesIO()
        build(layout, sink, compression="none")
    members = {m.name: m for m in _members(sink.getvalue())}
    assert "rootfs/sock" not in members  # sockets are skipped, as actool does
    # Sorted order: "hard" comes before "hello", so it holds the data.
    assert members["rootfs/etc/hard"].isreg()
    assert members["rootfs/etc/hello"].islnk()
    assert members["rootfs/etc/hello"].linkname == "rootfs/etc/hard"


def test_reproducible(tmp_path: pathlib.Path) -> None:
    first = make_tree(tmp_path / "one")
    second = tmp_path / "elsewhere" / "two"
    second.parent.mkdir()
    subprocess.run([require_tool("cp"), "-a", str(first), str(second)], check=True)
    for path in (first, second):
        for directory, _dirs, files in os.walk(path):
            for name in [*files, "."]:
                os.utime(
                    pathlib.Path(directory) / name,
                    (1, 1_650_000_000),
                    follow_symlinks=False,
                )
    ids = {
        build(first, tmp_path / "a.aci"),
        build(first, tmp_path / "b.aci", compression="xz"),
        build(second, tmp_path / "c.aci"),
    }
    assert len(ids) == 1
    # The gzip bytes themselves are reproducible too.
    build(first, tmp_path / "d.aci")
    assert (tmp_path / "a.aci").read_bytes() == (tmp_path / "d.aci").read_bytes()


def test_source_date_epoch_clamps(
    tmp_path: pathlib.Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    layout = make_tree(tmp_path / "layout")
    first = build(layout, tmp_path / "a.aci")
    monkeypatch.setenv("SOURCE_DATE_EPOCH", "1000000000")
    clamped = build(layout, tmp_path / "b.aci")
    (layout / "rootfs" / "etc" / "hello").touch()  # a newer time, clamped away again
    assert build(layout, tmp_path / "c.aci") == clamped != first
    times = {int(m.mtime) for m in _members(_decompress("gzip", tmp_path / "b.aci"))}
    assert times == {1_000_000_000}
    assert build(layout, tmp_path / "d.aci", source_date_epoch=1_000_000_000) == clamped
    monkeypatch.setenv("SOURCE_DATE_EPOCH", "yesterday")
    with pytest.raises(ArchiveError, match="SOURCE_DATE_EPOCH"):
        build(layout, tmp_path / "e.aci")


def test_owner_root(tmp_path: pathlib.Path) -> None:
    layout = make_tree(tmp_path / "layout")
    sink = io.BytesIO()
    build(layout, sink, compression="none", owner_root=True)
    for info in _members(sink.getvalue()):
        assert (info.uid, info.gid, info.uname, info.gname) == (0, 0, "root", "root")
    sink = io.BytesIO()
    build(layout, sink, compression="none")
    suid = next(m for m in _members(sink.getvalue()) if m.name == "rootfs/bin/suid")
    assert (suid.uid, suid.gid, suid.uname, suid.mode) == (1234, 5678, "", 0o4755)


def test_output_file_handling(tmp_path: pathlib.Path) -> None:
    layout = make_tree(tmp_path / "layout")
    out = tmp_path / "image.aci"
    out.write_text("existing")
    with pytest.raises(ArchiveError, match="exists"):
        build(layout, out)
    assert out.read_text() == "existing"
    built = build(layout, out, overwrite=True)
    assert image_id(out) == built
    assert sorted(p.name for p in tmp_path.iterdir()) == ["image.aci", "layout"]


def test_failed_build_leaves_nothing(tmp_path: pathlib.Path) -> None:
    layout = make_tree(tmp_path / "layout")

    def interrupt(done: int, total: int | None) -> None:
        raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        build(layout, tmp_path / "image.aci", progress=interrupt)
    (layout / "rootfs" / "escape").symlink_to("../../..")
    with pytest.raises(InvalidImage, match="leaves rootfs"):
        build(layout, tmp_path / "image.aci")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["layout"]


def test_file_changed_while_building(
    tmp_path: pathlib.Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from appc.aci.reader import check_layout as real

    layout = make_tree(tmp_path / "layout")

    def shrink_after_walk(*args: object) -> object:
        found = real(*args)  # type: ignore[arg-type]
        (layout / "rootfs" / "etc" / "hello").write_bytes(b"short")
        return found

    monkeypatch.setattr("appc.aci.writer.check_layout", shrink_after_walk)
    with pytest.raises(ArchiveError, match="shrank"):
        build(layout, io.BytesIO())

    def replace_after_walk(*args: object) -> object:
        found = real(*args)  # type: ignore[arg-type]
        (layout / "rootfs" / "bin" / "new").write_bytes(b"\x7fELF")
        (layout / "rootfs" / "bin" / "new").replace(layout / "rootfs" / "bin" / "suid")
        return found

    monkeypatch.setattr("appc.aci.writer.check_layout", replace_after_walk)
    with pytest.raises(ArchiveError, match="replaced"):
        build(layout, io.BytesIO())

    def remove_after_walk(*args: object) -> object:
        found = real(*args)  # type: ignore[arg-type]
        (layout / "rootfs" / "bin" / "suid").unlink()
        return found

    monkeypatch.setattr("appc.aci.writer.check_layout", remove_after_walk)
    with pytest.raises(ArchiveError, match="cannot read"):
        build(layout, io.BytesIO())

    def remove_link_after_walk(*args: object) -> object:
        found = real(*args)  # type: ignore[arg-type]
        (layout / "rootfs" / "etc" / "localtime").unlink()
        return found

    monkeypatch.setattr("appc.aci.writer.check_layout", remove_link_after_walk)
    with pytest.raises(ArchiveError, match="cannot read the xattrs"):
        build(layout, io.BytesIO())


def test_progress_reports_file_bytes(tmp_path: pathlib.Path) -> None:
    layout = make_tree(tmp_path / "layout")
    seen: list[tuple[int, int | None]] = []
    build(layout, io.BytesIO(), progress=lambda done, total: seen.append((done, total)))
    done, total = seen[-1]
    assert (
        done
        == total
        == sum(
            p.stat().st_size
            for p in (layout / "rootfs").rglob("*")
            if p.is_file() and not p.is_symlink() and p.name != "hard"
        )
    )


# -- ImageWriter ----------------------------------------------------------------------


def _manifest() -> object:
    return load_image_manifest(MANIFEST_JSON)


def test_image_writer_builds_valid_images() -> None:
    sink = io.BytesIO()
    with ImageWriter(sink, _manifest(), compression="none", manifest_mtime=5) as writer:  # type: ignore[arg-type]
        writer.add_directory("rootfs")
        writer.add_file("rootfs/f", b"data", mode=0o600, uid=1, gid=2, mtime=3)
        writer.add_symlink("rootfs/s", "f")
    assert writer.image_id == image_id(io.BytesIO(sink.getvalue()))
    assert writer.close() == writer.image_id
    assert str(validate(io.BytesIO(sink.getvalue())).name) == "example.com/test"
    members = _members(sink.getvalue())
    assert [(m.name, m.mtime) for m in members] == [
        ("manifest", 5),
        ("rootfs", 0),
        ("rootfs/f", 3),
        ("rootfs/s", 0),
    ]


def test_image_writer_refuses_bad_entries() -> None:
    writer = ImageWriter(io.BytesIO(), _manifest())  # type: ignore[arg-type]
    writer.add_directory("rootfs")
    writer.add_symlink("rootfs/s", "/etc")
    with pytest.raises(InvalidImage, match="passes through the symlink"):
        writer.add_file("rootfs/s/passwd", b"x")
    writer.add_file("rootfs/f", b"data")
    writer.add_hardlink("rootfs/h", "rootfs/f")
    with pytest.raises(InvalidImage, match="is a symlink"):
        writer.add_hardlink("rootfs/h2", "rootfs/s")
    writer.abort()


def test_image_writer_needs_rootfs() -> None:
    sink = io.BytesIO()
    with pytest.raises(InvalidImage, match="no rootfs"), ImageWriter(sink, _manifest()):  # type: ignore[arg-type]
        pass


def test_image_writer_aborts_on_error() -> None:
    sink = io.BytesIO()
    writer = ImageWriter(sink, _manifest())  # type: ignore[arg-type]

    def fail_inside() -> None:
        with writer:
            writer.add_directory("rootfs")
            raise RuntimeError

    with pytest.raises(RuntimeError):
        fail_inside()
    assert writer.image_id is None


def test_big_and_many_files(tmp_path: pathlib.Path) -> None:
    layout = make_tree(tmp_path / "layout")
    (layout / "rootfs" / "big").write_bytes(os.urandom(3 << 20))
    for index in range(300):
        (layout / "rootfs" / "etc" / f"small{index}").write_bytes(os.urandom(5000))
    built = build(layout, tmp_path / "image.aci")
    assert image_id(tmp_path / "image.aci") == built
    assert str(validate(tmp_path / "image.aci").name) == "example.com/test"


def test_xattr_corner_cases(
    monkeypatch: pytest.MonkeyPatch, tmp_path: pathlib.Path
) -> None:
    import errno

    from appc.aci import writer

    (tmp_path / "f").write_text("x")

    def names(*args: object, **kwargs: object) -> list[str]:
        return ["system.posix_acl_access", "user.kept"]

    def value(*args: object, **kwargs: object) -> bytes:
        return b"v"

    monkeypatch.setattr(os, "listxattr", names)
    monkeypatch.setattr(os, "getxattr", value)
    assert writer.read_xattrs(bytes(tmp_path / "f"), None) == ((b"user.kept", b"v"),)

    def unsupported(*args: object, **kwargs: object) -> list[str]:
        raise OSError(errno.EOPNOTSUPP, "Operation not supported")

    monkeypatch.setattr(os, "listxattr", unsupported)
    assert writer.read_xattrs(bytes(tmp_path / "f"), None) == ()


def test_output_directory_missing(tmp_path: pathlib.Path) -> None:
    layout = make_tree(tmp_path / "layout")
    with pytest.raises(ArchiveError, match="cannot create"):
        build(layout, tmp_path / "missing" / "image.aci")


def test_output_appears_during_the_build(tmp_path: pathlib.Path) -> None:
    layout = make_tree(tmp_path / "layout")
    out = tmp_path / "image.aci"

    def race(done: int, total: int | None) -> None:
        if not out.exists():
            out.write_text("someone else's")

    with pytest.raises(ArchiveError, match="exists"):
        build(layout, out, progress=race)
    assert out.read_text() == "someone else's"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["image.aci", "layout"]


# -- ImageWriter.add_stream and the other member kinds --------------------------------


class _RecordingStream(io.BytesIO):
    """A stream that remembers how much each read asked for."""

    def __init__(self, data: bytes) -> None:
        super().__init__(data)
        self.asked: list[int] = []

    def read(self, size: int | None = -1, /) -> bytes:
        self.asked.append(-1 if size is None else size)
        return super().read(size)


class _GreedyStream(io.BytesIO):
    """A stream that ignores the size asked for and returns everything."""

    def read(self, size: int | None = -1, /) -> bytes:
        return super().read()


def test_add_stream_copies_in_bounded_chunks() -> None:
    data = os.urandom((3 << 20) + 5)
    stream = _RecordingStream(data)
    streamed = io.BytesIO()
    with ImageWriter(streamed, _manifest(), compression="none") as writer:  # type: ignore[arg-type]
        writer.add_directory("rootfs")
        writer.add_stream("rootfs/big", stream, len(data), mode=0o600, mtime=7)
    # Never the whole file at once, and the same archive as from bytes.
    assert max(stream.asked) <= 1 << 20
    assert len(stream.asked) >= 4
    whole = io.BytesIO()
    with ImageWriter(whole, _manifest(), compression="none") as same:  # type: ignore[arg-type]
        same.add_directory("rootfs")
        same.add_file("rootfs/big", data, mode=0o600, mtime=7)
    assert streamed.getvalue() == whole.getvalue()
    assert writer.image_id == same.image_id == image_id(io.BytesIO(whole.getvalue()))
    with tarfile.open(fileobj=io.BytesIO(streamed.getvalue())) as tar:
        member = tar.extractfile("rootfs/big")
        assert member is not None
        assert member.read() == data


def test_add_stream_empty_file() -> None:
    sink = io.BytesIO()
    with ImageWriter(sink, _manifest(), compression="none") as writer:  # type: ignore[arg-type]
        writer.add_directory("rootfs")
        writer.add_stream("rootfs/empty", io.BytesIO(), 0)
    (member,) = (m for m in _members(sink.getvalue()) if m.name == "rootfs/empty")
    assert (member.size, member.isreg()) == (0, True)


@pytest.mark.parametrize(
    ("stream", "size", "message"),
    [
        (io.BytesIO(b"x" * 1000), 5000, "ended after 1000 of its 5000 bytes"),
        (io.BytesIO(b""), 1, "ended after 0 of its 1 bytes"),
        (io.BytesIO(b"x" * 1001), 1000, "longer than its 1000 bytes"),
        (_GreedyStream(b"x" * 1001), 1000, "longer than its 1000 bytes"),
    ],
)
def test_add_stream_size_mismatch_leaves_no_file(
    tmp_path: pathlib.Path, stream: io.BytesIO, size: int, message: str
) -> None:
    out = tmp_path / "image.aci"
    writer = ImageWriter(out, _manifest())  # type: ignore[arg-type]
    writer.add_directory("rootfs")
    # Not an InvalidImage: the entry was fine, its data was not.
    with pytest.raises(ArchiveError, match=message) as caught:
        writer.add_stream("rootfs/f", stream, size)
    assert not isinstance(caught.value, InvalidImage)
    assert list(tmp_path.iterdir()) == []
    # The archive cannot be finished: the writer is aborted for good.
    with pytest.raises(ArchiveError, match="closed or aborted"):
        writer.add_file("rootfs/g", b"")
    with pytest.raises(ArchiveError, match="closed or aborted"):
        writer.close()
    writer.abort()
    assert writer.image_id is None
    assert list(tmp_path.iterdir()) == []


def test_add_stream_failure_inside_with_block(tmp_path: pathlib.Path) -> None:
    out = tmp_path / "image.aci"

    def write() -> None:
        with ImageWriter(out, _manifest()) as writer:  # type: ignore[arg-type]
            writer.add_directory("rootfs")
            writer.add_stream("rootfs/f", io.BytesIO(b"abc"), 4)

    with pytest.raises(ArchiveError, match="ended after"):
        write()
    assert list(tmp_path.iterdir()) == []


def test_add_stream_keeps_the_checks() -> None:
    writer = ImageWriter(io.BytesIO(), _manifest(), compression="none")  # type: ignore[arg-type]
    writer.add_directory("rootfs")
    writer.add_stream("rootfs/f", io.BytesIO(b"one"), 3)
    stream = io.BytesIO(b"two")
    with pytest.raises(InvalidImage, match="duplicate"):
        writer.add_stream("rootfs/f", stream, 3)
    with pytest.raises(InvalidImage, match="unrecognized file path"):
        writer.add_stream("elsewhere", stream, 3)
    with pytest.raises(InvalidImage, match=re.escape("'..'")):
        writer.add_stream("rootfs/../x", stream, 3)
    with pytest.raises(ArchiveError, match="negative"):
        writer.add_stream("rootfs/n", stream, -1)
    # A refused entry reads nothing (and is not written); the image as a
    # whole stays refused.
    assert stream.tell() == 0
    with pytest.raises(InvalidImage, match="duplicate"):
        writer.close()


def test_image_writer_every_member_kind() -> None:
    sink = io.BytesIO()
    long_name = "rootfs/" + "d" * 120 + "/" + "f" * 150
    with ImageWriter(sink, _manifest(), compression="none") as writer:  # type: ignore[arg-type]
        writer.add_directory("rootfs", uname="root", gname="root")
        writer.add_directory("rootfs/" + "d" * 120, xattrs={"user.dir": b"1"})
        writer.add_stream(
            long_name,
            io.BytesIO(b"data"),
            4,
            uid=3_000_000,
            gid=1,
            uname="someone-with-a-name-longer-than-32",
            gname="g",
            xattrs={"user.b": b"2", "user.a": b"\xff\x00"},
        )
        writer.add_hardlink("rootfs/hard", long_name, mode=0o600, uid=5)
        writer.add_symlink("rootfs/sym", "/" + "t" * 200, mode=0o755)
        writer.add_device("rootfs/null", "char", 1, 3, mode=0o666)
        writer.add_device("rootfs/sda", "block", 8, 0, gname="disk")
        writer.add_fifo("rootfs/fifo", mode=0o600, mtime=-5)
    data = sink.getvalue()
    assert validate(io.BytesIO(data)) is not None
    members = {m.name: m for m in _members(data)}
    assert members["rootfs"].uname == "root"
    assert members["rootfs/" + "d" * 120].pax_headers["SCHILY.xattr.user.dir"] == "1"
    file = members[long_name]
    assert (file.uid, file.gid, file.size) == (3_000_000, 1, 4)
    assert file.uname == "someone-with-a-name-longer-than-32"
    assert {k: v for k, v in file.pax_headers.items() if "xattr" in k} == {
        "SCHILY.xattr.user.a": "\udcff\x00",
        "SCHILY.xattr.user.b": "2",
    }
    hard = members["rootfs/hard"]
    assert (hard.islnk(), hard.linkname, hard.mode, hard.uid) == (
        True,
        long_name,
        0o600,
        5,
    )
    assert members["rootfs/sym"].linkname == "/" + "t" * 200
    assert members["rootfs/sym"].mode == 0o755
    null = members["rootfs/null"]
    assert (null.ischr(), null.devmajor, null.devminor, null.mode) == (
        True,
        1,
        3,
        0o666,
    )
    sda = members["rootfs/sda"]
    assert (sda.isblk(), sda.devmajor, sda.gname, sda.mode) == (True, 8, "disk", 0o600)
    fifo = members["rootfs/fifo"]
    assert (fifo.isfifo(), fifo.mtime) == (True, -5)


def test_image_writer_refuses_bad_devices_and_xattrs() -> None:
    writer = ImageWriter(io.BytesIO(), _manifest())  # type: ignore[arg-type]
    writer.add_directory("rootfs")
    with pytest.raises(ArchiveError, match="'char' or 'block'"):
        writer.add_device("rootfs/x", "pipe", 1, 1)  # type: ignore[arg-type]
    for name in ("", "user.a=b", "user.\0"):
        with pytest.raises(ArchiveError, match="not an extended attribute name"):
            writer.add_file("rootfs/x", b"", xattrs={name: b"v"})
    writer.abort()


def test_image_writer_to_a_path(tmp_path: pathlib.Path) -> None:
    out = tmp_path / "image.aci"
    with ImageWriter(out, _manifest()) as writer:  # type: ignore[arg-type]
        writer.add_directory("rootfs")
        # Nothing under the final name until the archive is complete.
        assert not out.exists()
    assert image_id(out) == writer.image_id
    assert sorted(p.name for p in tmp_path.iterdir()) == ["image.aci"]
    with pytest.raises(ArchiveError, match="exists"):
        ImageWriter(out, _manifest())  # type: ignore[arg-type]
    with ImageWriter(out, _manifest(), overwrite=True, manifest_mtime=1) as again:  # type: ignore[arg-type]
        again.add_directory("rootfs")
    assert image_id(out) == again.image_id != writer.image_id
    for bad in (tmp_path / "other.aci", io.BytesIO()):
        with pytest.raises(ArchiveError, match="compression"):
            ImageWriter(bad, _manifest(), compression="zip")  # type: ignore[arg-type]
    aborted = ImageWriter(tmp_path / "aborted.aci", _manifest())  # type: ignore[arg-type]
    aborted.add_directory("rootfs")
    aborted.abort()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["image.aci"]


def test_image_writer_output_fails_on_close(tmp_path: pathlib.Path) -> None:
    class Full(io.RawIOBase):
        def writable(self) -> bool:
            return True

        def write(self, data: object, /) -> int:
            raise OSError(28, "No space left on device")

    writer = ImageWriter(Full(), _manifest(), compression="none")  # type: ignore[arg-type]
    writer.add_directory("rootfs")
    with pytest.raises(OSError, match="No space"):
        writer.close()
    assert writer.image_id is None
    with pytest.raises(ArchiveError, match="closed or aborted"):
        writer.close()
