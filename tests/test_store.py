"""The local image store: import, lookups, removal, export, extract, verify, gc, remotes, locks."""

# pyright: reportPrivateUsage=false
# (one test writes the partial-download metadata file by hand)

from __future__ import annotations

import contextlib
import io
import json
import os
import sqlite3
import subprocess
import sys
import threading
import time

from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from appc.errors import (
    AmbiguousImage,
    ImageNotFound,
    InvalidImage,
    StoreCorrupted,
    StoreError,
)
from appc.image_id import ImageID
from appc.signing import PublicKey, sign
from appc.store import SCHEMA_VERSION, Remote, Store, default_store_dir
from appc.testing.keys import make_key
from appc.trust import Keystore

from tests.discovery.images import make_aci


KEY = make_key("Store Signer <store@example.com>")


@pytest.fixture
def store(tmp_path: Path) -> Store:
    return Store(tmp_path / "store")


def test_import_and_get(store: Store, tmp_path: Path) -> None:
    built = make_aci("example.com/app", {"version": "1.0", "os": "linux"})
    image = store.import_image(
        io.BytesIO(built.data), source="https://example.com/app.aci"
    )
    assert image.id == built.image_id
    assert image.path.read_bytes() == built.data
    assert image.size == len(built.data)
    assert image.source == "https://example.com/app.aci"
    assert image.signer is None
    assert image.signature_path is None
    assert image.last_used is None
    assert image.ref() == "example.com/app:1.0,os=linux"
    assert store.get(built.image_id) == image
    assert store.get(built.image_id[:10]) == image
    assert store.get("example.com/app") == image
    assert store.get("example.com/app:1.0,os=linux") == image
    assert store.images() == (image,)
    assert store.images("example.com/other") == ()
    # Nothing left behind in tmp/.
    assert list((store.root / "tmp").iterdir()) == []


def test_import_from_path_copy_or_move(store: Store, tmp_path: Path) -> None:
    built = make_aci()
    source = tmp_path / "app.aci"
    source.write_bytes(built.data)
    store.import_image(source)
    assert source.exists()
    moved = store.temporary_file()
    moved.write_bytes(built.data)
    image = store.import_image(moved, move=True)
    assert not moved.exists()
    assert image.path.read_bytes() == built.data
    assert len(store.images()) == 1


def test_import_refuses_invalid_images(store: Store) -> None:
    with pytest.raises(InvalidImage):
        store.import_image(io.BytesIO(make_aci().data[:-40] + bytes(40)))
    assert store.images() == ()
    assert list((store.root / "tmp").iterdir()) == []


def test_import_with_signature(store: Store) -> None:
    built = make_aci()
    signature = sign(io.BytesIO(built.data), KEY.secret).encode()
    image = store.import_image(
        io.BytesIO(built.data), signature=signature, signer=KEY.fingerprint
    )
    assert image.signer == KEY.fingerprint
    assert image.signature_path is not None
    assert image.signature_path.read_bytes() == signature
    # Importing again keeps the signer when none is given.
    again = store.import_image(io.BytesIO(built.data))
    assert again.signer == KEY.fingerprint
    assert again.imported >= image.imported


def test_newest_import_wins(store: Store) -> None:
    old = make_aci("example.com/app", {"version": "1.0"})
    new = make_aci("example.com/app", {"version": "2.0"})
    store.import_image(io.BytesIO(old.data))
    store.import_image(io.BytesIO(new.data))
    assert store.get("example.com/app").id == new.image_id
    assert store.get("example.com/app:1.0").id == old.image_id
    # Re-importing the old one makes it the newest.
    store.import_image(io.BytesIO(old.data))
    assert store.get("example.com/app").id == old.image_id
    with pytest.raises(ImageNotFound, match=r"example\.com/app:3\.0"):
        store.get("example.com/app:3.0")
    with pytest.raises(ImageNotFound):
        store.get("example.com/app,os=linux")


def test_bad_references(store: Store) -> None:
    with pytest.raises(ImageNotFound, match="neither an image ID nor an image name"):
        store.get("Not A Name")
    with pytest.raises(ImageNotFound, match="image ID prefix"):
        store.get("sha512-XYZ")
    with pytest.raises(ImageNotFound, match="no image with ID"):
        store.get("sha512-0123")


def test_ambiguous_prefix(store: Store) -> None:
    # 17 images: two of them share their first hex digit.
    ids = [
        store.import_image(io.BytesIO(make_aci(f"example.com/app{i}").data)).id
        for i in range(17)
    ]
    firsts = [image_id[7] for image_id in ids]
    shared = next(c for c in firsts if firsts.count(c) > 1)
    with pytest.raises(AmbiguousImage):
        store.get(f"sha512-{shared}")
    for image_id in ids:
        assert store.get(image_id).id == image_id


