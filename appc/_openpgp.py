"""The OpenPGP wire format that ``appc`` reads and writes (RFC 4880, version 4).

Internal to :mod:`appc.signing` and :mod:`appc.trust`: ASCII armor, packet
framing, signature and key packets, subpackets, and the bytes each kind of
signature hashes. Nothing here decides whether a signature is *good*; that
policy lives in :mod:`appc.signing`. Every parse error is a
:class:`FormatError`, which callers translate into the public error for what
they were reading (a signature or a key).

Only version 4 keys and signatures are read: that is what gpg 2.2 and every
rkt-era tool make, and what the appc spec's examples use.

>>> body = bytes(read_packets(b"\\xb4\\x03bob")[0].body)
>>> body
b'bob'
"""

from __future__ import annotations

import base64
import binascii
import enum
import hashlib
import re

from collections.abc import Iterable, Iterator

import attrs


__all__ = [
    "ARMOR_PRIVATE_KEY",
    "ARMOR_PUBLIC_KEY",
    "ARMOR_SIGNATURE",
    "CURVE_ED25519",
    "CURVE_NAMES",
    "CURVE_P256",
    "CURVE_P384",
    "CURVE_P521",
    "FormatError",
    "HashAlgorithm",
    "KeyPacket",
    "Packet",
    "PublicKeyAlgorithm",
    "Signature",
    "SignatureType",
    "Subpacket",
    "SubpacketType",
    "Tag",
    "armor",
    "crc24",
    "dearmor",
    "encode_mpi",
    "encode_packet",
    "encode_subpacket",
    "iter_signature_packets",
    "key_hash_prefix",
    "looks_armored",
    "parse_key_packet",
    "parse_signature",
    "plain_secret_values",
    "read_packets",
    "signature_body",
    "signature_trailer",
    "user_id_hash_prefix",
]


class FormatError(Exception):
    """Bytes that are not the OpenPGP ``appc`` reads; callers translate it."""


class Tag(enum.IntEnum):
    """Packet tags ``appc`` knows (RFC 4880 section 4.3)."""

    SIGNATURE = 2
    SECRET_KEY = 5
    PUBLIC_KEY = 6
    SECRET_SUBKEY = 7
    MARKER = 10
    TRUST = 12
    USER_ID = 13
    PUBLIC_SUBKEY = 14
    USER_ATTRIBUTE = 17


class PublicKeyAlgorithm(enum.IntEnum):
    """Public-key algorithm numbers (RFC 4880 section 9.1, RFC 9580 section 9.1)."""

    RSA = 1
    RSA_ENCRYPT_ONLY = 2
    RSA_SIGN_ONLY = 3
    ELGAMAL = 16
    DSA = 17
    ECDH = 18
    ECDSA = 19
    EDDSA_LEGACY = 22
    X25519 = 25
    X448 = 26
    ED25519 = 27
    ED448 = 28


class HashAlgorithm(enum.IntEnum):
    """Hash algorithm numbers (RFC 4880 section 9.4, RFC 9580 section 9.5)."""

    MD5 = 1
    SHA1 = 2
    RIPEMD160 = 3
    SHA256 = 8
    SHA384 = 9
    SHA512 = 10
    SHA224 = 11
    SHA3_256 = 12
    SHA3_512 = 14


class SignatureType(enum.IntEnum):
    """Signature types (RFC 4880 section 5.2.1)."""

    BINARY = 0x00
    TEXT = 0x01
    STANDALONE = 0x02
    GENERIC_CERTIFICATION = 0x10
    PERSONA_CERTIFICATION = 0x11
    CASUAL_CERTIFICATION = 0x12
    POSITIVE_CERTIFICATION = 0x13
    SUBKEY_BINDING = 0x18
    PRIMARY_KEY_BINDING = 0x19
    DIRECT_KEY = 0x1F
    KEY_REVOCATION = 0x20
    SUBKEY_REVOCATION = 0x28
    CERTIFICATION_REVOCATION = 0x30
    TIMESTAMP = 0x40
    THIRD_PARTY_CONFIRMATION = 0x50


