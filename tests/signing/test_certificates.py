"""Certificates: which self-signatures count, what is ignored, what the math accepts."""

from __future__ import annotations

import time

import attrs
import pytest

from appc import _openpgp
from appc._openpgp import (
    HashAlgorithm,
    SignatureType,
    SubpacketType,
    Tag,
    encode_mpi,
    encode_packet,
    encode_subpacket,
)
from appc._openpgp_keys import (
    MAX_RSA_BITS,
    UnusableKey,
    hash_for,
    load_certificates,
    merge_certificates,
    sign_digest,
    verify_digest,
)
from appc.testing.keys import make_key
from cryptography.hazmat.primitives.asymmetric import dsa

from tests.signing import crafting


KEY = make_key("Cert <cert@example.com>", signing_subkey=True)
RSA = make_key("Rsa <rsa@example.com>", algorithm="rsa2048")


def _packets(
    armored: bytes, label: str = _openpgp.ARMOR_PUBLIC_KEY
) -> list[_openpgp.Packet]:
    return _openpgp.read_packets(_openpgp.dearmor(armored, label))


def _encode(packets: list[_openpgp.Packet]) -> bytes:
    return b"".join(encode_packet(p.tag, bytes(p.body)) for p in packets)


def _secret(key: bytes) -> dict[str, crafting.SecretKey]:
    return crafting.secret_keys(key)


# -- the math ------------------------------------------------------------------------


def _document_signature(
    key: bytes, data: bytes = b"data"
) -> tuple[_openpgp.KeyPacket, _openpgp.Signature, bytes]:
    secret = next(iter(_secret(key).values()))
    body = crafting.make_signature(secret, data, created=int(time.time()))
    signature = _openpgp.parse_signature(body)
    hasher = hash_for(signature.hash_algorithm)
    hasher.update(data)
    hasher.update(signature.trailer())
    return secret.packet, signature, hasher.digest()


def test_verify_digest_good_and_mismatches() -> None:
    key, signature, digest = _document_signature(RSA.secret)
    assert verify_digest(key, signature, digest)
    assert not verify_digest(key, signature, bytes(len(digest)))
    # RSA "sign only" (3) and RSA (1) are the same math.
    assert verify_digest(key, attrs.evolve(signature, pubkey_algorithm=3), digest)
    assert not verify_digest(key, attrs.evolve(signature, pubkey_algorithm=22), digest)
    assert not verify_digest(
        key, attrs.evolve(signature, hash_algorithm=HashAlgorithm.MD5), digest
    )
    too_long = b"\x01" + b"\x00" * 256
    assert not verify_digest(key, attrs.evolve(signature, values=(too_long,)), digest)


def test_verify_digest_eddsa_values() -> None:
    key, signature, digest = _document_signature(make_key().secret)
    assert verify_digest(key, signature, digest)
    _, s = signature.values
    assert not verify_digest(
        key, attrs.evolve(signature, values=(b"\x01" * 33, s)), digest
    )


def test_verify_digest_ecdsa_garbage() -> None:
    key, signature, digest = _document_signature(make_key(algorithm="nistp256").secret)
    assert verify_digest(key, signature, digest)
    assert not verify_digest(key, attrs.evolve(signature, values=(b"", b"")), digest)


def test_sign_digest_refuses_other_keys() -> None:
    with pytest.raises(UnusableKey, match="DSAPrivateKey"):
        sign_digest(dsa.generate_private_key(2048), HashAlgorithm.SHA256, bytes(32))


# -- keys we cannot use: no self-signature counts -----------------------------------------


