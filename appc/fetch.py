"""Fetch an image into the store: by name (through discovery), from a URL, or from a file.

:func:`fetch` does what ``rkt fetch`` did, more safely:

1. a name (``example.com/app:1.0``) is discovered (:mod:`appc.discovery`),
   with this machine's ``os`` and ``arch`` added unless given; a URL or a
   file is used as it is, its signature at ``URL.asc`` / ``FILE.asc``;
2. when no key is trusted for the name yet, the keys its discovery page
   lists are fetched and trusted only if the caller accepts them (trust on
   first use: ``accept_key`` sees each key and its fingerprint), or, with
   ``trust_keys_from_https``, if they came over verified https;
3. the signature is downloaded, then the image, **once**: as the bytes
   arrive they are written to disk and, on worker threads, hashed for the
   signature, hashed for the image ID and checked as an archive; memory
   stays constant whatever the size;
4. the signature must verify against the keys trusted for the image's name,
   the manifest's name must be the name asked for and every label asked for
   must match (the spec's rule, rkt#776);
5. the image goes into the store (:mod:`appc.store`) by renaming the file.

Downloads resume: a cut transfer is picked up where it stopped with a
``Range`` request (``If-Range`` guards against a changed file), within the
same call or the next one. Fetching an unchanged image again costs one
conditional request (``If-None-Match`` / ``If-Modified-Since``) and no
download; while ``Cache-Control: max-age`` holds, not even that.

The pull policy (:data:`PullPolicy`, rkt's ``--pull-policy``) decides
whether the network is used at all: ``"update"`` (the default) does all of
the above; ``"new"`` first looks in the store and makes no request when it
holds a matching image whose signer is still trusted; ``"never"`` only
looks in the store and raises :class:`~appc.errors.ImageNotFound` when
nothing fits. A file is imported under every policy: reading it is not
pulling.

>>> classify("example.com/app:1.0"), classify("https://example.com/app.aci")[0]
(('name', 'example.com/app:1.0'), 'url')
>>> import typing
>>> PULL_POLICIES == typing.get_args(PullPolicy)
True
"""

from __future__ import annotations

import contextlib
import hashlib
import io
import logging
import os
import queue
import re
import sys
import threading

from collections.abc import Callable, Generator, Iterable, Iterator, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any, BinaryIO, Final, Literal, cast

import attrs

from appc.discovery import (
    Client,
    Insecure,
    Response,
    Transport,
    Urllib3Transport,
    discover,
    image_ref,
)
from appc.discovery.resolver import host_os_arch
from appc.errors import (
    AmbiguousImage,
    AppcError,
    DependencyError,
    FetchError,
    HTTPStatusError,
    ImageMismatch,
    ImageNotFound,
    TransportError,
    UntrustedKey,
)
from appc.image_id import ImageID
from appc.render import MAX_DEPENDENCIES
from appc.store import PartialDownload, Remote, Store, StoredImage


if TYPE_CHECKING:
    from appc.labels import Labels
    from appc.manifest import ImageManifest
    from appc.model.dependency import Dependency
    from appc.signing import Keyring, PublicKey, Signer
    from appc.trust import Keystore


__all__ = [
    "CHUNK_SIZE",
    "MAX_DEPENDENCIES",
    "MAX_RESTARTS",
    "MAX_RESUMES",
    "PULL_POLICIES",
    "AcceptKey",
    "FetchResult",
    "ProgressCallback",
    "PullPolicy",
    "classify",
    "fetch",
]

logger = logging.getLogger(__name__)

#: Bytes read from the network (or the file) at a time.
CHUNK_SIZE: Final = 1 << 20
#: How many times one fetch resumes a cut download (``Range``) before giving up.
MAX_RESUMES: Final = 3
#: How many times one fetch starts over because the file changed mid-download.
MAX_RESTARTS: Final = 1
# Chunks queued for each worker: memory is about (workers x depth x CHUNK_SIZE).
_QUEUE_DEPTH = 8
# Bytes written between two requests to start writing back to disk.
_WRITEBACK_EVERY = 32 << 20
# Enough of the stream to tell a tar (its magic is at offset 257) from the rest.
_TAR_HEAD = 512
_KEY_TIMEOUT = 60.0

#: Called as ``progress(done, total)`` with bytes of the image; ``total`` None when unknown.
ProgressCallback = Callable[[int, int | None], None]
#: Asked before trusting a discovered key: ``accept_key(key, prefix, url) -> bool``.
AcceptKey = Callable[["PublicKey", str, str], bool]
#: When :func:`fetch` may use the network, as rkt's ``--pull-policy``:
#: ``"never"`` (the store only), ``"new"`` (the store, else the network),
#: ``"update"`` (always ask the network, with a conditional request).
PullPolicy = Literal["never", "new", "update"]
#: Every :data:`PullPolicy`, as ``appc fetch --pull-policy`` spells them.
PULL_POLICIES: Final[tuple[PullPolicy, ...]] = ("never", "new", "update")

_MAX_AGE = re.compile(
    r"(?:^|,)\s*max-age\s*=\s*\"?([1-9][0-9]*|0)\"?\s*(?:,|$)", re.IGNORECASE
)
_NO_CACHE = re.compile(r"(?:^|,)\s*(?:no-cache|no-store)\s*(?:,|$)", re.IGNORECASE)


@attrs.frozen(kw_only=True)
class FetchResult:
    """What :func:`fetch` stored: the image, who signed it, and whether bytes moved.

    ``cached`` is True when the store already had this exact image for the
    URL (a 304 answer, or still fresh by ``max-age``) or, under the ``"new"``
    and ``"never"`` pull policies, for the name or URL; ``downloaded`` counts
    the image bytes received by this call. ``signer`` is None for an image
    served from the store (it was verified when stored: ``image.signer`` is
    its fingerprint). ``source`` is where the bytes came from.
    ``dependencies`` are the images the manifest depends on, at every level,
    each once, in the order they were fetched (depth first, in declaration
    order, as rkt); empty when fetched with ``dependencies=False``.
    """

    image: StoredImage
    signer: Signer | None
    source: str
    cached: bool
    downloaded: int
    dependencies: tuple[FetchResult, ...] = ()

    @property
    def image_id(self) -> ImageID:
        """The ID of the fetched image."""
        return self.image.id


