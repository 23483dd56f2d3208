"""Layers applied onto the index: whiteouts, opaque dirs, hard links, hostile members."""

from __future__ import annotations

import io
import tarfile

import hypothesis
import hypothesis.strategies as st
import pytest

from appc.docker._layers import (
    STDIO_SYMLINKS,
    BytesLayer,
    LayerIndex,
    LayerReader,
    clean_member_name,
)
from appc.errors import AppcError, ConversionError, LimitExceeded, UnsafeLayer

from tests.docker.make_images import (
    Dir,
    File,
    Hardlink,
    Member,
    Raw,
    Symlink,
    layer_tar,
    opaque,
    whiteout,
)


def squash(*layers: list[Member], stdio: bool = False) -> LayerIndex:
    index = LayerIndex(stdio_symlinks=stdio)
    for number, members in enumerate(layers):
        index.apply(BytesLayer(f"layer {number}", layer_tar(members)))
    return index


def tree(index: LayerIndex) -> dict[str, tuple[str, str]]:
    """path -> (kind, content or link target), reading data like a writer."""
    result: dict[str, tuple[str, str]] = {}
    with LayerReader(index.layers) as reader:
        for entry in index.entries():
            info = entry.info
            if info.isdir():
                result[entry.path] = ("dir", "")
            elif info.issym():
                result[entry.path] = ("symlink", info.linkname)
            elif info.islnk():
                result[entry.path] = ("hardlink", info.linkname)
            else:
                data = reader.data(entry)
                assert data is not None
                with data:
                    result[entry.path] = ("file", data.read().decode())
    return result


def test_whiteout_deletes_the_path_and_everything_below() -> None:
    index = squash(
        [
            Dir("a"),
            File("a/x", b"x"),
            Dir("a/d"),
            File("a/d/deep", b"d"),
            File("a/y", b"y"),
        ],
        [whiteout("a/d"), whiteout("a/x")],
    )
    assert tree(index) == {"a": ("dir", ""), "a/y": ("file", "y")}
    assert index.deleted


def test_opaque_whiteout_empties_the_directory_but_keeps_this_layer() -> None:
    # security.md A4: etc/hello and etc/old vanish, etc/new stays.
    index = squash(
        [
            Dir("etc"),
            File("etc/hello", b"h"),
            File("etc/old", b"o"),
            Dir("etc/sub"),
            File("etc/sub/f"),
        ],
        [opaque("etc"), Dir("etc", mode=0o700), File("etc/new", b"n")],
    )
    assert tree(index) == {"etc": ("dir", ""), "etc/new": ("file", "n")}
    etc = index.find("etc")
    assert etc is not None
    assert etc.mode == 0o700


def test_opaque_marker_order_does_not_matter_within_the_layer() -> None:
    index = squash([File("d/old")], [File("d/new"), opaque("d")])
    assert set(tree(index)) == {"d/new"}


def test_no_whiteout_markers_remain() -> None:
    index = squash(
        [File("a/x")],
        [whiteout("a/x"), opaque("b"), File("a/.wh..wh.plnk/1"), File(".wh..wh.aufs")],
    )
    assert not any(".wh." in path for path in tree(index))


def test_whiteout_then_recreate_in_the_same_layer() -> None:
    index = squash(
        [Dir("a"), File("a/old")], [whiteout("a"), Dir("a"), File("a/new", b"n")]
    )
    assert tree(index) == {"a": ("dir", ""), "a/new": ("file", "n")}


def test_whiteout_of_a_missing_path_changes_nothing() -> None:
    index = squash([File("keep", b"k")], [whiteout("nothing"), whiteout("dir/missing")])
    assert tree(index) == {"keep": ("file", "k")}
    assert not index.deleted


