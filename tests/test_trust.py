"""The trust store: rkt's layout, prefix matching by path components, masking, root keys."""

from __future__ import annotations

import io
import logging
import os
import stat
import tempfile

from pathlib import Path

import pytest

from appc.errors import TrustError
from appc.signing import PublicKey, sign, verify
from appc.testing.keys import ThrowawayKey, make_key
from appc.trust import (
    DEFAULT_LOCAL_DIR,
    DEFAULT_SYSTEM_DIR,
    Keystore,
    Tier,
    default_user_dir,
    prefix_matches,
)
from hypothesis import given, settings
from hypothesis import strategies as st


KEYS = [make_key(f"Key {i} <k{i}@example.com>") for i in range(4)]


def _public(key: ThrowawayKey) -> PublicKey:
    return PublicKey.from_bytes(key.public)


def _store(tmp_path: Path) -> Keystore:
    return Keystore.from_config_dirs(
        system_config=tmp_path / "usr/lib/rkt",
        local_config=tmp_path / "etc/rkt",
        user_config=tmp_path / "user",
    )


def _place(base: Path, relative: str, key: ThrowawayKey | None) -> Path:
    """Put a key file (or, for None, an empty mask) where rkt would."""
    path = base / relative
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(key.public if key is not None else b"")
    return path


def _fingerprints(store: Keystore, name: str) -> set[str]:
    return {k.fingerprint for k in store.keyring_for(name)}


# -- rkt's layout and rkt's own test table -------------------------------------------


def test_a_directory_laid_out_like_rkts(tmp_path: Path) -> None:
    """What `rkt trust --prefix coreos.com/etcd` and `rkt trust --root` leave behind."""
    etcd, root = KEYS[0], KEYS[1]
    local = tmp_path / "etc/rkt/trustedkeys"
    for directory in (
        local,
        local / "prefix.d",
        local / "prefix.d/coreos.com",
        local / "prefix.d/coreos.com/etcd",
    ):
        directory.mkdir(mode=0o755, parents=True, exist_ok=True)
    (local / "root.d").mkdir(mode=0o755)
    for path, key in (
        (local / "prefix.d/coreos.com/etcd" / etcd.fingerprint, etcd),
        (local / "root.d" / root.fingerprint, root),
    ):
        path.write_bytes(key.public)
        path.chmod(0o644)
    store = _store(tmp_path)
    assert _fingerprints(store, "coreos.com/etcd") == {
        etcd.fingerprint,
        root.fingerprint,
    }
    assert _fingerprints(store, "coreos.com/flannel") == {root.fingerprint}
    signature = sign(io.BytesIO(b"etcd"), etcd.secret).encode()
    assert (
        verify(
            io.BytesIO(b"etcd"), signature, store.keyring_for("coreos.com/etcd")
        ).fingerprint
        == etcd.fingerprint
    )


def test_rkt_check_signature_table(tmp_path: Path) -> None:
    """rkt pkg/keystore keystore_test.go TestCheckSignature, case by case."""
    root, app, nginx, services, system_root = (
        KEYS[0],
        KEYS[1],
        KEYS[2],
        KEYS[3],
        make_key(),
    )
    store = _store(tmp_path)
    system, local = store.system, store.local
    assert system is not None
    assert local is not None
    _place(local, f"root.d/{root.fingerprint}", root)
    _place(local, f"prefix.d/example.com/app/{app.fingerprint}", app)
    _place(local, f"prefix.d/acme.com/services/web/nginx/{nginx.fingerprint}", nginx)
    _place(local, f"prefix.d/acme.com/services/{services.fingerprint}", services)
    _place(system, f"root.d/{system_root.fingerprint}", system_root)
    _place(local, f"root.d/{system_root.fingerprint}", None)  # masked
    table = [
        (root, "coreos.com/etcd", True),
        (root, "coreos.com/fleet", True),
        (root, "coreos.com/flannel", True),
        (app, "example.com/app", True),
        (nginx, "acme.com/services/web/nginx", True),
        (services, "acme.com/services/web/auth", True),
        (system_root, "acme.com/etcd", False),
        (system_root, "acme.com/web/nginx", False),
        (nginx, "acme.com/services/web", False),
    ]
    for key, name, trusted in table:
        assert (key.fingerprint in _fingerprints(store, name)) is trusted, (
            name,
            trusted,
        )


