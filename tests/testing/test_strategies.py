"""The strategies of appc.testing: valid values are valid, near misses are not."""

from __future__ import annotations

import json
import pathlib
import sys

from typing import Any

import appc
import pytest

from appc.errors import InvalidManifest
from appc.testing import strategies
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st

from tests.oracle import actool_validate


@pytest.mark.parametrize("rule", strategies.NEAR_MISS_RULES)
@settings(max_examples=3, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data())
def test_each_near_miss_is_refused(rule: str, data: st.DataObject) -> None:
    document = data.draw(strategies.near_miss_documents(rule))
    with pytest.raises(InvalidManifest):
        appc.load_manifest(json.dumps(document))


def test_unknown_rule() -> None:
    with pytest.raises(ValueError, match="unknown rule"):
        strategies.near_miss_documents("no such rule")


@pytest.mark.parametrize("name", sorted(strategies.isolator_values()))
@settings(max_examples=3, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data())
def test_each_isolator_document_is_valid(name: str, data: st.DataObject) -> None:
    document = data.draw(strategies.isolator_documents(name))
    manifest = appc.load_manifest(json.dumps(document))
    assert isinstance(manifest, appc.ImageManifest)
    assert manifest.app is not None
    assert [isolator.name for isolator in manifest.app.isolators] == [name]


def _collect(
    strategy: st.SearchStrategy[dict[str, Any]], count: int
) -> list[dict[str, Any]]:
    found: list[dict[str, Any]] = []

    @settings(
        max_examples=count,
        database=None,
        deadline=None,
        phases=[Phase.explicit, Phase.generate],
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
    )
    @given(strategy)
    def collect(document: dict[str, Any]) -> None:
        found.append(document)

    collect()
    return found


@pytest.mark.interop
def test_actool_refuses_every_near_miss(actool: str, tmp_path: pathlib.Path) -> None:
    # Each rule really is one actool checks: it refuses (or crashes on) them all.
    documents = [
        document
        for rule in strategies.NEAR_MISS_RULES
        for document in _collect(strategies.near_miss_documents(rule), 3)
    ]
    verdicts = actool_validate(actool, [json.dumps(d) for d in documents], tmp_path)
    accepted = [
        d
        for d, (verdict, _) in zip(documents, verdicts, strict=True)
        if verdict == "valid"
    ]
    assert not accepted, accepted[:3]


def test_isolator_sets_keep_what_actool_accepts() -> None:
    remove = {"name": "os/linux/seccomp-remove-set", "value": {"set": ["reboot"]}}
    retain = {"name": "os/linux/seccomp-retain-set", "value": {"set": ["read"]}}
    shares = {"name": "os/linux/cpu-shares", "value": 512}
    cpu: dict[str, Any] = {"name": "resource/cpu", "value": {}}
    kept = strategies._isolator_set_json(  # pyright: ignore[reportPrivateUsage]
        [remove, retain, shares, shares, cpu, cpu]
    )
    assert kept == [remove, shares, cpu, cpu]


def test_setup_hook_waits_for_a_half_built_module(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # When appc.testing.strategies itself imports hypothesis, the hook finds
    # it half built and leaves the registering to it.
    import types

    from appc.testing import _hypothesis

    half_built = types.ModuleType("appc.testing.strategies")
    monkeypatch.setitem(sys.modules, "appc.testing.strategies", half_built)
    monkeypatch.setattr(appc.testing, "strategies", half_built, raising=False)
    _hypothesis._hypothesis_setup_hook()  # pyright: ignore[reportPrivateUsage]