def test_replaced_file_and_directory() -> None:
    index = squash(
        [File("f", b"old"), Dir("d"), File("d/child"), File("becomes-dir", b"x")],
        [
            File("f", b"new"),
            File("d", b"file now"),
            Dir("becomes-dir"),
            File("becomes-dir/in", b"i"),
        ],
    )
    assert tree(index) == {
        "becomes-dir": ("dir", ""),
        "becomes-dir/in": ("file", "i"),
        "d": ("file", "file now"),
        "f": ("file", "new"),
    }


def test_directory_over_directory_keeps_lower_children() -> None:
    index = squash(
        [Dir("d", mode=0o755), File("d/lower", b"l")], [Dir("d", mode=0o700)]
    )
    assert tree(index) == {"d": ("dir", ""), "d/lower": ("file", "l")}
    found = index.find("d")
    assert found is not None
    assert found.mode == 0o700


def test_later_duplicate_in_one_layer_wins() -> None:
    index = squash([File("f", b"first"), File("f", b"second")])
    assert tree(index) == {"f": ("file", "second")}


def test_hard_links_stay_links_when_the_source_survives() -> None:
    index = squash([File("a", b"data"), Hardlink("b", "a"), Hardlink("c", "b")])
    assert tree(index) == {
        "a": ("file", "data"),
        "b": ("hardlink", "a"),
        "c": ("hardlink", "a"),
    }


def test_deleted_hard_link_source_becomes_a_real_file() -> None:
    # docker2aci#98/#105: layer 1 has A and B linked to A; layer 2 deletes A.
    index = squash(
        [File("A", b"content"), Hardlink("B", "A"), Hardlink("C", "A")], [whiteout("A")]
    )
    assert tree(index) == {"B": ("file", "content"), "C": ("hardlink", "B")}


def test_replaced_hard_link_source_keeps_the_old_content_in_the_link() -> None:
    index = squash([File("A", b"old"), Hardlink("B", "A")], [File("A", b"new")])
    assert tree(index) == {"A": ("file", "new"), "B": ("file", "old")}


def test_hard_link_primary_is_the_first_in_sorted_order() -> None:
    index = squash([File("z/source", b"s"), Hardlink("a/link", "z/source")])
    assert tree(index) == {"a/link": ("file", "s"), "z/source": ("hardlink", "a/link")}


def test_hard_link_to_a_symlink_is_written_as_a_copy() -> None:
    index = squash([Symlink("s", "target"), Hardlink("t", "s")])
    assert tree(index) == {"s": ("symlink", "target"), "t": ("symlink", "target")}


def test_entries_are_sorted_with_parents_first() -> None:
    index = squash([File("b/x"), File("a-b"), Dir("a"), File("a/z"), Dir("b")])
    assert [entry.path for entry in index.entries()] == ["a", "a/z", "a-b", "b", "b/x"]


def test_stdio_symlinks_added_when_absent() -> None:
    index = squash([File("bin/sh")], stdio=True)
    found = {
        path: value for path, value in tree(index).items() if path.startswith("dev")
    }
    expected = {"dev": ("dir", "")} | {
        name: ("symlink", target) for name, target in STDIO_SYMLINKS
    }
    assert found == expected


def test_stdio_symlinks_do_not_replace_the_image_s_own() -> None:
    index = squash([Dir("dev"), Symlink("dev/stdout", "/proc/self/fd/1")], stdio=True)
    assert tree(index)["dev/stdout"] == ("symlink", "/proc/self/fd/1")
    assert tree(index)["dev/stderr"] == ("symlink", "/dev/console")


def test_root_entry_is_skipped() -> None:
    index = squash([Dir("."), Dir("./"), File("./etc/x", b"1")])
    assert tree(index) == {"etc/x": ("file", "1")}


def test_xattrs_travel() -> None:
    index = squash([File("f", b"", xattrs=(("user.k", "v"),))])
    entry = next(iter(index.entries()))
    assert entry.info.pax_headers == {"SCHILY.xattr.user.k": "v"}


def test_empty_layer_file_is_an_empty_layer() -> None:
    index = LayerIndex(stdio_symlinks=False)
    index.apply(BytesLayer("empty", b""))
    assert list(index.entries()) == []


