"""ACIdentifier, ACName and the sanitize helpers against the Go reference.

Vectors: tests/vectors/names.json (Go's test tables plus edge cases, with
Go's verdicts and messages). Properties: the type accepts exactly the
strings of its Go-form grammar; the spec grammar is a strict subset.
"""

from __future__ import annotations

import json
import pathlib

from collections.abc import Iterator
from typing import Any

import pytest

from appc import _grammar
from appc.errors import InvalidACIdentifier, InvalidACName, InvalidValue
from appc.names import ACIdentifier, ACName, sanitize_ac_identifier, sanitize_ac_name
from appc.testing import strategies
from hypothesis import given
from hypothesis import strategies as st

from tests.oracle import GoOracle, actool_validate, go_oracle_or_skip, outcome


VECTORS: dict[str, Any] = json.loads(
    (pathlib.Path(__file__).parent / "vectors" / "names.json").read_text(
        encoding="utf-8"
    )
)


@pytest.fixture(scope="module")
def oracle() -> Iterator[GoOracle]:
    running = go_oracle_or_skip()
    yield running
    running.close()


@pytest.mark.parametrize("case", VECTORS["ac_identifier"], ids=repr)
def test_ac_identifier_vectors(case: dict[str, Any]) -> None:
    if case["ok"]:
        assert ACIdentifier(case["input"]) == case["input"]
    else:
        with pytest.raises(InvalidACIdentifier) as caught:
            ACIdentifier(case["input"])
        assert caught.value.reason == case["error"]
        assert caught.value.value == case["input"]


@pytest.mark.parametrize("case", VECTORS["ac_name"], ids=repr)
def test_ac_name_vectors(case: dict[str, Any]) -> None:
    if case["ok"]:
        assert ACName(case["input"]) == case["input"]
    else:
        with pytest.raises(InvalidACName) as caught:
            ACName(case["input"])
        assert caught.value.reason == case["error"]


@pytest.mark.parametrize(
    ("kind", "function", "error"),
    [
        ("sanitize_ac_identifier", sanitize_ac_identifier, InvalidACIdentifier),
        ("sanitize_ac_name", sanitize_ac_name, InvalidACName),
    ],
)
def test_sanitize_vectors(kind: str, function: Any, error: type[Exception]) -> None:
    for case in VECTORS[kind]:
        if case["ok"]:
            assert function(case["input"]) == case["output"], case
        else:
            with pytest.raises(error, match=case["error"]):
                function(case["input"])


def test_go_accepts_runs_of_separators_the_spec_regex_forbids() -> None:
    # anchors.md 1.23.1: we follow Go's verdict, the spec regex is stricter.
    for text in ("a..b", "a//b", "a/-b", "a_-~b"):
        assert ACIdentifier(text) == text
        assert not _grammar.AC_IDENTIFIER_SPEC.match(text)
    assert ACName("a--b") == "a--b"
    assert not _grammar.AC_NAME_SPEC.match("a--b")


def test_trailing_newline_is_not_an_edge() -> None:
    # Python's "$" matches before a final newline; the grammar uses \Z.
    with pytest.raises(InvalidACIdentifier):
        ACIdentifier("app\n")
    with pytest.raises(InvalidACName):
        ACName("app\n")


@pytest.mark.parametrize("cls", [ACIdentifier, ACName])
def test_not_a_string(cls: type[str]) -> None:
    with pytest.raises(InvalidValue, match="must be a string"):
        cls(3)


def test_sanitize_not_a_string() -> None:
    with pytest.raises(InvalidACIdentifier, match="expected a string"):
        sanitize_ac_identifier(None)  # type: ignore[arg-type]
    with pytest.raises(InvalidACName, match="expected a string"):
        sanitize_ac_name(b"x")  # type: ignore[arg-type]


