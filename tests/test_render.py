"""Rendering an image with its dependencies, checked against the Go renderer.

The oracle (``tests/oracle/values_oracle.go``, kind ``render``) runs the
reference's ``pkg/acirenderer`` on the very files of our store; hypothesis
makes dependency graphs with overlapping files, directories, symlinks and
path whitelists, and the files each image provides must be the same.
"""

# pyright: reportPrivateUsage=false
# (the file rules are tested directly)

from __future__ import annotations

import io
import json
import logging
import pathlib
import tarfile
import tempfile

from collections.abc import Generator, Sequence
from typing import Any, cast

import pytest

from appc import render as render_module
from appc.aci import ImageWriter
from appc.cli import main
from appc.errors import (
    ArchiveError,
    DependencyError,
    ImageNotFound,
    StoreCorrupted,
    UnsafeArchive,
)
from appc.image_id import ImageID
from appc.manifest import load_image_manifest
from appc.render import RenderedImage, dependency_list, plan, render
from appc.store import Store, StoredImage
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from tests.oracle import GoOracle, go_oracle_or_skip


# An entry of an image: (path under rootfs, kind); the content of a file
# names its image and path, so the rendered tree shows who provided it.
Entry = tuple[str, str]


def _make(
    store: Store,
    name: str,
    entries: Sequence[Entry],
    *,
    depends_on: Sequence[dict[str, object]] = (),
    whitelist: Sequence[str] = (),
) -> StoredImage:
    document: dict[str, object] = {
        "acKind": "ImageManifest",
        "acVersion": "0.8.11",
        "name": name,
        "labels": [{"name": "version", "value": "1.0"}],
    }
    if depends_on:
        document["dependencies"] = list(depends_on)
    if whitelist:
        document["pathWhitelist"] = list(whitelist)
    out = io.BytesIO()
    with ImageWriter(
        out, load_image_manifest(json.dumps(document)), compression="none"
    ) as writer:
        writer.add_directory("rootfs")
        for path, kind in entries:
            full = f"rootfs/{path}"
            if kind == "dir":
                writer.add_directory(full)
            elif kind == "file":
                writer.add_file(full, f"{name}:{path}".encode())
            elif kind == "symlink":
                writer.add_symlink(full, "elsewhere")
            elif kind == "fifo":
                writer.add_fifo(full)
            else:  # "hardlink:TARGET"
                writer.add_hardlink(full, f"rootfs/{kind.split(':', 1)[1]}")
    return store.import_image(io.BytesIO(out.getvalue()))


def _on(image: StoredImage, *, by_id: bool = False) -> dict[str, object]:
    if by_id:
        return {"imageName": str(image.name), "imageID": str(image.id)}
    return {
        "imageName": str(image.name),
        "labels": [{"name": "version", "value": "1.0"}],
    }


@pytest.fixture
def store(tmp_path: pathlib.Path) -> Store:
    return Store(tmp_path / "store")


def _short(images: list[RenderedImage]) -> list[tuple[str, int]]:
    return [(str(entry.image.name).rsplit("/", 1)[1], entry.level) for entry in images]


# -- the dependency list --------------------------------------------------------------


def test_dependency_list_is_the_go_order(store: Store) -> None:
    # The Go renderer's own example: A -> [B, C], C -> [D] gives A, C, D, B.
    d = _make(store, "example.com/d", [])
    c = _make(store, "example.com/c", [], depends_on=[_on(d)])
    b = _make(store, "example.com/b", [])
    a = _make(store, "example.com/a", [], depends_on=[_on(b), _on(c, by_id=True)])
    assert _short(dependency_list(a, store)) == [("a", 0), ("c", 1), ("d", 2), ("b", 1)]


def test_a_shared_dependency_appears_once_per_branch(store: Store) -> None:
    d = _make(store, "example.com/d", [])
    b = _make(store, "example.com/b", [], depends_on=[_on(d)])
    c = _make(store, "example.com/c", [], depends_on=[_on(d)])
    a = _make(store, "example.com/a", [], depends_on=[_on(b), _on(c)])
    assert _short(dependency_list(a, store)) == [
        ("a", 0),
        ("c", 1),
        ("d", 2),
        ("b", 1),
        ("d", 2),
    ]