class SubpacketType(enum.IntEnum):
    """Signature subpacket types ``appc`` reads (RFC 4880 section 5.2.3.1)."""

    CREATION_TIME = 2
    EXPIRATION_TIME = 3
    EXPORTABLE = 4
    REVOCABLE = 7
    KEY_EXPIRATION_TIME = 9
    PREFERRED_SYMMETRIC = 11
    ISSUER_KEY_ID = 16
    PREFERRED_HASH = 21
    PREFERRED_COMPRESSION = 22
    KEYSERVER_PREFERENCES = 23
    PRIMARY_USER_ID = 25
    KEY_FLAGS = 27
    SIGNERS_USER_ID = 28
    REVOCATION_REASON = 29
    FEATURES = 30
    EMBEDDED_SIGNATURE = 32
    ISSUER_FINGERPRINT = 33


# A critical subpacket we do not understand makes the whole signature invalid
# (RFC 4880 section 5.2.3.1); these are the ones we understand well enough.
_UNDERSTOOD_SUBPACKETS = frozenset(int(t) for t in SubpacketType)

# Curve OIDs (RFC 6637, RFC 9580 section 9.2), as the bytes in key packets.
CURVE_P256 = bytes.fromhex("2a8648ce3d030107")
CURVE_P384 = bytes.fromhex("2b81040022")
CURVE_P521 = bytes.fromhex("2b81040023")
CURVE_ED25519 = bytes.fromhex("2b06010401da470f01")
_CURVE_25519 = bytes.fromhex("2b060104019755010501")
CURVE_NAMES = {
    CURVE_P256: "P-256",
    CURVE_P384: "P-384",
    CURVE_P521: "P-521",
    CURVE_ED25519: "Ed25519",
    _CURVE_25519: "Curve25519",
}

ARMOR_SIGNATURE = "PGP SIGNATURE"
ARMOR_PUBLIC_KEY = "PGP PUBLIC KEY BLOCK"
ARMOR_PRIVATE_KEY = "PGP PRIVATE KEY BLOCK"


# -- ASCII armor (RFC 4880 section 6) -----------------------------------------

_CRC24_INIT = 0xB704CE
_CRC24_POLY = 0x1864CFB


def _crc24_table() -> tuple[int, ...]:
    table: list[int] = []
    for byte in range(256):
        crc = byte << 16
        for _ in range(8):
            crc <<= 1
            if crc & 0x1000000:
                crc ^= _CRC24_POLY
        table.append(crc & 0xFFFFFF)
    return tuple(table)


_CRC24_TABLE = _crc24_table()


def crc24(data: bytes) -> int:
    """The armor checksum of ``data`` (RFC 4880 section 6.1).

    >>> hex(crc24(b""))
    '0xb704ce'
    """
    crc = _CRC24_INIT
    table = _CRC24_TABLE
    for byte in data:
        crc = ((crc << 8) & 0xFFFFFF) ^ table[(crc >> 16) ^ byte]
    return crc


_BEGIN = re.compile(r"-----BEGIN ([A-Z0-9 ,/]+)-----")
_END = re.compile(r"-----END ([A-Z0-9 ,/]+)-----")
_HEADER = re.compile(r"[A-Za-z][A-Za-z0-9-]*: .*")
_BASE64_LINE = re.compile(r"[A-Za-z0-9+/=]*")
_CHECKSUM = re.compile(r"=[A-Za-z0-9+/]{4}")


def looks_armored(data: bytes) -> bool:
    """Whether ``data`` is ASCII armor rather than binary packets.

    A binary packet starts with a byte whose high bit is set; armor is text.

    >>> looks_armored(b"-----BEGIN PGP SIGNATURE-----"), looks_armored(b"\\x88\\x00")
    (True, False)
    """
    stripped = data.lstrip(b" \t\r\n")
    return not stripped or stripped[0] < 0x80


