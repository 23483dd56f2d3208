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


class Limits:
    """The budgets applied to one archive; each defaults to its named constant.

    Immutable and compared by value. (A plain class, not attrs: reading an
    archive's bytes, as ``appc image-id`` does, then imports nothing more.)

    >>> Limits(max_members=10)
    Limits(max_uncompressed_bytes=17179869184, max_members=10, max_manifest_size=1048576, max_extended_header_size=1048576, max_name_length=4096)
    >>> Limits(max_members=-1)
    Traceback (most recent call last):
    ...
    ValueError: 'max_members' must be >= 0: -1
    """

    __slots__ = _FIELDS = (
        "max_uncompressed_bytes",
        "max_members",
        "max_manifest_size",
        "max_extended_header_size",
        "max_name_length",
    )
    max_uncompressed_bytes: int
    max_members: int
    max_manifest_size: int
    max_extended_header_size: int
    max_name_length: int

    def __init__(
        self,
        *,
        max_uncompressed_bytes: int = MAX_UNCOMPRESSED_BYTES,
        max_members: int = MAX_MEMBERS,
        max_manifest_size: int = MAX_MANIFEST_SIZE,
        max_extended_header_size: int = MAX_EXTENDED_HEADER_SIZE,
        max_name_length: int = MAX_NAME_LENGTH,
    ) -> None:
        values = (
            max_uncompressed_bytes,
            max_members,
            max_manifest_size,
            max_extended_header_size,
            max_name_length,
        )
        for name, value in zip(self._FIELDS, values, strict=True):
            least = 1 if name == "max_name_length" else 0
            if value < least:
                raise ValueError(f"{name!r} must be >= {least}: {value}")
            object.__setattr__(self, name, value)

    def _values(self) -> tuple[int, ...]:
        return tuple(getattr(self, name) for name in self._FIELDS)

    def __setattr__(self, name: str, value: object) -> None:
        raise AttributeError(f"Limits is immutable: cannot set {name!r}")

    def __delattr__(self, name: str) -> None:
        raise AttributeError(f"Limits is immutable: cannot delete {name!r}")

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Limits):
            return NotImplemented
        return self._values() == other._values()

    def __hash__(self) -> int:
        return hash(self._values())

    def __repr__(self) -> str:
        fields = ", ".join(f"{name}={getattr(self, name)!r}" for name in self._FIELDS)
        return f"Limits({fields})"


#: The budgets used when a function is given none.
DEFAULT_LIMITS = Limits()