def test_a_cycle_is_refused(store: Store, tmp_path: pathlib.Path) -> None:
    # B depends on A by name; A is imported last, depending on B by ID.
    b = _make(
        store,
        "example.com/b",
        [],
        depends_on=[
            {
                "imageName": "example.com/a",
                "labels": [{"name": "version", "value": "1.0"}],
            }
        ],
    )
    a = _make(store, "example.com/a", [], depends_on=[_on(b, by_id=True)])
    with pytest.raises(DependencyError) as caught:
        render(str(a.id), tmp_path / "out", store=store)
    assert str(caught.value) == (
        "dependency cycle: example.com/a:1.0 -> example.com/b:1.0 -> example.com/a:1.0"
    )
    assert not (tmp_path / "out").exists()


def test_the_go_renderer_never_finishes_on_a_cycle(store: Store) -> None:
    oracle = go_oracle_or_skip()
    try:
        b = _make(
            store,
            "example.com/b",
            [],
            depends_on=[{"imageName": "example.com/a"}],
        )
        a = _make(store, "example.com/a", [], depends_on=[_on(b, by_id=True)])
        answer = _go_plan(oracle, a, [a, b])
        assert answer.get("timeout"), answer
    finally:
        oracle.close()


def test_too_many_images(store: Store, monkeypatch: pytest.MonkeyPatch) -> None:
    leaf = _make(store, "example.com/leaf", [])
    top = _make(store, "example.com/top", [], depends_on=[_on(leaf), _on(leaf)])
    monkeypatch.setattr(render_module, "MAX_DEPENDENCIES", 2)
    with pytest.raises(
        DependencyError, match=r"more than 2 images \(MAX_DEPENDENCIES\)"
    ):
        dependency_list(top, store)
    monkeypatch.setattr(render_module, "MAX_DEPENDENCIES", 3)
    assert len(dependency_list(top, store)) == 3


def test_a_missing_dependency(store: Store, tmp_path: pathlib.Path) -> None:
    top = _make(
        store,
        "example.com/top",
        [],
        depends_on=[{"imageName": "example.com/gone"}],
    )
    with pytest.raises(ImageNotFound, match=r"example\.com/gone"):
        render(str(top.id), tmp_path / "out", store=store)


# -- the files ------------------------------------------------------------------------


def test_upper_images_win_and_lower_ones_fill_in(
    store: Store, tmp_path: pathlib.Path
) -> None:
    lower = _make(
        store,
        "example.com/lower",
        [
            ("etc", "dir"),
            ("etc/f", "file"),
            ("etc/g", "file"),
            ("bin", "dir"),
            ("bin/x", "file"),
        ],
    )
    upper = _make(
        store,
        "example.com/upper",
        [("etc", "dir"), ("etc/f", "file"), ("bin", "file")],
        depends_on=[_on(lower)],
    )
    rendered = render(str(upper.id), tmp_path / "out", store=store)
    out = tmp_path / "out"
    assert (out / "rootfs/etc/f").read_bytes() == b"example.com/upper:etc/f"
    assert (out / "rootfs/etc/g").read_bytes() == b"example.com/lower:etc/g"
    # A file above a lower image's directory hides the directory and its files.
    assert (out / "rootfs/bin").read_bytes() == b"example.com/upper:bin"
    assert rendered[1].files == ("rootfs", "rootfs/etc/g")
    assert load_image_manifest((out / "manifest").read_bytes()).name == upper.name


