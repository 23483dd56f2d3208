"""ImageID, ImageIDPrefix and ImageHash (tests/vectors/image_id.json)."""

from __future__ import annotations

import contextlib
import hashlib
import json
import pathlib

from typing import Any

import pytest

from appc.errors import InvalidImageID
from appc.image_id import SHORT_LENGTH, ImageHash, ImageID, ImageIDPrefix
from appc.testing import strategies
from hypothesis import given
from hypothesis import strategies as st


VECTORS: dict[str, Any] = json.loads(
    (pathlib.Path(__file__).parent / "vectors" / "image_id.json").read_text(
        encoding="utf-8"
    )
)
# aci.md: the image ID of an empty tar stream is sha512 of no bytes.
EMPTY_SHA512 = hashlib.sha512(b"").hexdigest()


@pytest.mark.parametrize("case", VECTORS["hash"], ids=repr)
def test_hash_vectors(case: dict[str, Any]) -> None:
    if case["ok"]:
        assert str(ImageHash(case["input"])) == case["output"]
    else:
        with pytest.raises(InvalidImageID) as caught:
            ImageHash(case["input"])
        assert caught.value.reason == case["error"]


@pytest.mark.parametrize("case", VECTORS["short_hash"], ids=repr)
def test_short_vectors(case: dict[str, Any]) -> None:
    try:
        image_id = ImageID(case["input"])
    except InvalidImageID:
        assert len(case["output"]) <= SHORT_LENGTH
    else:
        assert image_id.short() == case["output"]


def test_image_id_of_empty_input() -> None:
    image_id = ImageID.of_bytes(b"")
    assert image_id == "sha512-" + EMPTY_SHA512
    assert image_id.hex == EMPTY_SHA512
    # anchors.md 1.5: Go's ShortHash of the empty input.
    assert image_id.short() == "sha512-cf83e1357eefb8bdf1542850d66d8007"
    assert ImageID.from_hash(hashlib.sha512(b"")) == image_id
    assert repr(image_id).startswith("ImageID('sha512-cf83")


def test_from_hash_needs_sha512() -> None:
    with pytest.raises(InvalidImageID, match="sha512, not sha256"):
        ImageID.from_hash(hashlib.sha256(b""))


@pytest.mark.parametrize(
    "text",
    [
        "",
        "sha512-",
        "sha512-" + "A" * 128,
        "sha512-" + "a" * 127,
        "sha512-" + "a" * 129,
        "SHA512-" + "a" * 128,
        "sha512-" + "a" * 127 + "\n",
        "sha512-" + "a" * 128 + "\n",
        "sha256-" + "a" * 128,
        "sha512-" + "g" * 128,
    ],
)
def test_image_id_rejects(text: str) -> None:
    with pytest.raises(InvalidImageID):
        ImageID(text)


def test_long_values_are_cut_in_messages() -> None:
    with pytest.raises(InvalidImageID) as caught:
        ImageID("x" * 10_000)
    assert len(caught.value.reason) < 300
    with pytest.raises(InvalidImageID) as caught:
        ImageIDPrefix("x" * 10_000)
    assert len(caught.value.reason) < 300


@pytest.mark.parametrize("cls", [ImageID, ImageIDPrefix, ImageHash])
def test_not_a_string(cls: type[str]) -> None:
    with pytest.raises(InvalidImageID, match="must be a string"):
        cls(b"sha512-abc")


def test_prefix() -> None:
    full = ImageID.of_bytes(b"x")
    prefix = ImageIDPrefix(full[:20])
    assert prefix.matches(full)
    assert not ImageIDPrefix("sha512-0").matches("sha512-1")
    assert str(ImageIDPrefix(full)) == full
    assert repr(prefix).startswith("ImageIDPrefix(")
    for text in ("sha512-", "sha512-A", "sha512-" + "a" * 129, "abc"):
        with pytest.raises(InvalidImageID):
            ImageIDPrefix(text)


def test_hash_parts_and_strictness() -> None:
    lenient = ImageHash("sha512-ABC")
    assert (lenient.algorithm, lenient.digest) == ("sha512", "ABC")
    assert lenient.as_image_id() is None
    full = ImageID.of_bytes(b"y")
    assert ImageHash(full).as_image_id() == full
    assert repr(lenient) == "ImageHash('sha512-ABC')"


def test_same_type_passes_through() -> None:
    full = ImageID.of_bytes(b"z")
    assert ImageID(full) is full
    prefix = ImageIDPrefix("sha512-ab")
    assert ImageIDPrefix(prefix) is prefix
    lenient = ImageHash("sha512-x")
    assert ImageHash(lenient) is lenient


@given(strategies.image_ids())
def test_image_ids_are_hashes_and_their_own_prefix(image_id: ImageID) -> None:
    assert ImageHash(image_id).as_image_id() == image_id
    assert ImageIDPrefix(image_id.short()).matches(image_id)
    assert ImageID(str(image_id)) == image_id


@given(strategies.image_id_prefixes())
def test_prefixes_roundtrip(prefix: ImageIDPrefix) -> None:
    assert ImageIDPrefix(str(prefix)) == prefix


@given(strategies.image_hashes())
def test_hashes_roundtrip(value: ImageHash) -> None:
    assert ImageHash(str(value)) == value


@given(st.text())
def test_nothing_escapes_but_our_error(text: str) -> None:
    for cls in (ImageID, ImageIDPrefix, ImageHash):
        with contextlib.suppress(InvalidImageID):
            cls(text)
