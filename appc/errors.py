"""Every exception that ``appc`` raises on purpose.

The hierarchy::

    AppcError(Exception)
    ├── InvalidValue(AppcError, ValueError)      one value breaks one spec rule
    │   ├── InvalidACIdentifier
    │   ├── InvalidACName
    │   ├── InvalidACKind
    │   ├── InvalidSemVer
    │   ├── InvalidImageID
    │   ├── InvalidLabels
    │   ├── InvalidAnnotations
    │   ├── InvalidUUID
    │   ├── InvalidDate
    │   ├── InvalidURL
    │   ├── InvalidQuantity
    │   ├── InvalidIsolator
    │   ├── InvalidAppString
    │   └── InvalidField                         any other field rule (ports, volumes, ...)
    ├── InvalidManifest(AppcError, ValueError)   a whole document; ``.issues`` has them all
    ├── ArchiveError(AppcError)                  reading, writing or extracting an ACI
    │   ├── InvalidImage(ArchiveError, ValueError)   ``.issues`` like InvalidManifest
    │   ├── UnsupportedCompression
    │   ├── LimitExceeded                        a named decompression/size budget
    │   └── UnsafeArchive                        a member that would leave the destination
    ├── DiscoveryError(AppcError)                nothing found; ``.attempts``
    ├── FetchError(AppcError)
    │   ├── TransportError                       one HTTP request failed; ``.url``
    │   │   ├── TLSError, InsecureRedirect, TooManyRedirects
    │   │   ├── ResponseTooLarge, HTTPStatusError
    │   │   └── ProxyError                       the proxy, not the server; ``.proxy``
    │   └── ImageMismatch                        manifest name/labels not as asked
    ├── DependencyError(AppcError)               a dependency cycle, or too many images
    ├── StoreError(AppcError)
    │   ├── ImageNotFound(StoreError, LookupError)
    │   ├── AmbiguousImage(StoreError, LookupError)
    │   └── StoreCorrupted                       a blob that no longer hashes to its ID
    ├── TrustError(AppcError)                    trust store problems
    ├── AuthConfigError(AppcError, ValueError)   an auth.d file; ``.path``, never the secret
    ├── SignatureError(AppcError)                deliberately NOT a ValueError
    │   ├── MalformedSignature, MalformedKey     the bytes do not parse
    │   ├── BadSignature                         does not match the data
    │   ├── UntrustedKey                         no trusted key made it
    │   └── KeyPolicyError                       parses and matches, but is refused:
    │       ├── RevokedKey, ExpiredKey, WeakKey, KeyNotForSigning
    │       ├── InvalidBinding
    │       │   └── MissingBackSignature
    │       ├── ExpiredSignature, FutureSignature, WeakHashAlgorithm
    │       └── TextModeSignature, UnarmoredSignature, UnsupportedSignatureType
    ├── SigningError(AppcError)                  making a signature failed
    │   ├── PassphraseRequired
    │   └── WrongPassphrase
    └── ConversionError(AppcError)               docker2aci
        ├── InvalidDockerReference(ConversionError, ValueError)
        ├── UnsafeLayer                          a layer member that would leave the root
        ├── DigestMismatch                       content that does not match its digest
        └── RegistryError                        a registry refused or answered nonsense

Value errors subclass :class:`ValueError` (as ``packaging`` does) so that
``except ValueError`` keeps working; :class:`SignatureError` does not, so
that a generic ``except ValueError`` can never swallow a failed signature
check.

>>> from appc.errors import InvalidACName, AppcError
>>> issubclass(InvalidACName, ValueError) and issubclass(InvalidACName, AppcError)
True
"""

from __future__ import annotations

from typing import Any


