"""Render ``ac-discovery`` URL templates: ``{name}``, ``{version}``, ``{os}``, ``{ext}``...

Every label is a variable, as is ``{name}``; ``{ext}`` is ``aci`` for the
image and ``aci.asc`` for its signature. A template that still holds a
``{...}`` after rendering is skipped, as in the Go reference. Two things
differ from Go, on purpose: label values are percent-encoded (everything
but the URI unreserved characters), so ``version=1.0/../../x`` cannot change
the URL's path or query; and the substitution is one pass, so a value can
never introduce another variable (Go replaces one label after another, in
map order).

>>> variables = template_variables("example.com/app", {"version": "1.0", "os": "linux"})
>>> render("https://example.com/{name}-{version}-{os}.{ext}", variables, "aci")
'https://example.com/example.com/app-1.0-linux.aci'
>>> render("https://example.com/{name}-{arch}.{ext}", variables, "aci") is None
True
"""

from __future__ import annotations

import re
import urllib.parse

from collections.abc import Mapping

from appc.errors import InvalidAppString


__all__ = [
    "ASC_EXT",
    "DEFAULT_VERSION",
    "IMAGE_EXT",
    "check_label_values",
    "quote_value",
    "render",
    "template_variables",
]

#: ``{version}`` when the request names none (Go's behaviour, not spec text).
DEFAULT_VERSION = "latest"
#: ``{ext}`` of the image URL.
IMAGE_EXT = "aci"
#: ``{ext}`` of the signature URL.
ASC_EXT = "aci.asc"

_VARIABLE = re.compile(r"\{([^{}]*)\}")
# Go's leftover test, `{.*?}`: a brace, then a closing brace on the same line.
_LEFTOVER = re.compile(r"\{.*?\}")
_DOT_SEGMENTS = frozenset({".", ".."})


def quote_value(value: str) -> str:
    """Percent-encode a label value for a URL: only ``A-Z a-z 0-9 - . _ ~`` stay.

    >>> quote_value("1.0/../../x?y#z")
    '1.0%2F..%2F..%2Fx%3Fy%23z'
    """
    return urllib.parse.quote(value, safe="")


def check_label_values(labels: Mapping[str, str]) -> None:
    """Refuse label values that would be a ``.`` or ``..`` path segment.

    Percent-encoding leaves dots alone, and URL parsers resolve ``%2E%2E``
    like ``..``: such a value could climb the template's path.

    >>> check_label_values({"version": ".."})
    Traceback (most recent call last):
    ...
    appc.errors.InvalidAppString: label "version" has the value "..", which would climb a URL path
    """
    for name, value in labels.items():
        if value in _DOT_SEGMENTS:
            raise InvalidAppString(
                value,
                f'label "{name}" has the value "{value}", which would climb a URL path',
            )


def template_variables(name: str, labels: Mapping[str, str]) -> dict[str, str]:
    """The variables of a template: ``name``, each label (encoded), ``version`` defaulted.

    A label called ``name`` or ``ext`` is ignored: ``{name}`` is the image
    name and ``{ext}`` the file extension.

    >>> template_variables("example.com/app", {"name": "x", "os": "linux"})
    {'os': 'linux', 'version': 'latest', 'name': 'example.com/app'}
    """
    variables = {
        label: quote_value(value)
        for label, value in labels.items()
        if label not in {"name", "ext"}
    }
    if not labels.get("version"):
        variables["version"] = DEFAULT_VERSION
    # An ACIdentifier has only URI-safe characters: "/" separates its parts.
    variables["name"] = urllib.parse.quote(name, safe="/")
    return variables


def render(template: str, variables: Mapping[str, str], ext: str) -> str | None:
    """The URL for one ``{ext}``, or None when a variable is left unfilled.

    >>> render("https://example.com/{name}.{ext}", {"name": "a"}, "aci.asc")
    'https://example.com/a.aci.asc'
    """

    def fill(match: re.Match[str]) -> str:
        key = match[1]
        if key == "ext":
            return ext
        return variables.get(key, match[0])

    rendered = _VARIABLE.sub(fill, template)
    if _LEFTOVER.search(rendered):
        return None
    return rendered
