"""Sign ACIs and verify their detached OpenPGP signatures, in constant memory.

An appc image is signed with an ASCII-armored detached signature
(``image.aci.asc``) made by gpg or by :func:`sign`. :func:`verify` hashes the
image in chunks with the signature's hash algorithm and checks the digest
against the signer's key with ``cryptography``; memory does not grow with the
image. Keys and signatures are parsed by ``appc`` itself (version 4 OpenPGP),
and the policy that pgpy 0.6.0 skips is enforced here: revocation, expiry,
key flags, subkey bindings and back-signatures, signature types, hash and key
strength, future dates. pgpy is imported only by :func:`sign`, to unlock
passphrase-protected secret keys.

>>> import io
>>> from appc.signing import Keyring, sign, verify
>>> from appc.testing.keys import make_key
>>> key = make_key("Example Signer <signer@example.com>")
>>> signature = sign(io.BytesIO(b"image bytes"), key.secret)
>>> signer = verify(io.BytesIO(b"image bytes"), signature.encode(), Keyring.from_bytes(key.public))
>>> signer.user_ids
('Example Signer <signer@example.com>',)
>>> verify(io.BytesIO(b"other bytes"), signature.encode(), Keyring.from_bytes(key.public))
Traceback (most recent call last):
...
appc.errors.BadSignature: the signature does not match the image: ...
"""

from __future__ import annotations

import io
import logging
import os
import re
import time
import warnings

from collections.abc import Iterable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, Protocol

import attrs

from appc import _openpgp
from appc._openpgp import (
    ARMOR_PRIVATE_KEY,
    ARMOR_PUBLIC_KEY,
    ARMOR_SIGNATURE,
    CURVE_NAMES,
    FormatError,
    HashAlgorithm,
    KeyPacket,
    PublicKeyAlgorithm,
    Signature,
    SignatureType,
    SubpacketType,
)
from appc._openpgp_keys import (
    Certificate,
    Hasher,
    Subkey,
    UserID,
    hash_for,
    load_certificates,
    merge_certificates,
    sign_digest,
    verify_digest,
)
from appc.errors import (
    BadSignature,
    ExpiredKey,
    ExpiredSignature,
    FutureSignature,
    InvalidBinding,
    KeyNotForSigning,
    MalformedKey,
    MalformedSignature,
    MissingBackSignature,
    PassphraseRequired,
    RevokedKey,
    SignatureError,
    SigningError,
    TextModeSignature,
    UnarmoredSignature,
    UnsupportedSignatureType,
    UntrustedKey,
    WeakHashAlgorithm,
    WeakKey,
    WrongPassphrase,
)


__all__ = [
    "CHUNK_SIZE",
    "DOCUMENT_HASHES",
    "MAX_CLOCK_SKEW",
    "MAX_KEY_FILE_SIZE",
    "MAX_SIGNATURES",
    "MAX_SIGNATURE_FILE_SIZE",
    "MIN_RSA_BITS",
    "SIGNING_CURVES",
    "Keyring",
    "PublicKey",
    "Readable",
    "Signer",
    "Source",
    "format_fingerprint",
    "sign",
    "verify",
    "verify_all",
]

logger = logging.getLogger(__name__)

#: Bytes read from the image at a time: memory stays at about this much.
CHUNK_SIZE = 1 << 20
#: A signature file larger than this is refused before it is parsed.
MAX_SIGNATURE_FILE_SIZE = 256 * 1024
#: At most this many signatures in one signature file.
MAX_SIGNATURES = 16
#: A key file (or keyring) larger than this is refused before it is parsed.
MAX_KEY_FILE_SIZE = 1 << 20
#: RSA keys must have at least this many bits.
MIN_RSA_BITS = 2048
#: How far in the future a signature may be dated (clocks disagree a little).
MAX_CLOCK_SKEW = timedelta(minutes=10)
#: Hash algorithms accepted on a signature of an image.
DOCUMENT_HASHES = frozenset({"SHA224", "SHA256", "SHA384", "SHA512"})
#: Elliptic curves accepted for signing keys (ECDSA and EdDSA).
SIGNING_CURVES = frozenset({"P-256", "P-384", "P-521", "Ed25519"})

_FLAG_SIGN = 0x02
_DOCUMENT_HASH_IDS = frozenset(HashAlgorithm[name] for name in DOCUMENT_HASHES)
_WEAK_HASHES: dict[int, str] = {
    HashAlgorithm.MD5: "MD5",
    HashAlgorithm.SHA1: "SHA-1",
    HashAlgorithm.RIPEMD160: "RIPEMD-160",
}
_REVOCATION_REASONS = {
    0: "no reason given",
    1: "key superseded",
    2: "key compromised",
    3: "key retired",
}
_RESIGN_HINT = "sign the image again with a current key (`appc sign` or `gpg --armor --detach-sign`)"


class Readable(Protocol):
    """A binary stream: anything with ``read(size)`` (``readinto`` is used when present)."""

    def read(self, size: int = -1, /) -> bytes: ...


Source = str | os.PathLike[str] | Readable
"""A path, or a binary stream read from its current position to its end."""


def format_fingerprint(fingerprint: str) -> str:
    """A fingerprint as rkt and gpg show it: ten upper-case groups of four.

    >>> from appc.signing import format_fingerprint
    >>> format_fingerprint("8b86de38890ddb7291867b025210bd8888182190")
    '8B86 DE38 890D DB72 9186  7B02 5210 BD88 8818 2190'
    """
    upper = fingerprint.upper()
    groups = [upper[i : i + 4] for i in range(0, len(upper), 4)]
    return " ".join(groups[:5]) + "  " + " ".join(groups[5:])


