"""Verification policy without gpg: limits, times, inputs, and constant memory."""

# pyright: reportPrivateUsage=false
# (these tests reach into appc's internals on purpose)

from __future__ import annotations

import io
import subprocess
import sys
import tracemalloc

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from appc import _openpgp, errors, signing
from appc._openpgp import (
    HashAlgorithm,
    SignatureType,
    SubpacketType,
    Tag,
    encode_packet,
    encode_subpacket,
)
from appc.errors import (
    BadSignature,
    ExpiredKey,
    FutureSignature,
    InvalidBinding,
    KeyNotForSigning,
    MalformedKey,
    MalformedSignature,
    RevokedKey,
    SigningError,
    UnarmoredSignature,
    UntrustedKey,
    WeakHashAlgorithm,
    WeakKey,
)
from appc.signing import (
    CHUNK_SIZE,
    MAX_CLOCK_SKEW,
    MAX_KEY_FILE_SIZE,
    MAX_SIGNATURE_FILE_SIZE,
    MAX_SIGNATURES,
    Keyring,
    PublicKey,
    format_fingerprint,
    sign,
    verify,
    verify_all,
)
from appc.testing.keys import Algorithm, make_key
from hypothesis import given
from hypothesis import strategies as st

from tests.signing import crafting


KEY = make_key("Policy <policy@example.com>")
DATA = b"an image\n"


def _secret(key: bytes = KEY.secret) -> crafting.SecretKey:
    return next(iter(crafting.secret_keys(key).values()))


def _craft(
    *,
    created: int | None = None,
    sig_type: int = SignatureType.BINARY,
    issuer: bool = True,
) -> bytes:
    when = int(datetime.now(UTC).timestamp()) if created is None else created
    return crafting.armored(
        crafting.make_signature(
            _secret(), DATA, created=when, sig_type=sig_type, issuer=issuer
        )
    )


def test_good() -> None:
    signer = verify(
        io.BytesIO(DATA), sign(io.BytesIO(DATA), KEY.secret).encode(), KEY.public
    )
    assert signer.fingerprint == KEY.fingerprint
    assert signer.subkey_fingerprint is None
    assert signer.key_fingerprint == KEY.fingerprint


# -- limits -----------------------------------------------------------------------


def test_max_signature_file_size() -> None:
    with pytest.raises(MalformedSignature, match="MAX_SIGNATURE_FILE_SIZE"):
        verify(io.BytesIO(DATA), b" " * (MAX_SIGNATURE_FILE_SIZE + 1), KEY.public)


def test_max_signature_file_size_from_a_stream(tmp_path: Path) -> None:
    path = tmp_path / "big.asc"
    path.write_bytes(b" " * (MAX_SIGNATURE_FILE_SIZE + 1))
    with pytest.raises(MalformedSignature, match="MAX_SIGNATURE_FILE_SIZE"):
        verify(io.BytesIO(DATA), path, KEY.public)


def test_max_signatures() -> None:
    body = crafting.make_signature(
        _secret(), DATA, created=int(datetime.now(UTC).timestamp())
    )
    ok = crafting.armored(*[body] * MAX_SIGNATURES)
    assert len(verify_all(io.BytesIO(DATA), ok, KEY.public)) == MAX_SIGNATURES
    with pytest.raises(MalformedSignature, match="MAX_SIGNATURES"):
        verify(
            io.BytesIO(DATA),
            crafting.armored(*[body] * (MAX_SIGNATURES + 1)),
            KEY.public,
        )


def test_max_key_file_size(tmp_path: Path) -> None:
    with pytest.raises(MalformedKey, match="MAX_KEY_FILE_SIZE"):
        Keyring.from_bytes(b" " * (MAX_KEY_FILE_SIZE + 1))
    path = tmp_path / "key.asc"
    path.write_bytes(b" " * (MAX_KEY_FILE_SIZE + 1))
    with pytest.raises(MalformedKey, match="MAX_KEY_FILE_SIZE"):
        Keyring.from_file(path)