def classify(
    image: str | os.PathLike[str],
) -> tuple[Literal["name", "url", "file"], str]:
    """Whether an argument is an image name, a URL or a file, as rkt decides.

    URLs are ``https://``, ``http://`` or ``file://``; a path is absolute, an
    existing file, holds ``./`` or ends in ``.aci``; anything else is a name.

    >>> classify("/srv/app.aci"), classify("./app"), classify("file:///srv/app.aci")
    (('file', '/srv/app.aci'), ('file', './app'), ('file', '/srv/app.aci'))
    """
    text = os.fspath(image)
    lowered = text.lower()
    if lowered.startswith(("https://", "http://")):
        return "url", text
    if lowered.startswith("file://"):
        return "file", text[len("file://") :]
    # rkt's order: an absolute path or an existing file, then ":" means a
    # versioned name, then "./" or ".aci" mean a path.
    if os.path.isabs(text) or os.path.isfile(text):  # noqa: PTH113, PTH117
        return "file", text
    if ":" not in text and ("./" in text or lowered.endswith(".aci")):
        return "file", text
    return "name", text


def _max_age(header: str | None) -> int | None:
    """Seconds of ``Cache-Control: max-age`` (0 for no-cache or no-store); None if absent."""
    if not header:
        return None
    if _NO_CACHE.search(header):
        return 0
    found = _MAX_AGE.search(header)
    return int(found[1]) if found else None


# -- the one-pass pipeline: write, hash for the signature, hash and check the archive


class _Aborted(Exception):
    """Tells a worker to stop: the download failed or starts over."""


_END = object()
_ABORT = object()


class _Channel:
    """A bounded queue of chunks read as a binary stream by one worker."""

    def __init__(self) -> None:
        self._queue: queue.Queue[object] = queue.Queue(maxsize=_QUEUE_DEPTH)
        self._buffer = memoryview(b"")
        self._eof = False
        self.closed = threading.Event()

    # The feeding side (the main thread).
    def put(self, item: object) -> None:
        while not self.closed.is_set():
            try:
                self._queue.put(item, timeout=0.05)
            except queue.Full:
                continue
            return

    # The reading side (the worker).
    def _next(self) -> bool:
        if self._eof:
            return False
        item = self._queue.get()
        if item is _ABORT:
            raise _Aborted
        if item is _END:
            self._eof = True
            return False
        self._buffer = memoryview(item)  # type: ignore[arg-type]
        return True

    def chunks(self) -> Iterator[bytes]:
        """What is left, chunk by chunk as it was fed, without copying."""
        if self._buffer:
            yield bytes(self._buffer)
            self._buffer = memoryview(b"")
        if self._eof:
            return
        while True:
            item = self._queue.get()
            if item is _ABORT:
                raise _Aborted
            if item is _END:
                return
            yield item  # type: ignore[misc]

    def peek(self, size: int) -> bytes:
        """The next ``size`` bytes (fewer at the end), left to be read again."""
        head = self.read(size)
        self._buffer = memoryview(head + bytes(self._buffer))
        return head

    def read(self, size: int = -1) -> bytes:
        if size < 0:
            size = sys.maxsize
        if not self._buffer and not self._next():
            return b""
        if len(self._buffer) >= size:
            data = self._buffer[:size]
            self._buffer = self._buffer[size:]
            return bytes(data)
        # Fill the request across chunks, as a file would.
        parts = [bytes(self._buffer)]
        want = size - len(self._buffer)
        self._buffer = memoryview(b"")
        while want > 0 and self._next():
            piece = self._buffer[:want]
            parts.append(bytes(piece))
            self._buffer = self._buffer[len(piece) :]
            want -= len(piece)
        return b"".join(parts)


class _Worker:
    """One consumer of the image bytes, on its own thread."""

    def __init__(
        self, name: str, job: Callable[[_Channel], Any], *, fed: bool = True
    ) -> None:
        # fed False: another worker feeds this one and ends its stream.
        self._fed = fed
        self.channel = _Channel()
        self.result: Any = None
        self.error: BaseException | None = None
        self._job = job
        self._thread = threading.Thread(
            target=self._run, name=f"appc-fetch-{name}", daemon=True
        )
        self._thread.start()

    def _run(self) -> None:
        try:
            self.result = self._job(self.channel)
        except BaseException as exc:  # handed to the main thread
            self.error = exc
        finally:
            self.channel.closed.set()

    @property
    def failed(self) -> bool:
        return self.error is not None and not isinstance(self.error, _Aborted)

    def finish(self) -> None:
        if self._fed:
            self.channel.put(_END)
        self._thread.join()

    def abort(self) -> None:
        self.channel.put(_ABORT)
        self._thread.join()


@attrs.frozen
class _Outcome:
    image_id: ImageID
    manifest: ImageManifest
    signer: Signer | None


def _precheck(signature: bytes, keyring: Keyring) -> None:
    """Refuse an unknown or unacceptable signer before a single image byte is read."""
    from appc.errors import BadSignature
    from appc.signing import verify

    # Keys and policy are checked before the data: against no data, only the
    # final comparison can fail, and that is expected here.
    with contextlib.suppress(BadSignature):
        verify(io.BytesIO(b""), signature, keyring)


def _inflate(channel: _Channel, outputs: tuple[_Channel, ...]) -> None:
    """Hand the uncompressed tar to ``outputs``: the image ID and the archive check.

    Inflating once here, for both, halves the work of a compressed image.
    """
    from appc.aci import MAX_UNCOMPRESSED_BYTES, detect_compression, iter_decompressed

    try:
        if detect_compression(channel.peek(_TAR_HEAD)) == "none":
            chunks = channel.chunks()
        else:
            chunks = iter_decompressed(
                cast("BinaryIO", channel), max_bytes=MAX_UNCOMPRESSED_BYTES
            )
        for chunk in chunks:
            for output in outputs:
                output.put(chunk)
    except BaseException:
        for output in outputs:
            output.put(_ABORT)
        raise
    for output in outputs:
        output.put(_END)


def _image_id(channel: _Channel) -> ImageID:
    """SHA-512 of the uncompressed tar."""
    digest = hashlib.sha512()
    for chunk in channel.chunks():
        digest.update(chunk)
    return ImageID.from_hash(digest)


