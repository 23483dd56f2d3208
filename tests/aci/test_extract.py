"""Extraction: fidelity, policies, atomicity; images built by actool and by us."""

from __future__ import annotations

import gzip
import io
import logging
import os
import pathlib
import stat
import subprocess

import pytest

from appc.aci import build, extract
from appc.errors import ArchiveError, InvalidImage, UnsafeArchive

from tests.aci.tarcraft import (
    Header,
    directory,
    hardlink,
    image,
    member,
    octal,
    symlink,
)
from tests.aci.test_writer import make_tree


def describe_tree(
    root: pathlib.Path, *, owners: bool = False
) -> dict[str, tuple[object, ...]]:
    """Everything extraction should restore, per path (directory times aside)."""
    found: dict[str, tuple[object, ...]] = {}
    for directory_path, dirs, files in os.walk(root):
        for name in [*dirs, *files]:
            path = pathlib.Path(directory_path) / name
            st = path.lstat()
            kind = stat.S_IFMT(st.st_mode)
            detail: object = None
            if stat.S_ISREG(st.st_mode):
                detail = path.read_bytes()
            elif stat.S_ISLNK(st.st_mode):
                detail = str(path.readlink())
            elif stat.S_ISCHR(st.st_mode):
                detail = st.st_rdev
            xattrs = (
                {}
                if stat.S_ISLNK(st.st_mode)
                else {k: os.getxattr(path, k) for k in os.listxattr(path)}
            )
            mtime = (
                None
                if stat.S_ISDIR(st.st_mode) and name == "rootfs"
                else st.st_mtime_ns // 10**9
            )
            entry: tuple[object, ...] = (
                kind,
                stat.S_IMODE(st.st_mode),
                detail,
                xattrs,
                mtime,
            )
            if owners:
                entry += (st.st_uid, st.st_gid)
            found[str(path.relative_to(root))] = entry
    return found


def _rootfs(root: pathlib.Path) -> dict[str, tuple[object, ...]]:
    return {k: v for k, v in describe_tree(root).items() if k.startswith("rootfs/")}


def test_extract_restores_the_tree(tmp_path: pathlib.Path) -> None:
    layout = make_tree(tmp_path / "layout")
    build(layout, tmp_path / "image.aci")
    manifest = extract(
        tmp_path / "image.aci",
        tmp_path / "out",
        preserve_special_bits=True,
        devices=True,
        preserve_owner=True,
    )
    assert str(manifest.name) == "example.com/test"
    assert describe_tree(tmp_path / "out", owners=True) == {
        **describe_tree(layout, owners=True),
        # The manifest is stored re-serialised, as actool stores it.
        "manifest": describe_tree(tmp_path / "out", owners=True)["manifest"],
    }
    hello = (tmp_path / "out" / "rootfs" / "etc" / "hello").stat()
    hard = (tmp_path / "out" / "rootfs" / "etc" / "hard").stat()
    assert hello.st_ino == hard.st_ino


def test_default_policies(
    tmp_path: pathlib.Path, caplog: pytest.LogCaptureFixture
) -> None:
    layout = make_tree(tmp_path / "layout")
    build(layout, tmp_path / "image.aci")
    with caplog.at_level(logging.WARNING):
        extract(tmp_path / "image.aci", tmp_path / "out")
    out = tmp_path / "out" / "rootfs"
    suid = (out / "bin" / "suid").stat()
    assert stat.S_IMODE(suid.st_mode) == 0o755  # setuid dropped
    assert (suid.st_uid, suid.st_gid) == (os.getuid(), os.getgid())  # no chown
    if (layout / "rootfs" / "null").exists():
        assert not (out / "null").exists()
        assert "skipping device node rootfs/null" in caplog.text
    assert os.getxattr(out / "etc" / "hello", "user.appc") == b"kept"