def test_max_clock_skew() -> None:
    now = datetime.now(UTC).replace(microsecond=0)
    inside = _craft(created=int((now + MAX_CLOCK_SKEW).timestamp()))
    verify(io.BytesIO(DATA), inside, KEY.public, at=now)
    outside = _craft(created=int((now + MAX_CLOCK_SKEW).timestamp()) + 1)
    with pytest.raises(FutureSignature, match="in the future"):
        verify(io.BytesIO(DATA), outside, KEY.public, at=now)


# -- signatures -------------------------------------------------------------------


def test_no_issuer() -> None:
    with pytest.raises(MalformedSignature, match="does not name the key"):
        verify(io.BytesIO(DATA), _craft(issuer=False), KEY.public)


def test_unsupported_hash() -> None:
    body = bytearray(
        crafting.make_signature(
            _secret(), DATA, created=int(datetime.now(UTC).timestamp())
        )
    )
    body[3] = 12  # SHA3-256: not one we accept
    with pytest.raises(WeakHashAlgorithm, match="not supported"):
        verify(io.BytesIO(DATA), crafting.armored(bytes(body)), KEY.public)


def test_unknown_signature_type_name() -> None:
    with pytest.raises(Exception, match=r"0x33 \(unknown\)"):
        verify(io.BytesIO(DATA), _craft(sig_type=0x33), KEY.public)


def test_wrong_hash_prefix_is_bad() -> None:
    body = bytearray(
        crafting.make_signature(
            _secret(), DATA, created=int(datetime.now(UTC).timestamp())
        )
    )
    # The two "left 16 bits" sit right before the MPIs; flip them.
    start = len(body) - 2 * 34 - 2
    body[start] ^= 0xFF
    with pytest.raises(BadSignature):
        verify(io.BytesIO(DATA), crafting.armored(bytes(body)), KEY.public)


def test_signature_older_than_key() -> None:
    key = make_key(created=datetime(2024, 1, 1, tzinfo=UTC))
    old = crafting.make_signature(
        next(iter(crafting.secret_keys(key.secret).values())),
        DATA,
        created=int(datetime(2023, 1, 1, tzinfo=UTC).timestamp()),
    )
    with pytest.raises(BadSignature, match="before key"):
        verify(io.BytesIO(DATA), crafting.armored(old), key.public)


@pytest.mark.parametrize(
    "data",
    [
        b"",
        b"\n\n",
        b"-----BEGIN PGP SIGNATURE-----\n\n-----END PGP SIGNATURE-----\n",
    ],
)
def test_empty_signature_files(data: bytes) -> None:
    with pytest.raises(MalformedSignature):
        verify(io.BytesIO(DATA), data, KEY.public)


def test_public_key_as_signature() -> None:
    with pytest.raises(MalformedSignature, match="public key"):
        verify(
            io.BytesIO(DATA),
            KEY.public.replace(b"PUBLIC KEY BLOCK", b"SIGNATURE"),
            KEY.public,
        )


def test_binary_signature_needs_allow_binary() -> None:
    binary = _openpgp.dearmor(_craft(), _openpgp.ARMOR_SIGNATURE)
    with pytest.raises(UnarmoredSignature, match="allow_binary"):
        verify(io.BytesIO(DATA), binary, KEY.public)
    verify(io.BytesIO(DATA), binary, KEY.public, allow_binary=True)


def test_naive_time_refused() -> None:
    with pytest.raises(TypeError, match="timezone-aware"):
        verify(io.BytesIO(DATA), _craft(), KEY.public, at=datetime(2030, 1, 1))  # noqa: DTZ001


def test_untrusted_by_key_id_message() -> None:
    unhashed_only = crafting.make_signature(
        _secret(make_key().secret),
        DATA,
        created=int(datetime.now(UTC).timestamp()),
        issuer=False,
    )
    parsed = _openpgp.parse_signature(unhashed_only)
    body = _openpgp.signature_body(
        sig_type=parsed.type,
        pubkey_algorithm=parsed.pubkey_algorithm,
        hash_algorithm=parsed.hash_algorithm,
        hashed=[parsed.hashed_area],
        unhashed=[encode_subpacket(SubpacketType.ISSUER_KEY_ID, b"\x01" * 8)],
        hash_prefix=parsed.hash_prefix,
        values=[_openpgp.encode_mpi(v) for v in parsed.values],
    )
    with pytest.raises(UntrustedKey, match="key ID 0101010101010101"):
        verify(io.BytesIO(DATA), crafting.armored(body), KEY.public)


