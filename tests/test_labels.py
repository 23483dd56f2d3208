"""Labels and the os/arch tables (tests/vectors/labels.json)."""

from __future__ import annotations

import contextlib
import copy
import json
import pathlib
import pickle
import re

from collections.abc import Iterator
from typing import Any

import pytest

from appc.errors import InvalidLabels
from appc.labels import KNOWN_OS_ARCH, Labels, to_appc_os_arch, to_go_os_arch
from appc.testing import strategies
from hypothesis import given
from hypothesis import strategies as st

from tests.oracle import GoOracle, actool_validate, go_oracle_or_skip, outcome


VECTORS: dict[str, Any] = json.loads(
    (pathlib.Path(__file__).parent / "vectors" / "labels.json").read_text(
        encoding="utf-8"
    )
)


@pytest.fixture(scope="module")
def oracle() -> Iterator[GoOracle]:
    running = go_oracle_or_skip()
    yield running
    running.close()


def _pairs(document: list[dict[str, str]]) -> list[tuple[str, str]]:
    # Go reads a missing "value" as "".
    return [(entry["name"], entry.get("value", "")) for entry in document]


@pytest.mark.parametrize("case", VECTORS["labels"], ids=repr)
def test_label_vectors(case: dict[str, Any]) -> None:
    pairs = _pairs(case["input"])
    if case["ok"]:
        labels = Labels(pairs)
        assert [{"name": n, "value": v} for n, v in labels.pairs()] == case["output"]
    else:
        with pytest.raises(InvalidLabels) as caught:
            Labels(pairs)
        assert caught.value.reason == case["error"]


@pytest.mark.parametrize("case", VECTORS["from_map"], ids=repr)
def test_from_map_vectors(case: dict[str, Any]) -> None:
    if case["ok"]:
        assert [
            {"name": n, "value": v} for n, v in Labels.from_map(case["input"]).pairs()
        ] == case["output"]
    else:
        with pytest.raises(InvalidLabels) as caught:
            Labels.from_map(case["input"])
        assert caught.value.reason == case["error"]


@pytest.mark.parametrize("case", VECTORS["to_appc_os_arch"], ids=repr)
def test_to_appc_os_arch_vectors(case: dict[str, Any]) -> None:
    goos, goarch, goarm = case["input"]
    if case["ok"]:
        assert list(to_appc_os_arch(goos, goarch, goarm)) == case["output"]
    else:
        with pytest.raises(InvalidLabels) as caught:
            to_appc_os_arch(goos, goarch, goarm)
        assert caught.value.reason == case["error"]


def test_to_go_os_arch_inverts_every_mappable_pair() -> None:
    # Go's ToGoOSArch table is keyed wrongly for darwin and freebsd/386
    # (anchors.md 1.6); ours is the inverse of ToAppcOSArch where one exists.
    for case in VECTORS["to_appc_os_arch"]:
        if not case["ok"]:
            continue
        goos, goarch, _goarm = case["input"]
        os_name, arch = case["output"]
        back = to_go_os_arch(os_name, arch)
        assert to_appc_os_arch(*back) == (os_name, arch)
        assert back[:2] == (goos, goarch)
    for os_name, arch in (
        ("linux", "aarch64_be"),
        ("linux", "armv7b"),
        ("plan9", "386"),
    ):
        with pytest.raises(InvalidLabels, match="unknown arch tuple"):
            to_go_os_arch(os_name, arch)


def test_known_os_arch_is_the_go_table() -> None:
    # anchors.md 1.6, the Go ValidOSArch table.
    assert dict(KNOWN_OS_ARCH) == {
        "linux": (
            "amd64",
            "i386",
            "aarch64",
            "aarch64_be",
            "armv6l",
            "armv7l",
            "armv7b",
            "ppc64",
            "ppc64le",
            "s390x",
        ),
        "freebsd": ("amd64", "i386", "arm"),
        "darwin": ("x86_64", "i386"),
    }
    with pytest.raises(TypeError):
        KNOWN_OS_ARCH["plan9"] = ()  # type: ignore[index]


def test_mapping_behaviour() -> None:
    labels = Labels([("version", "1.0"), ("os", "linux")])
    assert labels["os"] == "linux"
    assert labels.get("arch") is None
    assert list(labels) == ["version", "os"]
    assert len(labels) == 2
    assert "os" in labels
    missing: object = 3
    assert missing not in labels
    assert labels == {"os": "linux", "version": "1.0"}
    assert labels == Labels([("os", "linux"), ("version", "1.0")])
    assert (
        hash(labels)
        == hash(Labels([("os", "linux"), ("version", "1.0")]))
        == hash(labels)
    )
    assert labels != [("os", "linux")]
    assert repr(labels) == "Labels([('version', '1.0'), ('os', 'linux')])"
    assert Labels(labels) == labels
    assert Labels() == {}


