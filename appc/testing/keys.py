"""Throwaway OpenPGP signing keys for tests, demos and the walkthrough.

Keys are made in-process with ``cryptography`` and written as standard
version 4 OpenPGP packets by ``appc`` itself: no gpg, no agent, no files.
gpg imports them and verifies their signatures (``appc``'s own test suite
checks that), so they stand in for real keys anywhere. The secret keys are
**not** protected by a passphrase: never use them for anything real.

>>> from appc.testing.keys import make_key
>>> key = make_key("Test Signer <test@example.com>")
>>> key.public.splitlines()[0], len(key.fingerprint)
(b'-----BEGIN PGP PUBLIC KEY BLOCK-----', 40)
"""

from __future__ import annotations

import time

from datetime import datetime, timedelta
from pathlib import Path
from typing import Literal

import attrs

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, rsa

from appc import _openpgp
from appc._openpgp import (
    ARMOR_PRIVATE_KEY,
    ARMOR_PUBLIC_KEY,
    CURVE_ED25519,
    CURVE_P256,
    CURVE_P384,
    HashAlgorithm,
    PublicKeyAlgorithm,
    SignatureType,
    SubpacketType,
    Tag,
    encode_mpi,
    encode_packet,
    encode_subpacket,
)
from appc._openpgp_keys import hash_for, sign_digest


__all__ = ["ALGORITHMS", "ThrowawayKey", "make_key"]

Algorithm = Literal["ed25519", "rsa2048", "rsa3072", "rsa4096", "nistp256", "nistp384"]

#: The key algorithms :func:`make_key` can make (gpg's names).
ALGORITHMS: tuple[Algorithm, ...] = (
    "ed25519",
    "rsa2048",
    "rsa3072",
    "rsa4096",
    "nistp256",
    "nistp384",
)

_PrivateKey = rsa.RSAPrivateKey | ec.EllipticCurvePrivateKey | ed25519.Ed25519PrivateKey

_FLAG_CERTIFY = 0x01
_FLAG_SIGN = 0x02


@attrs.frozen(kw_only=True)
class ThrowawayKey:
    """A key pair: armored public and (unprotected) secret key blocks, as ASCII bytes.

    ``signing_fingerprint`` is the subkey's when a subkey signs, else the primary's.
    """

    user_id: str
    fingerprint: str
    signing_fingerprint: str
    public: bytes = attrs.field(repr=False)
    secret: bytes = attrs.field(repr=False)

    def write(self, directory: str | Path) -> tuple[Path, Path]:
        """Write ``<fingerprint>.pub.asc`` and ``<fingerprint>.sec.asc`` into ``directory``.

        >>> import tempfile
        >>> from appc.testing.keys import make_key
        >>> with tempfile.TemporaryDirectory() as tmp:
        ...     public, secret = make_key().write(tmp)
        ...     public.name.endswith(".pub.asc"), oct(secret.stat().st_mode & 0o777)
        (True, '0o600')
        """
        folder = Path(directory)
        public = folder / f"{self.fingerprint}.pub.asc"
        secret = folder / f"{self.fingerprint}.sec.asc"
        public.write_bytes(self.public)
        secret.touch(mode=0o600)
        secret.write_bytes(self.secret)
        return public, secret


def _generate(algorithm: Algorithm) -> _PrivateKey:
    if algorithm.startswith("rsa"):
        return rsa.generate_private_key(
            public_exponent=65537, key_size=int(algorithm[3:])
        )
    if algorithm == "nistp256":
        return ec.generate_private_key(ec.SECP256R1())
    if algorithm == "nistp384":
        return ec.generate_private_key(ec.SECP384R1())
    if algorithm == "ed25519":
        return ed25519.Ed25519PrivateKey.generate()
    raise ValueError(
        f"unknown key algorithm {algorithm!r}: use one of {', '.join(ALGORITHMS)}"
    )