@pytest.mark.parametrize(
    ("name", "trusted"),
    [
        ("example.com/app", True),
        ("example.com/app/sub", True),
        ("example.com/app/sub/deeper", True),
        ("example.com/application", False),
        ("example.com/app-two", False),
        ("example.com/ap", False),
        ("example.com", False),
        ("example.comx/app", False),
    ],
)
def test_prefixes_match_whole_components(
    tmp_path: Path, name: str, trusted: bool
) -> None:
    """security.md A10: rkt's string-prefix walk would trust example.com/application too."""
    store = _store(tmp_path)
    store.add(_public(KEYS[0]), prefix="example.com/app")
    assert (KEYS[0].fingerprint in _fingerprints(store, name)) is trusted


@pytest.mark.parametrize(
    "name", ["example.com//app", "example.com/./app", "example.com/../etc", "a/../b"]
)
def test_names_with_odd_components_are_refused(tmp_path: Path, name: str) -> None:
    """Go's ACIdentifier accepts these; as directories they would alias or escape."""
    with pytest.raises(TrustError, match="path component"):
        _store(tmp_path).keyring_for(name)


@pytest.mark.parametrize(
    ("prefix", "message"),
    [
        ("https://example.com/app", "must not contain a URL scheme"),
        ("Example.com", "not a valid image name"),
        ("example.com/app/", "not a valid image name"),
        ("example.com/../app", "path component"),
    ],
)
def test_bad_prefixes(tmp_path: Path, prefix: str, message: str) -> None:
    with pytest.raises(TrustError, match=message):
        _store(tmp_path).add(_public(KEYS[0]), prefix=prefix)


def test_root_keys_verify_every_name(tmp_path: Path) -> None:
    store = _store(tmp_path)
    store.add(_public(KEYS[0]), root=True)
    for name in ("a", "example.com/app", "x.y/z/w/v"):
        assert _fingerprints(store, name) == {KEYS[0].fingerprint}


# -- masking and overriding ------------------------------------------------------------


def test_user_directory_masks_system_and_local_keys(tmp_path: Path) -> None:
    store = _store(tmp_path)
    store.add(_public(KEYS[0]), prefix="example.com", tier=Tier.LOCAL)
    assert store.system is not None
    _place(store.system, f"root.d/{KEYS[1].fingerprint}", KEYS[1])
    assert _fingerprints(store, "example.com/app") == {
        KEYS[0].fingerprint,
        KEYS[1].fingerprint,
    }
    store.mask(KEYS[0].fingerprint, prefix="example.com")
    store.mask(KEYS[1].fingerprint.upper(), root=True)
    assert _fingerprints(store, "example.com/app") == set()


def test_an_empty_prefix_file_masks_a_root_key_for_that_prefix(tmp_path: Path) -> None:
    """rkt: an empty file deletes the fingerprint whether it came from root.d or prefix.d."""
    store = _store(tmp_path)
    store.add(_public(KEYS[0]), root=True, tier=Tier.LOCAL)
    store.mask(KEYS[0].fingerprint, prefix="example.com/secret")
    assert _fingerprints(store, "example.com/secret/app") == set()
    assert _fingerprints(store, "example.com/other") == {KEYS[0].fingerprint}


def test_a_deeper_mask_beats_a_shallower_key(tmp_path: Path) -> None:
    store = _store(tmp_path)
    store.add(_public(KEYS[0]), prefix="example.com")
    store.mask(KEYS[0].fingerprint, prefix="example.com/app")
    assert _fingerprints(store, "example.com/app/x") == set()
    assert _fingerprints(store, "example.com/web") == {KEYS[0].fingerprint}


# -- bad files ---------------------------------------------------------------------


