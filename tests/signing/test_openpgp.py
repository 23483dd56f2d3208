"""The wire format: armor, packet framing, signature and key packets (RFC 4880)."""

from __future__ import annotations

import base64

from collections.abc import Sequence
from pathlib import Path

import pytest

from appc import _openpgp
from appc._openpgp import (
    ARMOR_PUBLIC_KEY,
    ARMOR_SIGNATURE,
    FormatError,
    SubpacketType,
    Tag,
    armor,
    crc24,
    dearmor,
    encode_mpi,
    encode_packet,
    encode_subpacket,
    parse_key_packet,
    parse_signature,
    read_packets,
)
from appc.testing.keys import make_key

from tests.signing.gpgtool import Gpg


# -- armor ----------------------------------------------------------------------


@pytest.mark.interop
@pytest.mark.parametrize("data", [b"abc", bytes(range(256)) * 5])
def test_armor_matches_gpg_enarmor(gpg: str, tmp_path: Path, data: bytes) -> None:
    """Same base64 lines and checksum as ``gpg --enarmor`` (which labels it ARMORED FILE)."""
    home = Gpg.create(gpg, tmp_path / "home")
    try:
        text = home.run("--enarmor", stdin=data).stdout.decode()
    finally:
        home.close()
    body = [
        line
        for line in text.splitlines()
        if line and not line.startswith(("-----", "Comment:"))
    ]
    ours = armor("PGP ARMORED FILE", data).splitlines()[2:-1]
    assert ours == body
    assert crc24(data) == int.from_bytes(base64.b64decode(body[-1][1:]), "big")


def test_armor_round_trip_long_body() -> None:
    body = bytes(range(256)) * 3
    text = armor(ARMOR_SIGNATURE, body)
    assert all(len(line) <= 64 for line in text.splitlines())
    assert dearmor(text.encode(), ARMOR_SIGNATURE) == body


def test_dearmor_headers_crlf_and_surrounding_text() -> None:
    text = armor(ARMOR_SIGNATURE, b"payload").replace(
        "-----\n\n", "-----\nVersion: GnuPG v2\nComment: hi\n\n", 1
    )
    wrapped = "Some text before\r\n" + text.replace("\n", "\r\n") + "trailing words\n"
    assert dearmor(wrapped.encode(), ARMOR_SIGNATURE) == b"payload"


def test_dearmor_without_blank_line_or_checksum() -> None:
    text = f"-----BEGIN {ARMOR_SIGNATURE}-----\n{base64.b64encode(b'xy').decode()}\n-----END {ARMOR_SIGNATURE}-----\n"
    assert dearmor(text.encode(), ARMOR_SIGNATURE) == b"xy"


def test_dearmor_concatenates_blocks() -> None:
    text = armor(ARMOR_PUBLIC_KEY, b"one") + armor(ARMOR_PUBLIC_KEY, b"two")
    assert dearmor(text.encode(), ARMOR_PUBLIC_KEY) == b"onetwo"


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("no armor here", "no armored"),
        (armor(ARMOR_PUBLIC_KEY, b"x"), "found 'PGP PUBLIC KEY BLOCK'"),
        (
            armor(ARMOR_SIGNATURE, b"abc")
            .replace("=", "=AAAA\n#", 1)
            .replace("#", "", 1),
            "after its checksum",
        ),
        (
            armor(ARMOR_SIGNATURE, b"abc").rsplit("=", 1)[0]
            + "=AAAA\n-----END PGP SIGNATURE-----\n",
            "checksum",
        ),
        (
            armor(ARMOR_SIGNATURE, b"abc").rsplit("=", 1)[0]
            + "=A!AA\n-----END PGP SIGNATURE-----\n",
            "checksum is not valid base64",
        ),
        (armor(ARMOR_SIGNATURE, b"abc").split("-----END")[0], "no END line"),
        (
            armor(ARMOR_SIGNATURE, b"abc").replace(
                "END PGP SIGNATURE", "END PGP MESSAGE"
            ),
            "ends as",
        ),
        (armor(ARMOR_SIGNATURE, b"abc").replace("YWJj", "YW*j"), "not base64"),
        (armor(ARMOR_SIGNATURE, b"abc").replace("YWJj", "YWJ"), "not valid base64"),
    ],
)
def test_dearmor_errors(text: str, message: str) -> None:
    with pytest.raises(FormatError, match=message):
        dearmor(text.encode(), ARMOR_SIGNATURE)


def test_looks_armored() -> None:
    assert _openpgp.looks_armored(b"  \n-----BEGIN")
    assert _openpgp.looks_armored(b"")
    assert not _openpgp.looks_armored(b"\n\x88\x01")


# -- packets ----------------------------------------------------------------------


