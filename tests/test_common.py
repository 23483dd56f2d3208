"""Annotations, UUID, Date and URL (tests/vectors/common.json)."""

from __future__ import annotations

import contextlib
import datetime as dt
import json
import pathlib
import re

from collections.abc import Iterator
from typing import Any

import attrs
import pytest

from appc.errors import InvalidAnnotations, InvalidDate, InvalidURL, InvalidUUID
from appc.model.common import URL, UUID, Annotations, Date
from appc.testing import strategies
from hypothesis import given
from hypothesis import strategies as st

from tests.oracle import GoOracle, actool_validate, go_oracle_or_skip, outcome


VECTORS: dict[str, Any] = json.loads(
    (pathlib.Path(__file__).parent / "vectors" / "common.json").read_text(
        encoding="utf-8"
    )
)


@pytest.fixture(scope="module")
def oracle() -> Iterator[GoOracle]:
    running = go_oracle_or_skip()
    yield running
    running.close()


@pytest.mark.parametrize("case", VECTORS["annotations"], ids=repr)
def test_annotation_vectors(case: dict[str, Any]) -> None:
    pairs = [(entry["name"], entry["value"]) for entry in case["input"]]
    if case["ok"]:
        annotations = Annotations(pairs)
        assert [{"name": n, "value": v} for n, v in annotations.pairs()] == case[
            "output"
        ]
    else:
        with pytest.raises(InvalidAnnotations) as caught:
            Annotations(pairs)
        # Go's date and URL messages embed Go's parser errors; ours start
        # the same way and say what is wrong in our words.
        assert caught.value.reason.split(":")[0] == case["error"].split(":")[0]


@pytest.mark.parametrize("case", VECTORS["uuid"], ids=repr)
def test_uuid_vectors(case: dict[str, Any]) -> None:
    if case["ok"] and not case["empty"]:
        assert UUID(case["input"]) == case["output"]
    else:
        with pytest.raises(InvalidUUID) as caught:
            UUID(case["input"])
        # Go's NewUUID takes the nil UUID; its (un)marshalling refuses it.
        assert caught.value.reason == case.get("error", "UUID cannot be empty")


@pytest.mark.parametrize("case", VECTORS["date"], ids=repr)
def test_date_vectors(case: dict[str, Any]) -> None:
    if case["ok"]:
        assert str(Date.parse(case["input"])) == case["output"]
    else:
        with pytest.raises(InvalidDate, match=r"^bad Date: "):
            Date.parse(case["input"])


@pytest.mark.parametrize("case", VECTORS["url"], ids=repr)
def test_url_vectors(case: dict[str, Any]) -> None:
    if case["ok"]:
        assert URL(case["input"]) == case["input"]
    else:
        with pytest.raises(InvalidURL) as caught:
            URL(case["input"])
        if case["error"].startswith("bad URL: "):
            # The part after Go's "parse ...: " is net/url's own message.
            assert (
                caught.value.reason.rpartition(": ")[2]
                == case["error"].rpartition(": ")[2]
            )
        else:
            assert caught.value.reason == case["error"]


def test_annotations_mapping() -> None:
    annotations = Annotations([("authors", "me"), ("homepage", "https://example.com")])
    assert annotations["authors"] == "me"
    assert annotations.set("authors", "you")["authors"] == "you"
    assert annotations == {"homepage": "https://example.com", "authors": "me"}
    assert repr(annotations).startswith("Annotations([")
    with pytest.raises(InvalidAnnotations, match="ACIdentifier must contain only"):
        Annotations([("Bad", "x")])


def test_uuid_forms() -> None:
    uuid = UUID("6733C088A5074694AABFEDBE4FC5266F")
    assert uuid == "6733c088-a507-4694-aabf-edbe4fc5266f"
    assert UUID(uuid) is uuid
    assert uuid.bytes == bytes.fromhex("6733c088a5074694aabfedbe4fc5266f")
    assert repr(uuid) == "UUID('6733c088-a507-4694-aabf-edbe4fc5266f')"
    with pytest.raises(InvalidUUID, match="must be a string"):
        UUID(5)  # type: ignore[arg-type]
    with pytest.raises(InvalidUUID, match=re.escape("invalid byte: U+0067 'g'")):
        UUID("6733c088a5074694aabfedbe4fc5266g")


def test_date_fields_and_conversions() -> None:
    date = Date.parse("2015-05-18T13:49:28.351729952-04:00")
    assert (date.year, date.month, date.day, date.hour, date.nanosecond) == (
        2015,
        5,
        18,
        13,
        351729952,
    )
    assert date.utc_offset == -4 * 3600
    moment = date.to_datetime()
    assert moment.isoformat() == "2015-05-18T13:49:28.351729-04:00"
    assert Date.from_datetime(moment) == attrs.evolve(date, nanosecond=351729000)
    assert str(Date.parse("2004-05-14T23:11:14+00:00")) == "2004-05-14T23:11:14Z"
    with pytest.raises(InvalidDate, match="naive"):
        Date.from_datetime(dt.datetime(2020, 1, 1))  # noqa: DTZ001
    with pytest.raises(InvalidDate, match="bad Date"):
        Date.parse("0000-01-01T00:00:00Z").to_datetime()
    with pytest.raises(InvalidDate, match="bad Date"):
        Date.parse("2000-01-01T00:00:00+25:00").to_datetime()
    with pytest.raises(InvalidDate, match="expected a string"):
        Date.parse(None)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    "fields",
    [
        {"year": 2015, "month": 2, "day": 29},
        {"year": 2015, "month": 13, "day": 1},
        {"year": 10000, "month": 1, "day": 1},
        {"year": 2015, "month": 1, "day": 1, "second": 60},
        {"year": 2015, "month": 1, "day": 1, "nanosecond": 10**9},
        {"year": 2015, "month": 1, "day": 1, "utc_offset": 200 * 3600},
        {"year": "2015", "month": 1, "day": 1},
    ],
)
def test_date_fields_are_validated(fields: dict[str, Any]) -> None:
    with pytest.raises(InvalidDate):
        Date(**fields)