def _algorithm_label(key: KeyPacket) -> str:
    # gpg's names (rsa2048, ed25519, nistp256), so users recognise them.
    if key.algorithm in {
        PublicKeyAlgorithm.RSA,
        PublicKeyAlgorithm.RSA_SIGN_ONLY,
        PublicKeyAlgorithm.RSA_ENCRYPT_ONLY,
    }:
        return f"rsa{int.from_bytes(key.values[0], 'big').bit_length()}"
    if key.curve is not None:
        name = CURVE_NAMES.get(key.curve, "unknown-curve")
        return {
            "P-256": "nistp256",
            "P-384": "nistp384",
            "P-521": "nistp521",
            "Curve25519": "cv25519",
        }.get(name, name.lower())
    if key.algorithm == PublicKeyAlgorithm.DSA:
        return f"dsa{int.from_bytes(key.values[0], 'big').bit_length()}"
    # Every key that parsed has a known algorithm number.
    return PublicKeyAlgorithm(key.algorithm).name.lower()


def _datetime(timestamp: int) -> datetime:
    return datetime.fromtimestamp(timestamp, UTC)


def _hex(fingerprint: bytes) -> str:
    return fingerprint.hex()


@attrs.frozen(kw_only=True)
class PublicKey:
    """An OpenPGP public key (certificate) as ``appc`` reads it.

    ``user_ids`` and ``subkey_fingerprints`` list only the parts the key's own
    signatures prove; forged or spliced parts are not there.

    >>> from appc.signing import PublicKey
    >>> from appc.testing.keys import make_key
    >>> key = PublicKey.from_bytes(make_key("Ann <ann@example.com>").public)
    >>> key.user_ids, key.algorithm
    (('Ann <ann@example.com>',), 'ed25519')
    """

    fingerprint: str
    algorithm: str
    created: datetime
    user_ids: tuple[str, ...]
    subkey_fingerprints: tuple[str, ...]
    #: The parsed packets, for appc's own use (typed ``Any``: its class is internal).
    certificate: Any = attrs.field(repr=False)

    @classmethod
    def from_certificate(cls, certificate: Any) -> PublicKey:
        """Wrap a certificate parsed by ``appc`` (internal)."""
        parsed: Certificate = certificate
        return cls(
            fingerprint=_hex(parsed.primary.fingerprint),
            algorithm=_algorithm_label(parsed.primary),
            created=_datetime(parsed.primary.created),
            user_ids=tuple(uid.text for uid in parsed.user_ids),
            subkey_fingerprints=tuple(
                _hex(s.packet.fingerprint) for s in parsed.subkeys if s.bindings
            ),
            certificate=parsed,
        )

    @classmethod
    def from_bytes(cls, data: bytes) -> PublicKey:
        """The first key in armored or binary key data.

        >>> from appc.signing import PublicKey
        >>> PublicKey.from_bytes(b"not a key")
        Traceback (most recent call last):
        ...
        appc.errors.MalformedKey: not an OpenPGP key: no armored 'PGP PUBLIC KEY BLOCK' block found
        """
        keys = Keyring.from_bytes(data).keys
        if not keys:
            raise MalformedKey("not an OpenPGP key: the data holds no key")
        return keys[0]

    def subkey_algorithms(self) -> tuple[tuple[str, str], ...]:
        """Each bound subkey's fingerprint and algorithm.

        >>> from appc.signing import PublicKey
        >>> from appc.testing.keys import make_key
        >>> PublicKey.from_bytes(make_key("Ann <ann@example.com>").public).subkey_algorithms()
        ()
        """
        return tuple(
            (_hex(s.packet.fingerprint), _algorithm_label(s.packet))
            for s in _cert(self).subkeys
            if s.bindings
        )

    def armored(self) -> str:
        """The key as an ASCII-armored public key block (secret parts never included).

        >>> from appc.signing import PublicKey
        >>> from appc.testing.keys import make_key
        >>> PublicKey.from_bytes(make_key("Ann <ann@example.com>").public).armored().splitlines()[0]
        '-----BEGIN PGP PUBLIC KEY BLOCK-----'
        """
        return _openpgp.armor(ARMOR_PUBLIC_KEY, _cert(self).public_packets)


def _cert(key: PublicKey) -> Certificate:
    certificate: Certificate = key.certificate
    return certificate


def _key_packets(data: bytes, label: str) -> list[_openpgp.Packet]:
    if _openpgp.looks_armored(data):
        return _openpgp.read_packets(_openpgp.dearmor(data, label))
    return _openpgp.read_packets(data)


def _merge_duplicates(keys: Iterable[PublicKey]) -> tuple[PublicKey, ...]:
    # Two copies of one key (an old export and a newer one) become one, so a
    # revocation in either copy is seen whichever comes first.
    merged: dict[str, PublicKey] = {}
    for key in keys:
        known = merged.get(key.fingerprint)
        if known is None:
            merged[key.fingerprint] = key
        elif _cert(known).public_packets != _cert(key).public_packets:
            certificate = merge_certificates(_cert(known), _cert(key))
            merged[key.fingerprint] = PublicKey.from_certificate(certificate)
    return tuple(merged.values())