def test_path_whitelists(store: Store, tmp_path: pathlib.Path) -> None:
    lower = _make(
        store,
        "example.com/lower",
        [("keep", "file"), ("drop", "file"), ("sub", "dir"), ("sub/keep", "file")],
    )
    upper = _make(
        store,
        "example.com/upper",
        [("mine", "file"), ("other", "dir")],
        depends_on=[_on(lower)],
        whitelist=["/keep", "/sub/keep", "/mine"],
    )
    out = tmp_path / "out"
    rendered = render(str(upper.id), out, store=store)
    assert sorted(p.name for p in (out / "rootfs").iterdir()) == [
        "keep",
        "mine",
        "other",  # the image's own directories stay
        "sub",  # made as the parent of sub/keep: the whitelist dropped its entry
    ]
    assert not (out / "rootfs/drop").exists()
    assert rendered[1].files == ("rootfs", "rootfs/keep", "rootfs/sub/keep")


def test_hard_links_whose_target_this_image_does_not_provide(
    store: Store, tmp_path: pathlib.Path, caplog: pytest.LogCaptureFixture
) -> None:
    # lower's f is hidden by upper's f: lower's links to it get lower's data
    # (one copy, the other links to it), not a link to upper's file.
    lower = _make(
        store,
        "example.com/lower",
        [
            ("f", "file"),
            ("link", "hardlink:f"),
            ("again", "hardlink:f"),
            ("chained", "hardlink:link"),
            ("own", "file"),
            ("mine", "hardlink:own"),
            ("pipe", "fifo"),
            ("to-pipe", "hardlink:pipe"),
        ],
    )
    upper = _make(
        store,
        "example.com/upper",
        [("f", "file"), ("pipe", "file")],
        depends_on=[_on(lower)],
    )
    out = tmp_path / "out"
    with caplog.at_level(logging.WARNING, logger="appc.render"):
        render(str(upper.id), out, store=store)
    root = out / "rootfs"
    assert (root / "f").read_bytes() == b"example.com/upper:f"
    assert (root / "link").read_bytes() == b"example.com/lower:f"
    inode = (root / "link").stat().st_ino
    assert (root / "again").stat().st_ino == inode
    assert (root / "chained").stat().st_ino == inode
    assert (root / "f").stat().st_ino != inode
    assert (root / "mine").stat().st_ino == (root / "own").stat().st_ino
    # A link to a fifo another image hides has nothing to copy.
    assert not (root / "to-pipe").exists()
    assert "skipping hard link rootfs/to-pipe" in caplog.text


def test_a_corrupted_stored_image(store: Store, tmp_path: pathlib.Path) -> None:
    lower = _make(store, "example.com/lower", [("f", "file")])
    upper = _make(store, "example.com/upper", [], depends_on=[_on(lower)])
    data = bytearray(lower.path.read_bytes())
    index = data.index(b"example.com/lower:f")
    data[index] ^= 1
    lower.path.chmod(0o644)
    lower.path.write_bytes(bytes(data))
    with pytest.raises(StoreCorrupted, match="no longer hashes to its image ID"):
        render(str(upper.id), tmp_path / "out", store=store)
    assert not (tmp_path / "out").exists()
    assert list(tmp_path.glob(".out.*")) == []


def test_render_a_store_entry_into_an_existing_empty_directory(
    store: Store, tmp_path: pathlib.Path
) -> None:
    image = _make(store, "example.com/one", [("f", "file")])
    (tmp_path / "out").mkdir()
    rendered = render(image, tmp_path / "out", store=store)
    assert [entry.image for entry in rendered] == [image]
    assert [entry.files for entry in plan(image, store=store)] == [
        ("rootfs", "rootfs/f")
    ]
    # A directory with something in it is left alone.
    with pytest.raises(ArchiveError, match="is not empty"):
        render(image, tmp_path / "out", store=store)
    assert (tmp_path / "out/rootfs/f").read_bytes() == b"example.com/one:f"


def test_progress_follows_every_image(store: Store, tmp_path: pathlib.Path) -> None:
    lower = _make(store, "example.com/lower", [("f", "file")])
    upper = _make(store, "example.com/upper", [("g", "file")], depends_on=[_on(lower)])
    seen: list[tuple[int, int | None]] = []
    render(
        upper, tmp_path / "out", store=store, progress=lambda d, t: seen.append((d, t))
    )
    total = upper.size + lower.size
    assert seen[-1] == (total, total)
    assert {t for _d, t in seen} == {total}
    assert [d for d, _t in seen] == sorted(d for d, _t in seen)
    assert any(d == upper.size for d, _t in seen)  # the first image, done


