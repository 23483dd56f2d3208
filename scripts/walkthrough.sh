#!/usr/bin/env bash
# Runs the walkthrough end to end on a machine with only Python >= 3.11 and
# network access to PyPI: makes a private venv with appc and runs it.
set -euo pipefail
cd "$(dirname "$0")/.."
python3 -m venv .venv-demo
.venv-demo/bin/python -m pip install -q --disable-pip-version-check ".[cli,testing,fast]"
exec .venv-demo/bin/python examples/walkthrough.py "$@"
