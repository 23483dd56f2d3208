"""``import appc`` stays light: no pgpy, urllib3, tarfile or hypothesis (DESIGN.md)."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest


HEAVY = ("pgpy", "urllib3", "tarfile", "hypothesis")


def _modules_after(statement: str) -> set[str]:
    # A fresh interpreter: this one has imported everything already.
    code = f"import json, sys\n{statement}\nprint(json.dumps(sorted(sys.modules)))"
    run = subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        check=True,
        timeout=120,
    )
    return set(json.loads(run.stdout))


@pytest.mark.parametrize(
    "statement",
    [
        "import appc",
        'import appc; appc.load_manifest(\'{"acKind": "ImageManifest", "acVersion": "0.8.11", "name": "a"}\')',
        "import appc.names, appc.semver, appc.labels, appc.image_id, appc.quantity, appc.app_string",
        "import appc.model.common",
    ],
)
def test_import_is_light(statement: str) -> None:
    loaded = _modules_after(statement)
    heavy = sorted(name for name in loaded if name.split(".")[0] in HEAVY)
    assert not heavy, f"{statement!r} imports {heavy}"


def test_the_check_can_fail() -> None:
    # The same check sees a heavy module when one is imported.
    loaded = _modules_after("import appc, tarfile")
    assert "tarfile" in loaded
