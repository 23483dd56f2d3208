"""The spec's grammars as regular expressions, each with where it comes from.

Two kinds live here: what the spec text says (``*_SPEC``), and what the Go
reference (appc/spec v0.8.11, the verdicts ``appc`` matches) really accepts
where that differs. The value types validate with the Go form; the spec form
is kept for documentation and for strategies that want the strict subset.
Every pattern is a full match (``\\A...\\Z``): Python's ``$`` also matches
before a final newline, which would let ``"app\\n"`` through.

>>> bool(AC_IDENTIFIER.match("example.com/app..x"))
True
>>> bool(AC_IDENTIFIER_SPEC.match("example.com/app..x"))
False
"""

from __future__ import annotations

import re


__all__ = [
    "AC_IDENTIFIER",
    "AC_IDENTIFIER_INVALID_CHAR",
    "AC_IDENTIFIER_INVALID_EDGE",
    "AC_IDENTIFIER_SEPARATORS",
    "AC_IDENTIFIER_SPEC",
    "AC_NAME",
    "AC_NAME_INVALID_CHAR",
    "AC_NAME_INVALID_EDGE",
    "AC_NAME_SPEC",
    "ENVIRONMENT_NAME",
    "HEX_DIGITS",
    "IMAGE_ID",
    "IMAGE_ID_PREFIX",
    "QUANTITY_SHAPE",
    "RFC3339_DATE_TIME",
    "SEMVER",
    "SEMVER_IDENTIFIERS",
    "UUID_TEXT",
]

# types.md "AC Identifier Type": lowercase URI unreserved characters of
# RFC 3986 section 2.3 plus "/", alphanumeric at both ends.
AC_IDENTIFIER_SPEC = re.compile(r"\A[a-z0-9]+(?:[-._~/][a-z0-9]+)*\Z")
AC_IDENTIFIER_SEPARATORS = "-._~/"
# What Go (schema/types/acidentifier.go) checks instead: the characters, then
# the edges. Runs of separators ("a..b", "a/-b") pass: anchors.md 1.1, 1.23.1.
AC_IDENTIFIER_INVALID_CHAR = re.compile(r"[^a-z0-9\-._~/]")
AC_IDENTIFIER_INVALID_EDGE = re.compile(r"\A[\-._~/]+|[\-._~/]+\Z")
AC_IDENTIFIER = re.compile(r"\A[a-z0-9](?:[a-z0-9\-._~/]*[a-z0-9])?\Z")

# types.md "AC Name Type": DNS labels of RFC 1123 (page 13), lowercase, plus "-".
AC_NAME_SPEC = re.compile(r"\A[a-z0-9]+(?:-[a-z0-9]+)*\Z")
# Go (acname.go) again allows runs of "-" ("a--b"): anchors.md 1.2.
AC_NAME_INVALID_CHAR = re.compile(r"[^a-z0-9\-]")
AC_NAME_INVALID_EDGE = re.compile(r"\A-+|-+\Z")
AC_NAME = re.compile(r"\A[a-z0-9](?:[a-z0-9\-]*[a-z0-9])?\Z")

# Semantic Versioning 2.0.0 (types.md "AC Version Type"), items 9 and 10: the
# dot-separated identifiers of a pre-release or build part. go-semver checks
# only this shape (leading zeros in numeric identifiers are not rejected).
SEMVER_IDENTIFIERS = re.compile(r"\A[0-9A-Za-z-]+(?:\.[0-9A-Za-z-]+)*\Z")
# The whole version as go-semver accepts it: leading zeros and an empty
# pre-release or build after "-"/"+" included (anchors.md 1.4).
SEMVER = re.compile(
    r"\A(?P<major>[0-9]+)\.(?P<minor>[0-9]+)\.(?P<patch>[0-9]+)"
    r"(?:-(?P<prerelease>[0-9A-Za-z-]+(?:\.[0-9A-Za-z-]+)*)?)?"
    r"(?:\+(?P<build>[0-9A-Za-z-]+(?:\.[0-9A-Za-z-]+)*)?)?\Z"
)

HEX_DIGITS = "0123456789abcdef"
# aci.md "Image ID" and types.md "Image ID Type": "sha512-" and the lower-case
# hex SHA-512 of the uncompressed tar.
IMAGE_ID = re.compile(r"\Asha512-[0-9a-f]{128}\Z")
# Short forms (rkt and ``actool`` print 39 characters): not in the spec.
IMAGE_ID_PREFIX = re.compile(r"\Asha512-[0-9a-f]{1,128}\Z")

# types.md (App "environment"): C identifiers plus "." and "-" (v0.8.11, #691).
ENVIRONMENT_NAME = re.compile(r"\A[A-Za-z_][A-Za-z_0-9.\-]*\Z")

# RFC 3339 section 5.6 "date-time" as Go's time.Parse(time.RFC3339, ...)
# reads it (types.md "Timestamps Type"): upper-case "T" and "Z" only, a
# fraction of any length after "." or ",", an offset of two-digit hours and
# minutes, and a one- or two-digit hour (Go's layout "15" is not fixed-width).
RFC3339_DATE_TIME = re.compile(
    r"\A(?P<year>[0-9]{4})-(?P<month>[0-9]{2})-(?P<day>[0-9]{2})"
    r"T(?P<hour>[0-9]{1,2}):(?P<minute>[0-9]{2}):(?P<second>[0-9]{2})"
    r"(?:[.,](?P<fraction>[0-9]+))?"
    r"(?:(?P<utc>Z)|(?P<sign>[+-])(?P<offset_hours>[0-9]{2}):(?P<offset_minutes>[0-9]{2}))\Z"
)

# RFC 4122 UUIDs as the Go reference reads them (uuid.go): every "-" is
# dropped wherever it is, then 32 hex digits of either case must remain.
UUID_TEXT = re.compile(r"\A[0-9A-Fa-f]{32}\Z")

# Kubernetes resource quantities (schema/types/resource/quantity.go): the
# overall shape its error message quotes; the parser is stricter (suffixes).
QUANTITY_SHAPE = re.compile(r"\A([+-]?[0-9.]+)([eEinumkKMGTP]*[-+]?[0-9]*)\Z")
