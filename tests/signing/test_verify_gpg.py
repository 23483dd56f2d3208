"""The verdict table: every fixture gpg made (or gpg refused to make), our verdict,
and gpg's own verdict on the same signature with the same keyring.

Where gpg accepts what we refuse (a revoked key: exit 0 with REVKEYSIG; SHA-1;
RSA-1024; a future date), the table records gpg's view too, so the difference
is deliberate and visible.
"""

from __future__ import annotations

import calendar

from datetime import UTC, datetime
from pathlib import Path

import attrs
import pytest

from appc import errors
from appc.signing import Keyring, Signer, verify, verify_all

from tests.signing.conftest import JUN_2020, Fixtures, epoch
from tests.signing.gpgtool import status_keywords, valid_signatures


@attrs.frozen
class Case:
    signature: str
    keys: tuple[str, ...]
    expected: type[errors.SignatureError] | None
    gpg: tuple[str, ...]
    data: str = "data"
    at: str | None = None
    allow_text: bool = False
    allow_binary: bool = False


GOOD = ("GOODSIG", "VALIDSIG")
CASES = {
    # Good signatures, each key type gpg makes.
    "rsa2048": Case("rsa", ("rsa",), None, GOOD),
    "ed25519": Case("ed", ("ed",), None, GOOD),
    "nistp256": Case("p256", ("p256",), None, GOOD),
    "nistp384": Case("p384", ("p384",), None, GOOD),
    "ed25519 signing subkey": Case("sub", ("sub",), None, GOOD),
    "rsa2048 signing subkey": Case("rsasub", ("rsasub",), None, GOOD),
    "sha224": Case("sha224", ("rsa",), None, GOOD),
    "sha384": Case("sha384", ("ed",), None, GOOD),
    "keyring with several keys": Case("ed", ("rsa", "other", "ed"), None, GOOD),
    "binary signature, allowed": Case("binary", ("ed",), None, GOOD, allow_binary=True),
    "text signature, allowed": Case("text", ("ed",), None, GOOD, allow_text=True),
    "expired key, as of a time it was valid": Case(
        "expired", ("expired",), None, GOOD, at=JUN_2020
    ),
    "expired subkey, as of a time it was valid": Case(
        "expsub", ("expsub",), None, GOOD, at=JUN_2020
    ),
    # Refused: the data.
    "tampered data": Case(
        "rsa", ("rsa",), errors.BadSignature, ("BADSIG",), data="tampered"
    ),
    "signature of other data": Case(
        "otherdata", ("ed",), errors.BadSignature, ("BADSIG",)
    ),
    # Refused: who signed.
    "wrong key": Case(
        "other", ("rsa", "ed"), errors.UntrustedKey, ("ERRSIG", "NO_PUBKEY")
    ),
    "revoked key": Case("revoked", ("revoked",), errors.RevokedKey, ("REVKEYSIG",)),
    "revoked subkey": Case("revsub", ("revsub",), errors.RevokedKey, ("REVKEYSIG",)),
    "expired key": Case("expired", ("expired",), errors.ExpiredKey, ("EXPKEYSIG",)),
    "expired subkey": Case("expsub", ("expsub",), errors.ExpiredKey, ("EXPKEYSIG",)),
    "key expired when it signed": Case(
        "afterexpiry", ("expired",), errors.ExpiredKey, ("EXPKEYSIG",)
    ),
    "rsa1024": Case("weak", ("weak",), errors.WeakKey, GOOD),
    "encryption-only subkey": Case(
        "encronly", ("rsasub",), errors.KeyNotForSigning, ("ERRSIG",)
    ),
    "certify-only primary": Case(
        "certonly", ("sub",), errors.KeyNotForSigning, ("ERRSIG",)
    ),
    "subkey spliced with its own binding": Case(
        "spliced", ("spliced",), errors.InvalidBinding, ("ERRSIG", "NO_PUBKEY")
    ),
    "subkey spliced without binding": Case(
        "spliced", ("splicednobinding",), errors.InvalidBinding, ("ERRSIG", "NO_PUBKEY")
    ),
    "signing subkey without back-signature": Case(
        "nobacksig", ("nobacksig",), errors.MissingBackSignature, ("ERRSIG",)
    ),
    # Refused: the signature itself.
    "md5": Case("md5", ("rsa",), errors.WeakHashAlgorithm, ("ERRSIG",)),
    "sha1": Case("sha1", ("rsa",), errors.WeakHashAlgorithm, GOOD),
    "ripemd160": Case("ripemd160", ("rsa",), errors.WeakHashAlgorithm, GOOD),
    "timestamp signature": Case(
        "timestamp", ("ed",), errors.UnsupportedSignatureType, ("ERRSIG",)
    ),
    "standalone signature": Case(
        "standalone", ("ed",), errors.UnsupportedSignatureType, ("ERRSIG",)
    ),
    "text signature": Case("text", ("ed",), errors.TextModeSignature, GOOD),
    "binary signature": Case("binary", ("ed",), errors.UnarmoredSignature, GOOD),
    "future signature": Case("future", ("ed",), errors.FutureSignature, GOOD),
    "expired signature": Case(
        "sigexpired", ("old",), errors.ExpiredSignature, ("EXPSIG",)
    ),
    "unknown critical subpacket": Case(
        "critical", ("ed",), errors.MalformedSignature, ("BADSIG",)
    ),
    "two signatures, one signer untrusted": Case(
        "two", ("rsa",), errors.UntrustedKey, ("GOODSIG", "ERRSIG")
    ),
}


