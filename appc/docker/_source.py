"""What every image source (docker save, OCI layout, registry) hands to the converter.

A source resolves one image into a :class:`ResolvedImage`: its parsed
config, its layers as seekable uncompressed tar files (base first) and what
is needed to name it. Helpers here verify digests and turn compressed blobs
into temporary uncompressed layers while hashing both forms.

>>> Digest.parse("sha256:" + "0" * 64).algorithm
'sha256'
"""

from __future__ import annotations

import hashlib
import io
import os
import platform
import re
import tempfile

from collections.abc import Callable, Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any, BinaryIO, Final

import attrs

from appc.docker._config import ImageConfig
from appc.docker._reference import DockerReference
from appc.errors import ArchiveError, ConversionError, DigestMismatch, LimitExceeded


__all__ = [
    "MAX_LAYER_BYTES",
    "ZSTD_MAGIC",
    "Digest",
    "FileLayer",
    "Progress",
    "ResolvedImage",
    "WindowLayer",
    "host_platform",
    "select_platform",
    "spool_layer",
]

#: Uncompressed bytes of one layer (bounds decompression bombs; 64 GiB).
MAX_LAYER_BYTES: Final = 64 * 2**30
#: The first bytes of a zstd frame.
ZSTD_MAGIC: Final = b"\x28\xb5\x2f\xfd"
_GZIP_MAGIC: Final = b"\x1f\x8b"
_CHUNK: Final = 1 << 20
_DIGEST_RE: Final = re.compile(r"(sha256|sha384|sha512):([a-f0-9]+)")
_HEX_LENGTHS: Final = {"sha256": 64, "sha384": 96, "sha512": 128}

#: Called with (what, bytes done, total bytes or None) while data is read.
Progress = Callable[[str, int, int | None], None]


@attrs.frozen
class Digest:
    """An OCI content digest (``sha256:<hex>``), parsed.

    >>> Digest.parse("md5:00")
    Traceback (most recent call last):
    ...
    appc.errors.ConversionError: unsupported or malformed digest "md5:00"
    """

    algorithm: str
    hex: str

    @classmethod
    def parse(cls, text: object) -> Digest:
        """Parse ``algorithm:hex``; only sha256, sha384 and sha512 are accepted."""
        match = _DIGEST_RE.fullmatch(text) if isinstance(text, str) else None
        if match is None or len(match[2]) != _HEX_LENGTHS[match[1]]:
            raise ConversionError(f'unsupported or malformed digest "{text}"')
        return cls(match[1], match[2])

    def hasher(self) -> Any:
        """A new hashlib object of this digest's algorithm."""
        return hashlib.new(self.algorithm)

    def check(self, hasher: Any, what: str) -> None:
        """Raise :class:`DigestMismatch` unless ``hasher`` ended on this digest."""
        actual = hasher.hexdigest()
        if actual != self.hex:
            raise DigestMismatch(
                f"{what}: content has digest {self.algorithm}:{actual}, expected {self}"
            )

    def verify(self, data: bytes, what: str) -> bytes:
        """Check ``data`` against this digest and return it."""
        hasher = self.hasher()
        hasher.update(data)
        self.check(hasher, what)
        return data

    def __str__(self) -> str:
        return f"{self.algorithm}:{self.hex}"


@attrs.frozen
class FileLayer:
    """A layer stored as an uncompressed tar file."""

    label: str
    path: Path

    def open(self) -> BinaryIO:
        """Open the layer file."""
        return self.path.open("rb")


class _Window(io.RawIOBase):
    """A read-only, seekable view of ``size`` bytes of a file from ``offset``."""

    def __init__(self, path: Path, offset: int, size: int) -> None:
        super().__init__()
        self._file = path.open("rb", buffering=0)
        self._offset = offset
        self._size = size
        self._pos = 0

    def readable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return True

    def tell(self) -> int:
        return self._pos

    def seek(self, offset: int, whence: int = io.SEEK_SET) -> int:
        base = {io.SEEK_SET: 0, io.SEEK_CUR: self._pos, io.SEEK_END: self._size}[whence]
        self._pos = max(0, base + offset)
        return self._pos

    def readinto(self, buffer: Any) -> int:
        view = memoryview(buffer).cast("B")
        want = min(len(view), self._size - self._pos)
        if want <= 0:
            return 0
        self._file.seek(self._offset + self._pos)
        got = self._file.readinto(view[:want]) or 0
        self._pos += got
        return got

    def close(self) -> None:
        self._file.close()
        super().close()


