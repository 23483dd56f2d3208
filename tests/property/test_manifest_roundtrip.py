"""The round-trip law: ``load_manifest(dump_manifest(m)) == m`` for every manifest.

Manifests come from :mod:`appc.testing.strategies`, built from the schema
with every field and isolator in play.
"""

from __future__ import annotations

import json

import appc

from appc.manifest import ImageManifest, PodManifest
from appc.testing import strategies
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st


# Generating a manifest with every field is costly: fewer, richer examples.
_FEWER = settings(max_examples=60, suppress_health_check=[HealthCheck.too_slow])


@_FEWER
@given(strategies.image_manifests())
def test_image_manifest_roundtrip(manifest: ImageManifest) -> None:
    text = appc.dump_manifest(manifest)
    again = appc.load_manifest(text)
    assert again == manifest
    assert appc.dump_manifest(again) == text


@_FEWER
@given(strategies.pod_manifests())
def test_pod_manifest_roundtrip(manifest: PodManifest) -> None:
    text = appc.dump_manifest(manifest)
    again = appc.load_manifest(text)
    assert again == manifest
    assert appc.dump_manifest(again) == text


@_FEWER
@given(strategies.manifest_documents(valid=True))
def test_documents_reach_a_fixed_point(document: dict[str, object]) -> None:
    # A document need not come back byte for byte (Go fills in defaults and
    # drops empty fields), but what we write once we read back unchanged.
    manifest = appc.load_manifest(json.dumps(document))
    text = appc.dump_manifest(manifest)
    assert appc.load_manifest(text) == manifest
    assert appc.dump_manifest(appc.load_manifest(text)) == text


@_FEWER
@given(strategies.image_manifests())
def test_pretty_form_reads_back_the_same(manifest: ImageManifest) -> None:
    assert appc.load_manifest(appc.dump_manifest(manifest, indent=4)) == manifest


@_FEWER
@given(st.from_type(ImageManifest), st.from_type(PodManifest))
def test_registered_type_strategies_give_valid_manifests(
    image: ImageManifest, pod: PodManifest
) -> None:
    # The hypothesis entry point registers the strategies for users' tests.
    assert appc.load_manifest(appc.dump_manifest(image)) == image
    assert appc.load_manifest(appc.dump_manifest(pod)) == pod