# -- inputs ------------------------------------------------------------------------


class _ReadOnly:
    """A stream with read() only (no readinto), like some wrappers."""

    def __init__(self, data: bytes) -> None:
        self._stream = io.BytesIO(data)

    def read(self, size: int = -1, /) -> bytes:
        return self._stream.read(size)


def test_inputs_of_every_kind(tmp_path: Path) -> None:
    signature = sign(io.BytesIO(DATA), KEY.secret)
    image = tmp_path / "image.aci"
    image.write_bytes(DATA)
    signature_path = tmp_path / "image.aci.asc"
    signature_path.write_text(signature)
    key_path = tmp_path / "key.asc"
    key_path.write_bytes(KEY.public)
    public = PublicKey.from_bytes(KEY.public)
    for image_input in (image, str(image), _ReadOnly(DATA), io.BytesIO(DATA)):
        for signature_input in (
            signature.encode(),
            signature_path,
            str(signature_path),
            _ReadOnly(signature.encode()),
        ):
            for keyring in (
                key_path,
                str(key_path),
                KEY.public,
                public,
                Keyring((public,)),
            ):
                fresh = (
                    _ReadOnly(DATA)
                    if isinstance(image_input, _ReadOnly)
                    else image_input
                )
                if isinstance(fresh, io.BytesIO):
                    fresh.seek(0)
                if isinstance(signature_input, _ReadOnly):
                    signature_input = _ReadOnly(signature.encode())  # noqa: PLW2901
                assert (
                    verify(fresh, signature_input, keyring).fingerprint
                    == KEY.fingerprint
                )


def test_public_key_from_empty_keyring() -> None:
    empty = _openpgp.armor(_openpgp.ARMOR_PUBLIC_KEY, b"").encode()
    with pytest.raises(MalformedKey, match="holds no key"):
        PublicKey.from_bytes(empty)


def test_keyring_find_and_merge() -> None:
    other = make_key()
    ring = (
        Keyring.from_bytes(KEY.public)
        | Keyring.from_bytes(other.public)
        | Keyring.from_bytes(KEY.public)
    )
    assert len(ring) == 2
    assert ring.find(format_fingerprint(KEY.fingerprint)) == PublicKey.from_bytes(
        KEY.public
    )
    assert [k.fingerprint for k in ring] == [KEY.fingerprint, other.fingerprint]


def test_key_with_stray_packet_before_it() -> None:
    with pytest.raises(MalformedKey, match="not a key"):
        Keyring.from_bytes(encode_packet(Tag.USER_ID, b"bob"))


# -- key policy on crafted keys -----------------------------------------------------


def _revocation(
    key: crafting.SecretKey, sig_type: int, prefix: bytes, reason: bytes
) -> bytes:
    return encode_packet(
        Tag.SIGNATURE,
        crafting.make_signature(
            key,
            prefix,
            sig_type=sig_type,
            created=int(datetime.now(UTC).timestamp()),
            hashed=[encode_subpacket(SubpacketType.REVOCATION_REASON, reason)],
        ),
    )


def test_revocation_in_a_second_copy_of_the_key_counts() -> None:
    """An old export without the revocation must not win over a newer one with it."""
    secret = _secret()
    revocation = _revocation(
        secret,
        SignatureType.KEY_REVOCATION,
        crafting.key_prefix(secret.packet),
        b"\x02gone",
    )
    packets = _openpgp.dearmor(KEY.public, _openpgp.ARMOR_PUBLIC_KEY)
    revoked = _openpgp.armor(
        _openpgp.ARMOR_PUBLIC_KEY, packets[: len(packets)] + revocation
    ).encode()
    for ring in (
        Keyring.from_bytes(KEY.public) | Keyring.from_bytes(revoked),
        Keyring.from_bytes(KEY.public + revoked),
    ):
        with pytest.raises(RevokedKey, match="key compromised"):
            verify(io.BytesIO(DATA), _craft(), ring)