def _int(value: int) -> bytes:
    return encode_mpi(value.to_bytes((value.bit_length() + 7) // 8 or 1, "big"))


def _material(private: _PrivateKey) -> tuple[int, bytes, bytes]:
    """The algorithm, public material and secret MPIs of a key."""
    if isinstance(private, rsa.RSAPrivateKey):
        numbers = private.private_numbers()
        # OpenPGP wants p < q and u = p^-1 mod q.
        p, q = sorted((numbers.p, numbers.q))
        public = _int(numbers.public_numbers.n) + _int(numbers.public_numbers.e)
        secret = _int(numbers.d) + _int(p) + _int(q) + _int(pow(p, -1, q))
        return PublicKeyAlgorithm.RSA, public, secret
    if isinstance(private, ec.EllipticCurvePrivateKey):
        oid = CURVE_P256 if isinstance(private.curve, ec.SECP256R1) else CURVE_P384
        point = private.public_key().public_bytes(
            serialization.Encoding.X962, serialization.PublicFormat.UncompressedPoint
        )
        public = bytes([len(oid)]) + oid + encode_mpi(point)
        return (
            PublicKeyAlgorithm.ECDSA,
            public,
            _int(private.private_numbers().private_value),
        )
    raw_public = private.public_key().public_bytes(
        serialization.Encoding.Raw, serialization.PublicFormat.Raw
    )
    raw_secret = private.private_bytes(
        serialization.Encoding.Raw,
        serialization.PrivateFormat.Raw,
        serialization.NoEncryption(),
    )
    public = (
        bytes([len(CURVE_ED25519)]) + CURVE_ED25519 + encode_mpi(b"\x40" + raw_public)
    )
    return PublicKeyAlgorithm.EDDSA_LEGACY, public, encode_mpi(raw_secret)


@attrs.frozen
class _Part:
    private: _PrivateKey
    algorithm: int
    public_body: bytes
    secret_body: bytes
    fingerprint: bytes


def _part(private: _PrivateKey, created: int) -> _Part:
    algorithm, public, secret = _material(private)
    public_body = bytes([4]) + created.to_bytes(4, "big") + bytes([algorithm]) + public
    checksum = (sum(secret) % 65536).to_bytes(2, "big")
    key = _openpgp.parse_key_packet(Tag.PUBLIC_KEY, public_body)
    return _Part(
        private,
        algorithm,
        public_body,
        public_body + b"\x00" + secret + checksum,
        key.fingerprint,
    )


def _self_signature(
    signer: _Part,
    sig_type: int,
    prefix: bytes,
    created: int,
    extra: tuple[bytes, ...] = (),
) -> bytes:
    hashed = (
        encode_subpacket(
            SubpacketType.ISSUER_FINGERPRINT, b"\x04" + signer.fingerprint
        ),
        encode_subpacket(SubpacketType.CREATION_TIME, created.to_bytes(4, "big")),
        *extra,
    )
    hasher = hash_for(HashAlgorithm.SHA512)
    hasher.update(prefix)
    hasher.update(
        _openpgp.signature_trailer(
            sig_type=sig_type,
            pubkey_algorithm=signer.algorithm,
            hash_algorithm=HashAlgorithm.SHA512,
            hashed=hashed,
        )
    )
    digest = hasher.digest()
    return _openpgp.signature_body(
        sig_type=sig_type,
        pubkey_algorithm=signer.algorithm,
        hash_algorithm=HashAlgorithm.SHA512,
        hashed=hashed,
        unhashed=(
            encode_subpacket(SubpacketType.ISSUER_KEY_ID, signer.fingerprint[-8:]),
        ),
        hash_prefix=digest[:2],
        values=sign_digest(signer.private, HashAlgorithm.SHA512, digest),
    )


def _expiry(expires: timedelta | None) -> tuple[bytes, ...]:
    if expires is None:
        return ()
    return (
        encode_subpacket(
            SubpacketType.KEY_EXPIRATION_TIME,
            int(expires.total_seconds()).to_bytes(4, "big"),
        ),
    )


def make_key(
    user_id: str = "Throwaway Signer <signer@example.com>",
    *,
    algorithm: Algorithm = "ed25519",
    signing_subkey: bool = False,
    created: datetime | None = None,
    expires: timedelta | None = None,
) -> ThrowawayKey:
    """Make a throwaway signing key.

    With ``signing_subkey=True`` the primary key only certifies and a subkey of
    the same algorithm signs (with its back-signature), as many real keys do.
    ``created`` backdates the key; ``expires`` is its lifetime from creation.

    >>> from appc.testing.keys import make_key
    >>> key = make_key("Bob <bob@example.com>", signing_subkey=True)
    >>> key.signing_fingerprint != key.fingerprint
    True
    """
    when = int(created.timestamp() if created is not None else time.time())
    primary = _part(_generate(algorithm), when)
    uid = user_id.encode("utf-8")
    primary_prefix = _openpgp.key_hash_prefix(primary.public_body)
    flags = _FLAG_CERTIFY if signing_subkey else _FLAG_CERTIFY | _FLAG_SIGN
    certification = _self_signature(
        primary,
        SignatureType.POSITIVE_CERTIFICATION,
        primary_prefix + _openpgp.user_id_hash_prefix(uid),
        when,
        (
            encode_subpacket(SubpacketType.KEY_FLAGS, bytes([flags])),
            *_expiry(expires),
            encode_subpacket(SubpacketType.PREFERRED_HASH, bytes([10, 9, 8, 11])),
            encode_subpacket(SubpacketType.FEATURES, b"\x01"),
        ),
    )
    public = [
        encode_packet(Tag.PUBLIC_KEY, primary.public_body),
        encode_packet(Tag.USER_ID, uid),
    ]
    public.append(encode_packet(Tag.SIGNATURE, certification))
    secret = [encode_packet(Tag.SECRET_KEY, primary.secret_body), *public[1:]]
    signing = primary
    if signing_subkey:
        signing = _part(_generate(algorithm), when)
        prefix = primary_prefix + _openpgp.key_hash_prefix(signing.public_body)
        back = _self_signature(signing, SignatureType.PRIMARY_KEY_BINDING, prefix, when)
        binding = _self_signature(
            primary,
            SignatureType.SUBKEY_BINDING,
            prefix,
            when,
            (
                encode_subpacket(SubpacketType.KEY_FLAGS, bytes([_FLAG_SIGN])),
                *_expiry(expires),
                encode_subpacket(SubpacketType.EMBEDDED_SIGNATURE, back),
            ),
        )
        public += [
            encode_packet(Tag.PUBLIC_SUBKEY, signing.public_body),
            encode_packet(Tag.SIGNATURE, binding),
        ]
        secret += [
            encode_packet(Tag.SECRET_SUBKEY, signing.secret_body),
            encode_packet(Tag.SIGNATURE, binding),
        ]
    return ThrowawayKey(
        user_id=user_id,
        fingerprint=primary.fingerprint.hex(),
        signing_fingerprint=signing.fingerprint.hex(),
        public=_openpgp.armor(ARMOR_PUBLIC_KEY, b"".join(public)).encode("ascii"),
        secret=_openpgp.armor(ARMOR_PRIVATE_KEY, b"".join(secret)).encode("ascii"),
    )
