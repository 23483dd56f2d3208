"""Helpers for testing code that uses ``appc``.

Import the submodules explicitly; nothing here is imported by ``import appc``:

- :mod:`appc.testing.strategies`: hypothesis strategies for every public type
  (needs the ``appc[testing]`` extra); also registered through hypothesis'
  entry point, so ``st.from_type(ImageManifest)`` works.
- :mod:`appc.testing.keys`: throwaway OpenPGP signing keys.

:class:`MockTransport` (from ``appc.testing._mock``, light: no urllib3, no
hypothesis) answers the HTTP requests of :mod:`appc.discovery` and
:mod:`appc.fetch` with a function, for tests without a network.

>>> import appc.testing
>>> appc.testing.__name__
'appc.testing'
"""

from appc.testing._mock import MockTransport as MockTransport