def test_not_a_tar_is_an_error() -> None:
    index = LayerIndex()
    with pytest.raises(ConversionError, match="not a valid tar"):
        index.apply(BytesLayer("junk", b"\x01" * 1024))


def _raw(name: str, kind: bytes = tarfile.REGTYPE, linkname: str = "") -> Raw:
    info = tarfile.TarInfo(name)
    info.type = kind
    info.linkname = linkname
    return Raw(info)


@pytest.mark.parametrize(
    ("members", "message"),
    [
        ([_raw("../x")], "leaves the image root"),
        ([_raw("./../x")], "leaves the image root"),
        ([_raw("a/../../x")], "leaves the image root"),
        ([_raw("/etc/passwd")], "absolute path"),
        ([_raw(".", tarfile.SYMTYPE, "/")], "is not a directory"),
        ([_raw("a/.wh.")], "invalid whiteout"),
        ([_raw("a/.wh..")], "invalid whiteout"),
        ([_raw(".wh...")], "invalid whiteout"),
        ([_raw("x", tarfile.SYMTYPE, "../../etc")], "leaves the image root"),
        ([_raw("a/b/x", tarfile.SYMTYPE, "../../../etc")], "leaves the image root"),
        ([_raw("x", tarfile.SYMTYPE, "")], "empty target"),
        ([_raw("h", tarfile.LNKTYPE, "/etc/passwd")], "absolute path"),
        ([_raw("h", tarfile.LNKTYPE, "../etc/passwd")], "leaves the image root"),
        ([_raw("h", tarfile.LNKTYPE, "later"), _raw("later")], "earlier file"),
        ([_raw("d", tarfile.DIRTYPE), _raw("h", tarfile.LNKTYPE, "d")], "earlier file"),
        ([_raw("s", tarfile.SYMTYPE, "/etc"), _raw("s/passwd")], "which is a symlink"),
        ([_raw("f"), _raw("f/child")], "which is a non-directory"),
    ],
)
def test_hostile_members_are_refused(members: list[Member], message: str) -> None:
    with pytest.raises(UnsafeLayer, match=message):
        squash(members)


def test_member_below_a_lower_layer_symlink_is_refused() -> None:
    # security.md A2: layer 1 plants x -> /etc, layer 2 writes x/passwd.
    with pytest.raises(
        UnsafeLayer, match='"x/passwd" is below "x", which is a symlink'
    ):
        squash([Symlink("x", "/etc")], [File("x/passwd", b"root::0:0")])


def test_member_below_a_replacing_directory_is_fine() -> None:
    index = squash(
        [Symlink("var/run", "/run")], [Dir("var/run"), File("var/run/pid", b"1")]
    )
    assert tree(index)["var/run/pid"] == ("file", "1")


def test_whiteout_below_a_symlink_deletes_nothing_outside() -> None:
    index = squash(
        [Dir("etc"), File("etc/passwd", b"p"), Symlink("link", "/etc")],
        [whiteout("link/passwd")],
    )
    assert tree(index)["etc/passwd"] == ("file", "p")


def test_absolute_symlinks_are_kept() -> None:
    index = squash([Symlink("bin/sh", "/bin/busybox"), Symlink("a", "b/../c")])
    assert tree(index) == {
        "a": ("symlink", "b/../c"),
        "bin/sh": ("symlink", "/bin/busybox"),
    }


def test_unsupported_member_type() -> None:
    with pytest.raises(ConversionError, match="unsupported type"):
        squash([_raw("x", b"V")])


def test_devices_and_fifos_are_kept() -> None:
    device = tarfile.TarInfo("dev/null")
    device.type = tarfile.CHRTYPE
    device.devmajor, device.devminor = 1, 3
    index = squash([Raw(device), _raw("fifo", tarfile.FIFOTYPE)])
    kinds = {entry.path: entry.info.type for entry in index.entries()}
    assert kinds == {"dev/null": tarfile.CHRTYPE, "fifo": tarfile.FIFOTYPE}
    null = index.find("dev/null")
    assert null is not None
    assert (null.devmajor, null.devminor) == (1, 3)