def dearmor(data: bytes, label: str) -> bytes:
    """The packets in every armored block of ``data`` labelled ``label``.

    Text outside the blocks is ignored, as gpg does; a block with another label,
    bad base64, a wrong checksum or a missing END line is a :class:`FormatError`.

    >>> dearmor(armor(ARMOR_SIGNATURE, b"abc").encode(), ARMOR_SIGNATURE)
    b'abc'
    """
    lines = data.decode("latin-1").split("\n")
    bodies: list[bytes] = []
    index = 0
    while index < len(lines):
        line = lines[index].strip()
        index += 1
        begin = _BEGIN.fullmatch(line)
        if begin is None:
            continue
        found = begin.group(1)
        if found != label:
            raise FormatError(f"expected an armored {label!r} block, found {found!r}")
        body, index = _read_armor_block(lines, index, label)
        bodies.append(body)
    if not bodies:
        raise FormatError(f"no armored {label!r} block found")
    return b"".join(bodies)


def _read_armor_block(lines: list[str], index: int, label: str) -> tuple[bytes, int]:
    # Armor headers ("Version: ..."), then an optional blank line.
    while index < len(lines) and _HEADER.fullmatch(lines[index].strip()):
        index += 1
    body_lines: list[str] = []
    checksum: str | None = None
    while True:
        if index >= len(lines):
            raise FormatError(f"armored {label!r} block has no END line")
        line = lines[index].strip()
        index += 1
        end = _END.fullmatch(line)
        if end is not None:
            if end.group(1) != label:
                raise FormatError(
                    f"armored block starts as {label!r} but ends as {end.group(1)!r}"
                )
            break
        if not line:
            continue
        if checksum is not None:
            raise FormatError("armored block has data after its checksum line")
        if line.startswith("=") and len(line) == 5:
            if not _CHECKSUM.fullmatch(line):
                raise FormatError("armor checksum is not valid base64")
            checksum = line[1:]
            continue
        if not _BASE64_LINE.fullmatch(line):
            raise FormatError("armored block has a line that is not base64")
        body_lines.append(line)
    try:
        body = binascii.a2b_base64("".join(body_lines), strict_mode=True)
    except binascii.Error as exc:
        raise FormatError(f"armored block is not valid base64: {exc}") from exc
    if checksum is not None:
        expected = base64.b64decode(checksum)
        if int.from_bytes(expected, "big") != crc24(body):
            raise FormatError("armor checksum does not match: the block is corrupt")
    return body, index


def armor(label: str, body: bytes) -> str:
    """ASCII-armor ``body`` under ``label``, as gpg writes it (64-column lines, checksum).

    >>> print(armor(ARMOR_SIGNATURE, b"abc"))
    -----BEGIN PGP SIGNATURE-----
    <BLANKLINE>
    YWJj
    =...
    -----END PGP SIGNATURE-----
    <BLANKLINE>
    """
    encoded = base64.b64encode(body).decode("ascii")
    lines = [f"-----BEGIN {label}-----", ""]
    lines.extend(encoded[i : i + 64] for i in range(0, len(encoded), 64))
    checksum = base64.b64encode(crc24(body).to_bytes(3, "big")).decode("ascii")
    lines.append(f"={checksum}")
    lines.append(f"-----END {label}-----")
    return "\n".join(lines) + "\n"


# -- Packet framing (RFC 4880 section 4.2) ------------------------------------


@attrs.frozen
class Packet:
    """One packet: its tag and its body (a view into the input)."""

    tag: int
    body: memoryview