def test_no_xattrs(tmp_path: pathlib.Path) -> None:
    layout = make_tree(tmp_path / "layout")
    os.setxattr(layout / "rootfs" / "etc", "user.dir", b"d")
    build(layout, tmp_path / "image.aci")
    extract(tmp_path / "image.aci", tmp_path / "with")
    assert os.getxattr(tmp_path / "with" / "rootfs" / "etc", "user.dir") == b"d"
    extract(tmp_path / "image.aci", tmp_path / "out", xattrs=False)
    assert os.listxattr(tmp_path / "out" / "rootfs" / "etc" / "hello") == []


@pytest.mark.interop
def test_extract_what_actool_builds(tmp_path: pathlib.Path, actool: str) -> None:
    layout = make_tree(tmp_path / "layout")
    subprocess.run(
        [actool, "build", str(layout), str(tmp_path / "image.aci")], check=True
    )
    extract(
        tmp_path / "image.aci",
        tmp_path / "out",
        preserve_special_bits=True,
        devices=True,
    )
    expected = _rootfs(layout)
    got = _rootfs(tmp_path / "out")
    # actool drops xattrs; everything else must be identical.
    for key, value in expected.items():
        expected[key] = (*value[:3], {}, value[4])
    # actool rounds times to the second, we and GNU tar truncate.
    assert got.keys() == expected.keys()
    for key in got:
        assert got[key][:4] == expected[key][:4], key
        got_time, expected_time = got[key][4], expected[key][4]
        if isinstance(got_time, int) and isinstance(expected_time, int):
            assert abs(got_time - expected_time) <= 1, key
        else:
            assert got_time == expected_time, key


def test_implicit_parents_and_read_only_directories(tmp_path: pathlib.Path) -> None:
    archive = image(
        member("rootfs/a/b/file", b"x"),
        Header(name=b"rootfs/ro", type=b"5", mode=octal(0o555, 8)).encode(),
        member("rootfs/ro/inside", b"y"),
    )
    extract(io.BytesIO(gzip.compress(archive)), tmp_path / "out")
    root = tmp_path / "out" / "rootfs"
    assert stat.S_IMODE((root / "a").stat().st_mode) == 0o755
    assert stat.S_IMODE((root / "ro").stat().st_mode) == 0o555
    assert (root / "ro" / "inside").read_bytes() == b"y"
    assert stat.S_IMODE((tmp_path / "out").stat().st_mode) == 0o755


def test_hard_link_to_skipped_device_is_skipped(tmp_path: pathlib.Path) -> None:
    archive = image(
        member(
            "rootfs/null", b"", type=b"3", devmajor=octal(1, 8), devminor=octal(3, 8)
        ),
        hardlink("rootfs/null2", "rootfs/null"),
        member("rootfs/fifo", b"", type=b"6", mode=octal(0o640, 8)),
    )
    extract(io.BytesIO(archive), tmp_path / "out")
    root = tmp_path / "out" / "rootfs"
    assert sorted(p.name for p in root.iterdir()) == ["fifo"]
    assert stat.S_ISFIFO((root / "fifo").lstat().st_mode)
    assert stat.S_IMODE((root / "fifo").lstat().st_mode) == 0o640


def test_destination_rules(tmp_path: pathlib.Path) -> None:
    archive = image(member("rootfs/f", b"x"))
    (tmp_path / "empty").mkdir()
    extract(io.BytesIO(archive), tmp_path / "empty")
    assert (tmp_path / "empty" / "rootfs" / "f").read_bytes() == b"x"
    with pytest.raises(ArchiveError, match="is not empty"):
        extract(io.BytesIO(archive), tmp_path / "empty")
    (tmp_path / "file").write_text("x")
    with pytest.raises(ArchiveError, match="not a directory"):
        extract(io.BytesIO(archive), tmp_path / "file")
    with pytest.raises(ArchiveError, match="cannot create"):
        extract(io.BytesIO(archive), tmp_path / "missing" / "dest")