def _write_all(channel: _Channel, sink: BinaryIO) -> None:
    fd = sink.fileno()
    start = written = 0
    for chunk in channel.chunks():
        sink.write(chunk)
        written += len(chunk)
        if written - start >= _WRITEBACK_EVERY:
            sink.flush()
            start_writeback(fd, start, written - start)
            start = written
    sink.flush()
    # The store will point at this file: it must be on disk, not just cached.
    os.fsync(fd)


def start_writeback(fd: int, offset: int, length: int) -> None:
    """Have the kernel start writing a range to disk, without waiting for it.

    The final ``fsync`` then waits for little, and the disk works while the
    download goes on: a 1 GB download to disk took 1.7-2.0 s this way, against
    2.2 s with one ``fsync`` at the end and 3.0-3.6 s with an ``fdatasync``
    every 32 MiB (each one stalls the writer). On Linux,
    ``POSIX_FADV_DONTNEED`` starts the write-back of dirty pages (and drops
    them from the cache once clean); elsewhere this does nothing.

    >>> import tempfile
    >>> with tempfile.TemporaryFile() as f:
    ...     _ = f.write(b"x" * 4096); f.flush()
    ...     start_writeback(f.fileno(), 0, 4096)
    """
    advise = getattr(os, "posix_fadvise", None)
    if advise is not None:
        advise(fd, offset, length, os.POSIX_FADV_DONTNEED)


class _Pipeline:
    """Feeds each chunk to the workers: file writer, signature check, image ID, archive check.

    Each worker runs on its own thread (hashing, inflating and writing release
    the GIL), so the slowest of them, not their sum, bounds the speed.
    """

    def __init__(
        self, signature: bytes | None, keyring: Keyring | None, sink: BinaryIO | None
    ) -> None:
        from appc.aci import validate

        self._workers: dict[str, _Worker] = {}
        if signature is not None and keyring is not None:
            from appc.signing import verify

            _precheck(signature, keyring)
            self._workers["signature"] = _Worker(
                "verify", lambda stream: verify(stream, signature, keyring)
            )
        # One worker inflates; two more hash and check what it gives them
        # (validate() reads its channel as a binary stream).
        image_id = _Worker("id", _image_id, fed=False)
        archive = _Worker(
            "validate", lambda s: validate(cast("BinaryIO", s)), fed=False
        )
        self._workers["inflate"] = _Worker(
            "inflate", lambda s: _inflate(s, (image_id.channel, archive.channel))
        )
        self._workers["id"] = image_id
        self._workers["archive"] = archive
        if sink is not None:
            self._workers["sink"] = _Worker("write", lambda s: _write_all(s, sink))

    def feed(self, chunk: bytes, *, write: bool = True) -> None:
        """Hand ``chunk`` to every worker (not to the writer when ``write`` is False)."""
        for key, worker in self._workers.items():
            if key not in {"id", "archive"} and (write or key != "sink"):
                worker.channel.put(chunk)
        # A worker that failed early (an untrusted key is known before any
        # byte is hashed) stops the download now.
        self._raise_failures()

    def _raise_failures(self) -> None:
        # The most telling error first: the signature's, then the archive check's.
        for key in ("signature", "archive", "inflate", "id", "sink"):
            worker = self._workers.get(key)
            if worker is None:
                continue
            if worker.failed:
                self.abort()
                assert worker.error is not None  # noqa: S101 - checked just above
                raise worker.error

    def finish(self) -> _Outcome:
        for worker in self._workers.values():
            worker.finish()
        self._raise_failures()
        signature = self._workers.get("signature")
        return _Outcome(
            image_id=self._workers["id"].result,
            manifest=self._workers["archive"].result,
            signer=signature.result if signature is not None else None,
        )

    def abort(self) -> None:
        for worker in self._workers.values():
            worker.abort()


# -- the fetch ----------------------------------------------------------------------


class _Once:
    """A value computed on first use (the signature: not needed for a 304)."""

    def __init__(self, compute: Callable[[], bytes | None]) -> None:
        self._compute = compute
        self._done = False
        self._value: bytes | None = None

    def value(self) -> bytes | None:
        if not self._done:
            self._value = self._compute()
            self._done = True
        return self._value


class _Restart(Exception):
    """The file changed on the server while it was being downloaded."""


