"""Image and pod manifests: load, validate, dump.

:func:`load_manifest` reads JSON (``bytes`` or ``str``) and gives an
:class:`ImageManifest` or a :class:`PodManifest`, with the verdicts of
``actool validate --type=manifest``; a bad manifest raises
:class:`~appc.errors.InvalidManifest` listing every problem with its JSON
path. :func:`dump_manifest` writes what ``actool cat-manifest`` prints: Go's
field order, Go's empty-field rules, Go's HTML escaping. The JSON rules (and
where we deliberately differ from Go) are in ``docs/manifests.md``.

>>> manifest = load_manifest(b'{"acKind": "ImageManifest", "acVersion": "0.8.11", "name": "example.com/hello"}')
>>> manifest.name
ACIdentifier('example.com/hello')
>>> dump_manifest(manifest)
'{"acKind":"ImageManifest","acVersion":"0.8.11","name":"example.com/hello"}'
>>> load_manifest(b'{"acKind": "ImageManifest", "acVersion": "0.8.11", "name": "Hello"}')
Traceback (most recent call last):
...
appc.errors.InvalidManifest: invalid ImageManifest
  $.name: ACIdentifier must contain only lower case alphanumeric characters plus "-._~/"
"""

from __future__ import annotations

import html

from collections.abc import Iterable, Iterator
from typing import Final, Literal, Protocol

import attrs

from appc import _json, _sizes
from appc.errors import InvalidACKind, InvalidField
from appc.labels import Labels
from appc.model._base import FrozenDict, Model, Problem
from appc.model.app import App
from appc.model.common import Annotations
from appc.model.dependency import Dependency
from appc.model.isolators import Isolator
from appc.model.pod import ExposedPort, RuntimeApp, Volume
from appc.names import ACIdentifier
from appc.semver import SPEC_VERSION, SemVer


__all__ = [
    "MAX_MANIFEST_SIZE",
    "ImageManifest",
    "PodManifest",
    "dump_manifest",
    "load_image_manifest",
    "load_manifest",
    "load_pod_manifest",
]

MAX_MANIFEST_SIZE: Final = _sizes.MAX_MANIFEST_SIZE
"""The largest manifest read, in bytes (1 MiB).

Real manifests are a few kilobytes; Go sets no limit. A larger document is
refused before it is parsed, so a hostile one cannot make us hold or walk
more than this.
"""


def _kind_problem(kind: str, expected: str) -> Iterator[Problem]:
    if kind != expected:
        message = f'missing or bad ACKind (must be "{expected}")'
        yield Problem(("ac_kind",), InvalidACKind(kind, message))


class _Printer(Protocol):
    def text(self, text: str) -> None: ...


def _html_pairs(pairs: Iterable[tuple[str, str]]) -> str:
    return ", ".join(
        f"<code>{html.escape(name)}={html.escape(value)}</code>"
        for name, value in pairs
    )


def _html_row(header: str, cell: str) -> str:
    return f"<tr><th style='text-align:left'>{html.escape(header)}</th><td style='text-align:left'>{cell}</td></tr>"


def _html_app_rows(app: App) -> list[str]:
    rows = [
        _html_row("exec", html.escape(" ".join(app.exec)) or "<i>none</i>"),
        _html_row("user:group", html.escape(f"{app.user}:{app.group}")),
    ]
    if app.ports:
        ports = ", ".join(
            html.escape(f"{port.name} {port.port}/{port.protocol or '?'}")
            for port in app.ports
        )
        rows.append(_html_row("ports", ports))
    if app.isolators:
        rows.append(
            _html_row(
                "isolators", html.escape(", ".join(i.name for i in app.isolators))
            )
        )
    return rows


def _html_table(title: str, rows: list[str]) -> str:
    return f"<table><caption style='text-align:left'>{title}</caption>{''.join(rows)}</table>"


