"""Image config JSON: the fields the conversion reads, type-checked."""

from __future__ import annotations

import contextlib
import json

import hypothesis
import hypothesis.strategies as st
import pytest

from appc.docker._config import MAX_JSON_SIZE, load_json, parse_image_config
from appc.errors import ConversionError, LimitExceeded


def test_full_config() -> None:
    config = parse_image_config(
        json.dumps(
            {
                "architecture": "arm",
                "variant": "v7",
                "os": "linux",
                "author": "me",
                "created": "2020-01-02T03:04:05.123456789Z",
                "comment": "c",
                "config": {
                    "Entrypoint": ["/a"],
                    "Cmd": ["b"],
                    "User": "u:g",
                    "Env": ["A=1"],
                    "WorkingDir": "/w",
                    "Volumes": {"/z": {}, "/a": {}},
                    "ExposedPorts": {"80/tcp": {}},
                    "Labels": {"k2": "v2", "k1": "v1"},
                },
                "rootfs": {"type": "layers", "diff_ids": ["sha256:" + "0" * 64]},
            }
        ).encode()
    )
    assert config.volumes == ("/a", "/z")
    assert config.labels == (("k1", "v1"), ("k2", "v2"))
    assert config.variant == "v7"
    assert config.diff_ids == ("sha256:" + "0" * 64,)


def test_nulls_are_absent() -> None:
    config = parse_image_config(
        b'{"config": {"Entrypoint": null, "Labels": null, "User": null}}'
    )
    assert config.entrypoint == ()
    assert config.labels == ()
    assert config.user == ""


@pytest.mark.parametrize(
    ("document", "where"),
    [
        ("[]", r"\$ is not an object"),
        ('{"config": {"Cmd": "sh"}}', r"\$.config.Cmd is not a list"),
        ('{"config": {"Env": [1]}}', r"\$.config.Env\[0\] is not a string"),
        ('{"config": {"User": 0}}', r"\$.config.User is not a string"),
        ('{"config": {"Labels": {"a": 1}}}', r"Labels\['a'\] is not a string"),
        ('{"config": {"Volumes": []}}', r"Volumes is not an object"),
        ('{"os": 1}', r"\$.os is not a string"),
    ],
)
def test_wrong_types(document: str, where: str) -> None:
    with pytest.raises(ConversionError, match=where):
        parse_image_config(document.encode())


@pytest.mark.parametrize(
    "data", [b"{", b"[NaN]", b"[Infinity]", b"[" * 100_000, b"\xff"]
)
def test_bad_json(data: bytes) -> None:
    with pytest.raises(ConversionError, match="invalid config"):
        load_json(data, "config")


def test_json_size_limit() -> None:
    with pytest.raises(LimitExceeded, match="MAX_JSON_SIZE"):
        load_json(b" " * (MAX_JSON_SIZE + 1), "config")


_JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(max_size=5),
    lambda children: (
        st.lists(children, max_size=3)
        | st.dictionaries(
            st.sampled_from(
                ["config", "Cmd", "Env", "Labels", "os", "rootfs", "diff_ids", "User"]
            ),
            children,
            max_size=4,
        )
    ),
    max_leaves=12,
)


@hypothesis.given(_JSON)
def test_any_json_parses_or_fails_cleanly(document: object) -> None:
    with contextlib.suppress(ConversionError):
        parse_image_config(json.dumps(document).encode())
