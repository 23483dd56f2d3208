"""Hypothesis fuzzes the signature and key parsers: nothing escapes but our errors."""

from __future__ import annotations

import contextlib
import io

from functools import cache

from appc import _openpgp
from appc.errors import MalformedKey, SignatureError
from appc.signing import Keyring, sign, verify
from appc.testing.keys import ThrowawayKey, make_key
from hypothesis import given
from hypothesis import strategies as st


@cache
def _key() -> ThrowawayKey:
    return make_key("Fuzz <fuzz@example.com>", signing_subkey=True)


@cache
def _signature() -> bytes:
    return sign(io.BytesIO(b"image"), _key().secret).encode()


@cache
def _binary_signature() -> bytes:
    return _openpgp.dearmor(_signature(), _openpgp.ARMOR_SIGNATURE)


@cache
def _binary_key() -> bytes:
    return _openpgp.dearmor(_key().public, _openpgp.ARMOR_PUBLIC_KEY)


def _mutate(data: bytes, edits: list[tuple[int, int, int]]) -> bytes:
    """Apply (position, kind, value) edits: flip a byte, cut, or insert."""
    buffer = bytearray(data)
    for position, kind, value in edits:
        if not buffer:
            break
        index = position % len(buffer)
        if kind == 0:
            buffer[index] ^= value or 1
        elif kind == 1:
            del buffer[index : index + value % 8 + 1]
        else:
            buffer.insert(index, value)
    return bytes(buffer)


EDITS = st.lists(
    st.tuples(st.integers(0, 10_000), st.integers(0, 2), st.integers(0, 255)),
    min_size=1,
    max_size=6,
)


def _verify_only_signature_errors(signature: bytes) -> None:
    keyring = Keyring.from_bytes(_key().public)
    with contextlib.suppress(SignatureError):
        verify(io.BytesIO(b"image"), signature, keyring, allow_binary=True)


@given(st.binary(max_size=600))
def test_random_bytes_as_signature(data: bytes) -> None:
    _verify_only_signature_errors(data)


@given(EDITS)
def test_mutated_binary_signature(edits: list[tuple[int, int, int]]) -> None:
    _verify_only_signature_errors(_mutate(_binary_signature(), edits))


@given(EDITS)
def test_mutated_armored_signature(edits: list[tuple[int, int, int]]) -> None:
    _verify_only_signature_errors(_mutate(_signature(), edits))


@given(EDITS)
def test_rearmored_mutated_packets(edits: list[tuple[int, int, int]]) -> None:
    """Valid armor around broken packets reaches the packet parser."""
    body = _mutate(_binary_signature(), edits)
    _verify_only_signature_errors(
        _openpgp.armor(_openpgp.ARMOR_SIGNATURE, body).encode()
    )


@given(
    st.lists(
        st.one_of(
            st.just("-----BEGIN PGP SIGNATURE-----"),
            st.just("-----END PGP SIGNATURE-----"),
            st.just(""),
            st.text(alphabet="ABCDEFabcdef0123456789+/=:- ", max_size=70),
        ),
        max_size=12,
    )
)
def test_armor_like_text(lines: list[str]) -> None:
    _verify_only_signature_errors("\n".join(lines).encode())


@given(EDITS)
def test_mutated_keys(edits: list[tuple[int, int, int]]) -> None:
    for data in (_mutate(_binary_key(), edits), _mutate(_key().public, edits)):
        try:
            keyring = Keyring.from_bytes(data)
        except MalformedKey:
            continue
        # Whatever parsed must still be usable (or refuse with a SignatureError).
        with contextlib.suppress(SignatureError):
            verify(io.BytesIO(b"image"), _signature(), keyring)