def test_render_by_name_and_the_command(
    store: Store, tmp_path: pathlib.Path, capsys: pytest.CaptureFixture[str]
) -> None:
    lower = _make(store, "example.com/lower", [("f", "file")])
    _make(store, "example.com/upper", [("g", "file")], depends_on=[_on(lower)])
    argv = ["image", "render", "--store", str(store.root)]
    assert main([*argv, "example.com/upper:1.0", str(tmp_path / "out")]) == 0
    assert capsys.readouterr().out == (
        f"Rendered example.com/upper with 1 dependency to {tmp_path / 'out'}\n"
    )
    assert (tmp_path / "out/rootfs/f").read_bytes() == b"example.com/lower:f"
    assert main([*argv, "example.com/none", str(tmp_path / "other")]) == 1
    assert "no image example.com/none" in capsys.readouterr().err


# -- against the Go renderer ------------------------------------------------------------


@pytest.fixture(scope="module")
def oracle() -> Generator[GoOracle]:
    running = go_oracle_or_skip()
    yield running
    running.close()


def _go_plan(
    oracle: GoOracle, top: StoredImage, images: Sequence[StoredImage]
) -> dict[str, object]:
    return oracle.ask(
        "render",
        str(top.id),
        raw=[{"key": str(image.id), "path": str(image.path)} for image in images],
    )


_PATHS: tuple[str, ...] = ("a", "a/b", "a/b/c", "a/d", "e", "e/f")
_KINDS: tuple[str, ...] = ("dir", "file", "symlink")


@st.composite
def _image_specs(
    draw: st.DrawFn,
) -> list[tuple[list[Entry], list[int], list[str], bool]]:
    """Images 0..n-1: entries, dependencies (on later images), whitelist, by ID."""
    count = draw(st.integers(2, 4))
    specs: list[tuple[list[Entry], list[int], list[str], bool]] = []
    for index in range(count):
        kinds = draw(st.dictionaries(st.sampled_from(_PATHS), st.sampled_from(_KINDS)))
        entries: list[Entry] = []
        for path in sorted(kinds):
            # Ancestors first, as directories, and nothing below a non-directory.
            parts = path.split("/")
            ancestors = ["/".join(parts[:i]) for i in range(1, len(parts))]
            if any(kinds.get(a, "dir") != "dir" for a in ancestors):
                continue
            for ancestor in ancestors:
                if (ancestor, "dir") not in entries:
                    entries.append((ancestor, "dir"))
            if (path, kinds[path]) not in entries:
                entries.append((path, kinds[path]))
        later = list(range(index + 1, count))
        # A chain through every image, and more edges (diamonds) on top.
        deps = (
            [index + 1, *draw(st.lists(st.sampled_from(later), max_size=2))]
            if later
            else []
        )
        whitelist = draw(
            st.one_of(
                st.just([]),
                st.lists(
                    st.sampled_from([f"/{p}" for p in _PATHS] + ["/a/", "/x"]),
                    min_size=1,
                ),
            )
        )
        specs.append((entries, deps, whitelist, draw(st.booleans())))
    return specs


@settings(
    max_examples=120,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)
@given(specs=_image_specs())
def test_fuzz_same_files_as_the_go_renderer(
    oracle: GoOracle,
    tmp_path_factory: pytest.TempPathFactory,
    specs: list[tuple[list[Entry], list[int], list[str], bool]],
) -> None:
    root = tmp_path_factory.mktemp("render")
    store = Store(root / "store")
    stored: dict[int, StoredImage] = {}
    for index in reversed(range(len(specs))):
        entries, deps, whitelist, by_id = specs[index]
        stored[index] = _make(
            store,
            f"example.com/i{index}",
            entries,
            depends_on=[_on(stored[d], by_id=by_id) for d in deps],
            whitelist=whitelist,
        )
    top = stored[0]
    _expect(oracle, store, top, list(stored.values()))
    ours = plan(str(top.id), store=store)
    # And the tree holds what the plan says, from the image that provides it.
    out = root / "out"
    render(str(top.id), out, store=store)
    for entry in ours:
        for path in entry.files:
            if path == "rootfs":
                continue
            kind = dict(specs[int(str(entry.image.name)[len("example.com/i") :])][0])[
                path[len("rootfs/") :]
            ]
            target = out / path
            if kind == "file":
                assert target.read_bytes() == f"{entry.image.name}:{path[7:]}".encode()
            elif kind == "dir":
                assert target.is_dir()
                assert not target.is_symlink()
            else:
                assert target.is_symlink()