@attrs.frozen(kw_only=True)
class ImageManifest(Model):
    """What an image is: its name, labels, app, annotations and dependencies.

    Fields are in the order Go writes them. ``ac_version`` defaults to the
    spec version ``appc`` implements.

    >>> ImageManifest(name=ACIdentifier("example.com/app"), labels=Labels([("os", "linux")])).labels
    Labels([('os', 'linux')])
    """

    ac_kind: Literal["ImageManifest"] = "ImageManifest"
    ac_version: SemVer = SPEC_VERSION
    name: ACIdentifier
    labels: Labels = Labels()  # noqa: RUF009 - immutable
    app: App | None = None
    annotations: Annotations = Annotations()  # noqa: RUF009 - immutable
    dependencies: tuple[Dependency, ...] = ()
    path_whitelist: tuple[str, ...] = ()
    """Paths kept from the dependencies; Go checks nothing (relative paths pass)."""

    def _problems(self) -> Iterator[Problem]:
        return _kind_problem(self.ac_kind, "ImageManifest")

    def _repr_pretty_(self, printer: _Printer, _cycle: bool) -> None:
        printer.text(dump_manifest(self, indent=4))

    def _repr_html_(self) -> str:
        """A table for notebooks; every value is HTML-escaped.

        >>> m = ImageManifest(name=ACIdentifier("example.com/a"),
        ...                   annotations=Annotations([("authors", "<b>me</b>")]))
        >>> "&lt;b&gt;me&lt;/b&gt;" in m._repr_html_()
        True
        """
        rows = [_html_row("acVersion", html.escape(str(self.ac_version)))]
        if self.labels:
            rows.append(_html_row("labels", _html_pairs(self.labels.pairs())))
        if self.app is not None:
            rows.extend(_html_app_rows(self.app))
        if self.annotations:
            rows.append(_html_row("annotations", _html_pairs(self.annotations.pairs())))
        if self.dependencies:
            names = ", ".join(
                f"<code>{html.escape(dep.image_name)}</code>"
                for dep in self.dependencies
            )
            rows.append(_html_row("dependencies", names))
        return _html_table(f"ImageManifest <code>{html.escape(self.name)}</code>", rows)


@attrs.frozen(kw_only=True)
class PodManifest(Model):
    """A pod: its apps, volumes, isolators, annotations and exposed ports.

    ``ac_version`` may be ``None``: Go reads a pod manifest without one (but
    cannot write it). App names and volume names must be unique. Pod-level
    isolators are not checked as a set, and unknown ones are kept, as in Go.

    >>> from appc.names import ACName
    >>> PodManifest(volumes=(Volume(name=ACName("v"), kind="empty"),) * 2)
    Traceback (most recent call last):
    ...
    appc.errors.InvalidField: duplicate volume name "v"
    """

    ac_version: SemVer | None = SPEC_VERSION
    ac_kind: Literal["PodManifest"] = "PodManifest"
    apps: tuple[RuntimeApp, ...] = ()
    volumes: tuple[Volume, ...] = ()
    isolators: tuple[Isolator, ...] = ()
    annotations: Annotations = Annotations()  # noqa: RUF009 - immutable
    ports: tuple[ExposedPort, ...] = ()
    user_annotations: FrozenDict[str, str] = FrozenDict()  # noqa: RUF009 - immutable
    user_labels: FrozenDict[str, str] = FrozenDict()  # noqa: RUF009 - immutable

    def _problems(self) -> Iterator[Problem]:
        yield from _kind_problem(self.ac_kind, "PodManifest")
        seen: set[str] = set()
        for index, app in enumerate(self.apps):
            if app.name in seen:
                message = f'duplicate apps of name "{app.name}"'
                yield Problem(("apps", index, "name"), InvalidField(app.name, message))
            seen.add(app.name)
        seen.clear()
        for index, volume in enumerate(self.volumes):
            if volume.name in seen:
                message = f'duplicate volume name "{volume.name}"'
                yield Problem(
                    ("volumes", index, "name"), InvalidField(volume.name, message)
                )
            seen.add(volume.name)

    def _repr_pretty_(self, printer: _Printer, _cycle: bool) -> None:
        printer.text(dump_manifest(self, indent=4))

    def _repr_html_(self) -> str:
        """A table for notebooks; every value is HTML-escaped.

        >>> pod = PodManifest(annotations=Annotations([("note", "a & b")]))
        >>> "a &amp; b" in pod._repr_html_()
        True
        """
        rows = [_html_row("acVersion", html.escape(str(self.ac_version)))]
        for app in self.apps:
            image = app.image.name or app.image.id or "?"
            rows.append(
                _html_row(f"app {app.name}", f"<code>{html.escape(image)}</code>")
            )
        if self.volumes:
            volumes = ", ".join(
                html.escape(f"{v.name} ({v.kind})") for v in self.volumes
            )
            rows.append(_html_row("volumes", volumes))
        if self.annotations:
            rows.append(_html_row("annotations", _html_pairs(self.annotations.pairs())))
        return _html_table("PodManifest", rows)


