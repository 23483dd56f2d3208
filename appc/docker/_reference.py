"""Docker image references (``[docker://][REGISTRY/]NAME[:TAG][@DIGEST]``).

The grammar and the normalisation are those of docker/distribution's
``reference.ParseNormalizedNamed`` as docker2aci's ``ParseDockerURL`` uses
them: a first component is a registry when it contains ``.`` or ``:`` or is
``localhost``; otherwise the image is on Docker Hub, whose one-component
names live under ``library/``. docker2aci pulls Docker Hub images from
``registry-1.docker.io``, and so do we.

>>> ref = parse_reference("docker://busybox")
>>> ref.registry, ref.repository, ref.tag, ref.digest
('registry-1.docker.io', 'library/busybox', 'latest', '')
>>> str(ref)
'docker.io/library/busybox:latest'
"""

from __future__ import annotations

import re

from typing import Final

import attrs

from appc.errors import InvalidDockerReference


__all__ = [
    "DOCKER_HUB",
    "DOCKER_HUB_REGISTRY",
    "MAX_NAME_LENGTH",
    "DockerReference",
    "parse_reference",
]

#: The registry name Docker Hub references normalise to.
DOCKER_HUB: Final = "docker.io"
#: The host docker2aci (and the Docker engine) pulls Docker Hub images from.
DOCKER_HUB_REGISTRY: Final = "registry-1.docker.io"
#: The longest repository name, registry included (docker/distribution's limit).
MAX_NAME_LENGTH: Final = 255

_PREFIX = "docker://"
_ALNUM = r"[a-z0-9]+"
_SEPARATOR = r"(?:[._]|__|-+)"
_COMPONENT = rf"{_ALNUM}(?:{_SEPARATOR}{_ALNUM})*"
_PATH = re.compile(rf"{_COMPONENT}(?:/{_COMPONENT})*")
_DOMAIN_PART = r"(?:[a-zA-Z0-9]|[a-zA-Z0-9][a-zA-Z0-9-]*[a-zA-Z0-9])"
_DOMAIN = re.compile(rf"{_DOMAIN_PART}(?:\.{_DOMAIN_PART})*(?::[0-9]+)?")
_TAG = re.compile(r"[\w][\w.-]{0,127}", re.ASCII)
# go-digest: an algorithm name, then hex of the algorithm's length.
_DIGEST = re.compile(r"(sha256|sha384|sha512):([a-f0-9]+)")
_DIGEST_HEX_LENGTHS: Final = {"sha256": 64, "sha384": 96, "sha512": 128}
_IMAGE_ID = re.compile(r"[a-f0-9]{64}")


@attrs.frozen(kw_only=True)
class DockerReference:
    """A parsed, normalised Docker image reference.

    ``domain`` is the registry as written after normalisation (``docker.io``
    for Docker Hub); ``registry`` is the host to pull from.

    >>> ref = parse_reference("localhost:5000/team/app@sha256:" + "a" * 64)
    >>> ref.registry, ref.repository, ref.tag, ref.digest[:10]
    ('localhost:5000', 'team/app', '', 'sha256:aaa')
    """

    domain: str
    repository: str
    tag: str = ""
    digest: str = ""

    @property
    def registry(self) -> str:
        """The host (and port) that serves the image."""
        return DOCKER_HUB_REGISTRY if self.domain == DOCKER_HUB else self.domain

    @property
    def name(self) -> str:
        """``domain/repository``, the normalised name without tag or digest."""
        return f"{self.domain}/{self.repository}"

    @property
    def is_docker_hub(self) -> bool:
        """Whether the image lives on Docker Hub."""
        return self.domain == DOCKER_HUB

    def __str__(self) -> str:
        text = self.name
        if self.tag:
            text += f":{self.tag}"
        if self.digest:
            text += f"@{self.digest}"
        return text


def _split_domain(name: str) -> tuple[str, str]:
    first, slash, rest = name.partition("/")
    if not slash or ("." not in first and ":" not in first and first != "localhost"):
        domain, path = DOCKER_HUB, name
    else:
        domain, path = first, rest
    if domain == "index.docker.io":
        domain = DOCKER_HUB
    if domain == DOCKER_HUB and "/" not in path:
        path = f"library/{path}"
    return domain, path


def parse_reference(text: str, *, default_tag: str = "latest") -> DockerReference:
    """Parse and normalise ``[docker://][REGISTRY/]NAME[:TAG][@DIGEST]``.

    A reference with neither tag nor digest gets ``default_tag``.

    >>> str(parse_reference("gcr.io/google-samples/node-hello:1.0"))
    'gcr.io/google-samples/node-hello:1.0'
    >>> parse_reference("Busybox")
    Traceback (most recent call last):
    ...
    appc.errors.InvalidDockerReference: invalid reference "Busybox": repository name must be lowercase
    """
    original = text
    text = text.removeprefix(_PREFIX)
    if not text:
        raise InvalidDockerReference(
            original, "repository name must have at least one component"
        )
    if _IMAGE_ID.fullmatch(text):
        raise InvalidDockerReference(
            original, "cannot specify 64-byte hexadecimal strings as a repository name"
        )
    rest, at, digest = text.partition("@")
    if at:
        _check_digest(original, digest)
    # A colon after the last slash starts the tag; one before it is a port.
    slash = rest.rfind("/")
    colon = rest.rfind(":")
    tag = ""
    if colon > slash:
        rest, tag = rest[:colon], rest[colon + 1 :]
        if not _TAG.fullmatch(tag):
            raise InvalidDockerReference(original, f"invalid tag {tag!r}")
    domain, path = _split_domain(rest)
    if domain != DOCKER_HUB and not _DOMAIN.fullmatch(domain):
        raise InvalidDockerReference(original, f"invalid registry {domain!r}")
    if not _PATH.fullmatch(path):
        if _PATH.fullmatch(path.lower()):
            raise InvalidDockerReference(original, "repository name must be lowercase")
        raise InvalidDockerReference(original, "invalid reference format")
    if len(domain) + 1 + len(path) > MAX_NAME_LENGTH:
        raise InvalidDockerReference(
            original,
            f"repository name must not be more than {MAX_NAME_LENGTH} characters",
        )
    if not tag and not digest:
        tag = default_tag
    return DockerReference(domain=domain, repository=path, tag=tag, digest=digest)


def _check_digest(original: str, digest: str) -> None:
    match = _DIGEST.fullmatch(digest)
    if match is None:
        raise InvalidDockerReference(original, f"invalid digest {digest!r}")
    algorithm, hex_digest = match.groups()
    if len(hex_digest) != _DIGEST_HEX_LENGTHS[algorithm]:
        raise InvalidDockerReference(original, f"invalid {algorithm} digest length")