def _expect(
    oracle: GoOracle, store: Store, top: StoredImage, images: Sequence[StoredImage]
) -> list[tuple[str, list[str]]]:
    """The files each image provides, from Go and from us (asserted equal)."""
    answer = _go_plan(oracle, top, images)
    assert answer["ok"], answer
    output = answer["output"]
    assert isinstance(output, list)
    theirs: list[tuple[str, list[str]]] = [
        (str(item["key"]), [str(name) for name in item["files"]])
        for item in cast("list[dict[str, Any]]", output)
    ]
    ours: list[tuple[str, list[str]]] = []
    for position, entry in enumerate(plan(str(top.id), store=store)):
        files = [*entry.files, *(["manifest"] if position == 0 else [])]
        ours.append((str(entry.image.id), sorted(files)))
    assert ours == theirs
    return ours


def test_the_topmost_whitelist_applies(store: Store, oracle: GoOracle) -> None:
    # top (whitelist /a) -> middle (whitelist /b) -> bottom: Go applies the
    # topmost ancestor's whitelist to bottom, not its parent's.
    bottom = _make(store, "example.com/bottom", [("a", "file"), ("b", "file")])
    middle = _make(
        store, "example.com/middle", [], depends_on=[_on(bottom)], whitelist=["/b"]
    )
    top = _make(
        store, "example.com/top", [], depends_on=[_on(middle)], whitelist=["/a"]
    )
    files = _expect(oracle, store, top, [top, middle, bottom])
    assert files[2][1] == ["rootfs", "rootfs/a"]


def test_nothing_below_an_upper_symlink(store: Store, oracle: GoOracle) -> None:
    lower = _make(
        store, "example.com/lower", [("a", "dir"), ("a/b", "file"), ("c", "file")]
    )
    upper = _make(
        store, "example.com/upper", [("a", "symlink")], depends_on=[_on(lower)]
    )
    files = _expect(oracle, store, upper, [upper, lower])
    assert files[1][1] == ["rootfs", "rootfs/c"]


def test_image_ids_are_what_go_hashes(store: Store, oracle: GoOracle) -> None:
    # The oracle checks every image's hash against its key, as the renderer does.
    image = _make(store, "example.com/one", [("f", "file")])
    ((key, files),) = _expect(oracle, store, image, [image])
    assert ImageID(key) == image.id
    assert files == ["manifest", "rootfs", "rootfs/f"]


def test_the_file_rules_outside_rootfs() -> None:
    chooser = render_module._ImageChooser({}, own=None, upper=None)
    assert not chooser.choose("rootfs", "0")  # not a directory: not the rootfs
    assert not chooser.choose("manifest", "0")
    assert not chooser.choose("rootfsX/a", "0")
    assert chooser.choose("rootfs", "5")
    assert chooser.choose("rootfs/a", "0")
    assert chooser.chosen == ["rootfs", "rootfs/a"]