__all__ = [
    "AmbiguousImage",
    "AppcError",
    "ArchiveError",
    "AuthConfigError",
    "BadSignature",
    "ConversionError",
    "DependencyError",
    "DigestMismatch",
    "DiscoveryError",
    "ExpiredKey",
    "ExpiredSignature",
    "FetchError",
    "FutureSignature",
    "HTTPStatusError",
    "ImageMismatch",
    "ImageNotFound",
    "InsecureRedirect",
    "InvalidACIdentifier",
    "InvalidACKind",
    "InvalidACName",
    "InvalidAnnotations",
    "InvalidAppString",
    "InvalidBinding",
    "InvalidDate",
    "InvalidDockerReference",
    "InvalidField",
    "InvalidImage",
    "InvalidImageID",
    "InvalidIsolator",
    "InvalidLabels",
    "InvalidManifest",
    "InvalidQuantity",
    "InvalidSemVer",
    "InvalidURL",
    "InvalidUUID",
    "InvalidValue",
    "Issue",
    "KeyNotForSigning",
    "KeyPolicyError",
    "LimitExceeded",
    "MalformedKey",
    "MalformedSignature",
    "MissingBackSignature",
    "PassphraseRequired",
    "ProxyError",
    "RegistryError",
    "ResponseTooLarge",
    "RevokedKey",
    "SignatureError",
    "SigningError",
    "StoreCorrupted",
    "StoreError",
    "TLSError",
    "TextModeSignature",
    "TooManyRedirects",
    "TransportError",
    "TrustError",
    "UnarmoredSignature",
    "UnsafeArchive",
    "UnsafeLayer",
    "UnsupportedCompression",
    "UnsupportedSignatureType",
    "UntrustedKey",
    "WeakHashAlgorithm",
    "WeakKey",
    "WrongPassphrase",
]


class AppcError(Exception):
    """The base of every exception ``appc`` raises on purpose.

    >>> isinstance(AppcError("x"), Exception)
    True
    """


class Issue:
    """One problem found in a document, with its JSON path.

    Immutable and hashable. A plain class rather than an attrs one, so that
    importing :mod:`appc.errors` stays cheap for every command.

    >>> str(Issue("$.app.user", "user is required"))
    '$.app.user: user is required'
    >>> Issue("$.name", "x") == Issue("$.name", "x")
    True
    """

    __slots__ = ("message", "path")
    __match_args__ = ("path", "message")

    path: str
    message: str

    def __init__(self, path: str, message: str) -> None:
        object.__setattr__(self, "path", path)
        object.__setattr__(self, "message", message)

    def __setattr__(self, name: str, value: object) -> None:
        raise AttributeError(f"Issue is immutable; cannot set {name!r}")

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Issue):
            return NotImplemented
        return (self.path, self.message) == (other.path, other.message)

    def __hash__(self) -> int:
        return hash((self.path, self.message))

    def __repr__(self) -> str:
        return f"Issue(path={self.path!r}, message={self.message!r})"

    def __str__(self) -> str:
        return f"{self.path}: {self.message}"


class InvalidValue(AppcError, ValueError):
    """One value breaks one rule of the spec.

    ``value`` is the offending input and ``reason`` says which rule.

    >>> err = InvalidValue("BAR", "must be lower case")
    >>> err.value, err.reason
    ('BAR', 'must be lower case')
    """

    def __init__(self, value: Any, reason: str) -> None:
        super().__init__(value, reason)
        self.value = value
        self.reason = reason

    def __str__(self) -> str:
        return self.reason


class InvalidACIdentifier(InvalidValue):
    """A string that is not a valid AC Identifier."""


class InvalidACName(InvalidValue):
    """A string that is not a valid AC Name."""


class InvalidACKind(InvalidValue):
    """An ``acKind`` other than ``ImageManifest`` or ``PodManifest``."""


class InvalidSemVer(InvalidValue):
    """A string that is not a valid, non-zero semantic version."""


class InvalidImageID(InvalidValue):
    """A string that is not ``sha512-`` followed by 128 lower-case hex digits."""


class InvalidLabels(InvalidValue):
    """Duplicate labels, the reserved name ``name``, or an unknown os/arch."""


class InvalidAnnotations(InvalidValue):
    """Duplicate annotations or a bad value of a well-known annotation."""


class InvalidUUID(InvalidValue):
    """A string that is not 32 hex digits (dashes aside), or the nil UUID."""


class InvalidDate(InvalidValue):
    """A string that is not an RFC 3339 date-time."""


class InvalidURL(InvalidValue):
    """A string that is not an http or https URL."""


class InvalidQuantity(InvalidValue):
    """A resource quantity that does not parse (``100K``, ``1..2``)."""


class InvalidIsolator(InvalidValue):
    """An isolator whose value breaks its rules, or an invalid isolator set."""


class InvalidAppString(InvalidValue):
    """An image string such as ``example.com/app:1.0,os=linux`` that does not parse."""


class InvalidField(InvalidValue):
    """Any other field rule of the spec (ports, volumes, users, paths...)."""


