"""Resource quantities (tests/vectors/quantity.json: Kubernetes' test inputs as Go judges them)."""

from __future__ import annotations

import json
import pathlib

from collections.abc import Iterator
from typing import Any

import pytest

from appc.errors import InvalidQuantity
from appc.quantity import (
    MAX_INTEGER_DIGITS,
    MAX_QUANTITY_LENGTH,
    MAX_QUANTITY_SCALE,
    Quantity,
)
from appc.testing import strategies
from hypothesis import given
from hypothesis import strategies as st

from tests.oracle import GoOracle, go_oracle_or_skip, outcome


VECTORS: dict[str, Any] = json.loads(
    (pathlib.Path(__file__).parent / "vectors" / "quantity.json").read_text(
        encoding="utf-8"
    )
)
_INT64 = 2**63 - 1


def _go_prints_no_suffix(text: str, go_output: str) -> bool:
    # Past "E" Go prints a decimal amount with no suffix at all ("1000E" ->
    # "1"); we print the exponent form. Documented in docs/names-and-labels.md.
    return text.endswith("E") and "e" not in go_output and not go_output.endswith("E")


@pytest.fixture(scope="module")
def oracle() -> Iterator[GoOracle]:
    running = go_oracle_or_skip()
    yield running
    running.close()


def _check_against(
    text: str, answer: dict[str, Any], oracle: GoOracle | None = None
) -> None:
    quantity, reason = outcome(Quantity.parse, text)
    if quantity is None:
        assert (answer["ok"], answer.get("error")) == (False, reason), text
        return
    assert answer["ok"], text
    shown = str(quantity)
    if shown != answer["output"]:
        assert _go_prints_no_suffix(text, answer["output"]), (text, shown, answer)
        assert Quantity.parse(shown) == quantity
    if oracle is not None and abs(quantity.exponent) < 40:
        # Go's Value() takes a step per power of ten: ask only for small ones.
        answer = {**answer, **oracle.ask("quantity_value", text)}
    if "value" not in answer:
        return
    # Go's Value() and MilliValue() wrap around past int64; ours are exact.
    for method, key in ((quantity.value, "value"), (quantity.milli_value, "milli")):
        try:
            mine = method()
        except InvalidQuantity:
            continue
        if 0 <= mine <= _INT64:
            assert mine == answer[key], (text, key)


@pytest.mark.parametrize("case", VECTORS["parse"], ids=repr)
def test_parse_vectors(case: dict[str, Any]) -> None:
    _check_against(case["input"], case)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        # anchors.md 1.19, the canonical-output table.
        ("1", "1"),
        ("1.5", "1500m"),
        (".5", "500m"),
        ("0.5", "500m"),
        ("1Gi", "1Gi"),
        ("1024Mi", "1Gi"),
        ("1000M", "1G"),
        ("2.5Gi", "2560Mi"),
        ("1e3", "1e3"),
        ("0.1m", "100u"),
        ("0.0001", "100u"),
        ("+2", "+2"),
        ("-1", "-1"),
    ],
)
def test_anchor_table(text: str, expected: str) -> None:
    assert str(Quantity.parse(text)) == expected


def test_json_tokens() -> None:
    # Go's UnmarshalJSON strips one pair of quotes, then white space.
    assert str(Quantity.from_json_token("0.5")) == "500m"
    assert str(Quantity.from_json_token('"1Gi"')) == "1Gi"
    assert (
        str(Quantity.from_json_token('" 1\\u00a0"'.replace("\\u00a0", "\u00a0"))) == "1"
    )
    with pytest.raises(InvalidQuantity):
        Quantity.from_json_token('"\\u0031"')
    with pytest.raises(InvalidQuantity):
        Quantity.from_json_token("true")
    with pytest.raises(InvalidQuantity, match="must be a string"):
        Quantity.from_json_token(1)  # type: ignore[arg-type]