@attrs.frozen
class Keyring:
    """A set of public keys to verify against.

    >>> from appc.signing import Keyring
    >>> from appc.testing.keys import make_key
    >>> ring = Keyring.from_bytes(make_key("Ann <ann@example.com>").public)
    >>> len(ring), len(ring | Keyring())
    (1, 1)
    """

    keys: tuple[PublicKey, ...] = attrs.field(default=(), converter=_merge_duplicates)

    @classmethod
    def from_bytes(cls, data: bytes) -> Keyring:
        """Every key in armored (``PGP PUBLIC KEY BLOCK``) or binary key data.

        >>> from appc.signing import Keyring
        >>> len(Keyring.from_bytes(b""))
        Traceback (most recent call last):
        ...
        appc.errors.MalformedKey: not an OpenPGP key: no armored 'PGP PUBLIC KEY BLOCK' block found
        """
        if len(data) > MAX_KEY_FILE_SIZE:
            raise MalformedKey(
                f"key data is larger than MAX_KEY_FILE_SIZE ({MAX_KEY_FILE_SIZE} bytes)"
            )
        try:
            certificates = load_certificates(_key_packets(data, ARMOR_PUBLIC_KEY))
        except FormatError as exc:
            raise MalformedKey(f"not an OpenPGP key: {exc}") from exc
        return cls(tuple(PublicKey.from_certificate(c) for c in certificates))

    @classmethod
    def from_file(cls, path: str | os.PathLike[str]) -> Keyring:
        """Every key in a key file.

        >>> from appc.signing import Keyring
        >>> Keyring.from_file("/nonexistent/key.asc")
        Traceback (most recent call last):
        ...
        FileNotFoundError: ...
        """
        with Path(path).open("rb") as stream:
            return cls.from_bytes(
                _read_limited(stream, MAX_KEY_FILE_SIZE, MalformedKey, "key file")
            )

    def __iter__(self) -> Iterator[PublicKey]:
        return iter(self.keys)

    def __len__(self) -> int:
        return len(self.keys)

    def __or__(self, other: Keyring) -> Keyring:
        return Keyring(self.keys + other.keys)

    def find(self, fingerprint: str) -> PublicKey | None:
        """The key with this primary fingerprint (40 hex digits, any case), if present.

        >>> from appc.signing import Keyring
        >>> Keyring().find("00" * 20) is None
        True
        """
        wanted = fingerprint.replace(" ", "").lower()
        return next((k for k in self.keys if k.fingerprint == wanted), None)


@attrs.frozen(kw_only=True)
class Signer:
    """Who made a signature that verified, and how.

    ``fingerprint`` is the primary key's; ``subkey_fingerprint`` is set when a
    signing subkey made the signature. Fingerprints are 40 lower-case hex digits.
    """

    fingerprint: str
    subkey_fingerprint: str | None
    user_ids: tuple[str, ...]
    created: datetime
    hash_algorithm: str
    key_algorithm: str
    text_mode: bool

    @property
    def key_fingerprint(self) -> str:
        """The fingerprint of the key that signed: the subkey's if a subkey did.

        >>> from datetime import UTC, datetime
        >>> from appc.signing import Signer
        >>> Signer(fingerprint="a" * 40, subkey_fingerprint=None, user_ids=(), created=datetime.now(UTC),
        ...        hash_algorithm="SHA512", key_algorithm="ed25519", text_mode=False).key_fingerprint == "a" * 40
        True
        """
        return self.subkey_fingerprint or self.fingerprint


# -- Reading inputs -------------------------------------------------------------


def _read_limited(
    stream: Readable, limit: int, error: type[SignatureError], what: str
) -> bytes:
    data = stream.read(limit + 1)
    if len(data) > limit:
        name = (
            "MAX_SIGNATURE_FILE_SIZE"
            if error is MalformedSignature
            else "MAX_KEY_FILE_SIZE"
        )
        raise error(f"{what} is larger than {name} ({limit} bytes)")
    return data


def _read_input(
    source: bytes | Source, limit: int, error: type[SignatureError], what: str
) -> bytes:
    if isinstance(source, bytes | bytearray | memoryview):
        data = bytes(source)
        if len(data) > limit:
            return _read_limited(io.BytesIO(data), limit, error, what)
        return data
    if isinstance(source, str | os.PathLike):
        with Path(source).open("rb") as stream:
            return _read_limited(stream, limit, error, what)
    return _read_limited(source, limit, error, what)


def _as_keyring(
    keyring: Keyring | PublicKey | bytes | str | os.PathLike[str],
) -> Keyring:
    if isinstance(keyring, Keyring):
        return keyring
    if isinstance(keyring, PublicKey):
        return Keyring((keyring,))
    if isinstance(keyring, bytes):
        return Keyring.from_bytes(keyring)
    return Keyring.from_file(keyring)


def _read_signatures(data: bytes, *, allow_binary: bool) -> list[Signature]:
    if _openpgp.looks_armored(data):
        try:
            body = _openpgp.dearmor(data, ARMOR_SIGNATURE)
        except FormatError as exc:
            raise MalformedSignature(
                f"not an armored OpenPGP signature: {exc}"
            ) from exc
    elif not allow_binary:
        raise UnarmoredSignature(
            "the signature is binary, but the appc spec requires ASCII armor: "
            "sign with `appc sign` or `gpg --armor --detach-sign`, "
            "or allow binary signatures (allow_binary=True, --allow-binary)"
        )
    else:
        body = data
    try:
        signatures = list(_openpgp.iter_signature_packets(_openpgp.read_packets(body)))
    except FormatError as exc:
        raise MalformedSignature(f"not an OpenPGP signature: {exc}") from exc
    if not signatures:
        raise MalformedSignature("the signature file holds no signature")
    if len(signatures) > MAX_SIGNATURES:
        raise MalformedSignature(
            f"the signature file holds {len(signatures)} signatures, more than MAX_SIGNATURES ({MAX_SIGNATURES})"
        )
    return signatures


# -- Policy -----------------------------------------------------------------


def _epoch(at: datetime | None) -> int:
    if at is None:
        return int(time.time())
    if at.tzinfo is None:
        raise TypeError(
            "at must be a timezone-aware datetime (for example datetime.now(UTC))"
        )
    return int(at.timestamp())


def _when(timestamp: int) -> str:
    return _datetime(timestamp).strftime("%Y-%m-%d %H:%M:%S UTC")


