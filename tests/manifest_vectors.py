"""Load the manifest test vectors (tests/vectors/manifests/*.json).

Each vector holds a *fragment* and how to *wrap* it into a whole manifest,
where it comes from (a Go test table, the spec, or a probe of actool), and
what ``actool validate`` said about it: its exit code and first line. Our
verdict is actool's, except where a vector gives ``appc_valid`` and says
``why`` (a documented decision: docs/manifests.md, "JSON decisions").
"""

from __future__ import annotations

import base64
import json
import pathlib

from collections.abc import Callable
from typing import Any

import attrs


VECTOR_DIR = pathlib.Path(__file__).parent / "vectors" / "manifests"

_IMAGE = {"acKind": "ImageManifest", "acVersion": "0.8.11", "name": "example.com/test"}
_POD = {"acVersion": "0.8.11", "acKind": "PodManifest"}
_APP = {"user": "0", "group": "0"}


@attrs.frozen
class Vector:
    """One case: a manifest, and the verdicts of actool and of appc."""

    file: str
    id: str
    source: str
    wrap: str
    fragment: Any
    actool_exit: int
    actool_line: str
    appc_valid: bool
    why: str | None

    @property
    def name(self) -> str:
        return f"{self.file}:{self.id}"

    @property
    def actool_valid(self) -> bool:
        return self.actool_exit == 0

    def document(self) -> bytes:
        """The manifest's bytes."""
        return wrap(self.wrap, self.fragment)


def wrap(how: str, fragment: Any) -> bytes:
    """Make a whole manifest from a fragment, as the vector says."""
    if how == "text":
        return str(fragment).encode("utf-8")
    if how == "base64":
        return base64.b64decode(fragment)
    if how == "isolator_text":
        text = json.dumps({**_IMAGE, "app": {**_APP, "isolators": ["@"]}})
        return text.replace('"@"', fragment).encode("utf-8")
    documents: dict[str, Callable[[Any], dict[str, Any]]] = {
        "app": lambda f: {**_IMAGE, "app": f},
        "environment": lambda f: {**_IMAGE, "app": {**_APP, "environment": f}},
        "port": lambda f: {**_IMAGE, "app": {**_APP, "ports": [f]}},
        "isolator": lambda f: {**_IMAGE, "app": {**_APP, "isolators": [f]}},
        "isolators": lambda f: {**_IMAGE, "app": {**_APP, "isolators": f}},
        "pod_isolators": lambda f: {**_POD, "isolators": f},
        "volume": lambda f: {**_POD, "volumes": [f]},
        "exposed_port": lambda f: {**_POD, "ports": [f]},
        "image": lambda f: {**_IMAGE, **f},
        "pod": lambda f: {**_POD, **f},
    }
    return json.dumps(documents[how](fragment)).encode("utf-8")


def load_vectors(*files: str) -> list[Vector]:
    """The vectors of the named files (all files when none is named)."""
    paths = [VECTOR_DIR / f"{name}.json" for name in files] or sorted(
        VECTOR_DIR.glob("*.json")
    )
    vectors: list[Vector] = []
    for path in paths:
        data = json.loads(path.read_text(encoding="utf-8"))
        for case in data["cases"]:
            actool_valid = case["actool"]["exit"] == 0
            vectors.append(
                Vector(
                    file=path.stem,
                    id=case["id"],
                    source=case["source"],
                    wrap=case["wrap"],
                    fragment=case["fragment"],
                    actool_exit=case["actool"]["exit"],
                    actool_line=case["actool"]["line"],
                    appc_valid=case.get("appc_valid", actool_valid),
                    why=case.get("why"),
                )
            )
    return vectors