def _faked(at: str | None) -> datetime | None:
    return None if at is None else datetime.fromtimestamp(epoch(at), UTC)


def _data(fixtures: Fixtures, case: Case) -> Path:
    return {"data": fixtures.data, "tampered": fixtures.tampered}[case.data]


def _keyring(fixtures: Fixtures, case: Case) -> Keyring:
    ring = Keyring()
    for name in case.keys:
        ring |= Keyring.from_file(fixtures.public[name])
    return ring


@pytest.mark.interop
@pytest.mark.parametrize("case", CASES.values(), ids=CASES.keys())
def test_our_verdict(fixtures: Fixtures, case: Case) -> None:
    signature = fixtures.signatures[case.signature]

    def call() -> Signer:
        return verify(
            _data(fixtures, case),
            signature,
            _keyring(fixtures, case),
            at=_faked(case.at),
            allow_text=case.allow_text,
            allow_binary=case.allow_binary,
        )

    if case.expected is None:
        assert isinstance(call(), Signer)
        return
    with pytest.raises(case.expected) as caught:
        call()
    assert type(caught.value) is case.expected  # not a parent or sibling class
    assert str(caught.value)  # a message that says what to do


@pytest.mark.interop
@pytest.mark.parametrize("case", CASES.values(), ids=CASES.keys())
def test_gpg_verdict(fixtures: Fixtures, case: Case) -> None:
    """gpg, given the same keyring, says what the table says it says."""
    home = fixtures.verifier(case.keys)
    _, status = home.verify(
        fixtures.signatures[case.signature], _data(fixtures, case), faked_time=case.at
    )
    keywords = status_keywords(status)
    for keyword in case.gpg:
        assert keyword in keywords, status


@pytest.mark.interop
@pytest.mark.parametrize(
    "case",
    [c for c in CASES.values() if c.expected is None],
    ids=[k for k, c in CASES.items() if c.expected is None],
)
def test_signer_matches_gpg_validsig(fixtures: Fixtures, case: Case) -> None:
    """The Signer we return names the same keys, time and hash as gpg's VALIDSIG line."""
    home = fixtures.verifier(case.keys)
    _, status = home.verify(
        fixtures.signatures[case.signature], _data(fixtures, case), faked_time=case.at
    )
    (fields,) = valid_signatures(status)
    signer = verify(
        _data(fixtures, case),
        fixtures.signatures[case.signature],
        _keyring(fixtures, case),
        at=_faked(case.at),
        allow_text=case.allow_text,
        allow_binary=case.allow_binary,
    )
    hash_names = {
        "2": "SHA1",
        "8": "SHA256",
        "9": "SHA384",
        "10": "SHA512",
        "11": "SHA224",
    }
    assert signer.key_fingerprint == fields[0].lower()
    assert signer.fingerprint == fields[9].lower()
    assert (signer.subkey_fingerprint is not None) == (fields[0] != fields[9])
    assert calendar.timegm(signer.created.utctimetuple()) == int(fields[2])
    assert signer.hash_algorithm == hash_names[fields[7]]
    assert signer.text_mode == (fields[8] == "01")


@pytest.mark.interop
def test_two_signatures_both_trusted(fixtures: Fixtures) -> None:
    keyring = Keyring.from_file(fixtures.public["rsa"]) | Keyring.from_file(
        fixtures.public["ed"]
    )
    signers = verify_all(fixtures.data, fixtures.signatures["two"], keyring)
    assert {s.fingerprint for s in signers} == {
        fixtures.fingerprints["rsa"][0],
        fixtures.fingerprints["ed"][0],
    }
    home = fixtures.verifier(("rsa", "ed"))
    code, status = home.verify(fixtures.signatures["two"], fixtures.data)
    assert code == 0
    assert status_keywords(status).count("GOODSIG") == 2


@pytest.mark.interop
def test_two_signatures_error_names_which(fixtures: Fixtures) -> None:
    with pytest.raises(errors.UntrustedKey, match=r"^signature 2 of 2: "):
        verify(
            fixtures.data,
            fixtures.signatures["two"],
            Keyring.from_file(fixtures.public["rsa"]),
        )


@pytest.mark.interop
def test_signer_details(fixtures: Fixtures) -> None:
    signer = verify(fixtures.data, fixtures.signatures["sub"], fixtures.public["sub"])
    assert signer.user_ids == ("Sub Signer <sub@example.com>",)
    assert signer.fingerprint == fixtures.fingerprints["sub"][0]
    assert signer.subkey_fingerprint == fixtures.fingerprints["sub"][1]
    assert signer.key_algorithm == "ed25519"


@pytest.mark.interop
def test_verify_as_of_a_time_before_the_signature(fixtures: Fixtures) -> None:
    """A signature made after the verification time is dated in the future."""
    at = datetime.fromtimestamp(epoch(JUN_2020) - 86400, UTC)
    with pytest.raises(errors.FutureSignature):
        verify(
            fixtures.data,
            fixtures.signatures["expired"],
            fixtures.public["expired"],
            at=at,
        )
