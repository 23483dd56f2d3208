"""Our signatures, checked by ``gpg --verify`` (exit code and ``--status-fd`` lines)."""

from __future__ import annotations

import io

from datetime import UTC, datetime
from pathlib import Path

import pytest

from appc import errors
from appc.signing import sign, verify
from appc.testing.keys import Algorithm, make_key

from tests.signing.conftest import Fixtures
from tests.signing.gpgtool import Gpg, status_keywords, valid_signatures


def _gpg_accepts(fixtures: Fixtures, key: str, signature: str, data: Path) -> list[str]:
    """gpg's VALIDSIG fields for our signature, in a home with only ``key``."""
    home = fixtures.verifier((key,))
    signature_path = fixtures.directory / f"ours-{len(fixtures.homes)}.asc"
    signature_path.write_text(signature)
    code, status = home.verify(signature_path, data)
    assert code == 0, status
    assert "GOODSIG" in status_keywords(status), status
    (fields,) = valid_signatures(status)
    return fields


@pytest.mark.interop
@pytest.mark.parametrize("key", ["rsa", "ed", "p256", "p384", "sub", "rsasub"])
def test_gpg_verifies_our_signature(fixtures: Fixtures, key: str) -> None:
    signature = sign(fixtures.data, fixtures.secret[key])
    fields = _gpg_accepts(fixtures, key, signature, fixtures.data)
    fingerprints = fixtures.fingerprints[key]
    # gpg's own choice: the signing subkey when there is one, else the primary.
    assert fields[0].lower() == fingerprints[1 if key in {"sub", "rsasub"} else 0]
    assert fields[9].lower() == fingerprints[0]
    # appc's default hash: SHA-384 for a P-384 key, SHA-256 for the others.
    assert fields[7] == ("9" if key == "p384" else "8")
    assert fields[8] == "00"  # binary document


@pytest.mark.interop
@pytest.mark.parametrize(
    ("name", "number"),
    [("SHA256", "8"), ("SHA384", "9"), ("sha-512", "10"), ("SHA224", "11")],
)
def test_gpg_verifies_each_hash(fixtures: Fixtures, name: str, number: str) -> None:
    signature = sign(fixtures.data, fixtures.secret["rsa"], hash_algorithm=name)
    assert _gpg_accepts(fixtures, "rsa", signature, fixtures.data)[7] == number


@pytest.mark.interop
def test_gpg_rejects_our_signature_of_other_data(fixtures: Fixtures) -> None:
    signature = sign(io.BytesIO(b"something else"), fixtures.secret["ed"])
    path = fixtures.directory / "ours-other.asc"
    path.write_text(signature)
    code, status = fixtures.verifier(("ed",)).verify(path, fixtures.data)
    assert code == 1
    assert "BADSIG" in status_keywords(status)


@pytest.mark.interop
def test_signature_round_trip_and_created(fixtures: Fixtures) -> None:
    when = datetime(2030, 1, 2, 3, 4, 5, tzinfo=UTC)
    signature = sign(fixtures.data, fixtures.secret["ed"], created=when)
    signer = verify(fixtures.data, signature.encode(), fixtures.public["ed"], at=when)
    assert signer.created == when


@pytest.fixture(scope="module")
def protected(fixtures: Fixtures) -> tuple[bytes, str]:
    """A passphrase-protected secret key, as gpg exports it (iterated S2K, AES)."""
    gpg = fixtures.gpg
    gpg.run(
        "--quick-gen-key",
        "Protected <protected@example.com>",
        "ed25519",
        "sign",
        "never",
        passphrase="pass word",
    )
    secret = gpg.run(
        "--armor",
        "--export-secret-keys",
        "<protected@example.com>",
        passphrase="pass word",
    ).stdout
    fixtures.key_file("protected", gpg.export("<protected@example.com>"))
    return secret, gpg.fingerprints("<protected@example.com>")[0]


@pytest.mark.interop
def test_protected_key(fixtures: Fixtures, protected: tuple[bytes, str]) -> None:
    secret, fingerprint = protected
    signature = sign(fixtures.data, secret, passphrase="pass word")
    assert (
        _gpg_accepts(fixtures, "protected", signature, fixtures.data)[0].lower()
        == fingerprint
    )