def _format_issues(summary: str, issues: tuple[Issue, ...]) -> str:
    if not issues:
        return summary
    lines = [summary, *(f"  {issue}" for issue in issues)]
    return "\n".join(lines)


class InvalidManifest(AppcError, ValueError):
    """A manifest that breaks the spec, with every problem and its JSON path.

    >>> err = InvalidManifest("invalid ImageManifest", [Issue("$.name", "name must be set")])
    >>> print(err)
    invalid ImageManifest
      $.name: name must be set
    >>> err.issues[0].path
    '$.name'
    """

    def __init__(self, summary: str, issues: Any = ()) -> None:
        self.summary = summary
        self.issues: tuple[Issue, ...] = tuple(issues)
        super().__init__(_format_issues(summary, self.issues))


class ArchiveError(AppcError):
    """Reading, writing or extracting an image archive failed."""


class InvalidImage(ArchiveError, ValueError):
    """An image archive or layout that breaks the spec, with every problem.

    >>> print(InvalidImage("invalid image", [Issue("rootfs", "rootfs is not a directory")]))
    invalid image
      rootfs: rootfs is not a directory
    """

    def __init__(self, summary: str, issues: Any = ()) -> None:
        self.summary = summary
        self.issues: tuple[Issue, ...] = tuple(issues)
        super().__init__(_format_issues(summary, self.issues))


class UnsupportedCompression(ArchiveError):
    """A stream whose compression (or format) is not recognised."""


class LimitExceeded(ArchiveError):
    """A named budget (bytes, members, manifest size) was exceeded.

    >>> err = LimitExceeded("MAX_MANIFEST_SIZE", 1024, "manifest is larger than 1024 bytes")
    >>> err.limit, err.value
    ('MAX_MANIFEST_SIZE', 1024)
    """

    def __init__(self, limit: str, value: int, message: str) -> None:
        super().__init__(message)
        self.limit = limit
        self.value = value


class UnsafeArchive(ArchiveError):
    """A member that would write outside the destination, or is otherwise unsafe."""


class DiscoveryError(AppcError):
    """Discovery found no endpoint; ``attempts`` lists what was tried."""

    def __init__(self, message: str, attempts: Any = ()) -> None:
        super().__init__(message)
        self.attempts: tuple[Any, ...] = tuple(attempts)


class FetchError(AppcError):
    """Fetching an image failed."""


class StoreError(AppcError):
    """The local image store failed."""


class ImageNotFound(StoreError, LookupError):
    """No image in the store matches."""


class TrustError(AppcError):
    """The trust store could not be read or changed."""


class AuthConfigError(AppcError, ValueError):
    """An ``auth.d`` credentials file that cannot be used; ``path`` names it.

    ``reason`` says what is wrong in words that never quote a credential.

    >>> err = AuthConfigError("/etc/rkt/auth.d/a.json", "no domains specified")
    >>> print(err)
    /etc/rkt/auth.d/a.json: no domains specified
    >>> err.path, err.reason
    ('/etc/rkt/auth.d/a.json', 'no domains specified')
    """

    def __init__(self, path: str, reason: str) -> None:
        super().__init__(f"{path}: {reason}")
        self.path = path
        self.reason = reason


class SignatureError(AppcError):
    """A signature did not verify. Deliberately not a :class:`ValueError`.

    >>> issubclass(SignatureError, ValueError)
    False
    """


class MalformedSignature(SignatureError):
    """The signature file does not parse as an OpenPGP signature."""


class BadSignature(SignatureError):
    """The signature does not match the data."""


class UntrustedKey(SignatureError):
    """No trusted key made the signature."""


class KeyPolicyError(SignatureError):
    """The key or signature breaks policy: revoked, expired, weak, wrong flags."""


class ConversionError(AppcError):
    """Converting a Docker or OCI image failed."""


class InvalidDockerReference(ConversionError, ValueError):
    """A ``docker://`` image reference that does not parse.

    >>> str(InvalidDockerReference("Busybox", "repository name must be lowercase"))
    'invalid reference "Busybox": repository name must be lowercase'
    """

    def __init__(self, value: str, reason: str) -> None:
        super().__init__(f'invalid reference "{value}": {reason}')
        self.value = value
        self.reason = reason


class UnsafeLayer(ConversionError):
    """A Docker layer or archive member that would leave the image root."""


class DigestMismatch(ConversionError):
    """A blob, layer or manifest whose content does not hash to its digest."""