def _key_with_bogus_certification(algorithm: int, material: bytes) -> bytes:
    body = (
        bytes([4]) + (1_600_000_000).to_bytes(4, "big") + bytes([algorithm]) + material
    )
    key = _openpgp.parse_key_packet(Tag.PUBLIC_KEY, body)
    hashed = [
        encode_subpacket(SubpacketType.ISSUER_FINGERPRINT, b"\x04" + key.fingerprint),
        encode_subpacket(
            SubpacketType.CREATION_TIME, (1_600_000_100).to_bytes(4, "big")
        ),
    ]
    # The right hash prefix, so that the key itself is what gets refused.
    hasher = hash_for(HashAlgorithm.SHA256)
    hasher.update(_openpgp.key_hash_prefix(body) + _openpgp.user_id_hash_prefix(b"u"))
    hasher.update(
        _openpgp.signature_trailer(
            sig_type=SignatureType.POSITIVE_CERTIFICATION,
            pubkey_algorithm=algorithm,
            hash_algorithm=HashAlgorithm.SHA256,
            hashed=hashed,
        )
    )
    signature = _openpgp.signature_body(
        sig_type=SignatureType.POSITIVE_CERTIFICATION,
        pubkey_algorithm=algorithm,
        hash_algorithm=HashAlgorithm.SHA256,
        hashed=hashed,
        unhashed=[],
        hash_prefix=hasher.digest()[:2],
        values=[encode_mpi(b"\x01" * 32), encode_mpi(b"\x01" * 32)]
        if algorithm != 1
        else [encode_mpi(b"\x01")],
    )
    return (
        encode_packet(Tag.PUBLIC_KEY, body)
        + encode_packet(Tag.USER_ID, b"u")
        + encode_packet(Tag.SIGNATURE, signature)
    )


