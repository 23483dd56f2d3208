"""Image strings (tests/vectors/app_string.json: discovery/parse_test.go and more, as Go judges them)."""

from __future__ import annotations

import contextlib
import json
import pathlib
import re

from collections.abc import Iterator
from typing import Any

import pytest

from appc.app_string import ImageRef
from appc.errors import InvalidAppString
from appc.testing import strategies
from hypothesis import given
from hypothesis import strategies as st

from tests.oracle import GoOracle, go_oracle_or_skip


VECTORS: dict[str, Any] = json.loads(
    (pathlib.Path(__file__).parent / "vectors" / "app_string.json").read_text(
        encoding="utf-8"
    )
)


@pytest.fixture(scope="module")
def oracle() -> Iterator[GoOracle]:
    running = go_oracle_or_skip()
    yield running
    running.close()


def _check_against(text: str, answer: dict[str, Any]) -> None:
    try:
        ref = ImageRef.parse(text)
    except InvalidAppString:
        assert not answer["ok"], text
        return
    assert answer["ok"], text
    assert ref.name == answer["name"]
    assert dict(ref.labels) == answer["labels"]


@pytest.mark.parametrize("case", VECTORS["parse"], ids=repr)
def test_parse_vectors(case: dict[str, Any]) -> None:
    _check_against(case["input"], case)


def test_messages() -> None:
    with pytest.raises(
        InvalidAppString, match="colon may appear only right after the app name"
    ):
        ImageRef.parse("example.com/app,channel=beta:1.2.3")
    with pytest.raises(InvalidAppString, match="colon may appear at most once"):
        ImageRef.parse("example.com/app:3.2.1:x")
    with pytest.raises(
        InvalidAppString,
        match=re.escape('label version with multiple values ["3.2.1" "1.2.3"]'),
    ):
        ImageRef.parse("example.com/app:3.2.1,version=1.2.3")
    with pytest.raises(InvalidAppString, match="has a label without a value: a"):
        ImageRef.parse("example.com/app,a")
    with pytest.raises(InvalidAppString, match="invalid semicolon separator"):
        ImageRef.parse("example.com/app,a;b=c")
    with pytest.raises(InvalidAppString, match='invalid URL escape "%zz"'):
        ImageRef.parse("example.com/app,a%zz=c")
    with pytest.raises(InvalidAppString, match="ACIdentifier cannot be empty"):
        ImageRef.parse(":1.0")
    with pytest.raises(InvalidAppString, match="must be a string"):
        ImageRef.parse(None)  # type: ignore[arg-type]


def test_canonical_string() -> None:
    assert str(ImageRef.parse("example.com/app,os=linux,version=1.0,arch=amd64")) == (
        "example.com/app:1.0,arch=amd64,os=linux"
    )
    assert str(ImageRef.parse("example.com/app")) == "example.com/app"
    assert str(ImageRef.parse("example.com/app:")) == "example.com/app:"


def test_constructor_checks() -> None:
    ref = ImageRef(name="example.com/app", labels={"os": "linux"})
    assert ref.labels["os"] == "linux"
    assert ref == ImageRef(name="example.com/app", labels={"os": "linux"})
    assert hash(ref) == hash(ImageRef(name="example.com/app", labels={"os": "linux"}))
    assert ImageRef(name="a").labels == {}
    assert ImageRef(name="a", labels=None).version is None
    with pytest.raises(InvalidAppString, match="ACIdentifier"):
        ImageRef(name="A")
    with pytest.raises(InvalidAppString, match="ACIdentifier"):
        ImageRef(name="a", labels={"OS": "x"})
    with pytest.raises(InvalidAppString, match='label "name" is the image name'):
        ImageRef(name="a", labels={"name": "x"})
    with pytest.raises(InvalidAppString, match="must be a string"):
        ImageRef(name="a", labels={"os": 1})  # type: ignore[dict-item]
    with pytest.raises(InvalidAppString, match="must be a mapping"):
        ImageRef(name="a", labels=[("os", "linux")])  # type: ignore[arg-type]
    with pytest.raises(TypeError):
        ref.labels["os"] = "x"  # type: ignore[index]


@given(strategies.image_refs())
def test_roundtrip(ref: ImageRef) -> None:
    assert ImageRef.parse(str(ref)) == ref


@given(st.text(max_size=30))
def test_nothing_escapes_but_our_error(text: str) -> None:
    with contextlib.suppress(InvalidAppString):
        ImageRef.parse(text)


_APP_TEXT = st.lists(
    st.one_of(
        st.sampled_from(
            [
                "example.com/app",
                ":",
                ",",
                "=",
                "&",
                ";",
                "%",
                "%2F",
                "%zz",
                "+",
                "a",
                "A",
                "version",
                "name",
                " ",
            ]
        ),
        st.characters(codec="utf-8"),
    ),
    max_size=8,
).map("".join)


@pytest.mark.interop
@given(st.one_of(_APP_TEXT, strategies.image_refs().map(str)))
def test_same_verdicts_as_go(oracle: GoOracle, text: str) -> None:
    _check_against(text, oracle.ask("app", text))
