"""``appc.aci`` parses tar itself: tarfile is never imported, nor is rich."""

from __future__ import annotations

import json
import subprocess
import sys


def test_appc_aci_does_not_use_tarfile() -> None:
    code = (
        "import json, sys\n"
        "import appc.aci, appc.cli._aci, appc.cli._progress\n"
        "print(json.dumps(sorted(sys.modules)))"
    )
    run = subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        check=True,
        timeout=120,
    )
    loaded = set(json.loads(run.stdout))
    assert "appc.aci.extract" in loaded  # the check sees what is imported
    assert "tarfile" not in loaded
    assert "rich" not in loaded  # the CLI imports rich only to draw a bar
