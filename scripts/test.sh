#!/usr/bin/env bash
# Runs every check (tests, lint, typing, docs) on a machine that has only
# Python >= 3.11 and network access to PyPI: makes a private venv with nox.
set -euo pipefail
cd "$(dirname "$0")/.."
python3 -m venv .venv-nox
.venv-nox/bin/python -m pip install -q --disable-pip-version-check "nox>=2024.10.9"
exec .venv-nox/bin/nox "$@"
