"""Helpers for testing code that uses ``appc``.

Import the submodules explicitly; nothing here is imported by ``import appc``:

- :mod:`appc.testing.strategies`: hypothesis strategies for every public type
  (needs the ``appc[testing]`` extra); also registered through hypothesis'
  entry point, so ``st.from_type(ImageManifest)`` works.
- :mod:`appc.testing.keys`: throwaway OpenPGP signing keys.

>>> import appc.testing
>>> appc.testing.__name__
'appc.testing'
"""