def load_manifest(data: bytes | str) -> ImageManifest | PodManifest:
    """Read and validate a manifest; its ``acKind`` says which class.

    At most :data:`MAX_MANIFEST_SIZE` bytes. Raises
    :class:`~appc.errors.InvalidManifest`: with the summary ``error
    unmarshaling manifest`` when the JSON, ``acKind`` or ``acVersion`` is
    bad (``actool`` stops there), else ``invalid ImageManifest`` or
    ``invalid PodManifest`` with every problem.

    >>> load_manifest('{"acKind": "PodManifest", "acVersion": "0.8.11"}').apps
    ()
    >>> load_manifest('{"acVersion": "0.8.11"}')
    Traceback (most recent call last):
    ...
    appc.errors.InvalidManifest: error unmarshaling manifest
      $.acKind: ACKind must be set
    """
    from appc import converters

    document = _json.loads(data, max_size=MAX_MANIFEST_SIZE)
    if converters.manifest_class(document) is ImageManifest:
        return converters.structure_manifest(document, ImageManifest)
    return converters.structure_manifest(document, PodManifest)


def load_image_manifest(data: bytes | str) -> ImageManifest:
    """Read and validate an image manifest (anything else is invalid).

    >>> load_image_manifest('{"acKind": "PodManifest", "acVersion": "0.8.11"}')
    Traceback (most recent call last):
    ...
    appc.errors.InvalidManifest: invalid ImageManifest
      $.acKind: missing or bad ACKind (must be "ImageManifest")
      $.name: name must be set
    """
    from appc import converters

    document = _json.loads(data, max_size=MAX_MANIFEST_SIZE)
    return converters.structure_manifest(document, ImageManifest)


def load_pod_manifest(data: bytes | str) -> PodManifest:
    """Read and validate a pod manifest (anything else is invalid).

    >>> load_pod_manifest('{"acKind": "PodManifest"}').ac_version is None
    True
    """
    from appc import converters

    document = _json.loads(data, max_size=MAX_MANIFEST_SIZE)
    return converters.structure_manifest(document, PodManifest)


def dump_manifest(
    manifest: ImageManifest | PodManifest, *, indent: int | None = None
) -> str:
    """The JSON text of a manifest, as Go writes it (compact, or indented).

    ``indent=4`` gives what ``actool cat-manifest --pretty-print`` prints.

    >>> print(dump_manifest(PodManifest(), indent=4))
    {
        "acVersion": "0.8.11",
        "acKind": "PodManifest",
        "apps": null,
        "volumes": null,
        "isolators": null,
        "annotations": null,
        "ports": null
    }
    """
    from appc import converters

    if not isinstance(manifest, ImageManifest | PodManifest):  # pyright: ignore[reportUnnecessaryIsInstance]
        raise TypeError(
            f"expected an ImageManifest or a PodManifest, not {type(manifest).__name__}"
        )
    return _json.dumps(converters.converter.unstructure(manifest), indent=indent)