def test_failure_at_the_end_removes_everything(
    tmp_path: pathlib.Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import importlib

    extract_module = importlib.import_module("appc.aci._extract")

    archive = image(
        Header(name=b"rootfs/ro", type=b"5", mode=octal(0o500, 8)).encode(),
        member("rootfs/ro/f", b"x"),
    )

    def refuse(source: str, target: str) -> None:
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(extract_module.os, "rename", refuse)
    with pytest.raises(ArchiveError, match="cannot move the extracted image"):
        extract(io.BytesIO(archive), tmp_path / "dest")
    assert list(tmp_path.iterdir()) == []


def test_invalid_manifest_at_the_end(tmp_path: pathlib.Path) -> None:
    archive = (
        directory("rootfs")
        + member("rootfs/f", b"x")
        + member("manifest", b"{}")
        + b"\0" * 1024
    )
    with pytest.raises(InvalidImage, match="image manifest validation failed"):
        extract(io.BytesIO(archive), tmp_path / "dest")
    assert list(tmp_path.iterdir()) == []


def test_progress(tmp_path: pathlib.Path) -> None:
    archive = gzip.compress(image(member("rootfs/f", os.urandom(100_000))))
    seen: list[tuple[int, int | None]] = []
    extract(
        io.BytesIO(archive), tmp_path / "out", progress=lambda d, t: seen.append((d, t))
    )
    assert seen[-1] == (len(archive), len(archive))


def test_explicit_directory_after_its_children(tmp_path: pathlib.Path) -> None:
    archive = image(
        directory("./"),
        member("rootfs/a/f", b"x"),
        Header(name=b"rootfs/a", type=b"5", mode=octal(0o750, 8)).encode(),
    )
    extract(io.BytesIO(archive), tmp_path / "out")
    assert stat.S_IMODE((tmp_path / "out" / "rootfs" / "a").stat().st_mode) == 0o750


@pytest.mark.parametrize("where", ["rootfs/" + "n" * 300 + "/f", "rootfs/" + "n" * 300])
def test_system_errors_are_archive_errors(where: str, tmp_path: pathlib.Path) -> None:
    # A 300-byte component passes the archive checks but no file system takes it.
    with pytest.raises(ArchiveError, match=r"cannot extract .*File name too long"):
        extract(io.BytesIO(image(member(where, b"x"))), tmp_path / "out")
    assert list(tmp_path.iterdir()) == []


def _with_xattr(key: bytes, value: bytes, *, directory_member: bool = False) -> bytes:
    from tests.aci.tarcraft import pax

    header = pax([(b"SCHILY.xattr." + key, value)])
    if directory_member:
        return image(
            header + Header(name=b"rootfs/d", type=b"5", mode=octal(0o755, 8)).encode()
        )
    return image(header + Header(name=b"rootfs/f").encode())


@pytest.mark.parametrize("directory_member", [False, True], ids=["file", "directory"])
def test_xattrs_the_system_refuses_are_skipped(
    directory_member: bool, tmp_path: pathlib.Path, caplog: pytest.LogCaptureFixture
) -> None:
    archive = _with_xattr(b"bogus.namespace", b"v", directory_member=directory_member)
    with caplog.at_level(logging.WARNING):
        extract(io.BytesIO(archive), tmp_path / "out")
    assert "cannot set xattr bogus.namespace" in caplog.text


def test_xattr_errors_are_archive_errors(tmp_path: pathlib.Path) -> None:
    # Linux caps a value at 64 KiB.
    with pytest.raises(ArchiveError, match="cannot extract rootfs/f"):
        extract(io.BytesIO(_with_xattr(b"user.big", b"v" * 70_000)), tmp_path / "out")
    with pytest.raises(ArchiveError, match="cannot extract rootfs/d"):
        extract(
            io.BytesIO(_with_xattr(b"user.big", b"v" * 70_000, directory_member=True)),
            tmp_path / "out",
        )
    assert list(tmp_path.iterdir()) == []


def test_devices_need_privileges(
    tmp_path: pathlib.Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    def refuse(*args: object, **kwargs: object) -> None:
        raise PermissionError(1, "Operation not permitted")

    monkeypatch.setattr(os, "mknod", refuse)
    archive = image(
        member(
            "rootfs/null", b"", type=b"3", devmajor=octal(1, 8), devminor=octal(3, 8)
        )
    )
    with pytest.raises(
        ArchiveError, match=r"cannot create device node rootfs/null.*needs root"
    ):
        extract(io.BytesIO(archive), tmp_path / "out", devices=True)


def test_cleanup_of_read_only_trees(
    tmp_path: pathlib.Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import importlib
    import shutil

    extract_module = importlib.import_module("appc.aci._extract")
    real_rmtree = shutil.rmtree
    calls: list[str] = []

    def rmtree_once_failing(path: str, *args: object, **kwargs: object) -> None:
        calls.append(path)
        if len(calls) == 1:
            raise PermissionError(13, "Permission denied")
        real_rmtree(path, *args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(extract_module.shutil, "rmtree", rmtree_once_failing)
    archive = image(
        Header(name=b"rootfs/ro", type=b"5", mode=octal(0o500, 8)).encode(),
        symlink("rootfs/s", "ro"),
    )
    archive = archive[:-1024] + member("rootfs/ro/../../x", b"") + b"\0" * 1024
    with pytest.raises(UnsafeArchive):
        extract(io.BytesIO(archive), tmp_path / "dest")
    assert len(calls) == 2
    assert list(tmp_path.iterdir()) == []


def test_tree_opens_only_existing_directories(tmp_path: pathlib.Path) -> None:
    import importlib

    extract_module = importlib.import_module("appc.aci._extract")
    options = extract_module.Options(
        preserve_owner=False, preserve_special_bits=False, devices=False, xattrs=True
    )
    root = os.open(tmp_path, os.O_RDONLY | os.O_DIRECTORY)
    try:
        tree = extract_module.Tree(root, options)
        with pytest.raises(FileNotFoundError):
            tree.dir_fd(("missing", "deeper"), create=False)
        (tmp_path / "link").symlink_to(tmp_path)
        with pytest.raises(
            OSError, match=r"Too many levels of symbolic links|Not a directory"
        ):
            tree.dir_fd(("link",), create=False)
        # More directories than descriptors kept: the oldest are closed.
        for index in range(extract_module._OPEN_DIRS + 10):
            tree.dir_fd(("many", str(index)), create=True)
        assert len(tree._fds) == extract_module._OPEN_DIRS
        tree.close()
        assert not tree._fds
    finally:
        os.close(root)


def test_umask_is_read_without_changing_it(monkeypatch: pytest.MonkeyPatch) -> None:
    import builtins
    import importlib

    extract_module = importlib.import_module("appc.aci._extract")
    before = os.umask(0o027)
    try:
        assert extract_module._current_umask() == 0o027
    finally:
        os.umask(before)
    real_open = builtins.open

    def no_proc(path: object, *args: object, **kwargs: object) -> object:
        if path == "/proc/self/status":
            raise FileNotFoundError(path)
        return real_open(path, *args, **kwargs)  # type: ignore[call-overload]

    monkeypatch.setattr(builtins, "open", no_proc)
    assert extract_module._current_umask() == 0o777

    def no_umask_line(path: object, *args: object, **kwargs: object) -> object:
        return io.BytesIO(b"Name:\tpython\nState:\tR\n")

    monkeypatch.setattr(builtins, "open", no_umask_line)
    assert extract_module._current_umask() == 0o777


def test_short_writes_are_completed(
    tmp_path: pathlib.Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    real_write = os.write

    def one_byte_at_a_time(fd: int, data: bytes | memoryview) -> int:
        return real_write(fd, bytes(data[:1]))

    archive = image(member("rootfs/f", b"hello"))
    monkeypatch.setattr(os, "write", one_byte_at_a_time)
    extract(io.BytesIO(archive), tmp_path / "out")
    monkeypatch.undo()
    assert (tmp_path / "out" / "rootfs" / "f").read_bytes() == b"hello"