@attrs.frozen
class WindowLayer:
    """An uncompressed layer stored inside another file (a docker save tar)."""

    label: str
    path: Path
    offset: int
    size: int

    def open(self) -> BinaryIO:
        """Open a buffered view of the layer's bytes."""
        return io.BufferedReader(_Window(self.path, self.offset, self.size), _CHUNK)


@attrs.frozen(kw_only=True)
class ResolvedImage:
    """One image, ready to convert."""

    config: ImageConfig
    #: Layers, base first, as uncompressed seekable tar files.
    layers: tuple[FileLayer | WindowLayer, ...]
    #: One ID per layer for names and annotations: the diff ID
    #: (``sha256:…`` of the uncompressed tar), or the legacy v1 layer ID.
    layer_ids: tuple[str, ...]
    #: The reference that names the image, if the source has one.
    reference: DockerReference | None
    #: The name to use without a reference (a file name without extension).
    fallback_name: str
    #: Digest of the manifest the image was read from, when it had one.
    manifest_digest: str = ""


def _zstd_chunks(raw: BinaryIO) -> Iterator[bytes]:
    try:
        import zstandard
    except ImportError as exc:  # pragma: no cover - zstandard is installed in tests
        raise ConversionError(
            "this layer is zstd-compressed: install the 'zstandard' package"
        ) from exc
    reader = zstandard.ZstdDecompressor().stream_reader(raw, read_across_frames=True)
    try:
        while chunk := reader.read(_CHUNK):
            yield chunk
    except zstandard.ZstdError as exc:
        raise ConversionError(f"corrupt zstd stream: {exc}") from exc


class _Tee(io.RawIOBase):
    """Feed what is read through a hash and a progress count."""

    def __init__(
        self, raw: BinaryIO, hasher: Any, on_read: Callable[[int], None]
    ) -> None:
        super().__init__()
        self._raw = raw
        self._hasher = hasher
        self._on_read = on_read

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        view = memoryview(buffer).cast("B")
        data = self._raw.read(len(view))
        if not data:
            return 0
        view[: len(data)] = data
        self._hasher.update(data)
        self._on_read(len(data))
        return len(data)


def _decompressed(raw: BinaryIO, head: bytes) -> Iterator[bytes]:
    from appc.aci import iter_decompressed

    if head.startswith(ZSTD_MAGIC):
        return _zstd_chunks(raw)
    if head.startswith(_GZIP_MAGIC):
        return iter_decompressed(raw, read_size=_CHUNK)

    def plain() -> Iterator[bytes]:
        while chunk := raw.read(_CHUNK):
            yield chunk

    return plain()


def spool_layer(
    raw: BinaryIO,
    *,
    label: str,
    directory: Path,
    blob_digest: Digest | None,
    diff_id: Digest | None,
    size: int | None = None,
    progress: Progress | None = None,
) -> FileLayer:
    """Copy a (compressed) layer blob into an uncompressed temporary tar file.

    The blob's digest is checked on the raw bytes and the diff ID on the
    uncompressed ones; gzip and zstd are recognised by their magic bytes.
    """
    raw_hash = blob_digest.hasher() if blob_digest is not None else hashlib.sha256()
    done = 0

    def on_read(count: int) -> None:
        nonlocal done
        done += count
        if size is not None and done > size:
            raise DigestMismatch(
                f"{label}: blob is larger than its declared {size} bytes"
            )
        if progress is not None:
            progress(label, done, size)

    tee = io.BufferedReader(_Tee(raw, raw_hash, on_read), _CHUNK)
    head = tee.peek(len(ZSTD_MAGIC))[: len(ZSTD_MAGIC)]
    diff_hash = diff_id.hasher() if diff_id is not None else None
    fd, name = tempfile.mkstemp(prefix="layer-", suffix=".tar", dir=directory)
    path = Path(name)
    total = 0
    with os.fdopen(fd, "wb") as out:
        try:
            for chunk in _decompressed(tee, head):
                total += len(chunk)
                if total > MAX_LAYER_BYTES:
                    raise LimitExceeded(
                        "MAX_LAYER_BYTES",
                        MAX_LAYER_BYTES,
                        f"{label}: more than {MAX_LAYER_BYTES} uncompressed bytes (MAX_LAYER_BYTES)",
                    )
                if diff_hash is not None:
                    diff_hash.update(chunk)
                out.write(chunk)
        except (ArchiveError, ConversionError) as exc:
            if isinstance(exc, LimitExceeded):
                raise
            # A corrupt stream is most likely a blob that is not what its
            # digest says: report that when it is so.
            while tee.read(_CHUNK):
                pass
            if blob_digest is not None:
                blob_digest.check(raw_hash, label)
            raise ConversionError(f"{label}: {exc}") from exc
        # Whatever follows the compressed stream still counts for the digest.
        while tee.read(_CHUNK):
            pass
    if size is not None and done != size:
        raise DigestMismatch(f"{label}: blob has {done} bytes, expected {size}")
    if blob_digest is not None:
        blob_digest.check(raw_hash, label)
    if diff_id is not None and diff_hash is not None:
        diff_id.check(diff_hash, f"{label} (uncompressed)")
    return FileLayer(label, path)


