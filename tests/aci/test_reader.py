"""Image IDs, validation and manifests, checked against sha512sum, zcat and actool."""

from __future__ import annotations

import bz2
import gzip
import hashlib
import io
import lzma
import os
import pathlib
import subprocess

from collections.abc import Iterator

import pytest

from appc.aci import (
    DEFAULT_LIMITS,
    Limits,
    image_id,
    read_manifest,
    read_manifest_bytes,
    validate,
    validate_layout,
)
from appc.aci.reader import open_source, walk_layout
from appc.errors import (
    ArchiveError,
    InvalidImage,
    InvalidManifest,
    UnsupportedCompression,
)

from tests.aci.tarcraft import END, MANIFEST_JSON, directory, image, member, symlink
from tests.helpers import require_tool


def _sha512sum(data: bytes) -> str:
    tool = require_tool("sha512sum")
    out = subprocess.run([tool], input=data, capture_output=True, check=True).stdout
    return "sha512-" + out.split()[0].decode()


def _tool_output(tool: str, path: pathlib.Path) -> bytes:
    return subprocess.run(
        [require_tool(tool), "-dc", str(path)], capture_output=True, check=True
    ).stdout


# An image with padding and data after the end-of-archive blocks: they count.
TAR = (
    image(member("rootfs/hello", b"Hello\n" * 1000), symlink("rootfs/link", "hello"))
    + b"\0" * 4096
    + b"trailer"
)


@pytest.mark.parametrize(
    ("compress", "tool"),
    [
        (gzip.compress, "gzip"),
        (bz2.compress, "bzip2"),
        (lzma.compress, "xz"),
    ],
)
def test_image_id_matches_the_shell(
    compress: object, tool: str, tmp_path: pathlib.Path
) -> None:
    path = tmp_path / "image.aci"
    path.write_bytes(compress(TAR))  # type: ignore[operator]
    # What zcat/bzcat/xzcat output, hashed by sha512sum.
    expected = _sha512sum(_tool_output(tool, path))
    assert image_id(path) == expected
    with path.open("rb") as stream:
        assert image_id(stream) == expected


def test_image_id_of_plain_tar(tmp_path: pathlib.Path) -> None:
    path = tmp_path / "image.aci"
    path.write_bytes(TAR)
    assert image_id(path) == _sha512sum(TAR)


def test_image_id_same_for_every_compression() -> None:
    one = gzip.compress(TAR)
    ids = {
        image_id(io.BytesIO(one)),
        image_id(io.BytesIO(gzip.compress(TAR[:3000]) + gzip.compress(TAR[3000:]))),
        image_id(io.BytesIO(bz2.compress(TAR))),
        image_id(io.BytesIO(lzma.compress(TAR))),
        image_id(io.BytesIO(TAR)),
    }
    assert ids == {"sha512-" + hashlib.sha512(TAR).hexdigest()}


def test_image_id_threaded_path_and_progress(tmp_path: pathlib.Path) -> None:
    # Larger than the threshold for hashing on a second thread.
    data = image(member("rootfs/big", os.urandom(6 << 20)))
    path = tmp_path / "big.aci"
    path.write_bytes(data)
    seen: list[tuple[int, int | None]] = []
    assert image_id(
        path, progress=lambda done, total: seen.append((done, total))
    ) == _sha512sum(data)
    assert seen[-1] == (len(data), len(data))


def test_image_id_reads_from_the_current_position() -> None:
    stream = io.BytesIO(b"junk" + gzip.compress(TAR))
    stream.seek(4)
    assert image_id(stream) == "sha512-" + hashlib.sha512(TAR).hexdigest()


def test_open_source_of_unseekable_stream() -> None:
    class Pipe(io.RawIOBase):
        def readable(self) -> bool:
            return True

        def readinto(self, buffer: bytearray | memoryview) -> int:  # type: ignore[override]
            return 0

    with open_source(Pipe()) as (_stream, size):  # type: ignore[arg-type]
        assert size is None


def test_missing_file() -> None:
    with pytest.raises(ArchiveError, match="cannot open"):
        image_id("/nonexistent/image.aci")


def test_not_an_archive() -> None:
    with pytest.raises(UnsupportedCompression):
        validate(io.BytesIO(b'{"acKind": "ImageManifest"}'))


def test_validate_returns_the_manifest() -> None:
    manifest = validate(io.BytesIO(gzip.compress(TAR)))
    assert str(manifest.name) == "example.com/test"