def _hash_name(algorithm: int) -> str:
    try:
        return HashAlgorithm(algorithm).name
    except ValueError:
        return f"hash algorithm {algorithm}"


def _check_signature(signature: Signature, now: int, *, allow_text: bool) -> None:
    """What can be refused from the signature alone."""
    if signature.type == SignatureType.TEXT and not allow_text:
        raise TextModeSignature(
            "the signature is a text-mode signature (class 0x01), which ignores line endings; "
            "an image is binary: sign it with `appc sign` or `gpg --armor --detach-sign` (without --textmode), "
            "or allow text-mode signatures (allow_text=True, --allow-text)"
        )
    if signature.type not in {SignatureType.BINARY, SignatureType.TEXT}:
        try:
            kind = SignatureType(signature.type).name.lower().replace("_", " ")
        except ValueError:
            kind = "unknown"
        raise UnsupportedSignatureType(
            f"the signature is of type 0x{signature.type:02x} ({kind}), not a signature of a document: "
            f"it signs no image; {_RESIGN_HINT}"
        )
    if signature.hash_algorithm in _WEAK_HASHES:
        raise WeakHashAlgorithm(
            f"the signature uses {_WEAK_HASHES[signature.hash_algorithm]}, which is broken; "
            f"{_RESIGN_HINT} (it uses SHA-256 or better)"
        )
    if signature.hash_algorithm not in _DOCUMENT_HASH_IDS:
        raise WeakHashAlgorithm(
            f"the signature uses {_hash_name(signature.hash_algorithm)}, which is not supported "
            f"(only {', '.join(sorted(DOCUMENT_HASHES))}); {_RESIGN_HINT}"
        )
    if signature.unknown_critical:
        raise MalformedSignature(
            f"the signature has a critical subpacket of unknown type {signature.unknown_critical[0]}, "
            "so it must not be trusted"
        )
    if signature.issuer_fingerprint is None and signature.issuer_key_id is None:
        raise MalformedSignature("the signature does not name the key that made it")
    if signature.created > now + MAX_CLOCK_SKEW.total_seconds():
        raise FutureSignature(
            f"the signature is dated {_when(signature.created)}, in the future of {_when(now)}: "
            "check the clocks of the signing and the verifying machines"
        )
    if (
        signature.expires_after is not None
        and signature.created + signature.expires_after <= now
    ):
        raise ExpiredSignature(
            f"the signature expired on {_when(signature.created + signature.expires_after)}; "
            "ask the publisher for a fresh signature"
        )


@attrs.frozen
class _State:
    flags: int
    expires: int | None


def _latest(signatures: Iterable[Signature], now: int) -> Signature | None:
    usable = [
        s
        for s in signatures
        if s.created <= now + MAX_CLOCK_SKEW.total_seconds()
        and (s.expires_after is None or s.created + s.expires_after > now)
    ]
    return max(usable, key=lambda s: s.created, default=None)


def _user_id_in_force(user_id: UserID, now: int) -> Signature | None:
    """The user ID's current self-certification, unless it was revoked since."""
    latest = _latest(user_id.certifications, now)
    if latest is None:
        return None
    revoked = _latest(user_id.revocations, now)
    if revoked is not None and revoked.created >= latest.created:
        return None
    return latest


def _primary_state(certificate: Certificate, now: int) -> _State | None:
    """The primary key's flags and expiry from its current self-signature."""
    candidates = [
        s for u in certificate.user_ids if (s := _user_id_in_force(u, now)) is not None
    ]
    direct = _latest(certificate.direct, now)
    # gpg's choice: the primary user ID's self-signature, else the newest one.
    chosen = (
        max(candidates, key=lambda s: (s.primary_user_id, s.created), default=None)
        or direct
    )
    if chosen is None:
        return None
    flags = (
        chosen.key_flags
        if chosen.key_flags is not None
        else (direct.key_flags if direct else None)
    )
    expires_after = chosen.key_expires_after
    if expires_after is None and direct is not None:
        expires_after = direct.key_expires_after
    expires = certificate.primary.created + expires_after if expires_after else None
    return _State(flags=flags or 0, expires=expires)


def _revocation_text(revocations: tuple[Signature, ...]) -> str:
    reason = revocations[0].revocation_reason
    return _REVOCATION_REASONS.get(
        reason if reason is not None else 0, f"reason {reason}"
    )


def _check_time(
    what: str, key: KeyPacket, expires: int | None, signed_at: int, now: int
) -> None:
    if signed_at < key.created:
        raise BadSignature(
            f"the signature is dated {_when(signed_at)}, before {what} was created "
            f"({_when(key.created)}): the signature or a clock is wrong"
        )
    if expires is None:
        return
    if expires <= signed_at:
        raise ExpiredKey(
            f"{what} expired on {_when(expires)}, before the signature was made on {_when(signed_at)}; "
            f"{_RESIGN_HINT}"
        )
    if expires <= now:
        raise ExpiredKey(
            f"{what} expired on {_when(expires)}; ask its owner for a key with a new expiry date "
            "(and trust it again), or verify as of an earlier time (at=...)"
        )


def _check_strength(what: str, key: KeyPacket) -> None:
    if key.algorithm in {PublicKeyAlgorithm.RSA, PublicKeyAlgorithm.RSA_SIGN_ONLY}:
        bits = int.from_bytes(key.values[0], "big").bit_length()
        if bits < MIN_RSA_BITS:
            raise WeakKey(
                f"{what} is RSA with {bits} bits; at least {MIN_RSA_BITS} are required; {_RESIGN_HINT}"
            )
        return
    if key.algorithm in {PublicKeyAlgorithm.ECDSA, PublicKeyAlgorithm.EDDSA_LEGACY}:
        curve = CURVE_NAMES.get(key.curve or b"")
        if curve not in SIGNING_CURVES:
            raise WeakKey(
                f"{what} uses a curve that is not accepted (only {', '.join(sorted(SIGNING_CURVES))}); {_RESIGN_HINT}"
            )
        return
    raise WeakKey(
        f"{what} is a {_algorithm_label(key)} key, which is not accepted for signing; {_RESIGN_HINT}"
    )


