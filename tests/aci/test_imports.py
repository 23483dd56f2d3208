"""``appc.aci`` parses tar itself: tarfile is never imported, nor is rich.

Its names are imported on first use, so ``appc image-id`` loads no manifest model.
"""

from __future__ import annotations

import gzip
import json
import pathlib
import subprocess
import sys

import pytest


def _modules_after(code: str) -> set[str]:
    run = subprocess.run(
        [
            sys.executable,
            "-c",
            f"import json, sys\n{code}\nprint(json.dumps(sorted(sys.modules)))",
        ],
        capture_output=True,
        text=True,
        check=True,
        timeout=120,
    )
    return set(json.loads(run.stdout))


def test_appc_aci_does_not_use_tarfile() -> None:
    loaded = _modules_after(
        "import appc.aci, appc.cli._aci, appc.cli._progress\n"
        "for name in appc.aci.__all__: getattr(appc.aci, name)"
    )
    assert "appc.aci._extract" in loaded  # the check sees what is imported
    assert "tarfile" not in loaded
    assert "rich" not in loaded  # the CLI imports rich only to draw a bar


def test_image_id_loads_no_manifest_model(tmp_path: pathlib.Path) -> None:
    empty = tmp_path / "empty.aci"
    empty.write_bytes(gzip.compress(bytes(1024)))
    loaded = _modules_after(f"import appc.aci\nappc.aci.image_id({str(empty)!r})")
    assert "appc.aci.reader" in loaded
    assert "appc.manifest" not in loaded
    assert "appc.aci.writer" not in loaded
    assert "attrs" not in loaded  # nor the tar parser: only bytes are hashed


def test_lazy_names() -> None:
    import appc.aci

    assert set(appc.aci.__all__) <= set(dir(appc.aci))
    assert appc.aci.Limits is appc.aci.limits.Limits
    assert callable(appc.aci.extract)
    with pytest.raises(AttributeError, match="no attribute 'nope'"):
        _ = appc.aci.nope