def test_values_are_str_with_a_clear_repr() -> None:
    name = ACIdentifier("example.com/app")
    assert isinstance(name, str)
    assert repr(name) == "ACIdentifier('example.com/app')"
    assert ACIdentifier(name) is name
    web = ACName("web")
    assert repr(web) == "ACName('web')"
    assert ACName(web) is web
    assert {str(name): 1}["example.com/app"] == 1


@given(st.text())
def test_identifier_is_exactly_the_go_grammar(text: str) -> None:
    matches = _grammar.AC_IDENTIFIER.match(text) is not None
    try:
        ACIdentifier(text)
    except InvalidACIdentifier:
        assert not matches
    else:
        assert matches


@given(st.text())
def test_name_is_exactly_the_go_grammar(text: str) -> None:
    matches = _grammar.AC_NAME.match(text) is not None
    try:
        ACName(text)
    except InvalidACName:
        assert not matches
    else:
        assert matches


@given(strategies.ac_identifiers(strict=True))
def test_spec_identifiers_are_valid(name: ACIdentifier) -> None:
    assert _grammar.AC_IDENTIFIER_SPEC.match(name)
    assert ACIdentifier(str(name)) == name


@given(strategies.ac_names(strict=True))
def test_spec_names_are_valid_identifiers_too(name: ACName) -> None:
    assert _grammar.AC_NAME_SPEC.match(name)
    assert str(ACIdentifier(str(name))) == name


@given(strategies.invalid_ac_identifiers())
def test_near_miss_identifiers_are_rejected(text: str) -> None:
    with pytest.raises(InvalidACIdentifier):
        ACIdentifier(text)


@given(strategies.invalid_ac_names())
def test_near_miss_names_are_rejected(text: str) -> None:
    with pytest.raises(InvalidACName):
        ACName(text)


@given(st.text())
def test_sanitize_gives_a_valid_fixed_point_or_our_error(text: str) -> None:
    for function, error in (
        (sanitize_ac_identifier, InvalidACIdentifier),
        (sanitize_ac_name, InvalidACName),
    ):
        try:
            clean = function(text)
        except error:
            continue
        assert function(clean) == clean


@given(strategies.ac_names())
def test_sanitize_keeps_valid_names(name: ACName) -> None:
    assert sanitize_ac_name(name) == name
    assert str(sanitize_ac_identifier(name)) == name


_NAME_TEXT = st.text(
    st.one_of(
        st.sampled_from("abcxyz019-._~/ABZ#@ \u0130\u212a\xe9"),
        st.characters(codec="utf-8"),
    ),
    max_size=12,
)


@pytest.mark.interop
@given(_NAME_TEXT)
def test_same_verdicts_and_messages_as_go(oracle: GoOracle, text: str) -> None:
    for kind, cls in (("acidentifier", ACIdentifier), ("acname", ACName)):
        answer = oracle.ask(kind, text)
        _, reason = outcome(cls, text)
        assert (reason is None) == answer["ok"], text
        assert reason == answer.get("error")
    for kind, function in (
        ("sanitize_acidentifier", sanitize_ac_identifier),
        ("sanitize_acname", sanitize_ac_name),
    ):
        answer = oracle.ask(kind, text)
        clean, reason = outcome(function, text)
        if reason is None:
            assert answer == {"ok": True, "output": clean}
        else:
            assert answer == {"ok": False, "error": reason}


@pytest.mark.interop
def test_actool_agrees_on_tricky_image_names(
    actool: str, tmp_path: pathlib.Path
) -> None:
    names = [
        "a..b",
        "a//b",
        "a/-b",
        "a_-~b",
        "a--b",
        "A",
        "app/",
        "-app",
        "",
        "a b",
        "\u212a",
    ]
    documents = [
        json.dumps({"acKind": "ImageManifest", "acVersion": "0.8.11", "name": name})
        for name in names
    ]
    for name, (verdict, message) in zip(
        names, actool_validate(actool, documents, tmp_path), strict=True
    ):
        _, reason = outcome(ACIdentifier, name)
        assert (verdict, message) == (
            ("valid", "") if reason is None else ("invalid", reason)
        )