def _check_key(
    certificate: Certificate, key: KeyPacket, signed_at: int, now: int
) -> None:
    """Refuse ``key`` (of ``certificate``) as the maker of a signature made at ``signed_at``."""
    primary = certificate.primary
    name = f"key {_hex(primary.fingerprint)}"
    if certificate.revocations:
        raise RevokedKey(
            f"{name} was revoked by its owner ({_revocation_text(certificate.revocations)}); "
            "remove it from the trust store (`appc trust rm`) and get the publisher's new key"
        )
    # The primary key vouches for every subkey, so it must be strong even when
    # a subkey signs (and a DSA primary's self-signatures cannot be checked).
    _check_strength(name, primary)
    state = _primary_state(certificate, now)
    if state is None:
        raise InvalidBinding(
            f"{name} has no valid self-signature (no user ID certified by the key itself); "
            "get the key again from its owner"
        )
    _check_time(name, primary, state.expires, signed_at, now)
    if key is primary:
        if not state.flags & _FLAG_SIGN:
            raise KeyNotForSigning(f"{name} is not flagged for signing; {_RESIGN_HINT}")
        return
    subkey = next(s for s in certificate.subkeys if s.packet is key)
    _check_subkey(name, subkey, signed_at, now)


def _check_subkey(owner: str, subkey: Subkey, signed_at: int, now: int) -> None:
    what = f"subkey {_hex(subkey.packet.fingerprint)} of {owner}"
    if subkey.revocations:
        raise RevokedKey(
            f"{what} was revoked by its owner ({_revocation_text(subkey.revocations)}); "
            "ask the publisher to sign with a current subkey"
        )
    latest = _latest((b.signature for b in subkey.bindings), now)
    binding = next((b for b in subkey.bindings if b.signature is latest), None)
    if binding is None:
        raise InvalidBinding(
            f"{what} has no valid binding signature from its primary key: it may have been "
            "spliced onto the key; get the key again from its owner"
        )
    _check_strength(what, subkey.packet)
    flags = binding.signature.key_flags or 0
    if not flags & _FLAG_SIGN:
        raise KeyNotForSigning(
            f"{what} is not flagged for signing (encryption or certification only); {_RESIGN_HINT}"
        )
    if not binding.back_signed:
        raise MissingBackSignature(
            f"{what} is flagged for signing but has no valid back-signature, so the primary key "
            "could have claimed someone else's key; get the key again from its owner"
        )
    expires_after = binding.signature.key_expires_after
    expires = subkey.packet.created + expires_after if expires_after else None
    _check_time(what, subkey.packet, expires, signed_at, now)


@attrs.frozen
class _Candidate:
    key: PublicKey
    packet: KeyPacket


def _candidates(keyring: Keyring, signature: Signature) -> list[_Candidate]:
    found: list[_Candidate] = []
    for key in keyring:
        packets = [
            _cert(key).primary,
            *(s.packet for s in _cert(key).subkeys),
        ]
        found.extend(
            _Candidate(key, p) for p in packets if signature.issued_by(p.fingerprint)
        )
    return found


def _issuer_text(signature: Signature) -> str:
    if signature.issuer_fingerprint is not None:
        return f"key {_hex(signature.issuer_fingerprint)}"
    return f"key ID {(signature.issuer_key_id or b'').hex()}"


def _usable_candidates(
    keyring: Keyring, signature: Signature, now: int
) -> list[_Candidate]:
    candidates = _candidates(keyring, signature)
    if not candidates:
        raise UntrustedKey(
            f"the signature was made by {_issuer_text(signature)}, which is not a trusted key: "
            "if you trust it, add it with `appc trust --prefix <image name> KEYFILE`, or pass it with --keyring"
        )
    usable: list[_Candidate] = []
    first_error: SignatureError | None = None
    for candidate in candidates:
        try:
            _check_key(_cert(candidate.key), candidate.packet, signature.created, now)
        except SignatureError as exc:
            first_error = first_error or exc
            continue
        usable.append(candidate)
    if not usable:
        assert first_error is not None  # noqa: S101 -- candidates was not empty
        raise first_error
    return usable


# -- Hashing the image in constant memory -----------------------------------


_LINE_END = re.compile(rb"[\r\x00]*\n")


class _TextCanonicalizer:
    """Text-mode canonical form, as gpg computes it, across chunk boundaries.

    gpg ends every line with CRLF and drops the run of CR and NUL bytes before
    a line end or the end of the file (its ``strchr`` trim test matches NUL);
    a CR or NUL inside a line stays. RFC 4880 only says "line endings
    converted to CRLF"; gpg is the signer to agree with.
    """

    def __init__(self) -> None:
        self._pending = b""

    def feed(self, chunk: bytes) -> bytes:
        data = self._pending + chunk if self._pending else chunk
        kept = data.rstrip(b"\r\x00")
        self._pending = data[len(kept) :]
        return _LINE_END.sub(b"\r\n", kept)


def _chunks(image: Source) -> Iterator[memoryview]:
    if isinstance(image, str | os.PathLike):
        with Path(image).open("rb", buffering=0) as stream:
            yield from _chunks_of(stream)
    else:
        yield from _chunks_of(image)


