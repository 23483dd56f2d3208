"""Dependencies: the images an image is layered on.

A dependency names an image (and optionally labels, an ID and a size) that
is discovered and rendered beneath this one. ``image_id`` is an
:class:`~appc.image_id.ImageHash`, Go's lenient hash form (``sha512-`` and
any non-empty value); use :meth:`~appc.image_id.ImageHash.as_image_id` to
get a strict ID. ``size``, when given, lets a fetcher stop an endless
download.

>>> dep = Dependency(image_name=ACIdentifier("example.com/base"),
...                  labels=Labels([("version", "1.0")]), size=4096)
>>> dep.labels["version"]
'1.0'
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Final

import attrs

from appc.errors import InvalidField
from appc.image_id import ImageHash
from appc.labels import Labels
from appc.model._base import Model, Problem
from appc.names import ACIdentifier


__all__ = ["Dependency"]

# Go's uint.
_UINT64_MAX: Final = 2**64 - 1


@attrs.frozen(kw_only=True)
class Dependency(Model):
    """One image this image depends on.

    >>> Dependency(image_name=ACIdentifier("example.com/base"), size=-1)
    Traceback (most recent call last):
    ...
    appc.errors.InvalidField: size must be from 0 to 2**64-1, got -1
    """

    image_name: ACIdentifier
    image_id: ImageHash | None = None
    labels: Labels = Labels()  # noqa: RUF009 - immutable
    size: int = 0

    def _problems(self) -> Iterator[Problem]:
        if not 0 <= self.size <= _UINT64_MAX:
            message = f"size must be from 0 to 2**64-1, got {self.size}"
            yield Problem(("size",), InvalidField(self.size, message))
