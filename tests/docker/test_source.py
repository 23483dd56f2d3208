"""Blob plumbing: windows into files, spooling compressed layers, platforms."""

from __future__ import annotations

import gzip
import hashlib
import io
import re
import tarfile

from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

import pytest

from appc.docker._layers import BytesLayer, Entry, LayerIndex, LayerReader
from appc.docker._output import write_aci
from appc.docker._source import (
    Digest,
    WindowLayer,
    select_platform,
    spool_layer,
)
from appc.errors import ConversionError, DigestMismatch, LimitExceeded, UnsafeLayer
from appc.manifest import load_image_manifest

from tests.docker.make_images import File, layer_tar


MANIFEST = load_image_manifest(
    '{"acKind": "ImageManifest", "acVersion": "0.8.11", "name": "example.com/x"}'
)


def _digest(data: bytes) -> Digest:
    return Digest("sha256", hashlib.sha256(data).hexdigest())


def test_window_reads_and_seeks(tmp_path: Path) -> None:
    path = tmp_path / "f"
    path.write_bytes(b"0123456789")
    with WindowLayer("w", path, 2, 5).open() as stream:
        assert stream.read() == b"23456"
        assert stream.seek(-2, io.SEEK_END) == 3
        assert stream.read(10) == b"56"
        stream.seek(1)
        assert stream.seek(1, io.SEEK_CUR) == 2
        assert stream.read(1) == b"4"


def _zstd(data: bytes) -> bytes:
    # zstd layers need the zstandard package (see docs/docker.md).
    zstandard = pytest.importorskip("zstandard")
    compressed: bytes = zstandard.ZstdCompressor().compress(data)
    return compressed


def _gzip(data: bytes) -> bytes:
    return gzip.compress(data)


def _plain(data: bytes) -> bytes:
    return data


@pytest.mark.parametrize("compress", [_gzip, _zstd, _plain])
def test_spool_checks_both_digests(
    tmp_path: Path, compress: Callable[[bytes], bytes]
) -> None:
    tar = layer_tar([File("a", b"x")])
    blob = compress(tar)
    layer = spool_layer(
        io.BytesIO(blob),
        label="l",
        directory=tmp_path,
        blob_digest=_digest(blob),
        diff_id=_digest(tar),
        size=len(blob),
    )
    assert layer.path.read_bytes() == tar
    with pytest.raises(DigestMismatch, match="uncompressed"):
        spool_layer(
            io.BytesIO(blob),
            label="l",
            directory=tmp_path,
            blob_digest=_digest(blob),
            diff_id=_digest(b""),
        )
    with pytest.raises(DigestMismatch, match=r"blob has \d+ bytes, expected"):
        spool_layer(
            io.BytesIO(blob),
            label="l",
            directory=tmp_path,
            blob_digest=None,
            diff_id=None,
            size=len(blob) + 1,
        )


def test_corrupt_zstd(tmp_path: Path) -> None:
    blob = _zstd(layer_tar([File("a", b"x" * 1000)]))
    broken = blob[:8] + b"\xff" * (len(blob) - 8)
    with pytest.raises(ConversionError, match="corrupt zstd"):
        spool_layer(
            io.BytesIO(broken),
            label="l",
            directory=tmp_path,
            blob_digest=None,
            diff_id=None,
        )