def _chunks_of(stream: Readable) -> Iterator[memoryview]:
    readinto = getattr(stream, "readinto", None)
    if readinto is None:
        while chunk := stream.read(CHUNK_SIZE):
            yield memoryview(chunk)
        return
    buffer = bytearray(CHUNK_SIZE)
    view = memoryview(buffer)
    while count := readinto(view):
        yield view[:count]


def _hash_image(
    image: Source, wanted: set[tuple[int, bool]]
) -> dict[tuple[int, bool], Hasher]:
    hashers = {want: hash_for(want[0]) for want in wanted}
    text = [(h, _TextCanonicalizer()) for (_, is_text), h in hashers.items() if is_text]
    binary = [h for (_, is_text), h in hashers.items() if not is_text]
    for chunk in _chunks(image):
        for hasher in binary:
            hasher.update(chunk)
        if text:
            data = bytes(chunk)
            for hasher, canonical in text:
                hasher.update(canonical.feed(data))
    return hashers


def _check_math(
    signature: Signature, candidates: list[_Candidate], hasher: Hasher
) -> _Candidate:
    final = hasher.copy()
    final.update(signature.trailer())
    digest = final.digest()
    if digest[:2] == signature.hash_prefix:
        for candidate in candidates:
            # _check_strength refused every key verify_digest cannot use.
            if verify_digest(candidate.packet, signature, digest):
                return candidate
    raise BadSignature(
        f"the signature does not match the image: the image was changed after it was signed, "
        f"or this is the signature of another file (signed by {_issuer_text(signature)})"
    )


def _signer(candidate: _Candidate, signature: Signature, now: int) -> Signer:
    certificate = _cert(candidate.key)
    user_ids = [u for u in certificate.user_ids if _user_id_in_force(u, now)]
    user_ids.sort(key=lambda u: not any(c.primary_user_id for c in u.certifications))
    subkey = candidate.packet is not certificate.primary
    return Signer(
        fingerprint=candidate.key.fingerprint,
        subkey_fingerprint=_hex(candidate.packet.fingerprint) if subkey else None,
        user_ids=tuple(u.text for u in user_ids),
        created=_datetime(signature.created),
        hash_algorithm=_hash_name(signature.hash_algorithm),
        key_algorithm=_algorithm_label(candidate.packet),
        text_mode=signature.type == SignatureType.TEXT,
    )


def _numbered(exc: SignatureError, index: int, count: int) -> SignatureError:
    if count == 1:
        return exc
    return type(exc)(f"signature {index + 1} of {count}: {exc}")


def verify_all(
    image: Source,
    signature: bytes | Source,
    keyring: Keyring | PublicKey | bytes | str | os.PathLike[str],
    *,
    at: datetime | None = None,
    allow_text: bool = False,
    allow_binary: bool = False,
) -> tuple[Signer, ...]:
    """Verify every signature in a signature file; all of them must verify.

    Like :func:`verify`, but returns one :class:`Signer` per signature.
    """
    now = _epoch(at)
    ring = _as_keyring(keyring)
    data = _read_input(
        signature, MAX_SIGNATURE_FILE_SIZE, MalformedSignature, "signature file"
    )
    signatures = _read_signatures(data, allow_binary=allow_binary)
    # Everything that does not need the image is checked first: a refusal
    # then costs nothing, however large the image.
    plans: list[list[_Candidate]] = []
    for index, sig in enumerate(signatures):
        try:
            _check_signature(sig, now, allow_text=allow_text)
            plans.append(_usable_candidates(ring, sig, now))
        except SignatureError as exc:
            raise _numbered(exc, index, len(signatures)) from None
    hashers = _hash_image(
        image, {(s.hash_algorithm, s.type == SignatureType.TEXT) for s in signatures}
    )
    signers: list[Signer] = []
    for index, (sig, candidates) in enumerate(zip(signatures, plans, strict=True)):
        try:
            chosen = _check_math(
                sig,
                candidates,
                hashers[sig.hash_algorithm, sig.type == SignatureType.TEXT],
            )
        except SignatureError as exc:
            raise _numbered(exc, index, len(signatures)) from None
        signers.append(_signer(chosen, sig, now))
    for signer in signers:
        logger.info(
            "signature verified: %s (%s)",
            signer.key_fingerprint,
            ", ".join(signer.user_ids),
        )
    return tuple(signers)


def verify(
    image: Source,
    signature: bytes | Source,
    keyring: Keyring | PublicKey | bytes | str | os.PathLike[str],
    *,
    at: datetime | None = None,
    allow_text: bool = False,
    allow_binary: bool = False,
) -> Signer:
    """Verify a detached signature of an image against trusted keys; return who signed.

    ``image`` is a path or a binary stream (read to its end). ``signature`` is
    the signature file's content (bytes), a path, or a binary stream.
    ``keyring`` is a :class:`Keyring`, a :class:`PublicKey`, key data (bytes)
    or the path of a key file. Keys and subkeys are checked as of ``at``
    (default: now), and must also have been valid when the signature was made.
    When the file holds several signatures, every one must verify; the first
    signer is returned (see :func:`verify_all`).

    Raises a :class:`~appc.errors.SignatureError` subclass saying why not.

    >>> import io
    >>> from appc.signing import sign, verify
    >>> from appc.testing.keys import make_key
    >>> key = make_key("Ann <ann@example.com>")
    >>> sig = sign(io.BytesIO(b"data"), key.secret)
    >>> verify(io.BytesIO(b"data"), sig.encode(), key.public).hash_algorithm
    'SHA256'
    """
    return verify_all(
        image,
        signature,
        keyring,
        at=at,
        allow_text=allow_text,
        allow_binary=allow_binary,
    )[0]


# -- Signing ------------------------------------------------------------------