def test_forged_revocation_is_ignored() -> None:
    mallory = _secret(make_key().secret)
    secret = _secret()
    forged = _revocation(
        mallory,
        SignatureType.KEY_REVOCATION,
        crafting.key_prefix(secret.packet),
        b"\x00",
    )
    packets = _openpgp.dearmor(KEY.public, _openpgp.ARMOR_PUBLIC_KEY) + forged
    verify(
        io.BytesIO(DATA),
        _craft(),
        _openpgp.armor(_openpgp.ARMOR_PUBLIC_KEY, packets).encode(),
    )


def test_unknown_revocation_reason() -> None:
    secret = _secret()
    revocation = _revocation(
        secret,
        SignatureType.KEY_REVOCATION,
        crafting.key_prefix(secret.packet),
        b"\x63",
    )
    packets = _openpgp.dearmor(KEY.public, _openpgp.ARMOR_PUBLIC_KEY) + revocation
    with pytest.raises(RevokedKey, match="reason 99"):
        verify(
            io.BytesIO(DATA),
            _craft(),
            _openpgp.armor(_openpgp.ARMOR_PUBLIC_KEY, packets).encode(),
        )


def test_expiring_key_by_direct_key_signature() -> None:
    """A direct-key signature (0x1F) with a key expiry applies when the user ID's has none."""
    key = make_key(created=datetime.now(UTC) - timedelta(days=10))
    secret = _secret(key.secret)
    direct = encode_packet(
        Tag.SIGNATURE,
        crafting.make_signature(
            secret,
            crafting.key_prefix(secret.packet),
            sig_type=SignatureType.DIRECT_KEY,
            created=secret.packet.created,
            hashed=[
                encode_subpacket(
                    SubpacketType.KEY_EXPIRATION_TIME, (86400).to_bytes(4, "big")
                )
            ],
        ),
    )
    packets = _openpgp.read_packets(
        _openpgp.dearmor(key.public, _openpgp.ARMOR_PUBLIC_KEY)
    )
    # primary, direct-key signature, then the user ID and its certification
    body = encode_packet(Tag.PUBLIC_KEY, bytes(packets[0].body)) + direct
    body += b"".join(encode_packet(p.tag, bytes(p.body)) for p in packets[1:])
    signature = crafting.armored(
        crafting.make_signature(secret, DATA, created=secret.packet.created + 60)
    )
    public = _openpgp.armor(_openpgp.ARMOR_PUBLIC_KEY, body).encode()
    with pytest.raises(ExpiredKey, match="expired on"):
        verify(io.BytesIO(DATA), signature, public)
    verify(
        io.BytesIO(DATA),
        signature,
        public,
        at=datetime.now(UTC) - timedelta(days=9, hours=12),
    )


def test_key_without_user_id_but_direct_signature_flags() -> None:
    """Only a direct-key signature: its flags decide."""
    key = make_key()
    secret = _secret(key.secret)
    now = int(datetime.now(UTC).timestamp())
    packets = _openpgp.read_packets(
        _openpgp.dearmor(key.public, _openpgp.ARMOR_PUBLIC_KEY)
    )
    for flags, expected in ((b"\x03", None), (b"\x01", KeyNotForSigning)):
        direct = crafting.make_signature(
            secret,
            crafting.key_prefix(secret.packet),
            sig_type=SignatureType.DIRECT_KEY,
            created=now,
            hashed=[encode_subpacket(SubpacketType.KEY_FLAGS, flags)],
        )
        body = encode_packet(Tag.PUBLIC_KEY, bytes(packets[0].body)) + encode_packet(
            Tag.SIGNATURE, direct
        )
        public = _openpgp.armor(_openpgp.ARMOR_PUBLIC_KEY, body).encode()
        signature = crafting.armored(crafting.make_signature(secret, DATA, created=now))
        if expected is None:
            assert verify(io.BytesIO(DATA), signature, public).user_ids == ()
        else:
            with pytest.raises(expected):
                verify(io.BytesIO(DATA), signature, public)