def test_fingerprint_mismatch(tmp_path: Path) -> None:
    store = _store(tmp_path)
    assert store.user is not None
    _place(store.user, f"root.d/{KEYS[1].fingerprint}", KEYS[0])
    with pytest.raises(TrustError, match="fingerprint mismatch"):
        store.keyring_for("example.com/app")


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (b"garbage", "cannot be read"),
        (
            b"-----BEGIN PGP PUBLIC KEY BLOCK-----\n\n-----END PGP PUBLIC KEY BLOCK-----\n",
            "holds no key",
        ),
    ],
)
def test_broken_key_files(tmp_path: Path, content: bytes, message: str) -> None:
    store = _store(tmp_path)
    assert store.user is not None
    path = store.user / "root.d" / KEYS[0].fingerprint
    path.parent.mkdir(parents=True)
    path.write_bytes(content)
    with pytest.raises(TrustError, match=message):
        store.keyring_for("example.com")


def test_a_file_with_two_keys_trusts_only_the_first(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    store = _store(tmp_path)
    assert store.user is not None
    path = store.user / "root.d" / KEYS[0].fingerprint
    path.parent.mkdir(parents=True)
    path.write_bytes(KEYS[0].public + KEYS[1].public)
    with caplog.at_level(logging.WARNING, logger="appc.trust"):
        assert _fingerprints(store, "example.com") == {KEYS[0].fingerprint}
    assert "only the first" in caplog.text


def test_hidden_files_and_nested_directories_are_not_keys(tmp_path: Path) -> None:
    store = _store(tmp_path)
    assert store.user is not None
    _place(store.user, "root.d/.keep", None)
    _place(store.user, "root.d/.swp", KEYS[1])
    _place(store.user, f"root.d/nested/{KEYS[2].fingerprint}", KEYS[2])
    store.add(_public(KEYS[0]), root=True)
    assert _fingerprints(store, "example.com") == {KEYS[0].fingerprint}


# -- writing ---------------------------------------------------------------------


def test_add_writes_rkts_layout_and_modes(tmp_path: Path) -> None:
    store = _store(tmp_path)
    old_umask = os.umask(0o022)
    try:
        path = store.add(_public(KEYS[0]), prefix="example.com/app")
    finally:
        os.umask(old_umask)
    assert store.user is not None
    assert path == store.user / "prefix.d/example.com/app" / KEYS[0].fingerprint
    assert stat.S_IMODE(path.stat().st_mode) == 0o644
    assert stat.S_IMODE(path.parent.stat().st_mode) == 0o755
    assert PublicKey.from_bytes(path.read_bytes()) == _public(KEYS[0])
    assert b"PRIVATE" not in path.read_bytes()
    assert store.add(_public(KEYS[0]), prefix="example.com/app") == path  # replaces
    assert [p.name for p in path.parent.iterdir()] == [KEYS[0].fingerprint]


def test_add_needs_exactly_one_scope(tmp_path: Path) -> None:
    store = _store(tmp_path)
    with pytest.raises(TrustError, match="exactly one"):
        store.add(_public(KEYS[0]))
    with pytest.raises(TrustError, match="exactly one"):
        store.add(_public(KEYS[0]), prefix="example.com", root=True)


def test_missing_directory(tmp_path: Path) -> None:
    store = Keystore(system=None, local=None, user=tmp_path)
    with pytest.raises(TrustError, match="no local directory"):
        store.add(_public(KEYS[0]), root=True, tier=Tier.LOCAL)


def test_remove_from_one_scope_or_all(tmp_path: Path) -> None:
    store = _store(tmp_path)
    first = store.add(_public(KEYS[0]), prefix="example.com/app")
    second = store.add(_public(KEYS[0]), root=True)
    assert store.remove(KEYS[0].fingerprint, root=True) == (second,)
    store.add(_public(KEYS[0]), root=True)
    store.add(_public(KEYS[0]), root=True, tier=Tier.LOCAL)
    removed = store.remove(f"0x{KEYS[0].fingerprint.upper()}")
    assert set(removed) == {first, second}
    assert _fingerprints(store, "example.com/app") == {
        KEYS[0].fingerprint
    }  # the local copy stays
    with pytest.raises(TrustError, match="not in the user trust directory"):
        store.remove(KEYS[0].fingerprint)
    with pytest.raises(TrustError, match="not in the user trust directory"):
        store.remove(KEYS[0].fingerprint, prefix="example.com")


def test_bad_fingerprints(tmp_path: Path) -> None:
    with pytest.raises(TrustError, match="not a key fingerprint"):
        _store(tmp_path).mask("abcd", root=True)


def test_write_failure_leaves_no_temporary_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    store = _store(tmp_path)

    def fail(self: Path, target: Path) -> Path:
        raise OSError("disk full")

    monkeypatch.setattr(Path, "replace", fail)
    with pytest.raises(OSError, match="disk full"):
        store.add(_public(KEYS[0]), root=True)
    assert store.user is not None
    assert list((store.user / "root.d").iterdir()) == []


# -- listing and lookups ----------------------------------------------------------------


def test_entries(tmp_path: Path) -> None:
    store = _store(tmp_path)
    store.add(_public(KEYS[0]), prefix="example.com/app")
    store.add(_public(KEYS[1]), root=True, tier=Tier.LOCAL)
    store.mask(KEYS[2].fingerprint, prefix="example.com")
    listed = {(e.tier, e.prefix, e.fingerprint, e.masked) for e in store.entries()}
    assert listed == {
        (Tier.USER, "example.com/app", KEYS[0].fingerprint, False),
        (Tier.LOCAL, None, KEYS[1].fingerprint, False),
        (Tier.USER, "example.com", KEYS[2].fingerprint, True),
    }
    scopes = {e.scope for e in store.entries()}
    assert scopes == {"prefix example.com/app", "root", "prefix example.com"}


def test_prefix_exists_like_rkt(tmp_path: Path) -> None:
    store = _store(tmp_path)
    store.add(_public(KEYS[0]), root=True)
    assert not store.prefix_exists("example.com/app")  # root keys do not count
    store.mask(KEYS[1].fingerprint, prefix="example.com")
    assert not store.prefix_exists("example.com/app")  # nor masks
    store.add(_public(KEYS[1]), prefix="example.com", tier=Tier.LOCAL)
    assert store.prefix_exists("example.com/app/sub")
    assert not store.prefix_exists("example.org")


def test_default_directories(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path))
    assert default_user_dir() == tmp_path / "appc/trustedkeys"
    store = Keystore()
    assert (store.system, store.local, store.user) == (
        DEFAULT_SYSTEM_DIR,
        DEFAULT_LOCAL_DIR,
        tmp_path / "appc/trustedkeys",
    )
    monkeypatch.delenv("XDG_CONFIG_HOME")
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    assert default_user_dir() == tmp_path / "home/.config/appc/trustedkeys"
    assert (
        Keystore.from_config_dirs(system_config=None, local_config=None).system is None
    )


# -- properties ---------------------------------------------------------------------

COMPONENT = st.sampled_from(["a", "ab", "abc", "b", "app", "application", "x.y", "x-y"])
PATH = st.lists(COMPONENT, min_size=1, max_size=4).map("/".join)


@given(PATH, PATH)
def test_prefix_matches_is_component_prefix(prefix: str, name: str) -> None:
    expected = name.split("/")[: len(prefix.split("/"))] == prefix.split("/")
    assert prefix_matches(prefix, name) is expected
    assert prefix_matches(prefix, prefix)
    assert prefix_matches(prefix, prefix + "/more")
    assert not prefix_matches(prefix + "more", prefix) or prefix == prefix + "more"


@settings(max_examples=25)
@given(st.lists(PATH, min_size=1, max_size=3), PATH)
def test_store_lookup_agrees_with_prefix_matches(
    prefixes: list[str], name: str
) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        store = Keystore(system=None, local=None, user=Path(tmp))
        for key, prefix in zip(KEYS, prefixes, strict=False):
            store.add(_public(key), prefix=prefix)
        expected = {
            k.fingerprint
            for k, p in zip(KEYS, prefixes, strict=False)
            if prefix_matches(p, name)
        }
        assert _fingerprints(store, name) == expected
