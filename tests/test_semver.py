"""SemVer against go-semver as the Go reference uses it (tests/vectors/semver.json)."""

from __future__ import annotations

import contextlib
import json
import pathlib

from collections.abc import Iterator
from typing import Any

import attrs
import pytest

from appc.errors import InvalidSemVer
from appc.semver import SPEC_VERSION, SemVer
from appc.testing import strategies
from hypothesis import given
from hypothesis import strategies as st

from tests.oracle import GoOracle, actool_validate, go_oracle_or_skip, outcome


VECTORS: dict[str, Any] = json.loads(
    (pathlib.Path(__file__).parent / "vectors" / "semver.json").read_text(
        encoding="utf-8"
    )
)


@pytest.fixture(scope="module")
def oracle() -> Iterator[GoOracle]:
    running = go_oracle_or_skip()
    yield running
    running.close()


@pytest.mark.parametrize("case", VECTORS["parse"], ids=repr)
def test_parse_vectors(case: dict[str, Any]) -> None:
    if case["ok"]:
        assert str(SemVer.parse(case["input"])) == case["output"]
    else:
        with pytest.raises(InvalidSemVer) as caught:
            SemVer.parse(case["input"])
        # Go says only "SemVer is bad"; we add what is wrong after it.
        assert caught.value.reason.startswith(case["error"])


def test_order_vectors() -> None:
    for case in VECTORS["order"]:
        left, right = SemVer.parse(case["left"]), SemVer.parse(case["right"])
        assert (left < right) == (
            case["less"] or (not case["greater"] and left.build < right.build)
        )
        assert (right < left) == (
            case["greater"] or (not case["less"] and right.build < left.build)
        )
        if not case["less"] and not case["greater"]:
            # Equal precedence: only build metadata may tell them apart.
            assert attrs.evolve(left, build="") == attrs.evolve(right, build="")


def test_spec_version() -> None:
    assert SemVer(major=0, minor=8, patch=11) == SPEC_VERSION


def test_zero_is_refused_at_construction() -> None:
    with pytest.raises(InvalidSemVer, match="SemVer cannot be zero"):
        SemVer(major=0, minor=0, patch=0)
    assert str(SemVer(major=0, minor=0, patch=0, prerelease="a")) == "0.0.0-a"


@pytest.mark.parametrize(
    "fields",
    [
        {"major": -1, "minor": 0, "patch": 1},
        {"major": 2**63, "minor": 0, "patch": 1},
        {"major": True, "minor": 0, "patch": 1},
        {"major": 1, "minor": 0, "patch": 0, "prerelease": "a..b"},
        {"major": 1, "minor": 0, "patch": 0, "build": "+"},
        {"major": 1, "minor": 0, "patch": 0, "build": 5},
    ],
)
def test_fields_are_validated(fields: dict[str, Any]) -> None:
    with pytest.raises(InvalidSemVer):
        SemVer(**fields)


def test_parse_refuses_non_strings() -> None:
    with pytest.raises(InvalidSemVer, match="expected a string"):
        SemVer.parse(1.0)  # type: ignore[arg-type]


def test_comparison_with_other_types() -> None:
    assert SemVer.parse("1.0.0") != object()
    with pytest.raises(TypeError):
        _ = SemVer.parse("1.0.0") < "1.0.0"


@given(strategies.semvers())
def test_roundtrip(version: SemVer) -> None:
    assert SemVer.parse(str(version)) == version
    assert hash(SemVer.parse(str(version))) == hash(version)


@given(strategies.semver_strings())
def test_lenient_strings_parse_and_normalise(text: str) -> None:
    version = SemVer.parse(text)
    assert SemVer.parse(str(version)) == version


@given(strategies.invalid_semver_strings())
def test_near_misses_are_rejected(text: str) -> None:
    with pytest.raises(InvalidSemVer):
        SemVer.parse(text)


@given(st.text())
def test_nothing_escapes_but_our_error(text: str) -> None:
    with contextlib.suppress(InvalidSemVer):
        SemVer.parse(text)


@given(strategies.semvers(), strategies.semvers(), strategies.semvers())
def test_order_is_total_and_transitive(a: SemVer, b: SemVer, c: SemVer) -> None:
    assert (a < b) + (b < a) + (a == b) == 1
    if a <= b <= c:
        assert a <= c


_SEMVER_TEXT = st.one_of(
    strategies.semver_strings(),
    strategies.invalid_semver_strings(),
    st.text(st.sampled_from("0123456789.-+aZ_ "), max_size=12),
)


@pytest.mark.interop
@given(_SEMVER_TEXT, _SEMVER_TEXT)
def test_same_verdicts_and_order_as_go(oracle: GoOracle, left: str, right: str) -> None:
    parsed: list[SemVer] = []
    for text in (left, right):
        answer = oracle.ask("semver", text)
        version, reason = outcome(SemVer.parse, text)
        if version is None:
            assert not answer["ok"], text
            assert str(reason).startswith(answer["error"])
        else:
            assert answer == {"ok": True, "output": str(version)}
            parsed.append(version)
    if len(parsed) == 2:
        answer = oracle.ask("semver_less", left, other=right)
        a, b = parsed
        if answer["less"]:
            assert a < b
        elif answer["greater"]:
            assert b < a
        else:
            assert (a.major, a.minor, a.patch, a.prerelease) == (
                b.major,
                b.minor,
                b.patch,
                b.prerelease,
            )


@pytest.mark.interop
def test_actool_agrees_on_tricky_ac_versions(
    actool: str, tmp_path: pathlib.Path
) -> None:
    versions = [
        "01.0.0",
        "1.0.0-",
        "1.0.0+",
        "99.0.0",
        "0.0.0",
        "1.0",
        "v1.0.0",
        "1.2.3-a..1",
        "0.0.0-a",
    ]
    documents = [
        json.dumps(
            {"acKind": "ImageManifest", "acVersion": version, "name": "example.com/app"}
        )
        for version in versions
    ]
    for version, (verdict, message) in zip(
        versions, actool_validate(actool, documents, tmp_path), strict=True
    ):
        _, reason = outcome(SemVer.parse, version)
        assert verdict == ("valid" if reason is None else "invalid"), version
        assert str(reason or "").startswith(message)