@attrs.define
class _Fetcher:
    store: Store
    keystore: Keystore
    client: Client
    insecure: Insecure
    progress: ProgressCallback | None
    downloaded: int = 0

    @property
    def check_signatures(self) -> bool:
        return Insecure.IMAGE not in self.insecure

    # -- signatures and keys ----------------------------------------------------------

    def _signature(self, url: str) -> bytes | None:
        if not self.check_signatures:
            return None
        from appc.signing import MAX_SIGNATURE_FILE_SIZE

        try:
            return self.client.get_bytes(
                url,
                limit=MAX_SIGNATURE_FILE_SIZE,
                what="signature",
                limit_name="MAX_SIGNATURE_FILE_SIZE",
            )
        except HTTPStatusError as exc:
            raise FetchError(
                f"no signature at {url} (HTTP {exc.status}); sign the image, "
                "or skip the check with --insecure-options=image"
            ) from exc

    def fetch_keys(
        self,
        prefix: str,
        urls: Iterable[str],
        *,
        trust_from_https: bool,
        accept_key: AcceptKey | None,
    ) -> None:
        """Trust on first use: offer each key of ``urls`` for ``prefix``; failures are logged."""
        from appc.signing import MAX_KEY_FILE_SIZE, Keyring, format_fingerprint

        tls_skipped = Insecure.TLS in self.insecure
        if tls_skipped and Insecure.PUBKEY not in self.insecure:
            logger.warning(
                "not fetching keys for %s: TLS checks are off (add pubkey to the insecure options to allow it)",
                prefix,
            )
            return
        # Keys travel insecurely only with "pubkey" on top of "http" or "tls".
        key_insecure = (
            self.insecure & (Insecure.HTTP | Insecure.TLS)
            if Insecure.PUBKEY in self.insecure
            else Insecure.NONE
        )
        client = attrs.evolve(self.client, insecure=key_insecure)
        for url in urls:
            try:
                data = client.get_bytes(
                    url,
                    limit=MAX_KEY_FILE_SIZE,
                    timeout=_KEY_TIMEOUT,
                    what="public key",
                    limit_name="MAX_KEY_FILE_SIZE",
                )
                keys = Keyring.from_bytes(data)
            except AppcError as exc:
                logger.warning("cannot fetch public keys from %s: %s", url, exc)
                continue
            verified_https = url.lower().startswith("https://") and not tls_skipped
            for key in keys:
                shown = format_fingerprint(key.fingerprint)
                if trust_from_https and verified_https:
                    accepted = True
                    logger.warning(
                        "trusting key %s (%s) for prefix %s: it came from %s",
                        shown,
                        ", ".join(key.user_ids),
                        prefix,
                        url,
                    )
                else:
                    accepted = accept_key is not None and accept_key(key, prefix, url)
                if not accepted:
                    logger.warning("key %s from %s was not trusted", shown, url)
                    continue
                self.keystore.add(key, prefix=prefix)

    # -- the image --------------------------------------------------------------------

    def image_from_url(
        self,
        url: str,
        asc_url: str,
        *,
        name: str | None,
        labels: Mapping[str, str],
        defaults: Mapping[str, str],
        max_size: int | None = None,
    ) -> FetchResult:
        """Fetch the image at ``url``; ``max_size`` bounds its bytes (a dependency's size)."""
        keyring = self._keyring(name)
        with self.store.partial(url) as partial:
            # Another process may have finished this URL while we waited.
            remote = self.store.remote(url)
            if remote is not None and remote.fresh():
                return self._reuse(
                    remote,
                    url=url,
                    name=name,
                    labels=labels,
                    defaults=defaults,
                    keyring=keyring,
                )
            signature = _Once(lambda: self._signature(asc_url))
            try:
                found = self._attempts(
                    url, partial, remote, signature, keyring, max_size=max_size
                )
                if isinstance(found, Remote):
                    return self._reuse(
                        found,
                        url=url,
                        name=name,
                        labels=labels,
                        defaults=defaults,
                        keyring=keyring,
                    )
                outcome, validators = found
                return self._store(
                    partial.path,
                    outcome,
                    signature=signature.value(),
                    source=url,
                    remote=True,
                    name=name,
                    labels=labels,
                    defaults=defaults,
                    validators=validators,
                )
            except AppcError as exc:
                # A cut download is kept to resume; anything else is garbage.
                if not isinstance(exc, TransportError):
                    partial.reset()
                raise

    def _attempts(
        self,
        url: str,
        partial: PartialDownload,
        remote: Remote | None,
        signature: _Once,
        keyring: Keyring | None,
        *,
        max_size: int | None,
    ) -> Remote | tuple[_Outcome, dict[str, str]]:
        """Download until done, starting over if the file changes; a Remote if unchanged."""
        headers = _conditional(remote) if partial.size == 0 else {}
        for restart in range(MAX_RESTARTS + 1):
            response = self._open(url, partial, headers)
            if response.status == 304:
                response.close()
                if remote is None:
                    raise HTTPStatusError(
                        f"unexpected 304 Not Modified for {url}", status=304, url=url
                    )
                self.store.record_remote(
                    url,
                    remote.image_id,
                    etag=response.headers.get("ETag", remote.etag),
                    last_modified=response.headers.get(
                        "Last-Modified", remote.last_modified
                    ),
                    max_age=_max_age(response.headers.get("Cache-Control")),
                )
                return remote
            try:
                with response:
                    # The signature is fetched only now: an unchanged image needs none.
                    return self._download(
                        url,
                        response,
                        partial,
                        signature.value(),
                        keyring,
                        max_size=max_size,
                    )
            except _Restart:
                if restart == MAX_RESTARTS:
                    break
                logger.info("%s changed on the server: starting over", url)
                partial.reset()
                headers = {}
        raise FetchError(f"{url} kept changing while it was downloaded; try again")

    def image_from_file(self, path: str) -> FetchResult:
        keyring = self._keyring(None)
        signature = None
        if self.check_signatures:
            asc = Path(path + ".asc")
            try:
                signature = asc.read_bytes()
            except OSError as exc:
                raise FetchError(
                    f"cannot read the signature {asc}: {exc.strerror}; sign the image, "
                    "or skip the check with --insecure-options=image"
                ) from exc
        temp = self.store.temporary_file("import-")
        try:
            try:
                source = Path(path).open("rb")  # noqa: SIM115 - closed below
            except OSError as exc:
                raise FetchError(f"cannot open {path}: {exc.strerror}") from exc
            with source, temp.open("wb") as sink:
                total = os.fstat(source.fileno()).st_size
                pipeline = _Pipeline(signature, keyring, sink)
                done = 0
                try:
                    while chunk := source.read(CHUNK_SIZE):
                        pipeline.feed(chunk)
                        done += len(chunk)
                        if self.progress is not None:
                            self.progress(done, total)
                except BaseException:
                    pipeline.abort()
                    raise
                outcome = pipeline.finish()
            return self._store(
                temp,
                outcome,
                signature=signature,
                source=str(Path(path).resolve()),
                remote=False,
                name=None,
                labels={},
                defaults={},
                validators={},
            )
        finally:
            temp.unlink(missing_ok=True)

    # -- helpers ----------------------------------------------------------------------

    def _keyring(self, name: str | None) -> Keyring | None:
        if not self.check_signatures:
            return None
        if name is not None:
            return self.keystore.keyring_for(name)
        # The name is known only once the archive is read: verify against every
        # trusted key now, and check the signer is trusted for that name later.
        from appc.signing import Keyring

        prefixes = {
            e.prefix for e in self.keystore.entries() if e.prefix and not e.masked
        }
        # Any name brings the root keys; "a" is just a valid one.
        ring = Keyring()
        for prefix in sorted(prefixes | {"a"}):
            ring = ring | self.keystore.keyring_for(prefix)
        return ring

    def _open(
        self, url: str, partial: PartialDownload, headers: Mapping[str, str]
    ) -> Response:
        sent = dict(headers)
        if partial.size:
            validator = partial.validators.get("etag") or partial.validators.get(
                "last_modified"
            )
            if validator is None:
                partial.reset()
            else:
                sent["Range"] = f"bytes={partial.size}-"
                sent["If-Range"] = validator
        response = self.client.open(url, headers=sent)
        if response.status not in (200, 206, 304):
            response.close()
            raise HTTPStatusError(
                f"bad HTTP status code: {response.status} for {url}",
                status=response.status,
                url=url,
            )
        return response

    def _download(
        self,
        url: str,
        response: Response,
        partial: PartialDownload,
        signature: bytes | None,
        keyring: Keyring | None,
        *,
        max_size: int | None,
    ) -> tuple[_Outcome, dict[str, str]]:
        validators = _validators(response)
        total = _total(response)
        if max_size is not None and total is not None and total > max_size:
            response.close()
            raise _too_large(url, max_size, f"the server announces {total} bytes")
        if response.status == 206:
            if _content_start(response) != partial.size:
                response.close()
                raise _Restart
        else:
            # A full answer: whatever was kept is not part of it.
            partial.reset()
            partial.save_validators(
                validators.get("etag"), validators.get("last_modified")
            )
        with partial.path.open("ab") as sink:
            pipeline = _Pipeline(signature, keyring, sink)
            try:
                done = self._replay(partial, pipeline, total)
                self._receive(
                    url=url,
                    response=response,
                    partial=partial,
                    pipeline=pipeline,
                    done=done,
                    total=total,
                    max_size=max_size,
                )
            except BaseException:
                pipeline.abort()
                raise
            return pipeline.finish(), validators

    def _replay(
        self, partial: PartialDownload, pipeline: _Pipeline, total: int | None
    ) -> int:
        """Feed the bytes kept from an earlier attempt, before the new ones."""
        done = 0
        kept = partial.size
        if not kept:
            return 0
        logger.info("resuming %s at byte %d", partial.url, kept)
        with partial.path.open("rb") as stream:
            while done < kept and (chunk := stream.read(min(CHUNK_SIZE, kept - done))):
                pipeline.feed(chunk, write=False)
                done += len(chunk)
        if self.progress is not None:
            self.progress(done, total)
        return done

    def _receive(
        self,
        *,
        url: str,
        response: Response,
        partial: PartialDownload,
        pipeline: _Pipeline,
        done: int,
        total: int | None,
        max_size: int | None,
    ) -> int:
        resumes = 0
        while True:
            try:
                with response:
                    while chunk := response.read(CHUNK_SIZE):
                        if max_size is not None and done + len(chunk) > max_size:
                            raise _too_large(url, max_size, "it sends more")
                        pipeline.feed(chunk)
                        done += len(chunk)
                        self.downloaded += len(chunk)
                        if self.progress is not None:
                            self.progress(done, total)
            except TransportError as exc:
                validator = partial.validators.get("etag") or partial.validators.get(
                    "last_modified"
                )
                if validator is None or resumes == MAX_RESUMES:
                    if validator is None:
                        partial.reset()  # cannot resume safely without a validator
                    raise TransportError(
                        f"the download of {url} broke after {done} bytes: {exc}",
                        url=url,
                    ) from exc
                resumes += 1
                logger.info(
                    "download of %s cut at byte %d (%s): resuming", url, done, exc
                )
                response = self.client.open(
                    url, headers={"Range": f"bytes={done}-", "If-Range": validator}
                )
                if response.status != 206 or _content_start(response) != done:
                    response.close()
                    raise _Restart from exc
                continue
            if total is not None and done != total:
                raise TransportError(
                    f"{url} ended after {done} of {total} bytes", url=url
                )
            return done

    def _check(
        self,
        manifest: ImageManifest,
        signer: Signer | None,
        *,
        name: str | None,
        labels: Mapping[str, str],
        defaults: Mapping[str, str],
    ) -> None:
        _check_manifest(manifest, name=name, labels=labels, defaults=defaults)
        if signer is not None and name is None:
            # Verified against every trusted key: now the keys for this name.
            trusted = self.keystore.keyring_for(manifest.name)
            if trusted.find(signer.fingerprint) is None:
                raise UntrustedKey(
                    f"the image is signed by {signer.fingerprint}, which is not trusted for "
                    f"{manifest.name}: trust it with `appc trust --prefix {manifest.name} KEYFILE`"
                )

    def _store(
        self,
        path: Path,
        outcome: _Outcome,
        *,
        signature: bytes | None,
        source: str,
        remote: bool,
        name: str | None,
        labels: Mapping[str, str],
        defaults: Mapping[str, str],
        validators: Mapping[str, str],
    ) -> FetchResult:
        self._check(
            outcome.manifest,
            outcome.signer,
            name=name,
            labels=labels,
            defaults=defaults,
        )
        image = self.store.import_image(
            path,
            move=True,
            image_id=outcome.image_id,
            manifest=outcome.manifest,
            signature=signature,
            signer=outcome.signer.fingerprint if outcome.signer is not None else None,
            source=source,
            etag=validators.get("etag"),
        )
        if remote:
            self.store.record_remote(
                source,
                image.id,
                etag=validators.get("etag"),
                last_modified=validators.get("last_modified"),
                max_age=_int_or_none(validators.get("max_age")),
            )
        return FetchResult(
            image=image,
            signer=outcome.signer,
            source=source,
            cached=False,
            downloaded=self.downloaded,
        )

    def _reuse(
        self,
        remote: Remote,
        *,
        url: str,
        name: str | None,
        labels: Mapping[str, str],
        defaults: Mapping[str, str],
        keyring: Keyring | None,
    ) -> FetchResult:
        image = self.store.get(remote.image_id)
        # The bytes were verified when stored; the key must still be trusted.
        if keyring is not None and not _signer_trusted(image, self.keystore):
            raise UntrustedKey(
                f"{url} is unchanged, but the image in the store was not signed by a key "
                f"trusted for {image.name} now; remove it (`appc image rm {image.short_id}`) "
                "to fetch and verify it again"
            )
        labels_ok = {str(k): v for k, v in image.labels.items()}
        _check_labels(
            image.name, labels_ok, name=name, labels=labels, defaults=defaults
        )
        logger.info("%s is unchanged: using %s from the store", url, image.short_id)
        return _stored_result(self.store, image, url)


