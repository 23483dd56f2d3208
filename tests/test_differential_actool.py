"""Differential test: appc against ``actool`` on generated manifests.

Hypothesis generates manifest documents, valid ones and near misses, with
every field and every isolator (:func:`appc.testing.strategies.manifest_documents`).
They are written to files and judged by ``actool validate --type=manifest``
in a few runs (one per batch, not one per file), and by
:func:`appc.load_manifest`: the verdicts must agree, and where actool
crashes we must refuse cleanly. For each accepted image manifest, what
:func:`appc.dump_manifest` writes must have the JSON value that
``actool cat-manifest --pretty-print`` prints for an image holding it, up
to fields both treat as absent; pod manifests cannot go in an image, so Go's
own writer (through the oracle in ``tests/oracle``) is the reference for them.
"""

from __future__ import annotations

import gzip
import io
import json
import pathlib
import subprocess
import tarfile

from collections.abc import Iterator
from typing import Any, cast

import appc
import pytest

from appc.errors import InvalidManifest
from appc.model.isolators import KNOWN_ISOLATORS
from appc.testing.strategies import isolator_documents, manifest_documents
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st

from tests.oracle import GoOracle, actool_validate, go_oracle_or_skip


# Documents per kind. Generation costs more than judging: actool takes the
# whole batch in one run.
VALID_DOCUMENTS = 150
NEAR_MISSES = 150
ISOLATOR_DOCUMENTS = 3


def _generate(
    strategy: st.SearchStrategy[dict[str, Any]], count: int
) -> list[dict[str, Any]]:
    documents: list[dict[str, Any]] = []

    @settings(
        max_examples=count,
        database=None,
        deadline=None,
        phases=[Phase.explicit, Phase.generate],
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
    )
    @given(strategy)
    def collect(document: dict[str, Any]) -> None:
        documents.append(document)

    collect()
    return documents


@pytest.fixture(scope="module")
def documents() -> list[dict[str, Any]]:
    # A few documents per isolator first, so that every isolator is judged.
    per_isolator = [
        document
        for name in sorted(KNOWN_ISOLATORS)
        for document in _generate(isolator_documents(name), ISOLATOR_DOCUMENTS)
    ]
    return (
        per_isolator
        + _generate(manifest_documents(valid=True), VALID_DOCUMENTS)
        + _generate(manifest_documents(valid=False), NEAR_MISSES)
    )


@pytest.fixture(scope="module")
def oracle() -> Iterator[GoOracle]:
    running = go_oracle_or_skip()
    yield running
    running.close()


def _appc_verdict(text: str) -> tuple[str, Any]:
    try:
        return "valid", appc.load_manifest(text)
    except InvalidManifest as exc:
        return "invalid", exc


def _absent_dropped(value: Any) -> Any:
    # Go writes a nil list as null and an empty one as []; an absent object
    # field and an empty one mean the same to both readers.
    if isinstance(value, dict):
        items = cast("dict[str, Any]", value)
        return {
            k: _absent_dropped(v) for k, v in items.items() if v not in (None, [], {})
        }
    if isinstance(value, list):
        return [_absent_dropped(entry) for entry in cast("list[object]", value)]
    return value


def _image_archive(manifest: bytes, path: pathlib.Path) -> None:
    # The smallest ACI actool reads: a manifest and an empty rootfs.
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w") as archive:
        entry = tarfile.TarInfo("manifest")
        entry.size = len(manifest)
        entry.mode = 0o644
        archive.addfile(entry, io.BytesIO(manifest))
        rootfs = tarfile.TarInfo("rootfs")
        rootfs.type = tarfile.DIRTYPE
        rootfs.mode = 0o755
        archive.addfile(rootfs)
    path.write_bytes(gzip.compress(buffer.getvalue(), mtime=0))


@pytest.mark.interop
def test_documents_cover_every_kind_and_isolator(
    documents: list[dict[str, Any]],
) -> None:
    kinds = {document.get("acKind") for document in documents}
    assert {"ImageManifest", "PodManifest"} <= kinds
    isolators: set[str] = set()
    for document in documents:
        pod_apps: list[dict[str, Any]] = document.get("apps") or []
        apps: list[dict[str, Any] | None] = [document.get("app")]
        apps += [app.get("app") for app in pod_apps]
        for app in filter(None, apps):
            entries: list[dict[str, Any]] = app.get("isolators") or []
            isolators.update(isolator["name"] for isolator in entries)
    assert set(KNOWN_ISOLATORS) <= isolators


@pytest.mark.interop
def test_same_verdicts_as_actool(
    actool: str, documents: list[dict[str, Any]], tmp_path: pathlib.Path
) -> None:
    texts = [json.dumps(document) for document in documents]
    theirs = actool_validate(actool, texts, tmp_path)
    disagreements: list[tuple[str, ...]] = []
    for text, (verdict, message) in zip(texts, theirs, strict=True):
        mine, detail = _appc_verdict(text)
        # Where actool crashes we give a clean error: that counts as "invalid".
        expected = "invalid" if verdict == "crash" else verdict
        if mine != expected:
            disagreements.append((text, verdict, message, mine, str(detail)))
    assert not disagreements, disagreements[:5]
    assert sum(verdict == "valid" for verdict, _ in theirs) >= VALID_DOCUMENTS // 2


@pytest.mark.interop
def test_dump_matches_actool_cat_manifest(
    actool: str, documents: list[dict[str, Any]], tmp_path: pathlib.Path
) -> None:
    images: list[tuple[pathlib.Path, Any]] = []
    for index, document in enumerate(documents):
        verdict, manifest = _appc_verdict(json.dumps(document))
        if verdict == "valid" and document["acKind"] == "ImageManifest":
            path = tmp_path / f"image{index}.aci"
            _image_archive(json.dumps(document).encode(), path)
            images.append((path, manifest))
    assert images
    for path, manifest in images:
        printed = subprocess.run(
            [actool, "cat-manifest", "--pretty-print", str(path)],
            capture_output=True,
            text=True,
            check=True,
            timeout=60,
        ).stdout
        theirs = _absent_dropped(json.loads(printed))
        mine = _absent_dropped(json.loads(appc.dump_manifest(manifest, indent=4)))
        assert mine == theirs, path


@pytest.mark.interop
def test_pod_dump_matches_go(oracle: GoOracle, documents: list[dict[str, Any]]) -> None:
    pods = 0
    for document in documents:
        if document["acKind"] != "PodManifest":
            continue
        verdict, manifest = _appc_verdict(json.dumps(document))
        if verdict != "valid":
            continue
        answer = oracle.ask("manifest", raw=document)
        assert answer["ok"], (document, answer)
        assert _absent_dropped(
            json.loads(appc.dump_manifest(manifest))
        ) == _absent_dropped(answer["output"])
        pods += 1
    assert pods