class _Reader:
    """A cursor over bytes that raises :class:`FormatError` when they run out."""

    __slots__ = ("_data", "_pos")

    def __init__(self, data: memoryview | bytes) -> None:
        self._data = memoryview(data)
        self._pos = 0

    @property
    def remaining(self) -> int:
        return len(self._data) - self._pos

    @property
    def position(self) -> int:
        return self._pos

    def take(self, count: int, what: str) -> memoryview:
        if count > self.remaining:
            raise FormatError(f"truncated {what}")
        view = self._data[self._pos : self._pos + count]
        self._pos += count
        return view

    def u8(self, what: str) -> int:
        return self.take(1, what)[0]

    def uint(self, size: int, what: str) -> int:
        return int.from_bytes(self.take(size, what), "big")

    def rest(self) -> memoryview:
        return self.take(self.remaining, "")

    def mpi(self, what: str) -> bytes:
        bits = self.uint(2, what)
        value = bytes(self.take((bits + 7) // 8, what))
        return value.lstrip(b"\x00")


def read_packets(data: bytes | memoryview) -> list[Packet]:
    """Split binary OpenPGP data into packets.

    Partial and indeterminate lengths are refused: they are only allowed for
    data packets, which never appear in signatures or keys.

    >>> [(p.tag, bytes(p.body)) for p in read_packets(b"\\xcd\\x02hi")]
    [(13, b'hi')]
    """
    reader = _Reader(data)
    packets: list[Packet] = []
    while reader.remaining:
        header = reader.u8("packet header")
        if not header & 0x80:
            raise FormatError(
                f"byte {reader.position - 1} is not the start of a packet"
            )
        if header & 0x40:
            tag = header & 0x3F
            first = reader.u8("packet length")
            if first < 192:
                length = first
            elif first < 224:
                length = ((first - 192) << 8) + reader.u8("packet length") + 192
            elif first == 255:
                length = reader.uint(4, "packet length")
            else:
                raise FormatError("partial body lengths are not allowed here")
        else:
            tag = (header >> 2) & 0x0F
            length_type = header & 0x03
            if length_type == 3:
                raise FormatError("indeterminate packet lengths are not allowed here")
            length = reader.uint(1 << length_type, "packet length")
        packets.append(Packet(tag, reader.take(length, f"packet (tag {tag})")))
    return packets


def _encode_length(length: int) -> bytes:
    if length < 192:
        return bytes([length])
    if length < 8384:
        length -= 192
        return bytes([(length >> 8) + 192, length & 0xFF])
    return b"\xff" + length.to_bytes(4, "big")


def encode_packet(tag: int, body: bytes) -> bytes:
    """One packet in the new format.

    >>> encode_packet(Tag.USER_ID, b"hi")
    b'\\xcd\\x02hi'
    """
    return bytes([0xC0 | tag]) + _encode_length(len(body)) + body


def encode_mpi(value: bytes) -> bytes:
    """A multiprecision integer from its big-endian bytes (leading zeros dropped).

    >>> encode_mpi(b"\\x00\\x01")
    b'\\x00\\x01\\x01'
    """
    value = value.lstrip(b"\x00")
    bits = (len(value) - 1) * 8 + value[0].bit_length() if value else 0
    return bits.to_bytes(2, "big") + value


# -- Signatures (RFC 4880 section 5.2) ----------------------------------------


@attrs.frozen
class Subpacket:
    """A signature subpacket; ``hashed`` says whether the signature covers it."""

    type: int
    critical: bool
    hashed: bool
    data: bytes


def encode_subpacket(type_: int, data: bytes, *, critical: bool = False) -> bytes:
    """One subpacket as it appears in a subpacket area.

    >>> encode_subpacket(SubpacketType.KEY_FLAGS, b"\\x03")
    b'\\x02\\x1b\\x03'
    """
    return (
        _encode_length(len(data) + 1)
        + bytes([type_ | (0x80 if critical else 0)])
        + data
    )


def _read_subpackets(area: memoryview, *, hashed: bool) -> list[Subpacket]:
    reader = _Reader(area)
    found: list[Subpacket] = []
    while reader.remaining:
        first = reader.u8("subpacket length")
        if first < 192:
            length = first
        elif first < 255:
            length = ((first - 192) << 8) + reader.u8("subpacket length") + 192
        else:
            length = reader.uint(4, "subpacket length")
        if length == 0:
            raise FormatError("empty signature subpacket")
        body = reader.take(length, "signature subpacket")
        found.append(
            Subpacket(body[0] & 0x7F, bool(body[0] & 0x80), hashed, bytes(body[1:]))
        )
    return found


@attrs.frozen(kw_only=True)
class Signature:
    """A parsed version 4 signature packet.

    Policy fields (times, flags) come from the hashed area only; the issuer and
    an embedded back-signature may also come from the unhashed area, because
    the signature math checks them anyway.
    """

    type: int
    pubkey_algorithm: int
    hash_algorithm: int
    hashed_area: bytes
    subpackets: tuple[Subpacket, ...]
    hash_prefix: bytes
    values: tuple[bytes, ...]
    created: int
    expires_after: int | None
    key_expires_after: int | None
    key_flags: int | None
    primary_user_id: bool
    issuer_key_id: bytes | None
    issuer_fingerprint: bytes | None
    embedded: tuple[bytes, ...]
    unknown_critical: tuple[int, ...]
    revocation_reason: int | None
    packet: bytes

    def trailer(self) -> bytes:
        """What is hashed after the signed content (RFC 4880 section 5.2.4)."""
        head = bytes([4, self.type, self.pubkey_algorithm, self.hash_algorithm])
        hashed = head + len(self.hashed_area).to_bytes(2, "big") + self.hashed_area
        return hashed + b"\x04\xff" + len(hashed).to_bytes(4, "big")

    def issued_by(self, fingerprint: bytes) -> bool:
        """Whether this signature names ``fingerprint`` (or its key ID) as its issuer."""
        if self.issuer_fingerprint is not None:
            return self.issuer_fingerprint == fingerprint
        return self.issuer_key_id == fingerprint[-8:]


def _signature_values(algorithm: int, reader: _Reader) -> tuple[bytes, ...]:
    if algorithm in {PublicKeyAlgorithm.RSA, PublicKeyAlgorithm.RSA_SIGN_ONLY}:
        return (reader.mpi("RSA signature"),)
    if algorithm in {
        PublicKeyAlgorithm.DSA,
        PublicKeyAlgorithm.ECDSA,
        PublicKeyAlgorithm.EDDSA_LEGACY,
    }:
        return (reader.mpi("signature value r"), reader.mpi("signature value s"))
    # Algorithms we cannot verify keep their raw values; policy refuses them.
    return (bytes(reader.rest()),)


def _single(
    subpackets: list[Subpacket], type_: int, size: int, what: str
) -> bytes | None:
    found = [s.data for s in subpackets if s.type == type_]
    if not found:
        return None
    if len(found) > 1:
        raise FormatError(f"signature has {len(found)} {what} subpackets")
    if len(found[0]) != size:
        raise FormatError(f"{what} subpacket has {len(found[0])} bytes, not {size}")
    return found[0]


def parse_signature(body: memoryview | bytes) -> Signature:
    """Parse the body of a signature packet (version 4 only).

    >>> parse_signature(b"\\x03")
    Traceback (most recent call last):
    ...
    appc._openpgp.FormatError: version 3 signatures are not supported (only version 4)
    """
    reader = _Reader(body)
    version = reader.u8("signature version")
    if version != 4:
        raise FormatError(
            f"version {version} signatures are not supported (only version 4)"
        )
    sig_type = reader.u8("signature type")
    algorithm = reader.u8("signature algorithm")
    hash_algorithm = reader.u8("signature hash algorithm")
    hashed_area = reader.take(reader.uint(2, "hashed subpackets"), "hashed subpackets")
    unhashed_area = reader.take(
        reader.uint(2, "unhashed subpackets"), "unhashed subpackets"
    )
    hash_prefix = bytes(reader.take(2, "signature hash prefix"))
    values = _signature_values(algorithm, reader)
    if reader.remaining:
        raise FormatError(
            f"signature packet has {reader.remaining} unexpected trailing bytes"
        )

    hashed = _read_subpackets(hashed_area, hashed=True)
    unhashed = _read_subpackets(unhashed_area, hashed=False)
    created = _single(hashed, SubpacketType.CREATION_TIME, 4, "creation time")
    if created is None:
        raise FormatError("signature has no (hashed) creation time")
    expires = _single(hashed, SubpacketType.EXPIRATION_TIME, 4, "signature expiration")
    key_expires = _single(
        hashed, SubpacketType.KEY_EXPIRATION_TIME, 4, "key expiration"
    )
    flags = [s.data for s in hashed if s.type == SubpacketType.KEY_FLAGS]
    primary = [s.data for s in hashed if s.type == SubpacketType.PRIMARY_USER_ID]
    reasons = [s.data for s in hashed if s.type == SubpacketType.REVOCATION_REASON]
    everywhere = hashed + unhashed
    key_ids = {s.data for s in everywhere if s.type == SubpacketType.ISSUER_KEY_ID}
    fingerprints = {
        s.data for s in everywhere if s.type == SubpacketType.ISSUER_FINGERPRINT
    }
    issuer_key_id, issuer_fingerprint = _issuer(key_ids, fingerprints)
    # A zero expiration time means "never" (RFC 4880 section 5.2.3.10).
    expires_after = int.from_bytes(expires, "big") if expires else None
    key_expires_after = int.from_bytes(key_expires, "big") if key_expires else None
    return Signature(
        type=sig_type,
        pubkey_algorithm=algorithm,
        hash_algorithm=hash_algorithm,
        hashed_area=bytes(hashed_area),
        subpackets=tuple(everywhere),
        hash_prefix=hash_prefix,
        values=values,
        created=int.from_bytes(created, "big"),
        expires_after=expires_after or None,
        key_expires_after=key_expires_after or None,
        key_flags=_first_byte(flags),
        primary_user_id=bool(primary and primary[-1][:1] not in {b"", b"\x00"}),
        issuer_key_id=issuer_key_id,
        issuer_fingerprint=issuer_fingerprint,
        embedded=tuple(
            s.data for s in everywhere if s.type == SubpacketType.EMBEDDED_SIGNATURE
        ),
        unknown_critical=tuple(
            s.type
            for s in hashed
            if s.critical and s.type not in _UNDERSTOOD_SUBPACKETS
        ),
        revocation_reason=reasons[-1][0] if reasons and reasons[-1] else None,
        packet=encode_packet(Tag.SIGNATURE, bytes(body)),
    )


def _first_byte(found: list[bytes]) -> int | None:
    # Key flags: only the first octet carries the flags this policy reads.
    if not found:
        return None
    return found[-1][0] if found[-1] else 0


def _issuer(
    key_ids: set[bytes], fingerprints: set[bytes]
) -> tuple[bytes | None, bytes | None]:
    if len(key_ids) > 1 or len(fingerprints) > 1:
        raise FormatError("signature names more than one issuer")
    key_id = next(iter(key_ids), None)
    fingerprint: bytes | None = None
    if fingerprints:
        versioned = next(iter(fingerprints))
        if len(versioned) != 21 or versioned[0] != 4:
            raise FormatError(
                "signature names an issuer fingerprint that is not version 4"
            )
        fingerprint = versioned[1:]
    if key_id is not None and len(key_id) != 8:
        raise FormatError("signature names an issuer key ID that is not 8 bytes")
    if key_id is not None and fingerprint is not None and fingerprint[-8:] != key_id:
        raise FormatError("signature's issuer key ID and issuer fingerprint disagree")
    return key_id, fingerprint


def signature_body(
    *,
    sig_type: int,
    pubkey_algorithm: int,
    hash_algorithm: int,
    hashed: Iterable[bytes],
    unhashed: Iterable[bytes],
    hash_prefix: bytes,
    values: Iterable[bytes],
) -> bytes:
    """The body of a version 4 signature packet, from encoded subpackets and MPIs.

    ``values`` are already encoded (MPIs); :meth:`Signature.trailer` of the
    parsed result is what the caller must have hashed.
    """
    hashed_area = b"".join(hashed)
    unhashed_area = b"".join(unhashed)
    return b"".join(
        [
            bytes([4, sig_type, pubkey_algorithm, hash_algorithm]),
            len(hashed_area).to_bytes(2, "big"),
            hashed_area,
            len(unhashed_area).to_bytes(2, "big"),
            unhashed_area,
            hash_prefix,
            *values,
        ]
    )


def signature_trailer(
    *,
    sig_type: int,
    pubkey_algorithm: int,
    hash_algorithm: int,
    hashed: Iterable[bytes],
) -> bytes:
    """The trailer to hash for a signature that is about to be made."""
    hashed_area = b"".join(hashed)
    head = bytes([4, sig_type, pubkey_algorithm, hash_algorithm])
    part = head + len(hashed_area).to_bytes(2, "big") + hashed_area
    return part + b"\x04\xff" + len(part).to_bytes(4, "big")


# -- Keys (RFC 4880 section 5.5) ----------------------------------------------


@attrs.frozen(kw_only=True)
class KeyPacket:
    """A parsed version 4 public key or subkey (or the public part of a secret one).

    ``values`` holds the key material: ``(n, e)`` for RSA, ``(point,)`` for
    ECDSA and EdDSA (with ``curve`` set), the raw fields for other algorithms.
    """

    tag: int
    created: int
    algorithm: int
    curve: bytes | None
    values: tuple[bytes, ...]
    public_body: bytes
    secret_body: bytes | None
    fingerprint: bytes

    @property
    def key_id(self) -> bytes:
        """The low 64 bits of the fingerprint."""
        return self.fingerprint[-8:]

    @property
    def is_subkey(self) -> bool:
        """Whether this is a subkey packet."""
        return self.tag in {Tag.PUBLIC_SUBKEY, Tag.SECRET_SUBKEY}


def key_hash_prefix(public_body: bytes) -> bytes:
    """How a key packet enters a hash: fingerprints and key signatures (RFC 4880 5.2.4).

    >>> key_hash_prefix(b"ab")
    b'\\x99\\x00\\x02ab'
    """
    return b"\x99" + len(public_body).to_bytes(2, "big") + public_body


def user_id_hash_prefix(user_id: bytes, *, attribute: bool = False) -> bytes:
    """How a user ID (or user attribute) enters a certification's hash.

    >>> user_id_hash_prefix(b"bob")
    b'\\xb4\\x00\\x00\\x00\\x03bob'
    """
    return (
        (b"\xd1" if attribute else b"\xb4") + len(user_id).to_bytes(4, "big") + user_id
    )


def _oid(reader: _Reader) -> bytes:
    size = reader.u8("curve OID")
    if size in {0, 0xFF}:
        raise FormatError("reserved curve OID length")
    return bytes(reader.take(size, "curve OID"))


def _key_material(
    algorithm: int, reader: _Reader
) -> tuple[bytes | None, tuple[bytes, ...]]:
    if algorithm in {
        PublicKeyAlgorithm.RSA,
        PublicKeyAlgorithm.RSA_ENCRYPT_ONLY,
        PublicKeyAlgorithm.RSA_SIGN_ONLY,
    }:
        return None, (reader.mpi("RSA modulus"), reader.mpi("RSA exponent"))
    if algorithm == PublicKeyAlgorithm.DSA:
        return None, tuple(reader.mpi("DSA key") for _ in range(4))
    if algorithm == PublicKeyAlgorithm.ELGAMAL:
        return None, tuple(reader.mpi("Elgamal key") for _ in range(3))
    if algorithm in {PublicKeyAlgorithm.ECDSA, PublicKeyAlgorithm.EDDSA_LEGACY}:
        curve = _oid(reader)
        return curve, (reader.mpi("curve point"),)
    if algorithm == PublicKeyAlgorithm.ECDH:
        curve = _oid(reader)
        point = reader.mpi("curve point")
        kdf = bytes(reader.take(reader.u8("ECDH parameters"), "ECDH parameters"))
        return curve, (point, kdf)
    native_sizes: dict[int, int] = {
        PublicKeyAlgorithm.X25519: 32,
        PublicKeyAlgorithm.X448: 56,
        PublicKeyAlgorithm.ED25519: 32,
        PublicKeyAlgorithm.ED448: 57,
    }
    if algorithm in native_sizes:
        return None, (bytes(reader.take(native_sizes[algorithm], "key material")),)
    raise FormatError(f"unknown public-key algorithm {algorithm}")


def parse_key_packet(tag: int, body: memoryview | bytes) -> KeyPacket:
    """Parse a (public or secret) key or subkey packet (version 4 only).

    For a secret packet, ``secret_body`` keeps the rest undecoded.

    >>> parse_key_packet(Tag.PUBLIC_KEY, b"\\x05")
    Traceback (most recent call last):
    ...
    appc._openpgp.FormatError: version 5 keys are not supported (only version 4)
    """
    reader = _Reader(body)
    version = reader.u8("key version")
    if version != 4:
        raise FormatError(f"version {version} keys are not supported (only version 4)")
    created = reader.uint(4, "key creation time")
    algorithm = reader.u8("key algorithm")
    secret = tag in {Tag.SECRET_KEY, Tag.SECRET_SUBKEY}
    curve, values = _key_material(algorithm, reader)
    public_body = bytes(body[: reader.position])
    secret_body: bytes | None = None
    if secret:
        secret_body = bytes(reader.rest())
    elif reader.remaining:
        raise FormatError(
            f"public key packet has {reader.remaining} unexpected trailing bytes"
        )
    return KeyPacket(
        tag=tag,
        created=created,
        algorithm=algorithm,
        curve=curve,
        values=values,
        public_body=public_body,
        secret_body=secret_body,
        fingerprint=hashlib.sha1(
            key_hash_prefix(public_body), usedforsecurity=False
        ).digest(),
    )


_SECRET_MPIS: dict[int, int] = {
    PublicKeyAlgorithm.RSA: 4,  # d, p, q, u
    PublicKeyAlgorithm.RSA_SIGN_ONLY: 4,
    PublicKeyAlgorithm.ECDSA: 1,
    PublicKeyAlgorithm.EDDSA_LEGACY: 1,
}


def plain_secret_values(key: KeyPacket) -> tuple[bytes, ...] | None:
    """The secret MPIs of an unprotected signing key; ``None`` if it is protected.

    RFC 4880 section 5.5.3: S2K usage 0, the algorithm's MPIs, then a
    two-octet sum of their bytes.
    """
    body = key.secret_body or b""
    if not body or body[0] != 0:
        return None
    count = _SECRET_MPIS.get(key.algorithm)
    if count is None:
        raise FormatError(
            f"cannot read the secret part of a {PublicKeyAlgorithm(key.algorithm).name} key"
        )
    reader = _Reader(body[1:])
    start = reader.position
    values = tuple(reader.mpi("secret key material") for _ in range(count))
    encoded = bytes(body[1 + start : 1 + reader.position])
    checksum = reader.uint(2, "secret key checksum")
    if reader.remaining:
        raise FormatError(
            f"secret key packet has {reader.remaining} unexpected trailing bytes"
        )
    if sum(encoded) % 65536 != checksum:
        raise FormatError("the secret key checksum does not match: the key is corrupt")
    return values


def iter_signature_packets(packets: Iterable[Packet]) -> Iterator[Signature]:
    """Parse signature packets, refusing any other kind (markers are skipped)."""
    names = {int(t): t.name.lower().replace("_", " ") for t in Tag}
    for packet in packets:
        if packet.tag == Tag.MARKER:
            continue
        if packet.tag != Tag.SIGNATURE:
            kind = names.get(packet.tag, f"tag {packet.tag}")
            raise FormatError(f"expected only signature packets, found a {kind} packet")
        yield parse_signature(packet.body)
