"""App Container (appc) images from Python.

>>> import appc
>>> appc.errors.AppcError.__name__
'AppcError'
"""

from __future__ import annotations

from appc import errors


__all__ = ["errors"]


def __getattr__(name: str) -> str:
    if name == "__version__":
        from importlib.metadata import version

        return version("appc")
    raise AttributeError(f"module 'appc' has no attribute {name!r}")