def test_key_without_any_self_signature() -> None:
    packets = _openpgp.read_packets(
        _openpgp.dearmor(KEY.public, _openpgp.ARMOR_PUBLIC_KEY)
    )
    bare = _openpgp.armor(
        _openpgp.ARMOR_PUBLIC_KEY, encode_packet(Tag.PUBLIC_KEY, bytes(packets[0].body))
    )
    with pytest.raises(InvalidBinding, match="no valid self-signature"):
        verify(io.BytesIO(DATA), _craft(), bare.encode())


def test_revoked_user_id_is_not_listed() -> None:
    secret = _secret()
    packets = _openpgp.read_packets(
        _openpgp.dearmor(KEY.public, _openpgp.ARMOR_PUBLIC_KEY)
    )
    uid = bytes(packets[1].body)
    prefix = crafting.key_prefix(secret.packet) + _openpgp.user_id_hash_prefix(uid)
    revocation = _revocation(
        secret, SignatureType.CERTIFICATION_REVOCATION, prefix, b"\x20"
    )
    body = b"".join(encode_packet(p.tag, bytes(p.body)) for p in packets) + revocation
    public = _openpgp.armor(_openpgp.ARMOR_PUBLIC_KEY, body).encode()
    # With its only user ID revoked, the key has no self-signature left.
    with pytest.raises(InvalidBinding):
        verify(io.BytesIO(DATA), _craft(), public)


def test_hash_algorithm_unavailable() -> None:
    from appc._openpgp_keys import UnusableKey, hash_for

    with pytest.raises(UnusableKey):
        hash_for(99)


def test_signing_refuses_without_usable_key() -> None:
    key = make_key(
        created=datetime.now(UTC) - timedelta(days=3), expires=timedelta(days=1)
    )
    with pytest.raises(SigningError, match="expired"):
        sign(io.BytesIO(DATA), key.secret)


def test_sign_from_path(tmp_path: Path) -> None:
    public, secret = KEY.write(tmp_path)
    signature = sign(io.BytesIO(DATA), secret)
    verify(io.BytesIO(DATA), signature.encode(), public)


# -- constant memory -------------------------------------------------------------------


class _Zeros(io.RawIOBase):
    """A large stream that exists only as a count (nothing is stored)."""

    def __init__(self, size: int) -> None:
        self.left = size
        self.largest_read = 0

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: bytearray | memoryview) -> int:  # type: ignore[override]
        count = min(len(buffer), self.left)
        self.largest_read = max(self.largest_read, len(buffer))
        memoryview(buffer)[:count] = bytes(count)
        self.left -= count
        return count


def test_memory_does_not_grow_with_the_image() -> None:
    size = 64 * CHUNK_SIZE
    signature = sign(_Zeros(size), KEY.secret).encode()
    stream = _Zeros(size)
    tracemalloc.start()
    try:
        verify(stream, signature, KEY.public)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert stream.left == 0
    assert stream.largest_read <= CHUNK_SIZE
    assert peak < 4 * CHUNK_SIZE  # the image is 64 chunks


