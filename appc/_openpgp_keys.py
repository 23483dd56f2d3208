"""OpenPGP certificates: checking self-signatures, bindings and revocations.

Internal to :mod:`appc.signing` and :mod:`appc.trust`. A :class:`Certificate`
is a primary key with the parts of it that are *cryptographically* proven by
the primary key itself: certified user IDs, direct-key signatures, bound
subkeys (with their back-signatures) and revocations. Forged or spliced parts
are dropped here (pgpy keeps them, security.md B.2); whether a proven part is
usable *now* (expiry, flags, revocation) is decided by :mod:`appc.signing`.

>>> sorted(HASH_NAMES.values())
['md5', 'ripemd160', 'sha1', 'sha224', 'sha256', 'sha384', 'sha512']
"""

from __future__ import annotations

import hashlib

from collections.abc import Sequence
from typing import Protocol, Self

import attrs

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, padding, rsa
from cryptography.hazmat.primitives.asymmetric.utils import (
    Prehashed,
    decode_dss_signature,
    encode_dss_signature,
)

from appc._openpgp import (
    CURVE_ED25519,
    CURVE_P256,
    CURVE_P384,
    CURVE_P521,
    FormatError,
    HashAlgorithm,
    KeyPacket,
    Packet,
    PublicKeyAlgorithm,
    Signature,
    SignatureType,
    Tag,
    encode_mpi,
    encode_packet,
    key_hash_prefix,
    parse_key_packet,
    parse_signature,
    read_packets,
    user_id_hash_prefix,
)


__all__ = [
    "CERTIFICATION_HASHES",
    "HASH_NAMES",
    "MAX_RSA_BITS",
    "Binding",
    "Certificate",
    "Hasher",
    "Subkey",
    "UnusableKey",
    "UserID",
    "hash_for",
    "load_certificates",
    "merge_certificates",
    "sign_digest",
    "verify_digest",
]

# hashlib names for the OpenPGP hash numbers we can compute.
HASH_NAMES: dict[int, str] = {
    HashAlgorithm.MD5: "md5",
    HashAlgorithm.SHA1: "sha1",
    HashAlgorithm.RIPEMD160: "ripemd160",
    HashAlgorithm.SHA256: "sha256",
    HashAlgorithm.SHA384: "sha384",
    HashAlgorithm.SHA512: "sha512",
    HashAlgorithm.SHA224: "sha224",
}

_PREHASHED: dict[int, type[hashes.HashAlgorithm]] = {
    HashAlgorithm.SHA1: hashes.SHA1,
    HashAlgorithm.SHA256: hashes.SHA256,
    HashAlgorithm.SHA384: hashes.SHA384,
    HashAlgorithm.SHA512: hashes.SHA512,
    HashAlgorithm.SHA224: hashes.SHA224,
}

# Hashes accepted on self-signatures (user ID certifications, subkey bindings,
# back-signatures, revocations). SHA-1 stays allowed here, as gpg 2.2 allows
# it: the key owner makes these over their own key, so a collision buys them
# nothing they could not sign directly. Document signatures are stricter
# (appc.signing.DOCUMENT_HASHES).
CERTIFICATION_HASHES = frozenset(
    {
        HashAlgorithm.SHA1,
        HashAlgorithm.SHA224,
        HashAlgorithm.SHA256,
        HashAlgorithm.SHA384,
        HashAlgorithm.SHA512,
    }
)

# Larger RSA moduli only cost time; gpg itself stops at 4096 (16384 in expert mode).
MAX_RSA_BITS = 16384

_EC_CURVES: dict[bytes, ec.EllipticCurve] = {
    CURVE_P256: ec.SECP256R1(),
    CURVE_P384: ec.SECP384R1(),
    CURVE_P521: ec.SECP521R1(),
}

_RSA_SIGNING = frozenset({PublicKeyAlgorithm.RSA, PublicKeyAlgorithm.RSA_SIGN_ONLY})

_CERTIFICATIONS = frozenset(
    {
        SignatureType.GENERIC_CERTIFICATION,
        SignatureType.PERSONA_CERTIFICATION,
        SignatureType.CASUAL_CERTIFICATION,
        SignatureType.POSITIVE_CERTIFICATION,
    }
)


class UnusableKey(Exception):
    """A key whose algorithm or material ``appc`` cannot verify with."""


class Hasher(Protocol):
    """What ``appc`` needs of a hashlib object."""

    def update(self, data: bytes | bytearray | memoryview, /) -> None: ...
    def digest(self) -> bytes: ...
    def copy(self) -> Self: ...