def test_layer_size_limit(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("appc.docker._source.MAX_LAYER_BYTES", 100)
    blob = gzip.compress(b"\0" * 10_000)
    with pytest.raises(LimitExceeded, match="MAX_LAYER_BYTES"):
        spool_layer(
            io.BytesIO(blob),
            label="l",
            directory=tmp_path,
            blob_digest=_digest(blob),
            diff_id=None,
        )


def test_progress_reports_raw_bytes(tmp_path: Path) -> None:
    blob = gzip.compress(layer_tar([File("a", b"x")]))
    seen: list[tuple[str, int, int | None]] = []

    def progress(label: str, done: int, total: int | None) -> None:
        seen.append((label, done, total))

    spool_layer(
        io.BytesIO(blob),
        label="dl",
        directory=tmp_path,
        blob_digest=None,
        diff_id=None,
        size=len(blob),
        progress=progress,
    )
    assert seen[-1] == ("dl", len(blob), len(blob))


def test_select_platform_rules() -> None:
    entries: list[Mapping[str, Any]] = [
        {"digest": "none"},
        {"platform": "bad", "digest": "bad"},
        {
            "platform": {"os": "linux", "architecture": "arm", "variant": "v6"},
            "digest": "v6",
        },
        {
            "platform": {"os": "linux", "architecture": "arm", "variant": "v7"},
            "digest": "v7",
        },
    ]
    assert (
        select_platform(entries, os_name="linux", arch="arm/v7", what="x")["digest"]
        == "v7"
    )
    assert (
        select_platform(entries, os_name="linux", arch="arm", what="x")["digest"]
        == "v6"
    )
    with pytest.raises(ConversionError, match=r"\(no platform\)"):
        select_platform(entries, os_name="windows", arch="amd64", what="x")


def test_select_platform_defaults_to_the_host(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("platform.machine", lambda: "armv7l")
    monkeypatch.setattr("platform.system", lambda: "Linux")
    entries = [
        {
            "platform": {"os": "linux", "architecture": "arm", "variant": "v6"},
            "digest": "v6",
        },
        {
            "platform": {"os": "linux", "architecture": "arm", "variant": "v7"},
            "digest": "v7",
        },
    ]
    assert select_platform(entries, os_name=None, arch=None, what="x")["digest"] == "v7"


def _info(name: str, kind: bytes = tarfile.REGTYPE, **fields: Any) -> tarfile.TarInfo:
    info = tarfile.TarInfo(name)
    info.type = kind
    for key, value in fields.items():
        setattr(info, key, value)
    return info


def _write_entries(path: Path, entries: list[Entry]) -> None:
    with LayerReader(()) as reader:
        write_aci(path, MANIFEST, entries, reader)


def test_writer_refuses_what_validate_would_refuse(tmp_path: Path) -> None:
    # Entries the index would never give: the writer's own checks stop them.
    hostile = [
        Entry("a", _info("a", tarfile.DIRTYPE)),
        Entry("a/../../x", _info("a/../../x", tarfile.DIRTYPE)),
    ]
    with pytest.raises(
        UnsafeLayer, match=re.escape("refusing to write 'rootfs/a/../../x'")
    ):
        _write_entries(tmp_path / "x.aci", hostile)
    escape = [Entry("up", _info("up", tarfile.SYMTYPE, linkname="../.."))]
    with pytest.raises(UnsafeLayer, match=r"would not be valid: .*leaves rootfs"):
        _write_entries(tmp_path / "x.aci", escape)
    assert list(tmp_path.iterdir()) == []


def test_writer_errors_are_conversion_errors(tmp_path: Path) -> None:
    device = Entry("null", _info("null", tarfile.CHRTYPE, devmajor=1 << 30))
    with pytest.raises(ConversionError, match=r'cannot write "null": .*device number'):
        _write_entries(tmp_path / "x.aci", [device])
    # A header that promises more data than the layer member holds.
    layer = BytesLayer("l", layer_tar([File("a", b"12345")]))
    index = LayerIndex(stdio_symlinks=False)
    index.apply(layer)
    (entry,) = index.entries()
    longer = _info("a", size=10)
    with (
        LayerReader(index.layers) as reader,
        pytest.raises(ConversionError, match="ended after 5 of its 10 bytes"),
    ):
        write_aci(
            tmp_path / "x.aci", MANIFEST, [Entry("a", longer, 0, entry.source)], reader
        )
    assert list(tmp_path.iterdir()) == []


def test_every_member_kind_is_written(tmp_path: Path) -> None:
    entries = [
        Entry("d", _info("d", tarfile.DIRTYPE, mode=0o750, uname="u", gname="g")),
        Entry("d/chr", _info("d/chr", tarfile.CHRTYPE, devmajor=1, devminor=3)),
        Entry("d/blk", _info("d/blk", tarfile.BLKTYPE, devmajor=8, devminor=1)),
        Entry("d/fifo", _info("d/fifo", tarfile.FIFOTYPE, mode=0o600)),
        Entry("d/sym", _info("d/sym", tarfile.SYMTYPE, linkname="fifo")),
    ]
    entries[0].info.pax_headers = {"SCHILY.xattr.user.k": "v"}
    _write_entries(tmp_path / "x.aci", entries)
    with tarfile.open(tmp_path / "x.aci") as archive:
        members = {m.name: m for m in archive.getmembers()}
    assert members["rootfs/d"].pax_headers["SCHILY.xattr.user.k"] == "v"
    assert (members["rootfs/d"].mode, members["rootfs/d"].uname) == (0o750, "u")
    assert members["rootfs/d/chr"].ischr()
    assert (members["rootfs/d/blk"].devmajor, members["rootfs/d/blk"].devminor) == (
        8,
        1,
    )
    assert members["rootfs/d/fifo"].isfifo()
    assert members["rootfs/d/sym"].linkname == "fifo"


class ShrinkingLayer:
    """A layer whose file changes between the scan and the copy."""

    label = "shrinking"

    def __init__(self) -> None:
        self.calls = 0
        self.data = layer_tar([File("big", b"x" * 5000)])

    def open(self) -> io.BytesIO:
        self.calls += 1
        if self.calls == 1:
            return io.BytesIO(self.data)
        return io.BytesIO(self.data[:1500])


def test_layer_that_ends_early_leaves_no_file(tmp_path: Path) -> None:
    index = LayerIndex(stdio_symlinks=False)
    index.apply(ShrinkingLayer())
    with (
        LayerReader(index.layers) as reader,
        pytest.raises((ConversionError, tarfile.TarError)),
    ):
        write_aci(tmp_path / "x.aci", MANIFEST, index.entries(), reader)
    assert list(tmp_path.iterdir()) == []


def test_write_aci_none_compression(tmp_path: Path) -> None:
    index = LayerIndex(stdio_symlinks=False)
    index.apply(BytesLayer("l", layer_tar([File("a", b"x")])))
    with LayerReader(index.layers) as reader:
        image_id = write_aci(
            tmp_path / "x.aci", MANIFEST, index.entries(), reader, compression="none"
        )
    assert (
        image_id
        == "sha512-" + hashlib.sha512((tmp_path / "x.aci").read_bytes()).hexdigest()
    )