def test_remove(store: Store) -> None:
    built = make_aci()
    signature = sign(io.BytesIO(built.data), KEY.secret).encode()
    image = store.import_image(io.BytesIO(built.data), signature=signature)
    store.record_remote("https://x/app.aci", image.id, etag='"e"')
    removed = store.remove(image.id)
    assert removed.id == image.id
    assert not image.path.exists()
    assert image.signature_path is not None
    assert not image.signature_path.exists()
    assert store.images() == ()
    assert store.remote("https://x/app.aci") is None
    with pytest.raises(ImageNotFound):
        store.remove(image.id)


def test_export(store: Store, tmp_path: Path) -> None:
    built = make_aci()
    signature = sign(io.BytesIO(built.data), KEY.secret).encode()
    image = store.import_image(io.BytesIO(built.data), signature=signature)
    dest = tmp_path / "out.aci"
    assert store.export(image.id, dest) == dest
    assert dest.read_bytes() == built.data
    assert not (tmp_path / "out.aci.asc").exists()
    with pytest.raises(StoreError, match="exists"):
        store.export(image.id, dest)
    store.export(image.id, dest, overwrite=True, signature=True)
    assert (tmp_path / "out.aci.asc").read_bytes() == signature
    assert store.get(image.id).last_used is not None
    with store.open(image.id) as stream:
        assert stream.read() == built.data


def test_extract(store: Store, tmp_path: Path) -> None:
    built = make_aci(files={"hello": b"hi\n"})
    image = store.import_image(io.BytesIO(built.data))
    manifest = store.extract("example.com/app", tmp_path / "layout")
    assert manifest.name == "example.com/app"
    assert (tmp_path / "layout" / "rootfs" / "hello").read_bytes() == b"hi\n"
    assert (
        json.loads((tmp_path / "layout" / "manifest").read_text())["name"]
        == "example.com/app"
    )
    assert store.get(image.id).last_used is not None


def test_missing_file_is_reported(store: Store, tmp_path: Path) -> None:
    image = store.import_image(io.BytesIO(make_aci().data))
    image.path.unlink()
    with pytest.raises(StoreCorrupted, match="missing"):
        store.export(image.id, tmp_path / "x.aci")
    (result,) = store.verify()
    assert not result.ok
    assert "missing" in str(result.problem)


def test_verify(store: Store, tmp_path: Path) -> None:
    keystore = Keystore(system=None, local=None, user=tmp_path / "trust")
    keystore.add(PublicKey.from_bytes(KEY.public), prefix="example.com")
    good = make_aci("example.com/good")
    unsigned = make_aci("example.com/unsigned")
    store.import_image(
        io.BytesIO(good.data),
        signature=sign(io.BytesIO(good.data), KEY.secret).encode(),
    )
    store.import_image(io.BytesIO(unsigned.data))
    results = {str(r.image.name): r for r in store.verify(keystore=keystore)}
    assert results["example.com/good"].ok
    signer = results["example.com/good"].signer
    assert signer is not None
    assert signer.fingerprint == KEY.fingerprint
    assert results["example.com/unsigned"].problem == "no signature was stored with it"
    # Without a keystore only the hash is checked.
    assert all(r.ok for r in store.verify())
    # A key no longer trusted.
    keystore.remove(KEY.fingerprint)
    (result,) = store.verify("example.com/good", keystore=keystore)
    assert "signature" in str(result.problem)


def test_verify_finds_changed_bytes(store: Store) -> None:
    image = store.import_image(io.BytesIO(make_aci(files={"f": b"a" * 100}).data))
    other = make_aci(files={"f": b"b" * 100})
    image.path.write_bytes(other.data)
    (result,) = store.verify(image.id)
    assert result.problem == f"the file hashes to {other.image_id.short()} now"
    image.path.write_bytes(b"garbage")
    (result,) = store.verify(image.id)
    assert "cannot be read" in str(result.problem)


def test_gc(store: Store) -> None:
    kept = store.import_image(io.BytesIO(make_aci("example.com/kept").data))
    lost = store.import_image(io.BytesIO(make_aci("example.com/lost").data))
    lost.path.unlink()
    orphan = store.blob_path(ImageID("sha512-" + "ab" * 64))
    orphan.parent.mkdir(parents=True, exist_ok=True)
    orphan.write_bytes(b"12345")
    result = store.gc()
    assert result.removed_images == (lost.id,)
    assert result.removed_files == (orphan,)
    assert result.freed_bytes == 5
    assert [i.id for i in store.images()] == [kept.id]
    # Images unused for a while go only when asked.
    assert store.gc().removed_images == ()
    assert store.gc(unused_for=timedelta(0)).removed_images == (kept.id,)
    assert not kept.path.exists()