def test_url_forms() -> None:
    url = URL("HTTP://example.com")
    assert url.scheme == "http"
    assert URL(url) is url
    assert repr(url) == "URL('HTTP://example.com')"
    with pytest.raises(InvalidURL, match="must be a string"):
        URL(None)  # type: ignore[arg-type]


@given(strategies.annotations())
def test_annotations_roundtrip(annotations: Annotations) -> None:
    assert Annotations(annotations.pairs()) == annotations


@given(strategies.uuids())
def test_uuids_roundtrip(uuid: UUID) -> None:
    assert UUID(str(uuid)) == uuid
    assert UUID(str(uuid).upper().replace("-", "")) == uuid


@given(strategies.dates())
def test_dates_roundtrip_without_their_fraction(date: Date) -> None:
    # Go's format drops the fraction; an offset of 100 hours or more prints
    # in a form Go cannot read back.
    if abs(date.utc_offset) < 100 * 3600:
        assert Date.parse(str(date)) == attrs.evolve(date, nanosecond=0)


@given(strategies.date_strings())
def test_date_strings_parse(text: str) -> None:
    Date.parse(text)


@given(strategies.invalid_date_strings())
def test_near_miss_dates_are_rejected(text: str) -> None:
    with pytest.raises(InvalidDate):
        Date.parse(text)


@given(strategies.urls())
def test_urls_are_valid(url: URL) -> None:
    assert URL(str(url)) == url


@given(strategies.invalid_urls())
def test_near_miss_urls_are_rejected(text: str) -> None:
    with pytest.raises(InvalidURL):
        URL(text)


@given(st.text())
def test_nothing_escapes_but_our_errors(text: str) -> None:
    for function, error in (
        (UUID, InvalidUUID),
        (Date.parse, InvalidDate),
        (URL, InvalidURL),
    ):
        with contextlib.suppress(error):
            function(text)


_URL_TEXT = st.lists(
    st.one_of(
        st.sampled_from(
            [
                "http",
                "https",
                "://",
                "[",
                "]",
                "::1",
                "@",
                "%",
                "25",
                "41",
                "zz",
                ":",
                "/",
                "?",
                "#",
                " ",
                "\x01",
                "é",
                "x",
            ]
        ),
        st.characters(codec="utf-8"),
    ),
    max_size=10,
).map("".join)
_DATE_TEXT = st.one_of(
    strategies.date_strings(),
    strategies.invalid_date_strings(),
    st.text(st.sampled_from("0123456789-:TZz+., "), max_size=30),
)
_UUID_TEXT = st.text(st.sampled_from("0123456789abcdefABCDEFg-{} é"), max_size=40)


@pytest.mark.interop
@given(_URL_TEXT, _DATE_TEXT, _UUID_TEXT)
def test_same_verdicts_as_go(oracle: GoOracle, url: str, date: str, uuid: str) -> None:
    answer = oracle.ask("url", url)
    try:
        URL(url)
    except InvalidURL:
        assert not answer["ok"], url
    else:
        assert answer["ok"], url
    answer = oracle.ask("date", date)
    try:
        parsed = Date.parse(date)
    except InvalidDate:
        assert not answer["ok"], date
    else:
        assert answer == {"ok": True, "output": str(parsed)}
    answer = oracle.ask("uuid", uuid)
    value, reason = outcome(UUID, uuid)
    if value is None:
        assert not answer["ok"] or answer["empty"], uuid
        assert reason == answer.get("error", "UUID cannot be empty")
    else:
        assert answer == {"ok": True, "output": str(value), "empty": False}


@pytest.mark.interop
def test_actool_agrees_on_well_known_annotations(
    actool: str, tmp_path: pathlib.Path
) -> None:
    cases = [
        [("created", "2015-01-01T1:00:00,5+99:99")],
        [("created", "2015-02-29T00:00:00Z")],
        [("created", "")],
        [("homepage", "http:opaque")],
        [("homepage", "http://[fe80::1%25en0]/")],
        [("documentation", "http://x:port/")],
        [("homepage", "HTTPS://x")],
        [("authors", "x"), ("authors", "y")],
    ]
    documents = [
        json.dumps(
            {
                "acKind": "ImageManifest",
                "acVersion": "0.8.11",
                "name": "example.com/app",
                "annotations": [{"name": n, "value": v} for n, v in pairs],
            }
        )
        for pairs in cases
    ]
    for pairs, (verdict, _) in zip(
        cases, actool_validate(actool, documents, tmp_path), strict=True
    ):
        try:
            Annotations(pairs)
        except InvalidAnnotations:
            assert verdict == "invalid", pairs
        else:
            assert verdict == "valid", pairs
