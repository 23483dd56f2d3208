"""Semantic versions, as the ``acVersion`` of every manifest uses them.

:class:`SemVer` parses what the Go reference (``coreos/go-semver``) parses,
including its leniencies: leading zeros (``01.0.0`` is ``1.0.0``) and an
empty pre-release or build part (``1.0.0-`` is ``1.0.0``). ``0.0.0`` is
rejected, as in Go. ``str()`` gives the normalised form.

>>> SemVer.parse("0.8.11") == SPEC_VERSION
True
>>> str(SemVer.parse("01.2.3-rc.1+build.5"))
'1.2.3-rc.1+build.5'
"""

from __future__ import annotations

import functools

from typing import Any

import attrs

from appc import _grammar
from appc.errors import InvalidSemVer


__all__ = ["SPEC_VERSION", "SemVer"]

# go-semver reads each number with strconv.ParseInt(..., 64).
_MAX_NUMBER = 2**63 - 1
_BAD = "SemVer is bad"
_ZERO = "SemVer cannot be zero"


def _check_number(
    _instance: SemVer, attribute: attrs.Attribute[int], value: int
) -> None:
    if type(value) is not int or not 0 <= value <= _MAX_NUMBER:
        raise InvalidSemVer(
            value, f"{_BAD}: {attribute.name} must be an integer from 0 to 2**63-1"
        )


def _check_identifiers(
    _instance: SemVer, attribute: attrs.Attribute[str], value: str
) -> None:
    if not _is_identifiers(value):
        raise InvalidSemVer(
            value,
            f"{_BAD}: {attribute.name} {value!r} must be dot-separated identifiers of [0-9A-Za-z-]",
        )


def _is_identifiers(value: object) -> bool:
    return isinstance(value, str) and (
        not value or _grammar.SEMVER_IDENTIFIERS.match(value) is not None
    )


def _identifier_key(identifier: str) -> tuple[int, int, str]:
    # go-semver calls an identifier numeric when strconv.Atoi takes it: an
    # optional sign, decimal digits, and a value that fits in 64 bits.
    # Numeric identifiers sort before the others.
    digits = identifier[1:] if identifier[:1] in "+-" else identifier
    if digits and digits.isascii() and digits.isdigit():
        number = int(identifier)
        if -(2**63) <= number <= _MAX_NUMBER:
            return (0, number, identifier)
    return (1, 0, identifier)


@functools.total_ordering
@attrs.frozen(kw_only=True, order=False)
class SemVer:
    """A semantic version (SemVer 2.0.0, with go-semver's leniencies).

    Ordering follows SemVer precedence as go-semver computes it; build
    metadata, which precedence ignores, only breaks ties so that sorting is
    total and agrees with ``==``.

    >>> SemVer(major=1, minor=0, patch=0, prerelease="rc.1") < SemVer(major=1, minor=0, patch=0)
    True
    >>> SemVer(major=0, minor=0, patch=0)
    Traceback (most recent call last):
    ...
    appc.errors.InvalidSemVer: SemVer cannot be zero
    """

    major: int = attrs.field(validator=_check_number)
    minor: int = attrs.field(validator=_check_number)
    patch: int = attrs.field(validator=_check_number)
    prerelease: str = attrs.field(default="", validator=_check_identifiers)
    build: str = attrs.field(default="", validator=_check_identifiers)

    def __attrs_post_init__(self) -> None:
        if not (
            self.major or self.minor or self.patch or self.prerelease or self.build
        ):
            raise InvalidSemVer(str(self), _ZERO)

    @classmethod
    def parse(cls, text: str) -> SemVer:
        """Parse a version string the way the Go reference does.

        >>> SemVer.parse("1.0.0+")
        SemVer(major=1, minor=0, patch=0, prerelease='', build='')
        >>> SemVer.parse("1.0")
        Traceback (most recent call last):
        ...
        appc.errors.InvalidSemVer: SemVer is bad: '1.0' is not MAJOR.MINOR.PATCH[-PRERELEASE][+BUILD]
        """
        if not isinstance(text, str):  # pyright: ignore[reportUnnecessaryIsInstance]
            raise InvalidSemVer(
                text, f"{_BAD}: expected a string, not {type(text).__name__}"
            )
        match = _grammar.SEMVER.match(text)
        if match is None:
            raise InvalidSemVer(
                text, f"{_BAD}: {text!r} is not MAJOR.MINOR.PATCH[-PRERELEASE][+BUILD]"
            )
        numbers = [int(match[part]) for part in ("major", "minor", "patch")]
        if max(numbers) > _MAX_NUMBER:
            raise InvalidSemVer(
                text, f"{_BAD}: {text!r} has a number larger than 2**63-1"
            )
        major, minor, patch = numbers
        if not (major or minor or patch or match["prerelease"] or match["build"]):
            raise InvalidSemVer(text, _ZERO)
        return cls(
            major=major,
            minor=minor,
            patch=patch,
            prerelease=match["prerelease"] or "",
            build=match["build"] or "",
        )

    def __str__(self) -> str:
        text = f"{self.major}.{self.minor}.{self.patch}"
        if self.prerelease:
            text += f"-{self.prerelease}"
        if self.build:
            text += f"+{self.build}"
        return text

    def _sort_key(self) -> tuple[Any, ...]:
        # A release sorts after all its pre-releases.
        prerelease = (
            (1, ())
            if not self.prerelease
            else (0, tuple(map(_identifier_key, self.prerelease.split("."))))
        )
        return (self.major, self.minor, self.patch, prerelease, self.build)

    def __lt__(self, other: object) -> bool:
        if not isinstance(other, SemVer):
            return NotImplemented
        return self._sort_key() < other._sort_key()


SPEC_VERSION = SemVer.parse("0.8.11")
"""The version of the appc spec that ``appc`` implements (Go's ``AppContainerVersion``)."""