def _stored_result(store: Store, image: StoredImage, source: str) -> FetchResult:
    """An answer from the store: ``image``, marked as used now; no bytes moved."""
    store.touch(image.id)
    return FetchResult(
        image=store.get(image.id),
        signer=None,
        source=source,
        cached=True,
        downloaded=0,
    )


def _signer_trusted(image: StoredImage, keystore: Keystore) -> bool:
    """Whether a key trusted for the image's name today made the signature verified at import."""
    return (
        image.signer is not None
        and keystore.keyring_for(image.name).find(image.signer) is not None
    )


def _too_large(url: str, max_size: int, found: str) -> ImageMismatch:
    return ImageMismatch(
        f"{url}: the dependency declares {max_size} bytes, but {found}; "
        "stopped before the end of its data"
    )


def _int_or_none(value: str | None) -> int | None:
    return int(value) if value is not None and value.isdigit() else None


def _conditional(remote: Remote | None) -> dict[str, str]:
    if remote is None:
        return {}
    headers: dict[str, str] = {}
    if remote.etag:
        headers["If-None-Match"] = remote.etag
    if remote.last_modified:
        headers["If-Modified-Since"] = remote.last_modified
    return headers


def _validators(response: Response) -> dict[str, str]:
    found: dict[str, str] = {}
    for key, header in (("etag", "ETag"), ("last_modified", "Last-Modified")):
        value = response.headers.get(header)
        if value:
            found[key] = value
    max_age = _max_age(response.headers.get("Cache-Control"))
    if max_age is not None:
        found["max_age"] = str(max_age)
    return found