def verify_stream(raw: BinaryIO, digest: Digest, what: str) -> None:
    """Read ``raw`` to its end and check its digest."""
    hasher = digest.hasher()
    while chunk := raw.read(_CHUNK):
        hasher.update(chunk)
    digest.check(hasher, what)


_GO_ARCH: Final = {
    "x86_64": ("amd64", ""),
    "amd64": ("amd64", ""),
    "aarch64": ("arm64", ""),
    "arm64": ("arm64", ""),
    "armv7l": ("arm", "v7"),
    "armv6l": ("arm", "v6"),
    "i386": ("386", ""),
    "i686": ("386", ""),
    "ppc64le": ("ppc64le", ""),
    "s390x": ("s390x", ""),
}


def host_platform() -> tuple[str, str, str]:
    """The (os, architecture, variant) of this machine, in Go's names.

    >>> host_platform()[0] in ("linux", "darwin", "freebsd", "windows")
    True
    """
    machine = platform.machine().lower()
    arch, variant = _GO_ARCH.get(machine, (machine, ""))
    return platform.system().lower(), arch, variant


def _platform_text(entry: Mapping[str, Any]) -> str:
    plat = entry.get("platform")
    if not isinstance(plat, dict):
        return "(no platform)"
    parts = [str(plat.get("os", "?")), str(plat.get("architecture", "?"))]  # pyright: ignore[reportUnknownMemberType, reportUnknownArgumentType]
    if plat.get("variant"):  # pyright: ignore[reportUnknownMemberType]
        parts.append(str(plat["variant"]))  # pyright: ignore[reportUnknownArgumentType]
    return "/".join(parts)


def select_platform(
    manifests: Sequence[Mapping[str, Any]],
    *,
    os_name: str | None,
    arch: str | None,
    what: str,
) -> Mapping[str, Any]:
    """Pick the entry of a manifest list or OCI index for a platform.

    ``arch`` may carry a variant (``arm/v7``); without one, any variant
    matches and the first wins. The defaults are the host's.

    >>> entries = [{"platform": {"os": "linux", "architecture": "arm64"}, "digest": "a"},
    ...            {"platform": {"os": "linux", "architecture": "amd64"}, "digest": "b"}]
    >>> select_platform(entries, os_name="linux", arch="amd64", what="list")["digest"]
    'b'
    """
    host_os, host_arch, host_variant = host_platform()
    want_os = os_name or host_os
    want_arch, _, want_variant = (arch or host_arch).partition("/")
    if arch is None:
        want_variant = host_variant
    for entry in manifests:
        plat = entry.get("platform")
        if not isinstance(plat, dict):
            continue
        if plat.get("os") != want_os or plat.get("architecture") != want_arch:  # pyright: ignore[reportUnknownMemberType]
            continue
        if want_variant and plat.get("variant", "") not in ("", want_variant):  # pyright: ignore[reportUnknownMemberType]
            continue
        return entry
    available = ", ".join(_platform_text(entry) for entry in manifests) or "none"
    wanted = f"{want_os}/{want_arch}" + (f"/{want_variant}" if want_variant else "")
    raise ConversionError(
        f"{what} has no image for {wanted} (available: {available}); choose one with --os and --arch"
    )
