"""What the models share: FrozenDict, frozen JSON values, every problem collected."""

from __future__ import annotations

import pickle

import pytest

from appc.errors import InvalidIsolator
from appc.model import FrozenDict, Port, UnixSysctl
from appc.model._base import collect_problems, freeze, thaw
from appc.names import ACName


def test_frozen_dict() -> None:
    mapping = FrozenDict([("b", 1), ("a", 2)])
    assert list(mapping) == ["b", "a"]
    assert mapping == {"a": 2, "b": 1}
    assert mapping == FrozenDict({"a": 2, "b": 1})
    assert mapping != [("b", 1)]
    assert (mapping == 1) is False
    assert repr(mapping) == "FrozenDict({'b': 1, 'a': 2})"
    assert pickle.loads(pickle.dumps(mapping)) == mapping  # noqa: S301 - our own bytes
    assert len({mapping, FrozenDict({"a": 2, "b": 1})}) == 1


def test_freeze_and_thaw() -> None:
    frozen = freeze({"a": [1, 2.5, None, True, {"b": "c"}]})
    assert frozen == FrozenDict({"a": (1, 2.5, None, True, FrozenDict({"b": "c"}))})
    assert hash(frozen) == hash(freeze({"a": [1, 2.5, None, True, {"b": "c"}]}))
    assert thaw(frozen) == {"a": [1, 2.5, None, True, {"b": "c"}]}
    with pytest.raises(TypeError, match="not a JSON value: set"):
        freeze({1, 2})


def test_collect_problems_finds_them_all_without_raising() -> None:
    problems = collect_problems(Port, {"name": ACName("p"), "port": 70000})
    assert [(p.path, str(p.error)) for p in problems] == [
        (("port",), "port must be in 1-65535 range")
    ]


def test_sysctl_needs_strings() -> None:
    with pytest.raises(
        InvalidIsolator, match="sysctl names and values must be strings"
    ):
        UnixSysctl(parameters=FrozenDict({"a": 1}))  # type: ignore[arg-type]
