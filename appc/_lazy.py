"""Names a package re-exports from its modules, imported on first use (PEP 562).

A package lists ``name -> module`` and delegates its ``__getattr__`` here; the
value is then kept in the package's namespace, so the import happens once.

>>> namespace = {"__name__": "example"}
>>> load(namespace, {"sha512": "hashlib"}, "sha512").__name__
'openssl_sha512'
>>> "sha512" in namespace
True
>>> load(namespace, {}, "missing")
Traceback (most recent call last):
...
AttributeError: module 'example' has no attribute 'missing'
"""

from __future__ import annotations

import importlib

from collections.abc import Mapping
from typing import Any


__all__ = ["load"]


def load(namespace: dict[str, Any], table: Mapping[str, str], name: str) -> Any:
    """Import ``name`` from its module in ``table`` and keep it in ``namespace``."""
    module = table.get(name)
    if module is None:
        raise AttributeError(
            f"module {namespace['__name__']!r} has no attribute {name!r}"
        )
    value = getattr(importlib.import_module(module), name)
    namespace[name] = value
    return value
