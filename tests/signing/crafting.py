"""Craft the OpenPGP inputs gpg refuses to make: wrong signature types, signatures
by keys that must not sign, spliced subkeys, unknown critical subpackets.

They are built with appc's packet writer and the secret keys gpg generated;
the verdict each must get comes from gpg itself (see test_verify_gpg.py).
"""

# pyright: reportPrivateUsage=false
# (these tests reach into appc's internals on purpose)

from __future__ import annotations

import hashlib

from collections.abc import Sequence

from appc import _openpgp, signing
from appc._openpgp import (
    HashAlgorithm,
    KeyPacket,
    PublicKeyAlgorithm,
    SignatureType,
    SubpacketType,
    Tag,
    encode_packet,
    encode_subpacket,
)
from appc._openpgp_keys import hash_for, sign_digest
from cryptography.hazmat.primitives.asymmetric import ed25519


__all__ = ["SecretKey", "armored", "fresh_ed25519", "make_signature", "secret_keys"]


class SecretKey:
    """One unlocked secret key (primary or subkey) of a gpg export."""

    def __init__(self, packet: KeyPacket, private: object) -> None:
        self.packet = packet
        self.private = private

    @property
    def fingerprint(self) -> str:
        return self.packet.fingerprint.hex()


def secret_keys(data: bytes, passphrase: str | None = None) -> dict[str, SecretKey]:
    """Every secret key in a secret key export, by fingerprint."""
    certificate = signing._secret_certificate(data)
    packets = [certificate.primary, *(s.packet for s in certificate.subkeys)]
    return {
        p.fingerprint.hex(): SecretKey(p, signing._private_key(p, passphrase))
        for p in packets
        # ECDH subkeys only decrypt: nothing here signs with them.
        if signing._secret_available(p) and p.algorithm != PublicKeyAlgorithm.ECDH
    }


def fresh_ed25519(created: int) -> SecretKey:
    """A new Ed25519 key that no certificate binds yet."""
    private = ed25519.Ed25519PrivateKey.generate()
    raw = private.public_key().public_bytes_raw()
    oid = _openpgp.CURVE_ED25519
    body = (
        bytes([4])
        + created.to_bytes(4, "big")
        + bytes([22, len(oid)])
        + oid
        + _openpgp.encode_mpi(b"\x40" + raw)
    )
    return SecretKey(_openpgp.parse_key_packet(Tag.PUBLIC_SUBKEY, body), private)


def make_signature(
    key: SecretKey,
    prefix: bytes,
    *,
    sig_type: int = SignatureType.BINARY,
    hash_algorithm: int = HashAlgorithm.SHA256,
    created: int,
    hashed: Sequence[bytes] = (),
    issuer: bool = True,
) -> bytes:
    """A signature packet body by ``key`` over ``prefix`` (data, or key material)."""
    subpackets = [
        encode_subpacket(SubpacketType.CREATION_TIME, created.to_bytes(4, "big"))
    ]
    if issuer:
        subpackets.insert(
            0,
            encode_subpacket(
                SubpacketType.ISSUER_FINGERPRINT, b"\x04" + key.packet.fingerprint
            ),
        )
    subpackets += hashed
    hasher = hash_for(hash_algorithm)
    hasher.update(prefix)
    hasher.update(
        _openpgp.signature_trailer(
            sig_type=sig_type,
            pubkey_algorithm=key.packet.algorithm,
            hash_algorithm=hash_algorithm,
            hashed=subpackets,
        )
    )
    digest = hasher.digest()
    unhashed = (
        [encode_subpacket(SubpacketType.ISSUER_KEY_ID, key.packet.key_id)]
        if issuer
        else []
    )
    return _openpgp.signature_body(
        sig_type=sig_type,
        pubkey_algorithm=key.packet.algorithm,
        hash_algorithm=hash_algorithm,
        hashed=subpackets,
        unhashed=unhashed,
        hash_prefix=digest[:2],
        values=sign_digest(key.private, hash_algorithm, digest),
    )


def armored(*bodies: bytes) -> bytes:
    """Signature packet bodies as an armored signature file."""
    packets = b"".join(encode_packet(Tag.SIGNATURE, body) for body in bodies)
    return _openpgp.armor(_openpgp.ARMOR_SIGNATURE, packets).encode()


def key_prefix(*keys: KeyPacket) -> bytes:
    """What a key signature over these keys hashes first."""
    return b"".join(_openpgp.key_hash_prefix(k.public_body) for k in keys)


def sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()