@given(st.binary(max_size=300), st.lists(st.integers(1, 40), min_size=1, max_size=20))
def test_text_canonical_form_is_the_same_in_any_chunks(
    data: bytes, cuts: list[int]
) -> None:
    whole = signing._TextCanonicalizer().feed(data)
    chunked = signing._TextCanonicalizer()
    out = b""
    position = 0
    for cut in cuts * (len(data) // max(sum(cuts), 1) + 1):
        out += chunked.feed(data[position : position + cut])
        position += cut
        if position >= len(data):
            break
    out += chunked.feed(data[position:])
    assert out == whole
    assert b"\n" not in whole.replace(b"\r\n", b"")


def test_import_does_not_load_pgpy() -> None:
    code = (
        "import sys, appc, appc.signing, appc.trust, appc.cli._signing, appc.testing.keys;"
        "print('pgpy' in sys.modules)"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    )
    assert result.stdout.strip() == "False"


def test_sha224_and_hash_names() -> None:
    signature = sign(io.BytesIO(DATA), KEY.secret, hash_algorithm="SHA224")
    assert (
        verify(io.BytesIO(DATA), signature.encode(), KEY.public).hash_algorithm
        == "SHA224"
    )


# -- keys we do not accept ----------------------------------------------------------


def _bare_key(
    algorithm: int, material: bytes, user_id: bytes = b"Odd <odd@example.com>"
) -> tuple[bytes, bytes]:
    """An armored key of any algorithm (uncertified), and its fingerprint."""
    body = (
        bytes([4]) + (1_600_000_000).to_bytes(4, "big") + bytes([algorithm]) + material
    )
    key = _openpgp.parse_key_packet(Tag.PUBLIC_KEY, body)
    packets = encode_packet(Tag.PUBLIC_KEY, body) + encode_packet(Tag.USER_ID, user_id)
    return _openpgp.armor(_openpgp.ARMOR_PUBLIC_KEY, packets).encode(), key.fingerprint


def _signature_naming(
    fingerprint: bytes, *, hash_algorithm: int = HashAlgorithm.SHA256
) -> bytes:
    body = _openpgp.signature_body(
        sig_type=0,
        pubkey_algorithm=17,
        hash_algorithm=hash_algorithm,
        hashed=[
            encode_subpacket(SubpacketType.ISSUER_FINGERPRINT, b"\x04" + fingerprint),
            encode_subpacket(
                SubpacketType.CREATION_TIME, (1_700_000_000).to_bytes(4, "big")
            ),
        ],
        unhashed=[],
        hash_prefix=b"\x00\x00",
        values=[_openpgp.encode_mpi(b"r"), _openpgp.encode_mpi(b"s")],
    )
    return crafting.armored(body)


def test_dsa_keys_are_refused() -> None:
    mpis = b"".join(_openpgp.encode_mpi(b"\x80" + bytes([1]) * 255) for _ in range(4))
    public, fingerprint = _bare_key(17, mpis)
    key = PublicKey.from_bytes(public)
    assert key.algorithm == "dsa2048"
    assert key.user_ids == ()  # its self-signature cannot be checked
    with pytest.raises(WeakKey, match="dsa2048 key, which is not accepted"):
        verify(io.BytesIO(DATA), _signature_naming(fingerprint), public)


def test_ecdsa_on_other_curves_is_refused() -> None:
    brainpool = bytes.fromhex("2b2403030208010107")
    public, fingerprint = _bare_key(
        19,
        bytes([len(brainpool)])
        + brainpool
        + _openpgp.encode_mpi(b"\x04" + b"\x01" * 64),
    )
    assert PublicKey.from_bytes(public).algorithm == "unknown-curve"
    with pytest.raises(WeakKey, match="curve that is not accepted"):
        verify(io.BytesIO(DATA), _signature_naming(fingerprint), public)


def test_unknown_algorithm_and_hash_names() -> None:
    public, _ = _bare_key(28, b"\x01" * 57)
    assert PublicKey.from_bytes(public).algorithm == "ed448"
    with pytest.raises(
        WeakHashAlgorithm, match="hash algorithm 99, which is not supported"
    ):
        verify(
            io.BytesIO(DATA), _signature_naming(b"\x00" * 20, hash_algorithm=99), public
        )


def test_invalid_key_material_verifies_nothing() -> None:
    """An Ed25519 key whose point is malformed cannot have valid self-signatures."""
    oid = _openpgp.CURVE_ED25519
    public, fingerprint = _bare_key(
        22, bytes([len(oid)]) + oid + _openpgp.encode_mpi(b"\x41" + b"\x01" * 32)
    )
    assert PublicKey.from_bytes(public).user_ids == ()
    with pytest.raises(InvalidBinding):
        verify(io.BytesIO(DATA), _signature_naming(fingerprint), public)


def _secret_with(body: bytes) -> bytes:
    packets = _openpgp.read_packets(
        _openpgp.dearmor(KEY.secret, _openpgp.ARMOR_PRIVATE_KEY)
    )
    public = _openpgp.parse_key_packet(packets[0].tag, packets[0].body).public_body
    rest = b"".join(encode_packet(p.tag, bytes(p.body)) for p in packets[1:])
    return encode_packet(Tag.SECRET_KEY, public + body) + rest


def test_secret_key_without_secret_material() -> None:
    with pytest.raises(SigningError, match="no secret signing key material"):
        sign(io.BytesIO(DATA), _secret_with(b""))


def _plain(*mpis: bytes, checksum: int | None = None, extra: bytes = b"") -> bytes:
    encoded = b"".join(_openpgp.encode_mpi(m) for m in mpis)
    total = sum(encoded) % 65536 if checksum is None else checksum
    return b"\x00" + encoded + total.to_bytes(2, "big") + extra


@pytest.mark.parametrize(
    ("secret", "message"),
    [
        (b"\x00", "truncated secret key material"),
        (_plain(b"\x01", checksum=1), "checksum does not match"),
        (_plain(b"\x01", extra=b"!"), "trailing bytes"),
        (_plain(b"\x01"), "does not match its public key"),
        (_plain(b"\x01" * 40), "cannot be read"),  # not a 32-byte Ed25519 seed
    ],
)
def test_unreadable_secret_material(secret: bytes, message: str) -> None:
    with pytest.raises(MalformedKey, match=message):
        sign(io.BytesIO(DATA), _secret_with(secret))


def test_unreadable_protected_secret() -> None:
    """A protected secret pgpy cannot parse (usage 254, cut short)."""
    with pytest.raises(MalformedKey, match="cannot be read"):
        sign(io.BytesIO(DATA), _secret_with(b"\xfe\x07\x03"), passphrase="x")
    with pytest.raises(errors.PassphraseRequired):
        sign(io.BytesIO(DATA), _secret_with(b"\xfe\x07\x03"))


def test_rsa_secret_that_does_not_add_up() -> None:
    key = make_key(algorithm="rsa2048")
    packets = _openpgp.read_packets(
        _openpgp.dearmor(key.secret, _openpgp.ARMOR_PRIVATE_KEY)
    )
    public = _openpgp.parse_key_packet(packets[0].tag, packets[0].body).public_body
    broken = encode_packet(
        Tag.SECRET_KEY, public + _plain(b"\x03", b"\x05", b"\x07", b"\x01")
    )
    rest = b"".join(encode_packet(p.tag, bytes(p.body)) for p in packets[1:])
    with pytest.raises(MalformedKey, match="cannot be read"):
        sign(io.BytesIO(DATA), broken + rest)


def test_ecdsa_secret_keys_sign() -> None:
    algorithms: tuple[Algorithm, ...] = ("nistp256", "nistp384")
    for algorithm in algorithms:
        key = make_key(algorithm=algorithm)
        signature = sign(io.BytesIO(DATA), key.secret).encode()
        assert (
            verify(io.BytesIO(DATA), signature, key.public).key_algorithm == algorithm
        )


def test_make_key_unknown_algorithm() -> None:
    with pytest.raises(ValueError, match="unknown key algorithm"):
        make_key(algorithm="dsa1024")  # type: ignore[arg-type]


def test_expired_self_signature_does_not_count() -> None:
    """A user ID whose self-certification has expired no longer vouches for the key."""
    key = make_key(created=datetime.now(UTC) - timedelta(days=10))
    secret = _secret(key.secret)
    packets = _openpgp.read_packets(
        _openpgp.dearmor(key.public, _openpgp.ARMOR_PUBLIC_KEY)
    )
    uid = bytes(packets[1].body)
    certification = crafting.make_signature(
        secret,
        crafting.key_prefix(secret.packet) + _openpgp.user_id_hash_prefix(uid),
        sig_type=SignatureType.POSITIVE_CERTIFICATION,
        created=secret.packet.created,
        hashed=[
            encode_subpacket(SubpacketType.KEY_FLAGS, b"\x03"),
            encode_subpacket(SubpacketType.EXPIRATION_TIME, (86400).to_bytes(4, "big")),
        ],
    )
    body = encode_packet(Tag.PUBLIC_KEY, bytes(packets[0].body)) + encode_packet(
        Tag.USER_ID, uid
    )
    public = _openpgp.armor(
        _openpgp.ARMOR_PUBLIC_KEY, body + encode_packet(Tag.SIGNATURE, certification)
    ).encode()
    signature = crafting.armored(
        crafting.make_signature(secret, DATA, created=secret.packet.created + 60)
    )
    with pytest.raises(InvalidBinding, match="no valid self-signature"):
        verify(io.BytesIO(DATA), signature, public)
    at = datetime.fromtimestamp(secret.packet.created + 3600, UTC)
    assert verify(io.BytesIO(DATA), signature, public, at=at).user_ids == (
        "Throwaway Signer <signer@example.com>",
    )


def test_a_wrong_secret_exponent_is_caught_before_the_signature_ships() -> None:
    """p and q match the public key, d does not: sign() checks its own signature."""
    key = make_key(algorithm="rsa2048")
    packets = _openpgp.read_packets(
        _openpgp.dearmor(key.secret, _openpgp.ARMOR_PRIVATE_KEY)
    )
    packet = _openpgp.parse_key_packet(packets[0].tag, packets[0].body)
    values = _openpgp.plain_secret_values(packet)
    assert values is not None
    d, p, q, u = values
    wrong_d = (int.from_bytes(d, "big") + 2).to_bytes(len(d), "big")
    broken = encode_packet(
        Tag.SECRET_KEY, packet.public_body + _plain(wrong_d, p, q, u)
    )
    rest = b"".join(encode_packet(x.tag, bytes(x.body)) for x in packets[1:])
    with pytest.raises(SigningError, match="does not verify"):
        sign(io.BytesIO(DATA), broken + rest)


def test_expired_binding_does_not_count() -> None:
    """A subkey binding whose own signature expired binds nothing any more."""
    key = make_key(created=datetime.now(UTC) - timedelta(days=10), signing_subkey=True)
    secrets = crafting.secret_keys(key.secret)
    primary, subkey = secrets[key.fingerprint], secrets[key.signing_fingerprint]
    prefix = crafting.key_prefix(primary.packet, subkey.packet)
    back = crafting.make_signature(
        subkey,
        prefix,
        sig_type=SignatureType.PRIMARY_KEY_BINDING,
        created=subkey.packet.created,
    )
    binding = crafting.make_signature(
        primary,
        prefix,
        sig_type=SignatureType.SUBKEY_BINDING,
        created=subkey.packet.created,
        hashed=[
            encode_subpacket(SubpacketType.KEY_FLAGS, b"\x02"),
            encode_subpacket(SubpacketType.EXPIRATION_TIME, (86400).to_bytes(4, "big")),
            encode_subpacket(SubpacketType.EMBEDDED_SIGNATURE, back),
        ],
    )
    packets = _openpgp.read_packets(
        _openpgp.dearmor(key.public, _openpgp.ARMOR_PUBLIC_KEY)
    )
    body = b"".join(
        encode_packet(p.tag, bytes(p.body)) for p in packets[:4]
    ) + encode_packet(Tag.SIGNATURE, binding)
    public = _openpgp.armor(_openpgp.ARMOR_PUBLIC_KEY, body).encode()
    signature = crafting.armored(
        crafting.make_signature(subkey, DATA, created=subkey.packet.created + 60)
    )
    with pytest.raises(InvalidBinding, match="no valid binding"):
        verify(io.BytesIO(DATA), signature, public)
    at = datetime.fromtimestamp(subkey.packet.created + 3600, UTC)
    assert (
        verify(io.BytesIO(DATA), signature, public, at=at).subkey_fingerprint
        == key.signing_fingerprint
    )