class RegistryError(ConversionError):
    """A Docker registry refused a request or answered something unusable."""


# -- Signatures and signing (appc.signing, appc.trust) -----------------------


class MalformedKey(SignatureError):
    """Key data that does not parse as a version 4 OpenPGP key or keyring."""


class InvalidBinding(KeyPolicyError):
    """A key part not bound by a valid self-signature (spliced or forged subkey)."""


class MissingBackSignature(InvalidBinding):
    """A signing subkey whose binding has no valid back-signature from the subkey."""


class RevokedKey(KeyPolicyError):
    """The key or subkey that made the signature has been revoked by its owner."""


class ExpiredKey(KeyPolicyError):
    """The key or subkey has expired, now or when the signature was made."""


class KeyNotForSigning(KeyPolicyError):
    """The key or subkey is not flagged for signing (encryption- or certify-only)."""


class WeakKey(KeyPolicyError):
    """A key too weak or of an algorithm not accepted (RSA under 2048 bits, DSA)."""


class WeakHashAlgorithm(KeyPolicyError):
    """A signature hash that is broken (MD5, SHA-1, RIPEMD-160) or not supported."""


class UnsupportedSignatureType(KeyPolicyError):
    """A signature type other than a binary or text document (e.g. a timestamp)."""


class TextModeSignature(KeyPolicyError):
    """A text-mode signature (it ignores line endings) where none was allowed."""


class UnarmoredSignature(KeyPolicyError):
    """A binary signature where the spec's ASCII armor was required."""


class FutureSignature(KeyPolicyError):
    """A signature dated after the verification time (beyond the allowed skew)."""


class ExpiredSignature(KeyPolicyError):
    """A signature whose own expiration time has passed."""


class SigningError(AppcError):
    """Making a signature failed: no usable secret key in the file, for example."""


class PassphraseRequired(SigningError):
    """The secret key is protected and no passphrase was given."""


class WrongPassphrase(SigningError):
    """The passphrase does not unlock the secret key."""


# -- Discovery, fetch and the image store (appc.discovery, appc.fetch, appc.store)


class TransportError(FetchError):
    """One HTTP(S) request failed: connection, timeout, a cut or oversized body, a refused redirect.

    >>> err = TransportError("connection refused", url="https://example.com/app.aci")
    >>> err.url
    'https://example.com/app.aci'
    """

    def __init__(self, message: str, *, url: str = "") -> None:
        super().__init__(message)
        self.url = url


class TLSError(TransportError):
    """The server's TLS certificate is not trusted, or is not for this host."""


class InsecureRedirect(TransportError):
    """A redirect (or fallback) from https to plain http, refused: insecure http was not allowed."""


class TooManyRedirects(TransportError):
    """More redirects than the limit (``appc.discovery.MAX_REDIRECTS``)."""


class ResponseTooLarge(TransportError):
    """A response body larger than its named limit (a discovery page, a key, a signature)."""


class HTTPStatusError(TransportError):
    """The server answered with an unexpected status; ``status`` holds it.

    >>> HTTPStatusError("expected a 200 OK got 404", status=404).status
    404
    """

    def __init__(self, message: str, *, status: int, url: str = "") -> None:
        super().__init__(message, url=url)
        self.status = status


class ProxyError(TransportError):
    """The proxy failed: unreachable, refusing the credentials (407) or the tunnel, or a bad proxy URL.

    ``proxy`` is the proxy's URL with any credentials masked (``***``);
    no message ever carries them.

    >>> err = ProxyError("cannot connect to the proxy", proxy="http://***@proxy.example.com:3128")
    >>> err.proxy
    'http://***@proxy.example.com:3128'
    """

    def __init__(self, message: str, *, url: str = "", proxy: str = "") -> None:
        super().__init__(message, url=url)
        self.proxy = proxy


class ImageMismatch(FetchError):
    """The fetched image is not the one asked for.

    Its manifest name or labels differ from those asked for, or, for a
    dependency, its image ID or size differs from the declared one.
    """


class DependencyError(AppcError):
    """An image's dependencies cannot be used: they form a cycle, or too many images.

    Raised by :func:`appc.fetch.fetch` and :func:`appc.render.render`.
    """


class AmbiguousImage(StoreError, LookupError):
    """An image ID prefix that matches several images in the store."""


class StoreCorrupted(StoreError):
    """A stored image that no longer hashes to its image ID (or has gone missing)."""
