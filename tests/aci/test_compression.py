"""Compression detection and streams, checked against zlib/bz2/lzma and the real tools."""

from __future__ import annotations

import bz2
import contextlib
import gzip
import io
import logging
import lzma
import os
import subprocess
import zlib

from collections.abc import Callable
from types import ModuleType

import pytest

from appc.aci import _compression
from appc.aci._compression import (
    ZLIB_BACKEND,
    ParallelGzipWriter,
    describe_zlib,
    detect_compression,
    iter_decompressed,
    load_zlib,
    open_compressor,
)
from appc.errors import ArchiveError, LimitExceeded, UnsupportedCompression
from hypothesis import given
from hypothesis import strategies as st

from tests.helpers import require_tool


@pytest.fixture(autouse=True, params=["zlib-ng", "zlib"])
def deflate_backend(
    request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch
) -> ModuleType:
    """Every test here runs with zlib-ng (appc[fast]) and with the stdlib's zlib."""
    name: str = request.param
    module = pytest.importorskip("zlib_ng.zlib_ng") if name == "zlib-ng" else zlib
    monkeypatch.setattr(_compression, "_zlib", module)
    return module


def test_backend_choice(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("APPC_ZLIB", "stdlib")
    assert load_zlib() is zlib
    monkeypatch.delenv("APPC_ZLIB")

    def missing(name: str) -> object:
        raise ImportError(name)

    monkeypatch.setattr("importlib.import_module", missing)
    assert load_zlib() is zlib
    assert describe_zlib(zlib) == f"zlib {zlib.ZLIB_RUNTIME_VERSION}"


def test_backend_in_use_is_zlib_ng_when_installed() -> None:
    ng = pytest.importorskip("zlib_ng.zlib_ng")
    if os.environ.get("APPC_ZLIB") == "stdlib":
        pytest.skip("APPC_ZLIB=stdlib refuses zlib-ng")
    expected = f"zlib-ng {ng.ZLIBNG_VERSION}"
    assert expected == ZLIB_BACKEND


def _tar_head() -> bytes:
    block = bytearray(600)
    block[257:262] = b"ustar"
    return bytes(block)


# The sniffing table of actool's DetectFileType (anchors.md 3.2).
@pytest.mark.parametrize(
    ("head", "expected"),
    [
        (b"\x1f\x8b\x08", "gzip"),
        (b"BZh9", "bzip2"),
        (b"\xfd7zXZ\x00\x00", "xz"),
        (_tar_head(), "none"),
    ],
)
def test_detect(head: bytes, expected: str) -> None:
    assert detect_compression(head) == expected


@pytest.mark.parametrize(
    "head",
    [
        b"",
        b"\x1f",  # half a gzip magic
        b"\xfd7zXZ",  # xz magic without its NUL
        b"\0" * 1024,  # an empty tar: actool cannot tell it either
        _tar_head()[:262],  # "ustar" must be followed by something (> 262 bytes)
        b"PK\x03\x04",
        b"(\xb5/\xfd",  # zstd: not an ACI compression
        b'{"acKind": "ImageManifest"}',
    ],
)
def test_detect_refuses(head: bytes) -> None:
    with pytest.raises(UnsupportedCompression):
        detect_compression(head)


def _payload(size: int = 300_000) -> bytes:
    return (b"appc" * (size // 8)) + os.urandom(size // 2)


@pytest.mark.parametrize(
    "compress",
    [gzip.compress, bz2.compress, lzma.compress],
    ids=["gzip", "bzip2", "xz"],
)
def test_round_trip_and_concatenated_members(
    compress: Callable[[bytes], bytes],
) -> None:
    data = _payload()
    one = compress(data)
    assert b"".join(iter_decompressed(io.BytesIO(one))) == data
    # Concatenated members decode as one stream, as gzip, bzip2 and xz do.
    assert b"".join(iter_decompressed(io.BytesIO(one + one))) == data + data


@pytest.mark.parametrize(
    "compress",
    [gzip.compress, bz2.compress, lzma.compress],
    ids=["gzip", "bzip2", "xz"],
)
def test_tiny_reads(compress: Callable[[bytes], bytes]) -> None:
    data = _payload(5000)
    packed = compress(data) * 2
    chunks = iter_decompressed(io.BytesIO(packed), read_size=3)
    assert b"".join(chunks) == data + data


def test_trailing_zeros_are_ignored(caplog: pytest.LogCaptureFixture) -> None:
    data = _payload()
    with caplog.at_level(logging.WARNING):
        assert (
            b"".join(iter_decompressed(io.BytesIO(gzip.compress(data) + bytes(1000))))
            == data
        )
    assert caplog.records == []


def test_trailing_garbage_is_ignored_with_a_warning(
    caplog: pytest.LogCaptureFixture,
) -> None:
    data = _payload()
    with caplog.at_level(logging.WARNING):
        assert (
            b"".join(iter_decompressed(io.BytesIO(gzip.compress(data) + b"garbage")))
            == data
        )
    assert "ignoring data after the end of the gzip stream" in caplog.text


def test_trailing_partial_magic_is_ignored() -> None:
    data = _payload(1000)
    assert (
        b"".join(iter_decompressed(io.BytesIO(gzip.compress(data) + b"\x1f"))) == data
    )


@pytest.mark.parametrize(
    "compress",
    [gzip.compress, bz2.compress, lzma.compress],
    ids=["gzip", "bzip2", "xz"],
)
def test_truncated_stream(compress: Callable[[bytes], bytes]) -> None:
    packed = compress(_payload())
    with pytest.raises(ArchiveError, match="truncated"):
        b"".join(iter_decompressed(io.BytesIO(packed[: len(packed) // 2])))


@pytest.mark.parametrize(
    "compress",
    [gzip.compress, bz2.compress, lzma.compress],
    ids=["gzip", "bzip2", "xz"],
)
def test_corrupt_stream(compress: Callable[[bytes], bytes]) -> None:
    packed = bytearray(compress(b"appc" * 10_000))
    packed[len(packed) // 2] ^= 0xFF
    packed[len(packed) // 2 + 1] ^= 0xFF
    with pytest.raises(ArchiveError, match="corrupt"):
        b"".join(iter_decompressed(io.BytesIO(bytes(packed))))


def test_budget_counts_uncompressed_bytes() -> None:
    packed = gzip.compress(bytes(10 << 20))
    with pytest.raises(LimitExceeded) as info:
        b"".join(iter_decompressed(io.BytesIO(packed), max_bytes=1 << 20))
    assert info.value.limit == "max_uncompressed_bytes"
    plain = _tar_head() + bytes(5000)
    with pytest.raises(LimitExceeded):
        b"".join(iter_decompressed(io.BytesIO(plain), max_bytes=1000))


def test_chunks_are_bounded() -> None:
    # 256 MiB of zeros in 250 KB of gzip: no chunk may hold more than 4 MiB.
    packed = gzip.compress(bytes(256 << 20), compresslevel=1)
    largest = max(len(chunk) for chunk in iter_decompressed(io.BytesIO(packed)))
    assert largest <= 4 << 20


def test_progress_counts_raw_bytes() -> None:
    packed = gzip.compress(_payload())
    seen: list[int] = []
    b"".join(iter_decompressed(io.BytesIO(packed), on_read=seen.append, read_size=4096))
    assert sum(seen) == len(packed)
    plain = _tar_head() + bytes(10_000)
    seen.clear()
    b"".join(iter_decompressed(io.BytesIO(plain), on_read=seen.append, read_size=4096))
    assert sum(seen) == len(plain)


@given(st.binary(max_size=2000))
def test_fuzz_only_our_errors(data: bytes) -> None:
    for prefix in (b"", b"\x1f\x8b", b"BZh", b"\xfd7zXZ\x00"):
        with contextlib.suppress(ArchiveError):
            b"".join(iter_decompressed(io.BytesIO(prefix + data)))


# -- writing -----------------------------------------------------------------------


def test_parallel_gzip_is_standard_gzip() -> None:
    data = _payload(3_000_000)
    sink = io.BytesIO()
    writer = ParallelGzipWriter(sink, threads=2, block_size=64 << 10)
    for start in range(0, len(data), 100_000):
        writer.write(data[start : start + 100_000])
    writer.close()
    writer.close()  # idempotent
    packed = sink.getvalue()
    assert gzip.decompress(packed) == data
    assert zlib.decompress(packed, wbits=31) == data


def test_parallel_gzip_does_not_depend_on_threads() -> None:
    data = _payload(2_000_000)
    outputs: list[bytes] = []
    for threads in (1, 2, 3):
        sink = io.BytesIO()
        writer = ParallelGzipWriter(sink, threads=threads, block_size=128 << 10)
        writer.write(data)
        writer.close()
        outputs.append(sink.getvalue())
    assert outputs[0] == outputs[1] == outputs[2]


def test_parallel_gzip_costs_little_size(deflate_backend: ModuleType) -> None:
    data = b"".join(b"line %d of a compressible text\n" % i for i in range(200_000))
    sink = io.BytesIO()
    writer = ParallelGzipWriter(sink, threads=2, level=6)
    writer.write(data)
    writer.close()
    # Against one stream from the same library: the cost of the blocks alone.
    single: bytes = deflate_backend.compress(data, 6, 31)
    assert len(sink.getvalue()) < len(single) * 1.01


def test_parallel_gzip_empty() -> None:
    sink = io.BytesIO()
    writer = ParallelGzipWriter(sink)
    writer.close()
    assert gzip.decompress(sink.getvalue()) == b""


def test_gzip_tool_reads_parallel_gzip(tmp_path: object) -> None:
    gzip_tool = require_tool("gzip")
    data = _payload(1_500_000)
    sink = io.BytesIO()
    writer = ParallelGzipWriter(sink, threads=2, block_size=64 << 10)
    writer.write(data)
    writer.close()
    result = subprocess.run(
        [gzip_tool, "-t", "-v"], input=sink.getvalue(), capture_output=True, check=False
    )
    assert result.returncode == 0, result.stderr
    result = subprocess.run(
        [gzip_tool, "-dc"], input=sink.getvalue(), capture_output=True, check=True
    )
    assert result.stdout == data


@pytest.mark.parametrize(
    ("kind", "decompress"),
    [("bzip2", bz2.decompress), ("xz", lzma.decompress), ("none", bytes)],
)
def test_stream_compressors(kind: str, decompress: Callable[[bytes], bytes]) -> None:
    sink = io.BytesIO()
    writer = open_compressor(sink, kind)  # type: ignore[arg-type]
    writer.write(b"abc" * 1000)
    writer.write(memoryview(b"def"))
    writer.close()
    writer.close()
    assert decompress(sink.getvalue()) == b"abc" * 1000 + b"def"


def test_unknown_compression() -> None:
    with pytest.raises(UnsupportedCompression, match="zstd"):
        open_compressor(io.BytesIO(), "zstd")  # type: ignore[arg-type]


def test_abort_stops_threads() -> None:
    writer = ParallelGzipWriter(io.BytesIO(), threads=2, block_size=1024)
    writer.write(bytes(100_000))
    writer.abort()
    writer.close()  # after abort: nothing more is written


def test_long_trailing_garbage_over_several_reads() -> None:
    data = _payload(1000)
    packed = gzip.compress(data) + b"garbage" * 100
    assert b"".join(iter_decompressed(io.BytesIO(packed), read_size=64)) == data


def test_stream_compressor_abort() -> None:
    sink = io.BytesIO()
    writer = open_compressor(sink, "xz")
    writer.write(b"x" * 1000)
    written = len(sink.getvalue())
    writer.abort()
    writer.close()  # nothing more after abort
    assert len(sink.getvalue()) == written
