"""Size limits shared by layers that must not import each other.

:data:`appc.manifest.MAX_MANIFEST_SIZE` and :data:`appc.aci.limits.MAX_MANIFEST_SIZE`
are this one value; it lives here so that reading an archive's bytes does not
import the manifest models.

>>> from appc import _sizes
>>> _sizes.MAX_MANIFEST_SIZE
1048576
"""

from __future__ import annotations

from typing import Final


#: The largest manifest read, in bytes (1 MiB).
MAX_MANIFEST_SIZE: Final = 1 << 20