_CONTENT_RANGE = re.compile(r"bytes\s+(\d+)-(\d+)/(\d+|\*)")


def _content_start(response: Response) -> int:
    if response.status != 206:
        return 0
    found = _CONTENT_RANGE.match(response.headers.get("Content-Range", ""))
    return int(found[1]) if found else -1


def _total(response: Response) -> int | None:
    if response.status == 206:
        found = _CONTENT_RANGE.match(response.headers.get("Content-Range", ""))
        if found and found[3] != "*":
            return int(found[3])
        return None
    length = response.headers.get("Content-Length", "")
    return int(length) if length.isdigit() else None


def _check_labels(
    found_name: str,
    found_labels: Mapping[str, str],
    *,
    name: str | None,
    labels: Mapping[str, str],
    defaults: Mapping[str, str],
) -> None:
    if name is not None and found_name != name:
        raise ImageMismatch(
            f'error when reading the app name: "{name}" expected but "{found_name}" found'
        )
    for label, value in labels.items():
        if label not in found_labels:
            raise ImageMismatch(
                f'requested label "{label}" not provided by the image manifest'
            )
        if found_labels[label] != value:
            raise ImageMismatch(
                f'requested value for label "{label}": "{value}" differs from fetched aci '
                f'label value: "{found_labels[label]}"'
            )
    # os and arch were not asked for but assumed: an image without them is
    # fine, one for another platform is not.
    for label, value in defaults.items():
        if label not in labels and found_labels.get(label, value) != value:
            raise ImageMismatch(
                f'the image is for {label} "{found_labels[label]}", not this machine\'s "{value}"; '
                f"ask for {label}={found_labels[label]} explicitly to fetch it anyway"
            )


def _check_manifest(
    manifest: ImageManifest,
    *,
    name: str | None,
    labels: Mapping[str, str],
    defaults: Mapping[str, str],
) -> None:
    _check_labels(
        manifest.name,
        dict(manifest.labels),
        name=name,
        labels=labels,
        defaults=defaults,
    )


@contextlib.contextmanager
def _client(
    transport: Transport | None,
    insecure: Insecure,
    host_headers: Mapping[str, Mapping[str, str]] | None,
) -> Generator[Client]:
    own = transport is None
    used: Transport = Urllib3Transport() if transport is None else transport
    try:
        yield Client(used, insecure=insecure, host_headers=host_headers or {})
    finally:
        if own and isinstance(used, Urllib3Transport):
            used.close()


