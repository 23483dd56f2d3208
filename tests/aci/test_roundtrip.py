"""Laws over random trees: build then extract gives the tree back; builds are reproducible."""

from __future__ import annotations

import os
import pathlib
import tempfile

from appc.aci import build, extract, image_id
from hypothesis import given
from hypothesis import strategies as st

from tests.aci.tarcraft import MANIFEST_JSON
from tests.aci.test_extract import describe_tree


_names = st.text("abcxyz-_.é", min_size=1, max_size=12).filter(
    lambda n: n not in (".", "..")
)


@st.composite
def trees(draw: st.DrawFn) -> list[tuple[str, ...]]:
    """A list of operations that make a rootfs: dirs first, then the rest."""
    dirs = draw(st.lists(st.lists(_names, min_size=1, max_size=3), max_size=5))
    ops: list[tuple[str, ...]] = []
    known_dirs = [""]
    for parts in dirs:
        path = ""
        for part in parts:
            path = f"{path}/{part}" if path else part
            if path not in known_dirs:
                known_dirs.append(path)
                ops.append(
                    ("dir", path, draw(st.sampled_from(["755", "700", "750", "555"])))
                )
    files: list[str] = []
    for _ in range(draw(st.integers(0, 8))):
        parent = draw(st.sampled_from(known_dirs))
        name = draw(_names)
        path = f"{parent}/{name}" if parent else name
        if path in known_dirs or path in files or any(op[1] == path for op in ops):
            continue
        kind = draw(st.sampled_from(["file", "file", "symlink", "hardlink", "fifo"]))
        if kind == "hardlink" and not files:
            kind = "file"
        if kind == "file":
            mode = draw(
                st.sampled_from(["644", "600", "755", "4755", "2750", "1777", "400"])
            )
            data = draw(st.binary(max_size=3000)).hex()
            xattr = draw(st.sampled_from(["", "user.one", "user.two"]))
            ops.append(("file", path, mode, data, xattr))
            files.append(path)
        elif kind == "symlink":
            target = draw(
                st.sampled_from(["/etc/passwd", "/", name + "x", "./" + name + "y"])
            )
            ops.append(("symlink", path, target))
        elif kind == "hardlink":
            ops.append(("hardlink", path, draw(st.sampled_from(files))))
        else:
            ops.append(("fifo", path, "640"))
    times = draw(
        st.lists(st.integers(0, 2**33), min_size=len(ops) + 1, max_size=len(ops) + 1)
    )
    return [
        (*op, str(time))
        for op, time in zip([*ops, ("dir", "", "755")], times, strict=True)
    ]


def _materialise(root: pathlib.Path, ops: list[tuple[str, ...]]) -> None:
    rootfs = root / "rootfs"
    rootfs.mkdir(parents=True)
    (root / "manifest").write_bytes(MANIFEST_JSON)
    # The manifest's time goes into the image too: fix it, or two copies made
    # on either side of a second boundary differ.
    os.utime(root / "manifest", ns=(10**18, 10**18))
    for op in ops:
        kind, path = op[0], rootfs / op[1]
        if kind == "dir" and op[1]:
            path.mkdir()
        elif kind == "file":
            path.write_bytes(bytes.fromhex(op[3]))
            if op[4]:
                os.setxattr(path, op[4], op[1].encode())
            path.chmod(int(op[2], 8))
        elif kind == "symlink":
            path.symlink_to(op[2])
        elif kind == "hardlink":
            os.link(rootfs / op[2], path)
        elif kind == "fifo":
            os.mkfifo(path, int(op[2], 8))
    # Times last, deepest first, so that creating children does not move them.
    for op in sorted(ops, key=lambda op: -op[1].count("/") - (op[0] == "dir")):
        path, seconds = rootfs / op[1], int(op[-1])
        os.utime(path, ns=(seconds * 10**9, seconds * 10**9), follow_symlinks=False)
    for op in ops:
        if op[0] == "dir":
            (rootfs / op[1]).chmod(int(op[2], 8))


@given(trees())
def test_build_then_extract_gives_the_tree_back(ops: list[tuple[str, ...]]) -> None:
    with tempfile.TemporaryDirectory() as temp:
        root = pathlib.Path(temp)
        _materialise(root / "layout", ops)
        built = build(root / "layout", root / "image.aci")
        extract(
            root / "image.aci",
            root / "out",
            preserve_special_bits=True,
            preserve_owner=True,
        )
        expected = describe_tree(root / "layout" / "rootfs", owners=True)
        assert describe_tree(root / "out" / "rootfs", owners=True) == expected
        assert image_id(root / "image.aci") == built


@given(trees())
def test_building_twice_gives_the_same_id(ops: list[tuple[str, ...]]) -> None:
    with tempfile.TemporaryDirectory() as temp:
        root = pathlib.Path(temp)
        _materialise(root / "one", ops)
        _materialise(root / "two", ops)  # another copy: other inodes, same content
        first = build(root / "one", root / "a.aci")
        assert build(root / "one", root / "b.aci", compression="none") == first
        assert build(root / "two", root / "c.aci", compression="bzip2") == first
        build(root / "two", root / "d.aci")
        assert (root / "a.aci").read_bytes() == (root / "d.aci").read_bytes()