@pytest.mark.parametrize("size", [0, 191, 192, 8383, 8384, 70000])
def test_new_format_lengths_round_trip(size: int) -> None:
    body = b"x" * size
    (packet,) = read_packets(encode_packet(Tag.USER_ID, body))
    assert (packet.tag, bytes(packet.body)) == (Tag.USER_ID, body)


@pytest.mark.parametrize(("length_type", "size_bytes"), [(0, 1), (1, 2), (2, 4)])
def test_old_format_lengths(length_type: int, size_bytes: int) -> None:
    header = bytes([0x80 | (Tag.USER_ID << 2) | length_type]) + (3).to_bytes(
        size_bytes, "big"
    )
    (packet,) = read_packets(header + b"bob")
    assert (packet.tag, bytes(packet.body)) == (Tag.USER_ID, b"bob")


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (b"\x01", "not the start of a packet"),
        (bytes([0x80 | (13 << 2) | 3]) + b"bob", "indeterminate"),
        (b"\xcd\xe0bob", "partial body"),
        (b"\xcd\x05bob", "truncated packet"),
        (b"\xcd", "truncated packet length"),
        (b"\xcd\xff\x00\x00", "truncated packet length"),
    ],
)
def test_packet_errors(data: bytes, message: str) -> None:
    with pytest.raises(FormatError, match=message):
        read_packets(data)


def test_encode_mpi() -> None:
    assert encode_mpi(b"") == b"\x00\x00"
    assert encode_mpi(b"\x00\x80") == b"\x00\x08\x80"
    assert encode_mpi(b"\x01\x00") == b"\x00\x09\x01\x00"


def test_subpacket_long_lengths() -> None:
    assert encode_subpacket(SubpacketType.PREFERRED_HASH, b"x" * 300)[:2] == bytes(
        [192 + 0, 301 - 192]
    )
    assert encode_subpacket(SubpacketType.PREFERRED_HASH, b"x" * 9000)[:1] == b"\xff"


# -- signatures -------------------------------------------------------------------


def _signature(
    hashed: Sequence[bytes],
    unhashed: Sequence[bytes] = (),
    *,
    values: bytes = b"\x00\x01\x01",
) -> bytes:
    return _openpgp.signature_body(
        sig_type=0,
        pubkey_algorithm=1,
        hash_algorithm=10,
        hashed=hashed,
        unhashed=list(unhashed),
        hash_prefix=b"\x00\x00",
        values=[values],
    )


CREATED = encode_subpacket(
    SubpacketType.CREATION_TIME, (1_600_000_000).to_bytes(4, "big")
)
FINGERPRINT = bytes(range(20))


def test_parse_signature_fields() -> None:
    body = _signature(
        [
            CREATED,
            encode_subpacket(SubpacketType.EXPIRATION_TIME, (0).to_bytes(4, "big")),
            encode_subpacket(SubpacketType.KEY_FLAGS, b""),
            encode_subpacket(SubpacketType.PRIMARY_USER_ID, b"\x01"),
            encode_subpacket(SubpacketType.REVOCATION_REASON, b"\x02compromised"),
            encode_subpacket(SubpacketType.ISSUER_FINGERPRINT, b"\x04" + FINGERPRINT),
            encode_subpacket(42, b"?", critical=True),
            encode_subpacket(SubpacketType.FEATURES, b"\x01", critical=True),
        ],
        [encode_subpacket(SubpacketType.ISSUER_KEY_ID, FINGERPRINT[-8:])],
    )
    signature = parse_signature(body)
    assert signature.created == 1_600_000_000
    assert signature.expires_after is None  # zero means never
    assert signature.key_flags == 0
    assert signature.primary_user_id
    assert signature.revocation_reason == 2
    assert signature.unknown_critical == (42,)
    assert signature.issued_by(FINGERPRINT)
    assert not signature.issued_by(bytes(20))
    assert signature.trailer().startswith(b"\x04\x00\x01\x0a")


def test_signature_issued_by_key_id_only() -> None:
    body = _signature(
        [CREATED], [encode_subpacket(SubpacketType.ISSUER_KEY_ID, FINGERPRINT[-8:])]
    )
    assert parse_signature(body).issued_by(FINGERPRINT)


def test_signature_with_unknown_algorithm_keeps_raw_values() -> None:
    body = bytearray(_signature([CREATED], values=b"raw"))
    body[2] = 99
    assert parse_signature(bytes(body)).values == (b"raw",)