def test_limits() -> None:
    with pytest.raises(InvalidQuantity, match=f"longer than {MAX_QUANTITY_LENGTH}"):
        Quantity.parse("1" * (MAX_QUANTITY_LENGTH + 1))
    assert Quantity.parse("1" * MAX_QUANTITY_LENGTH).sign() == 1
    with pytest.raises(
        InvalidQuantity, match=f"more than {MAX_QUANTITY_SCALE} digits to round"
    ):
        Quantity.parse(f"1e-{MAX_QUANTITY_SCALE + 10}")
    assert str(Quantity.parse(f"1e-{MAX_QUANTITY_SCALE + 9}")) == "1e-9"
    # Go wraps exponents to 32 bits: this one is -2**31, which Go never finishes.
    with pytest.raises(InvalidQuantity, match="digits to round"):
        Quantity.parse("1e2147483648")
    # Too many digits for Go's int64 path, so it rounds: no end either.
    with pytest.raises(InvalidQuantity, match="digits to round"):
        Quantity.parse("1234567890123456789e100000000")
    assert Quantity.parse("0e-2147483648").is_zero()
    huge = Quantity.parse("1e2147483647")
    assert str(huge) == "10e2147483646"
    with pytest.raises(InvalidQuantity, match=f"more than {MAX_INTEGER_DIGITS} digits"):
        huge.value()


def test_values_round_away_from_zero() -> None:
    assert Quantity.parse("1.5").value() == 2
    assert Quantity.parse("-1.5").value() == -2
    assert Quantity.parse("1n").milli_value() == 1
    assert Quantity.parse("1e-30").scaled_value(-9) == 1
    assert Quantity.parse("0").value() == 0
    assert Quantity.parse("0").scaled_value(5) == 0
    assert Quantity.parse("1.5Gi").scaled_value(6) == 1611


def test_comparisons() -> None:
    assert Quantity.parse("1Ki") == Quantity.parse("1024")
    assert hash(Quantity.parse("1Ki")) == hash(Quantity.parse("1024"))
    assert Quantity.parse("999m") < Quantity.parse("1")
    assert Quantity.parse("-1") < Quantity.parse("0") < Quantity.parse("1n")
    assert Quantity.parse("1e2000000000") > Quantity.parse("9" * 100)
    assert Quantity.parse("-1e2000000000") < Quantity.parse("-1")
    assert Quantity.parse("1") != "1"
    with pytest.raises(TypeError):
        _ = Quantity.parse("1") < 1
    assert Quantity.parse("0Mi").is_zero()


def test_constructor() -> None:
    assert str(Quantity(15, -1)) == "1500m"
    assert str(Quantity(3, 0, "BinarySI")) == "3"
    assert str(Quantity(2048, 0, "BinarySI")) == "2Ki"
    assert str(Quantity(10**50, 0, "BinarySI")) == "100e48"
    assert str(Quantity(1025, -1, "BinarySI")) == "102500m"
    bad_fields: list[dict[str, Any]] = [
        {"coefficient": 1.5},
        {"coefficient": 1, "exponent": "x"},
        {"coefficient": 1, "format": "Hex"},
    ]
    for bad in bad_fields:
        with pytest.raises(InvalidQuantity):
            Quantity(**bad)
    with pytest.raises(InvalidQuantity, match="must be a string"):
        Quantity.parse(5)  # type: ignore[arg-type]


@given(strategies.quantities())
def test_roundtrip(quantity: Quantity) -> None:
    shown = str(quantity)
    again = Quantity.parse(shown)
    assert again == quantity
    assert str(again) == shown


@given(strategies.invalid_quantity_strings())
def test_near_misses_are_rejected(text: str) -> None:
    with pytest.raises(InvalidQuantity):
        Quantity.parse(text)


@given(st.text(max_size=40))
def test_nothing_escapes_but_our_error(text: str) -> None:
    try:
        quantity = Quantity.parse(text)
    except InvalidQuantity:
        return
    str(quantity)


_QUANTITY_TEXT = st.one_of(
    strategies.quantity_strings(),
    strategies.invalid_quantity_strings(),
    st.lists(
        st.sampled_from(
            [*list("0123456789.+-eEinumkKMGTP x"), "Ki", "Gi", "Ei", "000", "999"]
        ),
        max_size=8,
    ).map("".join),
)


@pytest.mark.interop
@given(_QUANTITY_TEXT)
def test_same_verdicts_and_forms_as_go(oracle: GoOracle, text: str) -> None:
    answer = oracle.ask("quantity", text)
    if answer.get("timeout"):
        # Go never finishes on these; we refuse them.
        with pytest.raises(InvalidQuantity, match="digits to round"):
            Quantity.parse(text)
        return
    _check_against(text, answer, oracle)