def fetch(
    image: str | os.PathLike[str],
    *,
    store: Store | None = None,
    keystore: Keystore | None = None,
    insecure: Insecure = Insecure.NONE,
    trust_keys_from_https: bool = False,
    accept_key: AcceptKey | None = None,
    labels: Mapping[str, str] | None = None,
    transport: Transport | None = None,
    host_headers: Mapping[str, Mapping[str, str]] | None = None,
    port: int | None = None,
    progress: ProgressCallback | None = None,
    pull_policy: PullPolicy = "update",
    dependencies: bool = True,
) -> FetchResult:
    """Fetch an image by name, URL or file into the store, verified (see the module docs).

    ``store`` and ``keystore`` default to the user's (:class:`~appc.store.Store`,
    :class:`~appc.trust.Keystore`). ``insecure`` gives up checks on purpose
    (``Insecure.IMAGE`` skips the signature). ``accept_key(key, prefix, url)``
    decides on keys found by discovery (trust on first use);
    ``trust_keys_from_https`` accepts those served over verified https.
    ``labels`` adds labels to a name; ``port`` is used for discovery pages;
    ``progress(done, total)`` follows the image bytes. ``host_headers``
    adds headers per host, over https only: pass
    ``appc.auth.load_auth_config().host_headers()`` for rkt's ``auth.d``
    credentials (the ``appc fetch`` command does).

    ``pull_policy`` (:data:`PullPolicy`) says whether the store may answer
    for a name or URL: ``"update"`` always asks the network; ``"new"`` returns
    a matching stored image without any request, and fetches otherwise;
    ``"never"`` makes no request at all. A name matches the stored images of
    that name that have every label asked for, and this machine's ``os`` and
    ``arch`` or none; without a version, any version does; the newest import
    wins. A URL matches the image it gave last time. Unless
    ``Insecure.IMAGE`` is given, a stored image counts only if it was
    signed, when stored, by a key trusted for its name today. A file is
    imported under every policy.

    With ``dependencies`` (the default, as ``rkt fetch``), the images the
    manifest depends on are fetched next, recursively, by discovery of their
    name and labels, with the same checks and the same pull policy (they are
    in ``FetchResult.dependencies``). A dependency that names an image ID is
    taken from the store when it holds that image (and, unless
    ``Insecure.IMAGE``, its signer is still trusted); whatever is fetched
    must have the declared ID and, when declared, size (of the ACI file, which
    also bounds the download), or :class:`~appc.errors.ImageMismatch` is
    raised. A cycle, or more than
    :data:`MAX_DEPENDENCIES` images, raises
    :class:`~appc.errors.DependencyError`.

    Raises :class:`~appc.errors.DiscoveryError`,
    :class:`~appc.errors.FetchError` (network, mismatching image),
    :class:`~appc.errors.SignatureError` (a signature that does not verify, or
    an untrusted key), :class:`~appc.errors.InvalidImage`, or, with
    ``pull_policy="never"``, :class:`~appc.errors.ImageNotFound`.

    >>> import tempfile
    >>> from pathlib import Path
    >>> from appc.trust import Keystore
    >>> with tempfile.TemporaryDirectory() as tmp:
    ...     fetch("example.com/app:1.0", store=Store(tmp), pull_policy="never",
    ...           keystore=Keystore(system=None, local=None, user=Path(tmp)))
    Traceback (most recent call last):
    ...
    appc.errors.ImageNotFound: no image example.com/app:1.0 ... in the store (...); the pull policy is never: ...
    """
    if pull_policy not in PULL_POLICIES:
        raise ValueError(
            f"unknown pull policy {pull_policy!r} (use one of {', '.join(PULL_POLICIES)})"
        )
    kind, value = classify(image)
    if keystore is None:
        from appc.trust import Keystore

        keystore = Keystore()
    with contextlib.ExitStack() as stack:
        session = _Session(
            stack,
            store=store if store is not None else Store(),
            keystore=keystore,
            insecure=insecure,
            transport=transport,
            host_headers=host_headers,
            port=port,
            progress=progress,
            pull_policy=pull_policy,
            trust_keys_from_https=trust_keys_from_https,
            accept_key=accept_key,
        )
        result = session.get(kind, value, labels)
        if dependencies:
            result = attrs.evolve(
                result, dependencies=_fetch_dependencies(result, session)
            )
        return result


class _Session:
    """The fetches of one call: the image, then its dependencies.

    One pull policy and one HTTP client for all of them; the client is made
    on first need, so an answer from the store makes none.
    """

    def __init__(
        self,
        stack: contextlib.ExitStack,
        *,
        store: Store,
        keystore: Keystore,
        insecure: Insecure,
        transport: Transport | None,
        host_headers: Mapping[str, Mapping[str, str]] | None,
        port: int | None,
        progress: ProgressCallback | None,
        pull_policy: PullPolicy,
        trust_keys_from_https: bool,
        accept_key: AcceptKey | None,
    ) -> None:
        self.store = store
        self.keystore = keystore
        self.insecure = insecure
        self._stack = stack
        self._transport = transport
        self._host_headers = host_headers
        self._port = port
        self._progress = progress
        self._pull_policy = pull_policy
        self._trust_keys_from_https = trust_keys_from_https
        self._accept_key = accept_key
        self._fetcher: _Fetcher | None = None

    @property
    def check_signatures(self) -> bool:
        return Insecure.IMAGE not in self.insecure

    def fetcher(self) -> _Fetcher:
        if self._fetcher is None:
            client = self._stack.enter_context(
                _client(self._transport, self.insecure, self._host_headers)
            )
            self._fetcher = _Fetcher(
                store=self.store,
                keystore=self.keystore,
                client=client,
                insecure=self.insecure,
                progress=self._progress,
            )
        return self._fetcher

    def get(
        self,
        kind: Literal["name", "url", "file"],
        value: str,
        labels: Mapping[str, str] | None,
        *,
        max_size: int | None = None,
    ) -> FetchResult:
        """One image, by the pull policy: from the store or the network."""
        if kind != "file" and self._pull_policy != "update":
            try:
                return _from_store(
                    kind,
                    value,
                    labels,
                    store=self.store,
                    keystore=self.keystore,
                    check_signatures=self.check_signatures,
                )
            except ImageNotFound as exc:
                if self._pull_policy == "never":
                    raise ImageNotFound(
                        f"{exc}; the pull policy is never: fetch it with "
                        "--pull-policy=new or --pull-policy=update"
                    ) from exc
                logger.info("%s: fetching it", exc)
        fetcher = self.fetcher()
        if kind == "file":
            return fetcher.image_from_file(value)
        if kind == "url":
            return fetcher.image_from_url(
                value, value + ".asc", name=None, labels={}, defaults={}
            )
        return _fetch_name(
            fetcher,
            value,
            labels,
            port=self._port,
            transport=fetcher.client.transport,
            host_headers=self._host_headers,
            trust_keys_from_https=self._trust_keys_from_https,
            accept_key=self._accept_key,
            max_size=max_size,
        )

    def stored(self, image_hash: str) -> FetchResult | None:
        """The stored image with this ID (or unique ID prefix), if it may be used."""
        try:
            image = self.store.get(image_hash)
        except (ImageNotFound, AmbiguousImage):
            return None
        if _unusable(image, self.keystore, check_signatures=self.check_signatures):
            return None
        return _stored_result(self.store, image, image.source or str(image.path))


def _fetch_dependencies(top: FetchResult, session: _Session) -> tuple[FetchResult, ...]:
    """Every dependency of ``top``, recursively, each fetched once (see :func:`fetch`)."""
    from appc.aci import read_manifest

    fetched: list[FetchResult] = []
    # One fetch per distinct declaration (name, labels, ID): a dependency
    # shared by two branches is fetched once.
    by_declaration: dict[tuple[str, tuple[tuple[str, str], ...], str], FetchResult] = {}

    def visit(image: FetchResult, chain: tuple[StoredImage, ...]) -> None:
        for dependency in read_manifest(image.image.path).dependencies:
            declared = str(dependency.image_id or "")
            key = (
                str(dependency.image_name),
                tuple(sorted(dependency.labels.items())),
                declared,
            )
            found = by_declaration.get(key)
            if found is None:
                if len(by_declaration) >= MAX_DEPENDENCIES:
                    raise DependencyError(
                        f"{top.image.ref()} depends on more than {MAX_DEPENDENCIES} "
                        "images (MAX_DEPENDENCIES)"
                    )
                found = _dependency(dependency, declared, session, chain[-1])
                by_declaration[key] = found
                new = True
            else:
                new = False
            if any(found.image_id == link.id for link in chain):
                cycle = [*chain, found.image]
                start = next(
                    i for i, link in enumerate(cycle) if link.id == found.image_id
                )
                raise DependencyError(
                    "dependency cycle: "
                    + " -> ".join(link.ref() for link in cycle[start:])
                )
            if new:
                fetched.append(found)
                visit(found, (*chain, found.image))

    visit(top, (top.image,))
    return tuple(fetched)