def hash_for(algorithm: int) -> Hasher:
    """A new hashlib object for an OpenPGP hash number.

    >>> hash_for(HashAlgorithm.SHA256).name
    'sha256'
    """
    name = HASH_NAMES.get(algorithm)
    if name is None:
        raise UnusableKey(f"hash algorithm {algorithm} is not supported")
    try:
        return hashlib.new(name)
    except ValueError as exc:  # pragma: no cover -- OpenSSL builds without RIPEMD-160
        raise UnusableKey(f"hash algorithm {name} is not available") from exc


def _public_key(
    key: KeyPacket,
) -> rsa.RSAPublicKey | ec.EllipticCurvePublicKey | ed25519.Ed25519PublicKey:
    try:
        if key.algorithm in _RSA_SIGNING:
            modulus, exponent = (int.from_bytes(v, "big") for v in key.values)
            if modulus.bit_length() > MAX_RSA_BITS:
                raise UnusableKey(
                    f"RSA keys over {MAX_RSA_BITS} bits are not supported"
                )
            return rsa.RSAPublicNumbers(exponent, modulus).public_key()
        if key.algorithm == PublicKeyAlgorithm.ECDSA:
            curve = _EC_CURVES.get(key.curve or b"")
            if curve is None:
                raise UnusableKey("ECDSA keys on this curve are not supported")
            return ec.EllipticCurvePublicKey.from_encoded_point(curve, key.values[0])
        if key.algorithm == PublicKeyAlgorithm.EDDSA_LEGACY:
            point = key.values[0]
            if key.curve != CURVE_ED25519 or len(point) != 33 or point[0] != 0x40:
                raise UnusableKey("EdDSA keys other than Ed25519 are not supported")
            return ed25519.Ed25519PublicKey.from_public_bytes(point[1:])
    except ValueError as exc:
        raise UnusableKey(f"the key material is invalid: {exc}") from exc
    # Parsed keys always have a known algorithm number.
    name = PublicKeyAlgorithm(key.algorithm).name
    raise UnusableKey(f"public-key algorithm {name} cannot sign")


def verify_digest(key: KeyPacket, signature: Signature, digest: bytes) -> bool:
    """Whether ``signature`` is ``key``'s signature of ``digest`` (the math only).

    Raises :class:`UnusableKey` when the key cannot make signatures we check.
    """
    public = _public_key(key)
    if signature.pubkey_algorithm != key.algorithm and not (
        signature.pubkey_algorithm in _RSA_SIGNING and key.algorithm in _RSA_SIGNING
    ):
        return False
    prehashed = _PREHASHED.get(signature.hash_algorithm)
    if prehashed is None:
        return False
    try:
        if isinstance(public, rsa.RSAPublicKey):
            size = (public.key_size + 7) // 8
            value = signature.values[0]
            if len(value) > size:
                return False
            public.verify(
                value.rjust(size, b"\x00"),
                digest,
                padding.PKCS1v15(),
                Prehashed(prehashed()),
            )
        elif isinstance(public, ec.EllipticCurvePublicKey):
            r, s = (int.from_bytes(v, "big") for v in signature.values)
            public.verify(
                encode_dss_signature(r, s), digest, ec.ECDSA(Prehashed(prehashed()))
            )
        else:
            r_bytes, s_bytes = signature.values
            if len(r_bytes) > 32 or len(s_bytes) > 32:
                return False
            # GnuPG's legacy EdDSA signs the digest, not the message itself.
            public.verify(
                r_bytes.rjust(32, b"\x00") + s_bytes.rjust(32, b"\x00"), digest
            )
    except (InvalidSignature, ValueError):
        return False
    return True


