"""Budgets that bound the work done on an untrusted image archive.

A compressed archive is a promise about sizes that the archive itself makes,
so every reader in :mod:`appc.aci` counts what it actually decompresses and
parses and stops with :class:`appc.errors.LimitExceeded` (which names the
budget) as soon as one is exceeded. The defaults fit real images with room
to spare; pass a :class:`Limits` to any function of :mod:`appc.aci` to raise
or lower them.

>>> from appc.aci.limits import Limits, DEFAULT_LIMITS
>>> DEFAULT_LIMITS.max_members
1000000
>>> Limits(max_uncompressed_bytes=64 * 2**20).max_uncompressed_bytes
67108864
"""

from __future__ import annotations

import attrs

from appc._sizes import MAX_MANIFEST_SIZE


__all__ = [
    "DEFAULT_LIMITS",
    "MAX_EXTENDED_HEADER_SIZE",
    "MAX_MANIFEST_SIZE",
    "MAX_MEMBERS",
    "MAX_NAME_LENGTH",
    "MAX_UNCOMPRESSED_BYTES",
    "Limits",
]

#: Bytes of uncompressed tar stream read from one archive (16 GiB). Bounds
#: decompression bombs: 785 bytes of bzip2 inflate to 1 GiB of zeros.
MAX_UNCOMPRESSED_BYTES = 16 * 2**30

#: Members (tar headers) in one archive. Bounds the memory of the duplicate
#: and link checks, which remember every name.
MAX_MEMBERS = 1_000_000

#: Bytes of one PAX extended header or GNU long name/link record (as Go's
#: ``archive/tar``). These are read into memory before the member they
#: describe.
MAX_EXTENDED_HEADER_SIZE = 1 * 2**20

#: Bytes of a member name or link target, the Linux ``PATH_MAX``.
MAX_NAME_LENGTH = 4096


@attrs.frozen(kw_only=True)
class Limits:
    """The budgets applied to one archive; each defaults to its named constant.

    >>> Limits(max_members=10)
    Limits(max_uncompressed_bytes=17179869184, max_members=10, max_manifest_size=1048576, max_extended_header_size=1048576, max_name_length=4096)
    """

    max_uncompressed_bytes: int = attrs.field(
        default=MAX_UNCOMPRESSED_BYTES, validator=attrs.validators.ge(0)
    )
    max_members: int = attrs.field(
        default=MAX_MEMBERS, validator=attrs.validators.ge(0)
    )
    max_manifest_size: int = attrs.field(
        default=MAX_MANIFEST_SIZE, validator=attrs.validators.ge(0)
    )
    max_extended_header_size: int = attrs.field(
        default=MAX_EXTENDED_HEADER_SIZE, validator=attrs.validators.ge(0)
    )
    max_name_length: int = attrs.field(
        default=MAX_NAME_LENGTH, validator=attrs.validators.ge(1)
    )


#: The budgets used when a function is given none.
DEFAULT_LIMITS = Limits()