def test_gc_removes_stale_partial_downloads(store: Store) -> None:
    url = "https://example.com/app.aci"
    with store.partial(url) as partial:
        partial.path.write_bytes(b"half")
        partial.save_validators('"e"', None)
        old = time.time() - 3 * 24 * 3600
        os.utime(partial.path, (old, old))
        # Held by a download: kept.
        assert store.gc().removed_files == ()
    result = store.gc()
    assert partial.path in result.removed_files
    assert not partial.path.exists()
    # A recent one stays.
    with store.partial(url) as partial:
        partial.path.write_bytes(b"half")
    assert store.gc().removed_files == ()
    leftover = store.temporary_file()
    os.utime(leftover, (0, 0))
    assert leftover in store.gc().removed_files


def test_partial_download_validators(store: Store) -> None:
    with store.partial("https://example.com/a.aci") as partial:
        assert partial.size == 0
        assert partial.validators == {}
        partial.path.write_bytes(b"abc")
        partial.save_validators('"v1"', "Wed, 21 Oct 2015 07:28:00 GMT")
        assert partial.size == 3
        assert partial.validators == {
            "etag": '"v1"',
            "last_modified": "Wed, 21 Oct 2015 07:28:00 GMT",
        }
        partial.reset()
        assert partial.size == 0
        assert partial.validators == {}
        partial.save_validators(None, None)
        assert partial.validators == {}
    # Another URL whose file name collided would not reuse them.
    with store.partial("https://example.com/a.aci") as partial:
        partial._meta.write_text(json.dumps({"url": "https://other/", "etag": "x"}))
        assert partial.validators == {}
        partial._meta.write_text("[1]")
        assert partial.validators == {}


def test_partial_download_is_locked(store: Store) -> None:
    url = "https://example.com/app.aci"
    outcome: list[str] = []

    def second() -> None:
        try:
            with store.partial(url, timeout=0.2):
                outcome.append("acquired")
        except StoreError as exc:
            outcome.append(str(exc))

    with store.partial(url):
        thread = threading.Thread(target=second)
        thread.start()
        thread.join()
    assert len(outcome) == 1
    assert "LOCK_TIMEOUT" in outcome[0]
    # Released: the next one gets it.
    second()
    assert outcome[1] == "acquired"


def test_remotes(store: Store) -> None:
    image = store.import_image(io.BytesIO(make_aci().data))
    assert store.remote("https://x/") is None
    store.record_remote(
        "https://x/", image.id, etag='"e"', last_modified="lm", max_age=60
    )
    remote = store.remote("https://x/")
    assert remote is not None
    assert (remote.image_id, remote.etag, remote.last_modified, remote.max_age) == (
        image.id,
        '"e"',
        "lm",
        60,
    )
    assert remote.fresh()
    assert not remote.fresh(remote.downloaded + timedelta(seconds=61))
    store.record_remote("https://x/", image.id)
    remote = store.remote("https://x/")
    assert remote is not None
    assert (remote.etag, remote.max_age) == (None, None)
    assert not remote.fresh()


def test_remote_freshness() -> None:
    remote = Remote(
        url="u",
        image_id=ImageID("sha512-" + "0" * 128),
        etag=None,
        last_modified=None,
        max_age=0,
        downloaded=datetime.now(UTC),
    )
    assert not remote.fresh()


def test_newer_schema_is_refused(store: Store) -> None:
    store.images()
    with sqlite3.connect(store.index_path) as db:
        db.execute(
            "UPDATE meta SET value = ? WHERE key = 'schema'", (str(SCHEMA_VERSION + 1),)
        )
    with pytest.raises(StoreError, match="newer appc"):
        Store(store.root).images()


def test_unusable_directory(tmp_path: Path) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("x")
    with pytest.raises(StoreError, match="cannot create the store"):
        Store(blocker / "store").images()


def test_broken_index(store: Store) -> None:
    store.images()
    store.index_path.write_bytes(b"not a database" * 100)
    with pytest.raises(StoreError, match="failed"):
        Store(store.root).images()


def test_default_store_dir(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path))
    assert default_store_dir() == tmp_path / "appc"
    monkeypatch.setenv("XDG_DATA_HOME", "relative")
    assert default_store_dir() == Path.home() / ".local" / "share" / "appc"
    assert repr(Store(tmp_path)) == f"Store({str(tmp_path)!r})"


_IMPORTER = """
import sys
from appc.store import Store
store = Store(sys.argv[1])
for _ in range(5):
    store.import_image(sys.argv[2], source=sys.argv[3])
"""