@pytest.mark.interop
def test_protected_key_needs_passphrase(
    fixtures: Fixtures, protected: tuple[bytes, str]
) -> None:
    with pytest.raises(errors.PassphraseRequired, match="passphrase"):
        sign(fixtures.data, protected[0])
    with pytest.raises(errors.WrongPassphrase):
        sign(fixtures.data, protected[0], passphrase="wrong")


@pytest.mark.interop
def test_secret_subkeys_only(fixtures: Fixtures) -> None:
    """``--export-secret-subkeys`` leaves a stub for the primary; the subkey still signs."""
    secret = fixtures.gpg.run(
        "--armor", "--export-secret-subkeys", "<sub@example.com>"
    ).stdout
    signature = sign(fixtures.data, secret)
    assert (
        _gpg_accepts(fixtures, "sub", signature, fixtures.data)[0].lower()
        == fixtures.fingerprints["sub"][1]
    )


@pytest.mark.interop
def test_binary_secret_key_and_path(fixtures: Fixtures, tmp_path: Path) -> None:
    binary = fixtures.gpg.run("--export-secret-keys", "<ed@example.com>").stdout
    path = tmp_path / "secret.gpg"
    path.write_bytes(binary)
    signature = sign(str(fixtures.data), path)
    assert (
        verify(fixtures.data, signature.encode(), fixtures.public["ed"]).fingerprint
        == fixtures.fingerprints["ed"][0]
    )


@pytest.mark.interop
@pytest.mark.parametrize(
    ("key", "message"),
    [
        ("expired", "expired"),
        ("weak", "1024 bits"),
    ],
)
def test_refuses_unusable_secret_keys(
    fixtures: Fixtures, key: str, message: str
) -> None:
    with pytest.raises(errors.SigningError, match=message):
        sign(fixtures.data, fixtures.secret[key])


@pytest.mark.interop
def test_refuses_a_public_key(fixtures: Fixtures) -> None:
    with pytest.raises(errors.SigningError, match="public key"):
        sign(fixtures.data, fixtures.public["ed"].read_bytes())


@pytest.mark.interop
def test_ecdsa_hash_must_cover_the_curve(fixtures: Fixtures) -> None:
    with pytest.raises(errors.SigningError, match="at least as long"):
        sign(fixtures.data, fixtures.secret["p384"], hash_algorithm="SHA256")


def test_unknown_hash() -> None:
    with pytest.raises(errors.SigningError, match="MD5"):
        sign(io.BytesIO(b""), make_key().secret, hash_algorithm="MD5")


def test_secret_key_file_without_secret() -> None:
    # Binary public key packets where a secret key was expected.
    from appc import _openpgp

    public = _openpgp.dearmor(make_key().public, _openpgp.ARMOR_PUBLIC_KEY)
    with pytest.raises(errors.SigningError, match="no secret key"):
        sign(io.BytesIO(b""), public)


def test_garbage_secret_key() -> None:
    with pytest.raises(errors.MalformedKey):
        sign(io.BytesIO(b""), b"\x95\x01")


def test_throwaway_key_round_trip() -> None:
    key = make_key(signing_subkey=True)
    signer = verify(
        io.BytesIO(b"x"), sign(io.BytesIO(b"x"), key.secret).encode(), key.public
    )
    assert signer.subkey_fingerprint == key.signing_fingerprint


@pytest.mark.interop
def test_gpg_imports_and_verifies_throwaway_keys(
    fixtures: Fixtures, tmp_path: Path
) -> None:
    home = Gpg.create(fixtures.gpg.executable, tmp_path / "home")
    fixtures.homes.append(home)
    kinds: list[tuple[Algorithm, bool]] = [
        ("ed25519", False),
        ("rsa2048", True),
        ("nistp256", False),
        ("nistp384", True),
    ]
    for index, (algorithm, subkey) in enumerate(kinds):
        key = make_key(
            f"Throwaway {index} <t{index}@example.com>",
            algorithm=algorithm,
            signing_subkey=subkey,
        )
        home.import_keys(key.public)
        path = tmp_path / f"{index}.asc"
        path.write_text(sign(fixtures.data, key.secret))
        code, status = home.verify(path, fixtures.data)
        assert code == 0, status
        (fields,) = valid_signatures(status)
        assert (fields[0].lower(), fields[9].lower()) == (
            key.signing_fingerprint,
            key.fingerprint,
        )
    # gpg also takes the secret keys.
    assert home.run("--import", stdin=make_key().secret).returncode == 0