# The hash an ECDSA key needs at least (gpg's rule); SHA-256 for everything else.
_CURVE_HASHES = {
    _openpgp.CURVE_P384: HashAlgorithm.SHA384,
    _openpgp.CURVE_P521: HashAlgorithm.SHA512,
}

_SIGN_HASHES = {
    "SHA224": HashAlgorithm.SHA224,
    "SHA256": HashAlgorithm.SHA256,
    "SHA384": HashAlgorithm.SHA384,
    "SHA512": HashAlgorithm.SHA512,
}


_EXPORT_HINT = "export the secret key with `gpg --armor --export-secret-keys KEYID`"


def _secret_certificate(data: bytes) -> Certificate:
    if (
        _openpgp.looks_armored(data)
        and f"-----BEGIN {ARMOR_PUBLIC_KEY}-----".encode() in data
    ):
        raise SigningError(
            f"this is a public key, and signing needs the secret key: {_EXPORT_HINT}"
        )
    try:
        certificates = load_certificates(_key_packets(data, ARMOR_PRIVATE_KEY))
    except FormatError as exc:
        raise MalformedKey(f"not an OpenPGP secret key: {exc}") from exc
    for certificate in certificates:
        if certificate.has_secret:
            return certificate
    raise SigningError(f"the key file holds no secret key: {_EXPORT_HINT}")


def _secret_available(packet: KeyPacket) -> bool:
    body = packet.secret_body
    if not body:
        return False
    # gpg writes a stub (S2K type 101, "gnu-dummy" or "divert-to-card") when
    # the secret part is elsewhere, e.g. an offline primary key.
    return not (body[0] in {254, 255} and len(body) > 2 and body[2] == 101)


def _signing_packet(certificate: Certificate, now: int) -> KeyPacket:
    # Like gpg: the newest usable signing subkey, else the primary key.
    subkeys = sorted(certificate.subkeys, key=lambda s: s.packet.created, reverse=True)
    reasons: list[str] = []
    for packet in [*(s.packet for s in subkeys), certificate.primary]:
        if not _secret_available(packet):
            continue
        try:
            _check_key(certificate, packet, now, now)
        except SignatureError as exc:
            reasons.append(str(exc))
            continue
        return packet
    detail = (
        "; ".join(reasons)
        if reasons
        else "the file holds no secret signing key material"
    )
    raise SigningError(f"no usable signing key in the secret key file: {detail}")


def _private_key(packet: KeyPacket, passphrase: str | None) -> object:
    """The ``cryptography`` private key of a secret key packet.

    Unprotected keys (S2K usage 0) are read here; only passphrase-protected
    ones go through pgpy, which implements the S2K and cipher variants.
    """
    fingerprint = _hex(packet.fingerprint)
    try:
        values = _openpgp.plain_secret_values(packet)
    except FormatError as exc:
        raise MalformedKey(
            f"the secret key {fingerprint} cannot be read: {exc}"
        ) from exc
    if values is None:
        return _unlock(packet, passphrase, fingerprint)
    try:
        return _plain_private_key(packet, values)
    except ValueError as exc:
        raise MalformedKey(
            f"the secret key {fingerprint} cannot be read: {exc}"
        ) from exc


def _plain_private_key(packet: KeyPacket, values: tuple[bytes, ...]) -> object:
    from cryptography.hazmat.primitives.asymmetric import ec, ed25519, rsa

    if packet.algorithm in {PublicKeyAlgorithm.RSA, PublicKeyAlgorithm.RSA_SIGN_ONLY}:
        n, e = (int.from_bytes(v, "big") for v in packet.values)
        d, p, q = (int.from_bytes(v, "big") for v in values[:3])
        public = rsa.RSAPublicNumbers(e, n)
        numbers = rsa.RSAPrivateNumbers(
            p,
            q,
            d,
            rsa.rsa_crt_dmp1(d, p),
            rsa.rsa_crt_dmq1(d, q),
            rsa.rsa_crt_iqmp(p, q),
            public,
        )
        # OpenSSL's full check (primality) costs ~0.15 s; sign() verifies the
        # new signature with the public key instead, which catches a bad key.
        return numbers.private_key(unsafe_skip_rsa_key_validation=True)
    if packet.algorithm == PublicKeyAlgorithm.ECDSA:
        curves: dict[bytes, ec.EllipticCurve] = {
            _openpgp.CURVE_P256: ec.SECP256R1(),
            _openpgp.CURVE_P384: ec.SECP384R1(),
            _openpgp.CURVE_P521: ec.SECP521R1(),
        }
        return ec.derive_private_key(
            int.from_bytes(values[0], "big"), curves[packet.curve or b""]
        )
    # EdDSA (Ed25519): _signing_packet let no other algorithm through.
    return ed25519.Ed25519PrivateKey.from_private_bytes(values[0].rjust(32, b"\x00"))


def _unlock(packet: KeyPacket, passphrase: str | None, fingerprint: str) -> object:
    """Decrypt a passphrase-protected secret key with pgpy (the one thing pgpy does here)."""
    if passphrase is None:
        raise PassphraseRequired(
            f"the secret key {fingerprint} is protected: give its passphrase (passphrase=..., --passphrase-file)"
        )
    secret_packet = _openpgp.encode_packet(
        packet.tag, packet.public_body + (packet.secret_body or b"")
    )
    with warnings.catch_warnings():
        # pgpy warns on import (imghdr) and about its own unfinished checks.
        warnings.simplefilter("ignore")
        import pgpy.errors
        import pgpy.packet

        try:
            parsed = pgpy.packet.Packet(bytearray(secret_packet))
            parsed.unprotect(passphrase)
            return parsed.keymaterial.__privkey__()
        except pgpy.errors.PGPDecryptionError as exc:
            raise WrongPassphrase(
                f"the passphrase does not unlock the secret key {fingerprint}"
            ) from exc
        except Exception as exc:  # pgpy raises anything from ValueError to IndexError
            raise MalformedKey(
                f"the secret key {fingerprint} cannot be read: {exc}"
            ) from exc


