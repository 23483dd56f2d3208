"""Shared fixtures: real counterparts (actool, gpg, ...) and hypothesis profiles.

A test that needs a real tool asks for it with ``require_tool``. Locally a
missing tool skips the test with the reason; under ``APPC_REQUIRE_INTEROP=1``
(set by ``.ci/run``) a missing tool fails it, so CI can never pass by skipping.
"""

from __future__ import annotations

import os

import hypothesis
import pytest

from tests.helpers import require_tool


hypothesis.settings.register_profile(
    "dev", max_examples=50, deadline=None, derandomize=False
)
hypothesis.settings.register_profile(
    "ci",
    max_examples=150,
    deadline=None,
    derandomize=True,
    suppress_health_check=[hypothesis.HealthCheck.too_slow],
)
hypothesis.settings.load_profile(
    os.environ.get("APPC_HYPOTHESIS_PROFILE", "ci" if os.environ.get("CI") else "dev")
)


@pytest.fixture(scope="session")
def actool() -> str:
    """The path of the reference ``actool`` 0.8.11."""
    return require_tool("actool")


@pytest.fixture(scope="session")
def gpg() -> str:
    """The path of ``gpg``."""
    return require_tool("gpg")
