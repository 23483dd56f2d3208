"""docker:// references, normalised as docker2aci (and docker/distribution) do."""

from __future__ import annotations

import json

from pathlib import Path
from typing import Any

import hypothesis
import hypothesis.strategies as st
import pytest

from appc.docker import DockerReference, parse_reference
from appc.docker._reference import MAX_NAME_LENGTH
from appc.errors import InvalidDockerReference


_VECTORS: dict[str, Any] = json.loads(
    (Path(__file__).parent.parent / "vectors" / "docker_references.json").read_text()
)


@pytest.mark.parametrize("vector", _VECTORS["valid"], ids=lambda v: v["input"])
def test_valid_references(vector: dict[str, str]) -> None:
    ref = parse_reference(vector["input"])
    assert (ref.registry, ref.repository, ref.tag, ref.digest) == (
        vector["registry"],
        vector["repository"],
        vector["tag"],
        vector["digest"],
    )
    # The normalised form parses back to the same reference.
    assert parse_reference(str(ref)) == ref


@pytest.mark.parametrize(
    "vector", _VECTORS["invalid"], ids=lambda v: v["input"] or "empty"
)
def test_invalid_references(vector: dict[str, str]) -> None:
    with pytest.raises(InvalidDockerReference, match=vector["reason"]) as info:
        parse_reference(vector["input"])
    assert isinstance(info.value, ValueError)
    assert info.value.value == vector["input"]


def test_name_length_limit() -> None:
    name = "a/" * (MAX_NAME_LENGTH // 2 - 7) + "b"
    assert parse_reference(name).repository == name
    with pytest.raises(InvalidDockerReference, match="255"):
        parse_reference(name + "/c" * 10)


def test_tag_length_limit() -> None:
    assert parse_reference("a:" + "t" * 128).tag == "t" * 128
    with pytest.raises(InvalidDockerReference, match="tag"):
        parse_reference("a:" + "t" * 129)


def test_default_tag_and_properties() -> None:
    ref = parse_reference("busybox", default_tag="")
    assert ref.tag == ""
    assert ref.is_docker_hub
    assert ref.name == "docker.io/library/busybox"
    assert str(
        DockerReference(domain="quay.io", repository="a", digest="sha256:" + "0" * 64)
    ) == ("quay.io/a@sha256:" + "0" * 64)
    assert not parse_reference("quay.io/a").is_docker_hub


@hypothesis.given(st.text(max_size=80))
def test_any_text_parses_or_fails_cleanly(text: str) -> None:
    try:
        ref = parse_reference(text)
    except InvalidDockerReference:
        return
    assert parse_reference(str(ref)) == ref