def test_validate_lists_every_problem() -> None:
    data = member("extra", b"") + member("rootfsX/a", b"") + directory("rootfs") + END
    with pytest.raises(InvalidImage) as info:
        validate(io.BytesIO(data))
    # In actool's order: the manifest first, stray paths last.
    assert [str(issue) for issue in info.value.issues] == [
        "manifest: no image manifest found in layout",
        'extra: unrecognized file path in layout: "extra"',
        'rootfsX/a: unrecognized file path in layout: "rootfsX/a"',
    ]


def test_validate_reports_manifest_issues_with_paths() -> None:
    bad = b'{"acKind":"ImageManifest","acVersion":"0.8.11","name":"Bad Name"}'
    with pytest.raises(InvalidImage) as info:
        validate(io.BytesIO(member("manifest", bad) + directory("rootfs") + END))
    messages = [str(issue) for issue in info.value.issues]
    assert messages[0].startswith("manifest: image manifest validation failed")
    assert any(message.startswith("manifest $.name:") for message in messages)


def test_read_manifest_stops_at_the_manifest() -> None:
    # The rest of the archive is neither read nor checked (as actool).
    data = member("./manifest", MANIFEST_JSON) + b"garbage" * 100
    assert read_manifest_bytes(io.BytesIO(data)) == MANIFEST_JSON
    assert str(read_manifest(io.BytesIO(data)).name) == "example.com/test"


def test_read_manifest_errors() -> None:
    with pytest.raises(InvalidImage, match="missing manifest"):
        read_manifest_bytes(io.BytesIO(directory("rootfs") + END))
    with pytest.raises(InvalidImage, match="not a regular file"):
        read_manifest_bytes(io.BytesIO(symlink("manifest", "x") + END))
    with pytest.raises(InvalidManifest):
        read_manifest(io.BytesIO(member("manifest", b"{}") + END))
    from appc.aci import Limits
    from appc.errors import LimitExceeded

    with pytest.raises(LimitExceeded):
        read_manifest_bytes(
            io.BytesIO(member("manifest", MANIFEST_JSON) + END),
            limits=Limits(max_manifest_size=10),
        )


# -- layouts (directories), against actool -------------------------------------------------


def _layout(root: pathlib.Path, manifest: bytes = MANIFEST_JSON) -> pathlib.Path:
    (root / "rootfs" / "etc").mkdir(parents=True)
    (root / "manifest").write_bytes(manifest)
    (root / "rootfs" / "etc" / "hello").write_text("hi")
    return root


def _broken_layouts() -> dict[str, tuple[object, str]]:
    def no_manifest(root: pathlib.Path) -> None:
        (root / "manifest").unlink()

    def no_rootfs(root: pathlib.Path) -> None:
        (root / "rootfs" / "etc" / "hello").unlink()
        (root / "rootfs" / "etc").rmdir()
        (root / "rootfs").rmdir()

    def rootfs_symlink(root: pathlib.Path) -> None:
        (root / "rootfs").rename(root / "real")
        (root / "rootfs").symlink_to("real")

    def extra(root: pathlib.Path) -> None:
        (root / "extra").write_text("x")

    def bad_manifest(root: pathlib.Path) -> None:
        (root / "manifest").write_text("{}")

    def manifest_dir(root: pathlib.Path) -> None:
        (root / "manifest").unlink()
        (root / "manifest").mkdir()

    return {
        "no-manifest": (no_manifest, "no image manifest found in layout"),
        "no-rootfs": (no_rootfs, "no rootfs found in layout"),
        "rootfs-symlink": (rootfs_symlink, "rootfs is not a directory"),
        "extra": (extra, 'unrecognized file path in layout: "extra"'),
        "bad-manifest": (bad_manifest, "image manifest validation failed"),
        "manifest-directory": (manifest_dir, "manifest is not a regular file"),
    }


@pytest.mark.interop
@pytest.mark.parametrize("name", sorted(_broken_layouts()))
def test_layout_verdicts_match_actool(
    name: str, tmp_path: pathlib.Path, actool: str
) -> None:
    breaker, message = _broken_layouts()[name]
    root = _layout(tmp_path / "layout")
    breaker(root)  # type: ignore[operator]
    result = subprocess.run(
        [actool, "validate", str(root)], capture_output=True, text=True, check=False
    )
    assert result.returncode == 1, result.stderr
    with pytest.raises(InvalidImage) as info:
        validate(root)
    assert any(message in str(issue) for issue in info.value.issues)


@pytest.mark.interop
def test_valid_layout_matches_actool(tmp_path: pathlib.Path, actool: str) -> None:
    root = _layout(tmp_path / "layout")
    (root / "rootfs" / "manifest").write_text("not the manifest")
    (root / "rootfs" / "etc" / "rootfs").mkdir()
    (root / "rootfs" / "etc" / "link").symlink_to("/etc/hello")
    os.mkfifo(root / "rootfs" / "fifo")
    subprocess.run([actool, "validate", str(root)], check=True)
    assert str(validate_layout(root).name) == "example.com/test"


