"""Image IDs: ``sha512-`` and the hex SHA-512 of an image's uncompressed tar.

Three types, from strict to lenient:

- :class:`ImageID`: exactly what the spec defines (``aci.md``, "Image ID"):
  ``sha512-`` and 128 lower-case hex digits.
- :class:`ImageIDPrefix`: a short form (``sha512-`` and 1 to 128 hex digits),
  as rkt and ``actool`` print them; not in the spec.
- :class:`ImageHash`: what the Go reference accepts in manifest fields
  (``dependencies[].imageID``, a pod's ``image.id``): ``<type>-<value>`` with
  type ``sha512`` and any non-empty value, hex or not (anchors.md 1.5, 1.23.10).

>>> image_id = ImageID.of_bytes(b"")
>>> image_id.short()
'sha512-cf83e1357eefb8bdf1542850d66d8007'
>>> ImageIDPrefix("sha512-cf83e1").matches(image_id)
True
"""

from __future__ import annotations

import hashlib

from typing import Protocol, Self

from appc import _grammar
from appc.errors import InvalidImageID


__all__ = ["SHORT_LENGTH", "HashObject", "ImageHash", "ImageID", "ImageIDPrefix"]

_PREFIX = "sha512-"
SHORT_LENGTH = len(_PREFIX) + 32
"""Length of a short image ID (128 bits of the hash), as Go's ``ShortHash`` cuts it."""


class HashObject(Protocol):
    """What :meth:`ImageID.from_hash` needs of a hash: ``hashlib.sha512()`` has it.

    >>> isinstance(hashlib.sha512().name, str)
    True
    """

    @property
    def name(self) -> str: ...

    def hexdigest(self) -> str: ...


def _require_str(value: object, kind: str) -> str:
    if not isinstance(value, str):
        raise InvalidImageID(
            value, f"{kind} must be a string, not {type(value).__name__}"
        )
    return value


class ImageID(str):
    """A full image ID: ``sha512-`` and 128 lower-case hex digits.

    >>> ImageID("sha512-" + "0" * 128).hex == "0" * 128
    True
    >>> ImageID("sha512-abc")
    Traceback (most recent call last):
    ...
    appc.errors.InvalidImageID: image ID must be "sha512-" and 128 lower-case hex digits, got 'sha512-abc'
    """

    __slots__ = ()

    def __new__(cls, value: str) -> Self:
        if type(value) is cls:
            return value
        text = _require_str(value, "image ID")
        if not _grammar.IMAGE_ID.match(text):
            shown = text if len(text) <= 150 else text[:150] + "..."
            raise InvalidImageID(
                value,
                f'image ID must be "sha512-" and 128 lower-case hex digits, got {shown!r}',
            )
        return super().__new__(cls, text)

    def __repr__(self) -> str:
        return f"{type(self).__name__}({str.__repr__(self)})"

    @classmethod
    def from_hash(cls, digest: HashObject) -> ImageID:
        """The image ID of a finished ``hashlib.sha512()`` object.

        >>> ImageID.from_hash(hashlib.sha512(b"")) == ImageID.of_bytes(b"")
        True
        """
        if digest.name != "sha512":
            raise InvalidImageID(
                digest.name, f"image IDs use sha512, not {digest.name}"
            )
        return cls(_PREFIX + digest.hexdigest())

    @classmethod
    def of_bytes(cls, data: bytes) -> ImageID:
        """The image ID of an uncompressed tar held in memory.

        >>> ImageID.of_bytes(b"abc").startswith("sha512-ddaf35a1")
        True
        """
        return cls.from_hash(hashlib.sha512(data))

    @property
    def hex(self) -> str:
        """The 128 hex digits after ``sha512-``.

        >>> len(ImageID.of_bytes(b"").hex)
        128
        """
        return self[len(_PREFIX) :]

    def short(self) -> str:
        """The first 39 characters, as ``rkt fetch`` and Go's ``ShortHash`` print them.

        >>> len(ImageID.of_bytes(b"").short())
        39
        """
        return str(self[:SHORT_LENGTH])


class ImageIDPrefix(str):
    """A full or shortened image ID: ``sha512-`` and 1 to 128 lower-case hex digits.

    >>> ImageIDPrefix("sha512-cf83").matches("sha512-cf83e135" + "0" * 113)
    True
    >>> ImageIDPrefix("sha512-")
    Traceback (most recent call last):
    ...
    appc.errors.InvalidImageID: image ID prefix must be "sha512-" and 1 to 128 lower-case hex digits, got 'sha512-'
    """

    __slots__ = ()

    def __new__(cls, value: str) -> Self:
        if type(value) is cls:
            return value
        text = _require_str(value, "image ID prefix")
        if not _grammar.IMAGE_ID_PREFIX.match(text):
            shown = text if len(text) <= 150 else text[:150] + "..."
            raise InvalidImageID(
                value,
                f'image ID prefix must be "sha512-" and 1 to 128 lower-case hex digits, got {shown!r}',
            )
        return super().__new__(cls, text)

    def __repr__(self) -> str:
        return f"{type(self).__name__}({str.__repr__(self)})"

    def matches(self, image_id: str) -> bool:
        """Whether ``image_id`` starts with this prefix.

        >>> ImageIDPrefix("sha512-ab").matches("sha512-abc")
        True
        """
        return image_id.startswith(self)


class ImageHash(str):
    """A hash as the Go reference accepts it in manifests: ``sha512-`` and any non-empty value.

    Go splits on ``-`` and wants exactly two parts, then checks the type
    and that the value is not empty; the messages are Go's. Use
    :meth:`as_image_id` to learn whether it is also a real image ID.

    >>> ImageHash("sha512-abc").as_image_id() is None
    True
    >>> ImageHash("SHA512-abc")
    Traceback (most recent call last):
    ...
    appc.errors.InvalidImageID: unrecognized hash type: SHA512
    """

    __slots__ = ()

    def __new__(cls, value: str) -> Self:
        if type(value) is cls:
            return value
        text = _require_str(value, "hash")
        parts = text.split("-")
        if len(parts) != 2:
            raise InvalidImageID(value, "badly formatted hash string")
        algorithm, digest = parts
        if not algorithm:
            raise InvalidImageID(value, "unexpected empty hash type")
        if algorithm != "sha512":
            raise InvalidImageID(value, f"unrecognized hash type: {algorithm}")
        if not digest:
            raise InvalidImageID(value, "unexpected empty hash value")
        return super().__new__(cls, text)

    def __repr__(self) -> str:
        return f"{type(self).__name__}({str.__repr__(self)})"

    @property
    def algorithm(self) -> str:
        """The hash type, always ``sha512``.

        >>> ImageHash("sha512-abc").algorithm
        'sha512'
        """
        return self.split("-")[0]

    @property
    def digest(self) -> str:
        """What follows the ``-``, as given (not checked to be hex).

        >>> ImageHash("sha512-abc").digest
        'abc'
        """
        return self.split("-")[1]

    def as_image_id(self) -> ImageID | None:
        """This hash as a strict :class:`ImageID`, or ``None`` if it is not one.

        >>> ImageHash("sha512-" + "a" * 128).as_image_id() is not None
        True
        """
        if _grammar.IMAGE_ID.match(self):
            return ImageID(str(self))
        return None