def _int_bytes(value: int) -> bytes:
    return value.to_bytes((value.bit_length() + 7) // 8 or 1, "big")


def sign_digest(private: object, algorithm: int, digest: bytes) -> tuple[bytes, ...]:
    """Sign ``digest`` (made with OpenPGP hash ``algorithm``); return the encoded MPIs.

    ``private`` is a ``cryptography`` RSA, ECDSA or Ed25519 private key.
    Raises :class:`UnusableKey` for anything else.
    """
    prehashed = _PREHASHED[algorithm]()
    if isinstance(private, rsa.RSAPrivateKey):
        return (
            encode_mpi(private.sign(digest, padding.PKCS1v15(), Prehashed(prehashed))),
        )
    if isinstance(private, ec.EllipticCurvePrivateKey):
        r, s = decode_dss_signature(
            private.sign(digest, ec.ECDSA(Prehashed(prehashed)))
        )
        return (encode_mpi(_int_bytes(r)), encode_mpi(_int_bytes(s)))
    if isinstance(private, ed25519.Ed25519PrivateKey):
        # GnuPG's legacy EdDSA signs the digest, not the message itself.
        raw = private.sign(digest)
        return (encode_mpi(raw[:32]), encode_mpi(raw[32:]))
    raise UnusableKey(f"cannot sign with a {type(private).__name__}")


def _digest(signature: Signature, prefix: bytes) -> bytes | None:
    if (
        signature.hash_algorithm not in CERTIFICATION_HASHES
        or signature.unknown_critical
    ):
        return None
    hasher = hash_for(signature.hash_algorithm)
    hasher.update(prefix)
    hasher.update(signature.trailer())
    digest = hasher.digest()
    return digest if digest[:2] == signature.hash_prefix else None


def _signed_by(signer: KeyPacket, signature: Signature, prefix: bytes) -> bool:
    """Whether ``signer`` made ``signature`` over ``prefix`` (a key signature)."""
    named = (
        signature.issuer_fingerprint is not None or signature.issuer_key_id is not None
    )
    if named and not signature.issued_by(signer.fingerprint):
        return False
    if signature.created < signer.created:
        return False
    digest = _digest(signature, prefix)
    if digest is None:
        return False
    try:
        return verify_digest(signer, signature, digest)
    except UnusableKey:
        return False


@attrs.frozen(kw_only=True)
class UserID:
    """A user ID with its valid self-certifications and self-revocations."""

    value: bytes
    certifications: tuple[Signature, ...]
    revocations: tuple[Signature, ...]

    @property
    def text(self) -> str:
        """The user ID as text (invalid UTF-8 replaced)."""
        return self.value.decode("utf-8", "replace")


@attrs.frozen(kw_only=True)
class Binding:
    """A valid subkey binding signature, and whether its back-signature is valid."""

    signature: Signature
    back_signed: bool


@attrs.frozen(kw_only=True)
class Subkey:
    """A subkey with its valid bindings and revocations (both may be empty)."""

    packet: KeyPacket
    bindings: tuple[Binding, ...]
    revocations: tuple[Signature, ...]


@attrs.frozen(kw_only=True)
class Certificate:
    """A primary key and what its own signatures prove about it."""

    primary: KeyPacket
    direct: tuple[Signature, ...]
    revocations: tuple[Signature, ...]
    user_ids: tuple[UserID, ...]
    subkeys: tuple[Subkey, ...]
    public_packets: bytes
    has_secret: bool


@attrs.define
class _Component:
    # The primary key, a subkey (KeyPacket), a user ID (bytes), or a part we
    # do not use (None: user attributes, unknown packets).
    payload: bytes | KeyPacket | None
    signatures: list[Signature] = attrs.field(factory=list[Signature])


def _parse_optional(packet: Packet) -> Signature | None:
    # A signature we cannot read (version 3, odd algorithm) on a key is
    # ignored rather than fatal: third parties certify keys in many ways.
    try:
        return parse_signature(packet.body)
    except FormatError:
        return None


_KEY_TAGS = frozenset({Tag.PUBLIC_KEY, Tag.SECRET_KEY})
_SUBKEY_TAGS = frozenset({Tag.PUBLIC_SUBKEY, Tag.SECRET_SUBKEY})


def _split(packets: Sequence[Packet]) -> list[list[Packet]]:
    groups: list[list[Packet]] = []
    for packet in packets:
        if packet.tag in _KEY_TAGS:
            groups.append([packet])
        elif packet.tag in {Tag.MARKER, Tag.TRUST}:
            continue
        elif not groups:
            raise FormatError(
                f"key data starts with a packet of tag {packet.tag}, not a key"
            )
        else:
            groups[-1].append(packet)
    return groups


def _components(group: Sequence[Packet]) -> tuple[KeyPacket, list[_Component]]:
    primary = parse_key_packet(group[0].tag, group[0].body)
    components = [_Component(primary)]
    for packet in group[1:]:
        if packet.tag == Tag.SIGNATURE:
            signature = _parse_optional(packet)
            if signature is not None:
                components[-1].signatures.append(signature)
        elif packet.tag == Tag.USER_ID:
            components.append(_Component(bytes(packet.body)))
        elif packet.tag in _SUBKEY_TAGS:
            components.append(_Component(parse_key_packet(packet.tag, packet.body)))
        else:
            # User attributes (photos) and unknown packets: we use neither,
            # and their signatures must not attach to the previous part.
            components.append(_Component(None))
    return primary, components


def _subkey(
    primary: KeyPacket, subkey: KeyPacket, signatures: list[Signature]
) -> Subkey:
    prefix = key_hash_prefix(primary.public_body) + key_hash_prefix(subkey.public_body)
    bindings: list[Binding] = []
    revocations: list[Signature] = []
    for signature in signatures:
        if signature.type == SignatureType.SUBKEY_BINDING and _signed_by(
            primary, signature, prefix
        ):
            bindings.append(
                Binding(
                    signature=signature,
                    back_signed=_back_signed(subkey, signature, prefix),
                )
            )
        elif signature.type == SignatureType.SUBKEY_REVOCATION and _signed_by(
            primary, signature, prefix
        ):
            revocations.append(signature)
    return Subkey(
        packet=subkey, bindings=tuple(bindings), revocations=tuple(revocations)
    )


def _back_signed(subkey: KeyPacket, binding: Signature, prefix: bytes) -> bool:
    for embedded in binding.embedded:
        try:
            back = parse_signature(embedded)
        except FormatError:
            continue
        if back.type == SignatureType.PRIMARY_KEY_BINDING and _signed_by(
            subkey, back, prefix
        ):
            return True
    return False


def _certificate(group: Sequence[Packet]) -> Certificate:
    primary, components = _components(group)
    own = key_hash_prefix(primary.public_body)
    direct: list[Signature] = []
    user_ids: list[UserID] = []
    subkeys: list[Subkey] = []
    for component in components:
        payload = component.payload
        if payload is primary:
            direct = [
                s
                for s in component.signatures
                if s.type == SignatureType.DIRECT_KEY and _signed_by(primary, s, own)
            ]
        elif isinstance(payload, KeyPacket):
            subkeys.append(_subkey(primary, payload, component.signatures))
        elif isinstance(payload, bytes):
            prefix = own + user_id_hash_prefix(payload)
            certifications = tuple(
                s
                for s in component.signatures
                if s.type in _CERTIFICATIONS and _signed_by(primary, s, prefix)
            )
            uid_revocations = tuple(
                s
                for s in component.signatures
                if s.type == SignatureType.CERTIFICATION_REVOCATION
                and _signed_by(primary, s, prefix)
            )
            if certifications:
                user_ids.append(
                    UserID(
                        value=payload,
                        certifications=certifications,
                        revocations=uid_revocations,
                    )
                )
    # A key revocation belongs right after the primary key, but one appended
    # anywhere (`cat key.asc revocation.asc`) still revokes: failing safe.
    revocations = [
        s
        for component in components
        for s in component.signatures
        if s.type == SignatureType.KEY_REVOCATION and _signed_by(primary, s, own)
    ]
    packets = b"".join(_public_packet(p) for p in group)
    return Certificate(
        primary=primary,
        direct=tuple(direct),
        revocations=tuple(revocations),
        user_ids=tuple(user_ids),
        subkeys=tuple(subkeys),
        public_packets=packets,
        has_secret=primary.secret_body is not None,
    )


def _public_packet(packet: Packet) -> bytes:
    # What a public export of this certificate holds: secret parts stripped.
    if packet.tag in _KEY_TAGS | _SUBKEY_TAGS:
        key = parse_key_packet(packet.tag, packet.body)
        tag = Tag.PUBLIC_SUBKEY if key.is_subkey else Tag.PUBLIC_KEY
        return encode_packet(tag, key.public_body)
    return encode_packet(packet.tag, bytes(packet.body))


def merge_certificates(first: Certificate, second: Certificate) -> Certificate:
    """One certificate from two copies of the same key: every part of both counts.

    A revocation or a new subkey in either copy must not be lost because the
    other copy came first.
    """
    if first.primary.fingerprint != second.primary.fingerprint:
        raise ValueError("cannot merge the certificates of two different keys")
    packets = (
        read_packets(first.public_packets) + read_packets(second.public_packets)[1:]
    )
    return _certificate(packets)


def load_certificates(packets: Sequence[Packet]) -> list[Certificate]:
    """Group packets into certificates and check every self-signature.

    >>> load_certificates([])
    []
    """
    return [_certificate(group) for group in _split(packets)]