def _dependency(
    dependency: Dependency, declared: str, session: _Session, parent: StoredImage
) -> FetchResult:
    """Fetch one dependency of ``parent`` and check it is the one declared."""
    name = str(dependency.image_name)
    result = session.stored(declared) if declared else None
    if result is None:
        logger.info("fetching %s, a dependency of %s", name, parent.ref())
        result = session.get(
            "name", name, dict(dependency.labels), max_size=dependency.size or None
        )
    if not str(result.image_id).startswith(declared):
        raise ImageMismatch(
            f"dependency {name} of {parent.ref()}: the image fetched is "
            f"{result.image_id}, not {declared} as declared"
        )
    if dependency.size and result.image.size != dependency.size:
        raise ImageMismatch(
            f"dependency {name} of {parent.ref()}: the image fetched has "
            f"{result.image.size} bytes, not {dependency.size} as declared"
        )
    return result


def _fetch_name(
    fetcher: _Fetcher,
    text: str,
    labels: Mapping[str, str] | None,
    *,
    port: int | None,
    transport: Transport,
    host_headers: Mapping[str, Mapping[str, str]] | None,
    trust_keys_from_https: bool,
    accept_key: AcceptKey | None,
    max_size: int | None = None,
) -> FetchResult:
    ref = image_ref(text, labels)
    asked = dict(ref.labels)
    defaults = {k: v for k, v in host_os_arch().items() if k not in asked}
    want_keys = fetcher.check_signatures and not fetcher.keystore.prefix_exists(
        ref.name
    )
    found = discover(
        ref.name,
        {**defaults, **asked},
        insecure=fetcher.insecure & (Insecure.HTTP | Insecure.TLS),
        port=port,
        transport=transport,
        host_headers=host_headers,
        public_keys=want_keys,
    )
    if want_keys:
        if found.public_keys:
            fetcher.fetch_keys(
                ref.name,
                found.public_keys,
                trust_from_https=trust_keys_from_https,
                accept_key=accept_key,
            )
        else:
            logger.warning("discovery found no public keys for %s", ref.name)
    else:
        logger.info("keys already exist for prefix %s, not fetching again", ref.name)
    failures: list[str] = []
    for endpoint in found.endpoints:
        try:
            return fetcher.image_from_url(
                endpoint.aci,
                endpoint.asc,
                name=ref.name,
                labels=asked,
                defaults=defaults,
                max_size=max_size,
            )
        except TransportError as exc:
            # Another endpoint may serve it; anything else is final.
            logger.warning("cannot fetch %s: %s", endpoint.aci, exc)
            failures.append(f"{endpoint.aci}: {exc}")
    raise FetchError(
        f"no endpoint of {ref.name} could be fetched:\n  " + "\n  ".join(failures)
    )


def _from_store(
    kind: Literal["name", "url"],
    value: str,
    labels: Mapping[str, str] | None,
    *,
    store: Store,
    keystore: Keystore,
    check_signatures: bool,
) -> FetchResult:
    """The stored image a name or URL stands for, without a single request.

    Raises :class:`~appc.errors.ImageNotFound` when none matches, or none of
    those that match can be used (file gone, signer not trusted now).
    """
    if kind == "url":
        remote = store.remote(value)
        if remote is None:
            raise ImageNotFound(
                f"{value} has not been fetched into the store ({store.root})"
            )
        wanted = value
        candidates: tuple[StoredImage, ...] = (store.get(remote.image_id),)
    else:
        ref = image_ref(value, labels)
        asked = dict(ref.labels)
        defaults = {k: v for k, v in host_os_arch().items() if k not in asked}
        wanted = str(ref)
        if defaults:
            shown = ", ".join(f"{k}={v}" for k, v in sorted(defaults.items()))
            wanted += f" for this machine ({shown})"
        candidates = tuple(
            image
            for image in store.images(ref.name)
            if _labels_match(image.labels, asked, defaults)
        )
        if not candidates:
            raise ImageNotFound(f"no image {wanted} in the store ({store.root})")
    problems: list[str] = []
    for image in candidates:  # newest import first
        problem = _unusable(image, keystore, check_signatures=check_signatures)
        if problem is None:
            logger.info("using %s (%s) from the store", image.short_id, wanted)
            source = value if kind == "url" else image.source or str(image.path)
            return _stored_result(store, image, source)
        problems.append(f"{image.short_id} {problem}")
    raise ImageNotFound(
        f"the store ({store.root}) holds {wanted}, but cannot use it: "
        + "; ".join(problems)
    )


def _labels_match(
    found: Labels, asked: Mapping[str, str], defaults: Mapping[str, str]
) -> bool:
    """The rule of the manifest check: every label asked for, and the assumed os/arch or none."""
    return all(found.get(k) == v for k, v in asked.items()) and all(
        found.get(k, v) == v for k, v in defaults.items()
    )


def _unusable(
    image: StoredImage, keystore: Keystore, *, check_signatures: bool
) -> str | None:
    """Why a stored image may not stand in for a fetch (None: it may)."""
    if not image.path.exists():
        return "is in the index but its file is missing (run `appc image gc`)"
    if not check_signatures or _signer_trusted(image, keystore):
        return None
    if image.signer is None:
        return (
            "was stored without a signature check (remove it with "
            f"`appc image rm {image.short_id}` and fetch it again, signed)"
        )
    return (
        f"was signed by {image.signer}, not trusted for {image.name} now "
        f"(trust it with `appc trust --prefix {image.name} KEYFILE`)"
    )