def test_a_stored_file_replaced_by_a_hostile_archive(
    store: Store, tmp_path: pathlib.Path
) -> None:
    lower = _make(store, "example.com/lower", [("f", "file")])
    upper = _make(store, "example.com/upper", [], depends_on=[_on(lower)])
    # Crafted with tarfile: our writer refuses to make such an archive.
    hostile = io.BytesIO()
    with tarfile.open(fileobj=hostile, mode="w", format=tarfile.USTAR_FORMAT) as tar:
        manifest = b'{"acKind":"ImageManifest","acVersion":"0.8.11","name":"example.com/lower"}'
        info = tarfile.TarInfo("manifest")
        info.size = len(manifest)
        tar.addfile(info, io.BytesIO(manifest))
        info = tarfile.TarInfo("rootfs")
        info.type = tarfile.DIRTYPE
        tar.addfile(info)
        info = tarfile.TarInfo("rootfs/up")
        info.type, info.linkname = tarfile.SYMTYPE, "../../.."
        tar.addfile(info)
    lower.path.chmod(0o644)
    lower.path.write_bytes(hostile.getvalue())
    with pytest.raises(UnsafeArchive, match="leaves rootfs"):
        render(str(upper.id), tmp_path / "out", store=store)
    assert not (tmp_path / "out").exists()


def test_the_rendered_tree_cannot_be_moved_into_place(
    store: Store, tmp_path: pathlib.Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    image = _make(store, "example.com/one", [("f", "file")])

    def refuse(_src: str, _dst: str) -> None:
        raise PermissionError(13, "Permission denied")

    monkeypatch.setattr("appc.render.os.rename", refuse)
    with pytest.raises(ArchiveError, match="cannot move the rendered image"):
        render(str(image.id), tmp_path / "out", store=store)
    assert list(tmp_path.iterdir()) == [tmp_path / "store"]


@st.composite
def _graphs(draw: st.DrawFn) -> list[list[int]]:
    """Dependency lists of up to five images, by index; cycles welcome."""
    count = draw(st.integers(1, 5))
    return [draw(st.lists(st.integers(0, count - 1), max_size=3)) for _ in range(count)]


def _has_cycle(graph: list[list[int]], start: int) -> bool:
    def visit(node: int, path: tuple[int, ...]) -> bool:
        return any(dep in path or visit(dep, (*path, dep)) for dep in graph[node])

    return visit(start, (start,))


def _go_order(graph: list[list[int]], limit: int) -> list[tuple[int, int]] | None:
    """Go's createDepList on an index graph, or None past ``limit`` entries."""
    order = [(0, 0)]
    index = 0
    while index < len(order):
        node, level = order[index]
        for dep in graph[node]:
            order.insert(index + 1, (dep, level + 1))
            if len(order) > limit:
                return None
        index += 1
    return order


@settings(max_examples=60, deadline=None)
@given(graph=_graphs())
@example(graph=[[1], [0]])  # a cycle through the top
@example(graph=[[1, 1, 1], [2, 2, 2], [3, 3, 3], [4, 4], []])  # too long
def test_fuzz_dependency_lists_end(graph: list[list[int]]) -> None:
    # Any graph, cycles included: a list in Go's order, or a clean refusal;
    # never a hang. Images depend on each other by name, so that cycles can
    # be made (an image ID cannot name an image that names it).
    with tempfile.TemporaryDirectory() as tmp:
        store = Store(tmp)
        images = [
            _make(
                store,
                f"example.com/g{index}",
                [],
                depends_on=[
                    {
                        "imageName": f"example.com/g{dep}",
                        "labels": [{"name": "version", "value": "1.0"}],
                    }
                    for dep in deps
                ],
            )
            for index, deps in enumerate(graph)
        ]
        limit = 40
        with pytest.MonkeyPatch.context() as patch:
            patch.setattr(render_module, "MAX_DEPENDENCIES", limit)
            if _has_cycle(graph, 0):
                # Refused as a cycle, or, if other branches fill the list
                # first, for its length.
                with pytest.raises(
                    DependencyError, match=r"dependency cycle: |MAX_DEPENDENCIES"
                ):
                    dependency_list(images[0], store)
                return
            expected = _go_order(graph, limit)
            if expected is None:
                with pytest.raises(DependencyError, match="MAX_DEPENDENCIES"):
                    dependency_list(images[0], store)
                return
            found = dependency_list(images[0], store)
        assert [
            (int(str(entry.image.name)[len("example.com/g") :]), entry.level)
            for entry in found
        ] == expected