@pytest.mark.parametrize(
    ("hashed", "unhashed", "message"),
    [
        ([], [], "no \\(hashed\\) creation time"),
        ([CREATED, CREATED], [], "2 creation time"),
        (
            [encode_subpacket(SubpacketType.CREATION_TIME, b"\x00")],
            [],
            "1 bytes, not 4",
        ),
        (
            [CREATED],
            [
                encode_subpacket(SubpacketType.ISSUER_KEY_ID, b"12345678"),
                encode_subpacket(SubpacketType.ISSUER_KEY_ID, b"87654321"),
            ],
            "more than one issuer",
        ),
        (
            [CREATED],
            [encode_subpacket(SubpacketType.ISSUER_KEY_ID, b"1234")],
            "not 8 bytes",
        ),
        (
            [CREATED],
            [encode_subpacket(SubpacketType.ISSUER_FINGERPRINT, b"\x05" + FINGERPRINT)],
            "not version 4",
        ),
        (
            [
                CREATED,
                encode_subpacket(
                    SubpacketType.ISSUER_FINGERPRINT, b"\x04" + FINGERPRINT
                ),
            ],
            [encode_subpacket(SubpacketType.ISSUER_KEY_ID, b"12345678")],
            "disagree",
        ),
        ([CREATED, b"\x00"], [], "empty signature subpacket"),
        ([CREATED, b"\xff\x00\x00\x00\x09\x02"], [], "truncated signature subpacket"),
    ],
)
def test_signature_errors(
    hashed: list[bytes], unhashed: list[bytes], message: str
) -> None:
    with pytest.raises(FormatError, match=message):
        parse_signature(_signature(hashed, unhashed))


def test_signature_trailing_bytes_and_truncation() -> None:
    body = _signature([CREATED])
    with pytest.raises(FormatError, match="trailing bytes"):
        parse_signature(body + b"\x00")
    with pytest.raises(FormatError, match="truncated"):
        parse_signature(body[:-1])


def test_iter_signature_packets_skips_markers_and_names_other_packets() -> None:
    packets = read_packets(
        encode_packet(Tag.MARKER, b"PGP")
        + encode_packet(Tag.SIGNATURE, _signature([CREATED]))
    )
    assert len(list(_openpgp.iter_signature_packets(packets))) == 1
    key = read_packets(_openpgp.dearmor(make_key().public, ARMOR_PUBLIC_KEY))
    with pytest.raises(FormatError, match="found a public key packet"):
        list(_openpgp.iter_signature_packets(key))
    with pytest.raises(FormatError, match="tag 60"):
        list(_openpgp.iter_signature_packets(read_packets(encode_packet(60, b""))))


# -- keys --------------------------------------------------------------------------


def _key_body(algorithm: int, material: bytes) -> bytes:
    return (
        bytes([4]) + (1_600_000_000).to_bytes(4, "big") + bytes([algorithm]) + material
    )


@pytest.mark.parametrize(
    ("algorithm", "material", "count"),
    [
        (
            17,
            encode_mpi(b"p") + encode_mpi(b"q") + encode_mpi(b"g") + encode_mpi(b"y"),
            4,
        ),
        (16, encode_mpi(b"p") + encode_mpi(b"g") + encode_mpi(b"y"), 3),
        (18, b"\x03abc" + encode_mpi(b"\x40" + b"x" * 32) + b"\x03\x01\x08\x07", 2),
        (25, b"x" * 32, 1),
        (28, b"x" * 57, 1),
    ],
)
def test_parse_other_key_algorithms(
    algorithm: int, material: bytes, count: int
) -> None:
    key = parse_key_packet(Tag.PUBLIC_SUBKEY, _key_body(algorithm, material))
    assert len(key.values) == count
    assert key.is_subkey
    assert len(key.key_id) == 8


@pytest.mark.parametrize(
    ("body", "message"),
    [
        (_key_body(99, b""), "unknown public-key algorithm 99"),
        (_key_body(19, b"\x00"), "reserved curve OID"),
        (_key_body(1, encode_mpi(b"n") + encode_mpi(b"e") + b"!"), "trailing bytes"),
        (_key_body(1, encode_mpi(b"n")), "truncated RSA exponent"),
    ],
)
def test_key_errors(body: bytes, message: str) -> None:
    with pytest.raises(FormatError, match=message):
        parse_key_packet(Tag.PUBLIC_KEY, body)


def test_secret_key_packet_keeps_secret_part() -> None:
    body = _key_body(1, encode_mpi(b"n") + encode_mpi(b"e"))
    key = parse_key_packet(Tag.SECRET_KEY, body + b"\x00secret")
    assert key.public_body == body
    assert key.secret_body == b"\x00secret"
    assert not key.is_subkey


def test_plain_secret_values() -> None:
    body = _key_body(17, b"".join(encode_mpi(b"x") for _ in range(4)))
    assert _openpgp.plain_secret_values(parse_key_packet(Tag.SECRET_KEY, body)) is None
    assert (
        _openpgp.plain_secret_values(parse_key_packet(Tag.SECRET_KEY, body + b"\xfe"))
        is None
    )
    with pytest.raises(FormatError, match="secret part of a DSA key"):
        _openpgp.plain_secret_values(
            parse_key_packet(Tag.SECRET_KEY, body + b"\x00" + encode_mpi(b"x"))
        )
