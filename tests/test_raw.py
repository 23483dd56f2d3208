"""The lenient "lastditch" reading: Go's schema/lastditch tables (tests/vectors/lastditch.json)."""

from __future__ import annotations

import json
import pathlib

from typing import Any

import pytest

from appc.errors import InvalidManifest
from appc.raw import (
    RawImageManifest,
    RawPodManifest,
    RawRuntimeApp,
    RawRuntimeImage,
    load_raw_image_manifest,
    load_raw_manifest,
    load_raw_pod_manifest,
)


DATA = json.loads(
    (pathlib.Path(__file__).parent / "vectors" / "lastditch.json").read_text()
)


def _expected(expected: dict[str, Any]) -> RawImageManifest | RawPodManifest:
    if expected["ac_kind"] == "ImageManifest":
        return RawImageManifest(
            ac_version=expected["ac_version"],
            ac_kind=expected["ac_kind"],
            name=expected["name"],
            labels=tuple((n, v) for n, v in expected["labels"]),
        )
    apps = tuple(
        RawRuntimeApp(
            name=app["name"],
            image=RawRuntimeImage(
                name=app["image"]["name"],
                id=app["image"]["id"],
                labels=tuple((n, v) for n, v in app["image"]["labels"]),
            ),
        )
        for app in expected["apps"]
    )
    return RawPodManifest(
        ac_version=expected["ac_version"], ac_kind=expected["ac_kind"], apps=apps
    )


@pytest.mark.parametrize(
    "case", DATA["cases"], ids=[case["source"].split(": ")[1] for case in DATA["cases"]]
)
def test_lastditch_table(case: dict[str, Any]) -> None:
    text = json.dumps(case["document"])
    expected = _expected(case["expected"])
    assert load_raw_manifest(text) == expected
    loader = (
        load_raw_image_manifest
        if isinstance(expected, RawImageManifest)
        else load_raw_pod_manifest
    )
    assert loader(text) == expected


@pytest.mark.parametrize(
    "case", DATA["bogus"], ids=[case["source"] for case in DATA["bogus"]]
)
def test_lastditch_bogus(case: dict[str, Any]) -> None:
    loader = (
        load_raw_image_manifest
        if case["kind"] == "ImageManifest"
        else load_raw_pod_manifest
    )
    with pytest.raises(InvalidManifest):
        loader(case["text"])
    with pytest.raises(InvalidManifest):
        load_raw_manifest(case["text"])


def test_wrong_kind() -> None:
    with pytest.raises(InvalidManifest, match='must be "PodManifest"'):
        load_raw_pod_manifest('{"acKind": "ImageManifest"}')
    with pytest.raises(
        InvalidManifest, match='must be "ImageManifest" or "PodManifest"'
    ):
        load_raw_manifest("[]")


def test_keys_in_any_case_nulls_and_missing_fields() -> None:
    raw = load_raw_manifest(
        '{"ACKIND": "PodManifest", "Apps": [null, {"IMAGE": null, "name": null}]}'
    )
    assert raw == RawPodManifest(ac_version="", apps=(RawRuntimeApp(), RawRuntimeApp()))
    image = load_raw_image_manifest(
        '{"acKind": "ImageManifest", "labels": [null, {"name": "a"}]}'
    )
    assert image.labels == (("", ""), ("a", ""))


def test_wrong_types_are_errors_as_in_go() -> None:
    with pytest.raises(InvalidManifest) as caught:
        load_raw_manifest(
            '{"acKind": "PodManifest", "apps": [{"name": 1, "image": []}], "acVersion": true}'
        )
    assert [issue.path for issue in caught.value.issues] == [
        "$.apps[0].image",
        "$.apps[0].name",
        "$.acVersion",
    ]
    with pytest.raises(InvalidManifest) as caught:
        load_raw_image_manifest('{"acKind": "ImageManifest", "labels": {}}')
    assert caught.value.issues[0].path == "$.labels"


def test_hostile_json_is_still_refused() -> None:
    with pytest.raises(InvalidManifest, match="nesting"):
        load_raw_manifest(
            b'{"acKind": "ImageManifest", "x": ' + b"[" * 1000 + b"]" * 1000 + b"}"
        )