def test_layout_symlink_escape_is_refused(tmp_path: pathlib.Path) -> None:
    root = _layout(tmp_path / "layout")
    (root / "rootfs" / "escape").symlink_to("../../../etc")
    with pytest.raises(InvalidImage, match="leaves rootfs"):
        validate(root)


def test_layout_is_not_a_directory(tmp_path: pathlib.Path) -> None:
    (tmp_path / "file").write_text("x")
    with pytest.raises(ArchiveError, match="not a directory"):
        validate_layout(tmp_path / "file")


def test_layout_unreadable(tmp_path: pathlib.Path) -> None:
    with pytest.raises(ArchiveError, match="cannot read layout"):
        list(walk_layout(tmp_path / "missing"))


def test_layout_subdirectory_unreadable(
    tmp_path: pathlib.Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    root = _layout(tmp_path / "layout")

    def refuse(path: object) -> object:
        raise PermissionError(13, "Permission denied")

    monkeypatch.setattr(os, "scandir", refuse)
    with pytest.raises(ArchiveError, match=r"cannot read .*rootfs: Permission denied"):
        validate_layout(root)


def test_prefetcher_forwards_errors_in_order() -> None:
    from appc.aci.reader import Prefetcher

    def source() -> Iterator[bytes]:
        yield b"one"
        yield b"two"
        raise ArchiveError("broken")

    prefetcher = Prefetcher(source())
    seen: list[bytes] = []
    with pytest.raises(ArchiveError, match="broken"):
        seen.extend(prefetcher)
    assert seen == [b"one", b"two"]
    prefetcher.close()


def test_prefetcher_stops_early() -> None:
    from appc.aci.reader import Prefetcher

    produced: list[int] = []

    def endless() -> Iterator[bytes]:
        while True:
            produced.append(1)
            yield b"x"

    prefetcher = Prefetcher(endless(), depth=2)
    assert next(iter(prefetcher)) == b"x"
    prefetcher.close()
    count = len(produced)
    assert count < 10
    assert len(produced) == count  # the worker is gone


def test_large_archive_errors_come_through_the_worker(tmp_path: pathlib.Path) -> None:
    data = gzip.compress(image(member("rootfs/big", os.urandom(6 << 20))))
    path = tmp_path / "truncated.aci"
    path.write_bytes(data[: len(data) - 100])
    with pytest.raises(InvalidImage, match="truncated gzip stream"):
        validate(path)
    seen: list[tuple[int, int | None]] = []
    path.write_bytes(data)
    validate(path, progress=lambda done, total: seen.append((done, total)))
    assert seen[-1] == (len(data), len(data))


@pytest.mark.interop
@pytest.mark.parametrize(
    "compression", [[], ["--no-compression"]], ids=["gzip", "none"]
)
def test_what_actool_builds(
    compression: list[str], tmp_path: pathlib.Path, actool: str
) -> None:
    from tests.aci.test_writer import make_tree

    layout = make_tree(tmp_path / "layout")
    aci = tmp_path / "image.aci"
    subprocess.run([actool, "build", *compression, str(layout), str(aci)], check=True)
    manifest = validate(aci)
    assert manifest == read_manifest(aci)
    printed = subprocess.run(
        [actool, "cat-manifest", str(aci)], capture_output=True, check=True
    ).stdout
    assert read_manifest_bytes(aci) + b"\n" == printed
    tar = aci.read_bytes() if compression else _tool_output("gzip", aci)
    assert image_id(aci) == _sha512sum(tar)


def test_limits_are_validated_immutable_values() -> None:
    assert Limits() == DEFAULT_LIMITS
    assert Limits(max_members=5) == Limits(max_members=5) != Limits(max_members=6)
    assert Limits() != "Limits()"
    assert hash(Limits(max_members=5)) == hash(Limits(max_members=5))
    assert len({Limits(), Limits(), Limits(max_name_length=1)}) == 2
    assert Limits(max_name_length=1).max_name_length == 1
    with pytest.raises(ValueError, match="'max_name_length' must be >= 1: 0"):
        Limits(max_name_length=0)
    with pytest.raises(ValueError, match="'max_uncompressed_bytes' must be >= 0"):
        Limits(max_uncompressed_bytes=-1)
    limits = Limits()
    with pytest.raises(AttributeError, match="immutable"):
        limits.max_members = 1
    with pytest.raises(AttributeError, match="immutable"):
        del limits.max_members
    assert repr(Limits(max_members=3)).startswith("Limits(max_uncompressed_bytes=")