def test_set_replaces_in_place_or_appends() -> None:
    labels = Labels([("version", "1"), ("os", "linux")])
    assert labels.set("version", "2").pairs() == (("version", "2"), ("os", "linux"))
    assert labels.set("arch", "amd64").pairs()[-1] == ("arch", "amd64")
    assert labels.pairs() == (("version", "1"), ("os", "linux"))
    with pytest.raises(InvalidLabels, match="bad arch"):
        labels.set("arch", "arm")


def test_immutable_copies_and_pickles() -> None:
    labels = Labels([("os", "linux")])
    assert copy.copy(labels) is labels
    assert copy.deepcopy(labels) is labels
    assert pickle.loads(pickle.dumps(labels)) == labels  # noqa: S301
    with pytest.raises(AttributeError):
        labels.extra = 1  # type: ignore[attr-defined]


@pytest.mark.parametrize(
    ("given_value", "message"),
    [
        ("os=linux", "must be (name, value) pairs or a mapping"),
        (5, "must be (name, value) pairs or a mapping"),
        (["os"], "must be a (name, value) pair"),
        ([("os", "linux", "x")], "must be a (name, value) pair"),
        ([("Os", "linux")], "ACIdentifier must contain only"),
        ([("os", 5)], 'the value of "os" must be a string'),
        ({"": "x"}, "ACIdentifier cannot be empty"),
    ],
)
def test_bad_input_shapes(given_value: Any, message: str) -> None:
    with pytest.raises(InvalidLabels, match=re.escape(message)):
        Labels(given_value)


@given(strategies.labels())
def test_roundtrip_through_pairs_and_map(labels: Labels) -> None:
    assert Labels(labels.pairs()) == labels
    assert Labels.from_map(dict(labels)) == labels
    assert [name for name, _ in Labels.from_map(dict(labels)).pairs()] == sorted(labels)


@given(st.lists(st.tuples(st.text(max_size=6), st.text(max_size=6)), max_size=4))
def test_nothing_escapes_but_our_error(pairs: list[tuple[str, str]]) -> None:
    with contextlib.suppress(InvalidLabels):
        Labels(pairs)


_LABEL_NAMES = st.sampled_from(["os", "arch", "name", "version", "a", "A", "a..b"])
_LABEL_VALUES = st.one_of(
    st.sampled_from(
        list(KNOWN_OS_ARCH) + [a for arches in KNOWN_OS_ARCH.values() for a in arches]
    ),
    st.text(max_size=4),
)


@pytest.mark.interop
@given(st.lists(st.tuples(_LABEL_NAMES, _LABEL_VALUES), max_size=4))
def test_same_verdicts_and_messages_as_go(
    oracle: GoOracle, pairs: list[tuple[str, str]]
) -> None:
    answer = oracle.ask("labels", raw=[{"name": n, "value": v} for n, v in pairs])
    labels, reason = outcome(Labels, pairs)
    if labels is None:
        assert answer == {"ok": False, "error": reason}
    else:
        output = [{"name": n, "value": v} for n, v in labels.pairs()]
        assert answer == {"ok": True, "output": output}


@pytest.mark.interop
def test_actool_agrees_on_os_arch(actool: str, tmp_path: pathlib.Path) -> None:
    cases = [
        [("os", "linux"), ("arch", "arm")],
        [("os", "freebsd"), ("arch", "arm")],
        [("os", "darwin"), ("arch", "amd64")],
        [("arch", "anything")],
        [("os", "plan9")],
        [("name", "x")],
        [("os", "linux"), ("os", "linux")],
    ]
    documents = [
        json.dumps(
            {
                "acKind": "ImageManifest",
                "acVersion": "0.8.11",
                "name": "example.com/app",
                "labels": [{"name": n, "value": v} for n, v in pairs],
            }
        )
        for pairs in cases
    ]
    for pairs, (verdict, message) in zip(
        cases, actool_validate(actool, documents, tmp_path), strict=True
    ):
        _, reason = outcome(Labels, pairs)
        assert (verdict, message) == (
            ("valid", "") if reason is None else ("invalid", reason)
        )