def test_entry_limit() -> None:
    index = LayerIndex(stdio_symlinks=False, max_entries=2)
    with pytest.raises(LimitExceeded, match="MAX_ENTRIES"):
        index.apply(BytesLayer("big", layer_tar([File("a"), File("b"), File("c")])))


def test_layer_limit(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("appc.docker._layers.MAX_LAYERS", 1)
    index = LayerIndex()
    index.apply(BytesLayer("one", b""))
    with pytest.raises(LimitExceeded, match="layers"):
        index.apply(BytesLayer("two", b""))


def test_whitelist_lists_every_path_sorted() -> None:
    index = squash([File("b"), Dir("a"), File("a/x")], [whiteout("b")])
    assert index.whitelist() == ("/a", "/a/x")
    assert "a/x" in index
    assert len(index) == 2


def test_owner_marks_copied_up_links_for_nosquash() -> None:
    index = LayerIndex(stdio_symlinks=False)
    index.apply(
        BytesLayer("0", layer_tar([File("A", b"a"), Hardlink("B", "A"), File("keep")]))
    )
    assert [e.path for e in index.entries(owner=0)] == ["A", "B", "keep"]
    index.apply(BytesLayer("1", layer_tar([whiteout("A")])))
    # Layer 1's ACI provides B again, as a file, since its source is gone.
    assert [(e.path, e.info.type) for e in index.entries(owner=1)] == [
        ("B", tarfile.REGTYPE)
    ]
    assert [e.path for e in index.entries(owner=0)] == ["keep"]


@pytest.mark.parametrize(
    ("name", "expected"),
    [("./a//b/", "a/b"), (".", ""), ("./", ""), ("a/./b", "a/b")],
)
def test_clean_member_name(name: str, expected: str) -> None:
    assert clean_member_name(name) == expected


@pytest.mark.parametrize("name", ["a\0b", "\udcff"])
def test_clean_member_name_refuses_bad_bytes(name: str) -> None:
    with pytest.raises(UnsafeLayer):
        clean_member_name(name)


_NAMES = st.sampled_from(
    [
        "a",
        "b",
        "a/b",
        "a/c",
        "b/a",
        ".wh.a",
        "a/.wh.b",
        "a/.wh..wh..opq",
        "..",
        "/x",
        ".",
    ]
)
_KINDS = st.sampled_from(
    [tarfile.REGTYPE, tarfile.DIRTYPE, tarfile.SYMTYPE, tarfile.LNKTYPE]
)


@st.composite
def _layer(draw: st.DrawFn) -> bytes:
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w", format=tarfile.PAX_FORMAT) as archive:
        for _ in range(draw(st.integers(0, 6))):
            info = tarfile.TarInfo(draw(_NAMES))
            info.type = draw(_KINDS)
            data = draw(st.binary(max_size=8)) if info.type == tarfile.REGTYPE else b""
            info.size = len(data)
            if info.type in (tarfile.SYMTYPE, tarfile.LNKTYPE):
                info.linkname = draw(_NAMES)
            archive.addfile(info, io.BytesIO(data))
    return buffer.getvalue()


@hypothesis.given(st.lists(_layer(), min_size=1, max_size=3))
def test_random_layers_convert_or_fail_cleanly(layers: list[bytes]) -> None:
    index = LayerIndex()
    try:
        for number, data in enumerate(layers):
            index.apply(BytesLayer(str(number), data))
        entries = list(index.entries())
    except AppcError:
        return
    paths = [entry.path for entry in entries]
    assert len(paths) == len(set(paths))
    assert not any(".wh." in path.rpartition("/")[2] for path in paths)
    assert all(
        not path.startswith("/") and ".." not in path.split("/") for path in paths
    )
    seen: set[str] = set()
    for entry in entries:
        if entry.info.islnk():
            assert entry.info.linkname in seen
        seen.add(entry.path)
