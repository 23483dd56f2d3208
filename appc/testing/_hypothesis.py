"""The hypothesis entry point: registers a strategy for every public ``appc`` type.

Hypothesis calls :func:`_hypothesis_setup_hook` when it is imported (the
``hypothesis`` entry point in ``pyproject.toml``), so ``st.from_type(ACName)``
and ``st.from_type(ImageManifest)`` work in any project that installs
``appc[testing]``.

>>> from hypothesis import strategies as st
>>> from appc.names import ACName
>>> isinstance(st.from_type(ACName), st.SearchStrategy)
True
"""

from __future__ import annotations


def _hypothesis_setup_hook() -> None:  # pyright: ignore[reportUnusedFunction]
    """Register :mod:`appc.testing.strategies` with hypothesis."""
    try:
        from appc.testing import strategies
    except ImportError:  # pragma: no cover - a broken install must not break hypothesis
        return
    # When appc.testing.strategies is what imported hypothesis, it is only
    # half built here; it registers itself once it is complete.
    register = getattr(strategies, "register_type_strategies", None)
    if register is not None:
        register()