def test_two_processes_import_at_once(store: Store, tmp_path: Path) -> None:
    built = make_aci()
    other = make_aci("example.com/other")
    (tmp_path / "a.aci").write_bytes(built.data)
    (tmp_path / "b.aci").write_bytes(other.data)
    processes = [
        subprocess.Popen(
            [
                sys.executable,
                "-c",
                _IMPORTER,
                str(store.root),
                str(tmp_path / name),
                name,
            ]
        )
        for name in ("a.aci", "b.aci", "a.aci")
    ]
    assert [p.wait(timeout=120) for p in processes] == [0, 0, 0]
    assert sorted(i.id for i in store.images()) == sorted(
        [built.image_id, other.image_id]
    )
    assert all(r.ok for r in store.verify())
    assert list((store.root / "tmp").iterdir()) == []


def test_export_to_a_missing_directory(store: Store, tmp_path: Path) -> None:
    image = store.import_image(io.BytesIO(make_aci().data))
    with pytest.raises(StoreError, match="cannot export"):
        store.export(image.id, tmp_path / "missing" / "x.aci")


def test_failed_placement_rolls_back(
    store: Store, monkeypatch: pytest.MonkeyPatch
) -> None:
    built = make_aci()
    original = Path.replace

    def refuse(self: Path, target: str | os.PathLike[str]) -> Path:
        if Path(target).parent.parent.name == "sha512":
            raise PermissionError(13, "Permission denied")
        return original(self, target)

    monkeypatch.setattr(Path, "replace", refuse)
    with pytest.raises(StoreError, match="cannot write to the store"):
        store.import_image(io.BytesIO(built.data))
    monkeypatch.undo()
    assert store.images() == ()
    assert list((store.root / "tmp").iterdir()) == []


def test_move_across_file_systems_copies(
    store: Store, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import errno

    built = make_aci()
    source = tmp_path / "app.aci"
    source.write_bytes(built.data)
    original = Path.replace

    def cross_device(self: Path, target: str | os.PathLike[str]) -> Path:
        if self == source:
            raise OSError(errno.EXDEV, "Invalid cross-device link")
        return original(self, target)

    monkeypatch.setattr(Path, "replace", cross_device)
    image = store.import_image(source, move=True)
    assert image.path.read_bytes() == built.data


def test_move_of_a_missing_file(store: Store, tmp_path: Path) -> None:
    with pytest.raises(StoreError, match="cannot move"):
        store.import_image(tmp_path / "missing.aci", move=True)


def test_switch_to_wal_is_retried_while_locked(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Two processes opening a new index at once: SQLite refuses the second
    # journal-mode change with "database is locked" at once, not after its
    # busy timeout (a race seen in CI). The store waits and tries again.
    refusals = [2]

    class Racing(sqlite3.Connection):
        def execute(self, sql: str, *args: Any) -> sqlite3.Cursor:
            if sql == "PRAGMA journal_mode=WAL" and refusals[0]:
                refusals[0] -= 1
                raise sqlite3.OperationalError("database is locked")
            return super().execute(sql, *args)

    real_connect = sqlite3.connect

    def connect(*args: Any, **kwargs: Any) -> sqlite3.Connection:
        return real_connect(*args, **kwargs, factory=Racing)

    monkeypatch.setattr(sqlite3, "connect", connect)
    store = Store(tmp_path / "store")
    assert store.images() == ()
    assert refusals == [0]
    with contextlib.closing(real_connect(store.index_path)) as db:
        assert db.execute("PRAGMA journal_mode").fetchone()[0] == "wal"


def test_other_index_errors_are_not_retried(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import appc.store

    calls = [0]

    class Broken(sqlite3.Connection):
        def execute(self, sql: str, *args: Any) -> sqlite3.Cursor:
            if sql == "PRAGMA journal_mode=WAL":
                calls[0] += 1
                raise sqlite3.OperationalError("disk I/O error")
            return super().execute(sql, *args)

    real_connect = sqlite3.connect

    def connect(*args: Any, **kwargs: Any) -> sqlite3.Connection:
        return real_connect(*args, **kwargs, factory=Broken)

    monkeypatch.setattr(sqlite3, "connect", connect)
    with pytest.raises(StoreError, match="disk I/O error"):
        Store(tmp_path / "store").images()
    assert calls == [1]
    # And a lock that outlasts the timeout is an error too.
    monkeypatch.setattr(appc.store, "SQLITE_TIMEOUT", 0.0)

    class Locked(sqlite3.Connection):
        def execute(self, sql: str, *args: Any) -> sqlite3.Cursor:
            if sql == "PRAGMA journal_mode=WAL":
                raise sqlite3.OperationalError("database is locked")
            return super().execute(sql, *args)

    def connect_locked(*args: Any, **kwargs: Any) -> sqlite3.Connection:
        return real_connect(*args, **kwargs, factory=Locked)

    monkeypatch.setattr(sqlite3, "connect", connect_locked)
    with pytest.raises(StoreError, match="locked"):
        Store(tmp_path / "other").images()
