"""Helpers for tests that need real counterparts (actool, gpg, servers).

A test that needs a real tool asks for it with :func:`require_tool`. Locally a
missing tool skips the test with the reason; under ``APPC_REQUIRE_INTEROP=1``
(set by ``.ci/run``) a missing tool fails it, so CI can never pass by skipping.
"""

from __future__ import annotations

import os
import shutil

import pytest


INTEROP_REQUIRED = os.environ.get("APPC_REQUIRE_INTEROP") == "1"

# How to get each tool on Debian, for the skip message.
_INSTALL_HINTS = {
    "actool": "apt-get install appc-spec",
    "go": "apt-get install golang-go golang-github-appc-spec-dev",
    "gpg": "apt-get install gnupg",
    "xz": "apt-get install xz-utils",
    "bzip2": "apt-get install bzip2",
    "skopeo": "apt-get install skopeo",
    "docker-registry": "apt-get install docker-registry",
}


def require_tool(name: str) -> str:
    """Return the path of ``name``, or skip (locally) / fail (in CI) without it."""
    path = shutil.which(name)
    if path is not None:
        return path
    hint = _INSTALL_HINTS.get(name, f"install {name}")
    message = f"{name} is not installed ({hint})"
    if INTEROP_REQUIRED:
        pytest.fail(f"APPC_REQUIRE_INTEROP=1 but {message}")
    pytest.skip(message)