def _public_values(private: object) -> tuple[bytes, ...] | None:
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import ec, ed25519, rsa

    if isinstance(private, rsa.RSAPrivateKey):
        numbers = private.public_key().public_numbers()
        return (_int_bytes(numbers.n), _int_bytes(numbers.e))
    if isinstance(private, ec.EllipticCurvePrivateKey):
        point = private.public_key().public_bytes(
            serialization.Encoding.X962, serialization.PublicFormat.UncompressedPoint
        )
        return (point,)
    if isinstance(private, ed25519.Ed25519PrivateKey):
        return (b"\x40" + private.public_key().public_bytes_raw(),)
    return None  # pragma: no cover -- _signing_packet refuses other algorithms first


def _int_bytes(value: int) -> bytes:
    return value.to_bytes((value.bit_length() + 7) // 8 or 1, "big")


def _check_pair(private: object, packet: KeyPacket) -> None:
    # A secret part that does not belong to the public key would make
    # signatures nobody can verify; say so before hashing a large image.
    if _public_values(private) != packet.values[: 2 if len(packet.values) > 1 else 1]:
        raise MalformedKey(
            f"the secret key {_hex(packet.fingerprint)} does not match its public key: the key file is corrupt"
        )


def _sign_values(private: object, hash_id: int, digest: bytes) -> tuple[bytes, ...]:
    from cryptography.hazmat.primitives.asymmetric import ec

    # gpg refuses an ECDSA hash shorter than the curve; so do we (P-521 takes SHA-512).
    if isinstance(private, ec.EllipticCurvePrivateKey) and len(digest) * 8 < min(
        private.curve.key_size, 512
    ):
        raise SigningError(
            f"an ECDSA {private.curve.name} key needs a hash at least as long as its curve"
        )
    # _check_pair let only RSA, ECDSA and Ed25519 keys through.
    return sign_digest(private, hash_id, digest)


def sign(
    image: Source,
    secret_key: bytes | str | os.PathLike[str],
    *,
    passphrase: str | None = None,
    hash_algorithm: str | None = None,
    created: datetime | None = None,
) -> str:
    """Make an ASCII-armored detached signature of an image, as ``gpg --armor --detach-sign`` does.

    ``secret_key`` is secret key data (armored or binary, as ``gpg
    --export-secret-keys`` writes it) or the path of such a file. The newest
    usable signing subkey signs, else the primary key (gpg's choice). The image
    is hashed in chunks; memory does not grow with it. The hash is SHA-256
    unless ``hash_algorithm`` says otherwise (SHA-384 and SHA-512 for P-384 and
    P-521 keys, whose curves need them): it is as strong as the keys and runs
    in hardware on current CPUs, so verifiers are fast too.

    >>> import io
    >>> from appc.signing import sign
    >>> from appc.testing.keys import make_key
    >>> sign(io.BytesIO(b"data"), make_key("Ann <ann@example.com>").secret).splitlines()[0]
    '-----BEGIN PGP SIGNATURE-----'
    """
    hash_id = _SIGN_HASHES.get((hash_algorithm or "SHA256").upper().replace("-", ""))
    if hash_id is None:
        raise SigningError(
            f"cannot sign with hash {hash_algorithm!r}: use one of {', '.join(sorted(_SIGN_HASHES))}"
        )
    if isinstance(secret_key, bytes):
        data = secret_key
    else:
        with Path(secret_key).open("rb") as stream:
            data = _read_limited(stream, MAX_KEY_FILE_SIZE, MalformedKey, "key file")
    when = _epoch(created)
    certificate = _secret_certificate(data)
    packet = _signing_packet(certificate, when)
    private = _private_key(packet, passphrase)
    _check_pair(private, packet)
    if hash_algorithm is None:
        hash_id = _CURVE_HASHES.get(packet.curve or b"", HashAlgorithm.SHA256)

    hashed = [
        _openpgp.encode_subpacket(
            SubpacketType.ISSUER_FINGERPRINT, b"\x04" + packet.fingerprint
        ),
        _openpgp.encode_subpacket(SubpacketType.CREATION_TIME, when.to_bytes(4, "big")),
    ]
    unhashed = [_openpgp.encode_subpacket(SubpacketType.ISSUER_KEY_ID, packet.key_id)]
    algorithm = (
        PublicKeyAlgorithm.RSA
        if packet.algorithm == PublicKeyAlgorithm.RSA_SIGN_ONLY
        else packet.algorithm
    )
    hasher = _hash_image(image, {(hash_id, False)})[hash_id, False]
    hasher.update(
        _openpgp.signature_trailer(
            sig_type=SignatureType.BINARY,
            pubkey_algorithm=algorithm,
            hash_algorithm=hash_id,
            hashed=hashed,
        )
    )
    digest = hasher.digest()
    body = _openpgp.signature_body(
        sig_type=SignatureType.BINARY,
        pubkey_algorithm=algorithm,
        hash_algorithm=hash_id,
        hashed=hashed,
        unhashed=unhashed,
        hash_prefix=digest[:2],
        values=_sign_values(private, hash_id, digest),
    )
    # Check our own work: a wrong key or a faulty computation must not ship.
    if not verify_digest(packet, _openpgp.parse_signature(body), digest):
        raise SigningError(
            "the new signature does not verify with the key's public part"
        )
    return _openpgp.armor(
        ARMOR_SIGNATURE, _openpgp.encode_packet(_openpgp.Tag.SIGNATURE, body)
    )