@pytest.mark.parametrize(
    "material",
    [
        # RSA over MAX_RSA_BITS
        (
            1,
            encode_mpi(b"\xff" * (MAX_RSA_BITS // 8 + 1)) + encode_mpi(b"\x01\x00\x01"),
        ),
        # RSA with an even exponent (cryptography refuses the numbers)
        (1, encode_mpi(b"\xff" * 256) + encode_mpi(b"\x02")),
        # ECDSA on brainpoolP256r1
        (
            19,
            b"\x09"
            + bytes.fromhex("2b2403030208010107")
            + encode_mpi(b"\x04" + b"\x01" * 64),
        ),
        # EdDSA on another curve
        (22, b"\x03abc" + encode_mpi(b"\x40" + b"\x01" * 32)),
        # ECDSA point not on the curve
        (
            19,
            bytes([len(_openpgp.CURVE_P256)])
            + _openpgp.CURVE_P256
            + encode_mpi(b"\x04" + b"\x01" * 64),
        ),
        # An encryption algorithm (ECDH) as a primary key
        (18, b"\x03abc" + encode_mpi(b"\x40" + b"\x01" * 32) + b"\x03\x01\x08\x07"),
    ],
    ids=[
        "rsa-too-big",
        "rsa-even-exponent",
        "brainpool",
        "eddsa-other-curve",
        "off-curve",
        "ecdh",
    ],
)
def test_unusable_keys_have_no_valid_self_signatures(
    material: tuple[int, bytes],
) -> None:
    (certificate,) = load_certificates(
        _openpgp.read_packets(_key_with_bogus_certification(*material))
    )
    assert certificate.user_ids == ()


# -- what the parser skips -----------------------------------------------------------------


def test_ignored_packets_and_signatures() -> None:
    packets = _packets(KEY.public)
    primary, user_id, certification, subkey, binding = packets
    version3 = encode_packet(Tag.SIGNATURE, b"\x03" + bytes(20))
    photo = encode_packet(Tag.USER_ATTRIBUTE, b"\x01jpeg")
    data = b"".join(
        [
            encode_packet(Tag.MARKER, b"PGP"),
            _encode([primary]),
            encode_packet(Tag.TRUST, b"\x00"),
            version3,
            _encode([user_id, certification]),
            photo,
            # A certification after a photo belongs to the photo, not to the user ID.
            _encode([certification]),
            _encode([subkey, binding]),
        ]
    )
    (certificate,) = load_certificates(_openpgp.read_packets(data))
    assert [u.text for u in certificate.user_ids] == ["Cert <cert@example.com>"]
    assert len(certificate.user_ids[0].certifications) == 1
    assert len(certificate.subkeys) == 1
    assert certificate.subkeys[0].bindings[0].back_signed
    assert not certificate.has_secret


def _resigned_certification(
    *, created: int | None = None, hash_algorithm: int = HashAlgorithm.SHA256
) -> bytes:
    secret = _secret(KEY.secret)[KEY.fingerprint]
    packets = _packets(KEY.public)
    prefix = crafting.key_prefix(secret.packet) + _openpgp.user_id_hash_prefix(
        bytes(packets[1].body)
    )
    body = crafting.make_signature(
        secret,
        prefix,
        sig_type=SignatureType.POSITIVE_CERTIFICATION,
        created=secret.packet.created if created is None else created,
        hash_algorithm=hash_algorithm,
    )
    return _encode(packets[:2]) + encode_packet(Tag.SIGNATURE, body)


def test_self_signature_checks() -> None:
    secret = _secret(KEY.secret)[KEY.fingerprint]
    (good,) = load_certificates(_openpgp.read_packets(_resigned_certification()))
    assert len(good.user_ids) == 1
    (early,) = load_certificates(
        _openpgp.read_packets(
            _resigned_certification(created=secret.packet.created - 1)
        )
    )
    assert early.user_ids == ()  # older than the key
    ripemd = bytearray(_resigned_certification())
    packets = _openpgp.read_packets(bytes(ripemd))
    offset = len(ripemd) - len(packets[-1].body) + 3  # the hash algorithm octet
    ripemd[offset] = HashAlgorithm.RIPEMD160
    (weak,) = load_certificates(_openpgp.read_packets(bytes(ripemd)))
    assert weak.user_ids == ()  # not a hash we accept on self-signatures
    sha1 = load_certificates(
        _openpgp.read_packets(
            _resigned_certification(hash_algorithm=HashAlgorithm.SHA1)
        )
    )
    assert (
        len(sha1[0].user_ids) == 1
    )  # SHA-1 self-signatures are accepted, as gpg 2.2 does
    tampered = bytearray(_resigned_certification())
    tampered[-70] ^= 0x01  # inside the hashed area or values: the math fails
    (broken,) = load_certificates(_openpgp.read_packets(bytes(tampered)))
    assert broken.user_ids == ()


def test_wrong_hash_prefix_on_self_signature() -> None:
    data = bytearray(_resigned_certification())
    signature = _openpgp.read_packets(bytes(data))[-1]
    parsed = _openpgp.parse_signature(signature.body)
    body = _openpgp.signature_body(
        sig_type=parsed.type,
        pubkey_algorithm=parsed.pubkey_algorithm,
        hash_algorithm=parsed.hash_algorithm,
        hashed=[parsed.hashed_area],
        unhashed=[],
        hash_prefix=bytes(b ^ 0xFF for b in parsed.hash_prefix),
        values=[encode_mpi(v) for v in parsed.values],
    )
    packets = _packets(KEY.public)
    (certificate,) = load_certificates(
        _openpgp.read_packets(_encode(packets[:2]) + encode_packet(Tag.SIGNATURE, body))
    )
    assert certificate.user_ids == ()


def test_unreadable_back_signature() -> None:
    secret_keys = _secret(KEY.secret)
    primary = secret_keys[KEY.fingerprint]
    subkey = secret_keys[KEY.signing_fingerprint]
    binding = crafting.make_signature(
        primary,
        crafting.key_prefix(primary.packet, subkey.packet),
        sig_type=SignatureType.SUBKEY_BINDING,
        created=subkey.packet.created,
        hashed=[
            encode_subpacket(SubpacketType.KEY_FLAGS, b"\x02"),
            encode_subpacket(SubpacketType.EMBEDDED_SIGNATURE, b"\x03garbage"),
            # A real signature by the subkey, but not a back-signature (type 0x00).
            encode_subpacket(
                SubpacketType.EMBEDDED_SIGNATURE,
                crafting.make_signature(
                    subkey,
                    crafting.key_prefix(primary.packet, subkey.packet),
                    created=subkey.packet.created,
                ),
            ),
        ],
    )
    packets = _packets(KEY.public)
    data = _encode(packets[:4]) + encode_packet(Tag.SIGNATURE, binding)
    (certificate,) = load_certificates(_openpgp.read_packets(data))
    assert len(certificate.subkeys[0].bindings) == 1
    assert not certificate.subkeys[0].bindings[0].back_signed


def test_merge_refuses_two_different_keys() -> None:
    (first,) = load_certificates(_packets(KEY.public))
    (second,) = load_certificates(_packets(RSA.public))
    with pytest.raises(ValueError, match="two different keys"):
        merge_certificates(first, second)


def test_secret_certificate_exports_public_parts_only() -> None:
    (certificate,) = load_certificates(_packets(KEY.secret, _openpgp.ARMOR_PRIVATE_KEY))
    assert certificate.has_secret
    tags = [p.tag for p in _openpgp.read_packets(certificate.public_packets)]
    assert Tag.SECRET_KEY not in tags
    assert Tag.SECRET_SUBKEY not in tags
    assert (
        certificate.public_packets
        == load_certificates(_packets(KEY.public))[0].public_packets
    )
