"""``appc validate``: actool's ``validate``, with every problem and a JSON report.

Output lines and exit codes are actool's (anchors.md 3.6): for each file,
``<file>: error unmarshaling manifest: ...`` or ``<file>: invalid
ImageManifest: ...`` on stderr, then one indented line per problem with its
JSON path; with the global ``--debug`` flag (``appc --debug validate ...``)
``<file>: valid ImageManifest`` for good files. The exit code is 1 if any file
is invalid; as in actool, a file that cannot be read, typed or parsed stops
the run at once. ``--json`` prints one JSON report per file on stdout instead.

The kind of a file comes from ``--type`` or is detected as actool detects it
(a directory is a layout, compressed or tar data an image, text a manifest).
Each kind has a validator in :data:`VALIDATORS`.

>>> from appc.cli import main
>>> main(["validate"])
1
"""

from __future__ import annotations

import argparse
import json
import os
import re
import sys

from collections.abc import Callable, Mapping
from types import MappingProxyType
from typing import Any, Final

import attrs

from appc.errors import InvalidManifest, Issue


__all__ = ["TYPES", "VALIDATORS", "Verdict", "detect_type", "register"]

TYPES: Final = ("appimage", "layout", "manifest")
"""The values of ``--type``, as actool names them."""

# What actool sniffs (aci/file.go): compression magic, the tar magic, text.
_SNIFF_LENGTH: Final = 512
_ARCHIVE_MAGIC: Final = (b"\x1f\x8b", b"BZh", b"\xfd7zXZ\x00")
_TAR_MAGIC: Final = b"ustar"
_TAR_MAGIC_OFFSET: Final = 257
# Bytes that make Go's http.DetectContentType call data binary.
_BINARY: Final = re.compile(rb"[\x00-\x08\x0b\x0e-\x1a\x1c-\x1f]")
# Text that DetectContentType calls something other than text/plain.
_NOT_PLAIN: Final = re.compile(
    rb"(?i)<!DOCTYPE HTML|<HTML|<HEAD|<SCRIPT|<IFRAME|<H1|<DIV|<FONT|<TABLE|<A|<STYLE"
    rb"|<TITLE|<B|<BODY|<BR|<P|<!--|<\?xml|%PDF-|%!PS-Adobe-"
)
_HTML_END: Final = b" >"


@attrs.frozen(kw_only=True)
class Verdict:
    """What a validator found in one file.

    ``kind`` names what the file is when valid (``ImageManifest``, ``app
    container image``...); ``summary`` starts the first error line; ``fatal``
    means actool stops the whole run at this file.

    >>> Verdict(kind="ImageManifest").valid
    True
    """

    kind: str
    summary: str = ""
    issues: tuple[Issue, ...] = ()
    fatal: bool = False

    @property
    def valid(self) -> bool:
        """No issues.

        >>> Verdict(kind="x", summary="invalid x", issues=(Issue("$", "bad"),)).valid
        False
        """
        return not self.issues


def _read_limited(path: str, limit: int) -> bytes:
    with open(path, "rb") as handle:  # noqa: PTH123 - one plain read
        return handle.read(limit + 1)


def validate_manifest_file(path: str) -> Verdict:
    """Validate a manifest file as ``actool validate --type=manifest`` does.

    >>> validate_manifest_file(os.devnull).summary
    'error unmarshaling manifest'
    """
    from appc import _json
    from appc.manifest import MAX_MANIFEST_SIZE, load_manifest

    data = _read_limited(path, MAX_MANIFEST_SIZE)
    try:
        manifest = load_manifest(data)
    except InvalidManifest as exc:
        fatal = exc.summary == _json.PARSE_ERROR
        kind = exc.summary.removeprefix("invalid ") if not fatal else "manifest"
        return Verdict(kind=kind, summary=exc.summary, issues=exc.issues, fatal=fatal)
    return Verdict(kind=manifest.ac_kind)


def validate_image_file(path: str) -> Verdict:
    """Validate an image archive as ``actool validate --type=appimage`` does.

    >>> validate_image_file(os.devnull).summary
    'error decompressing file'
    """
    from appc.aci import validate_archive
    from appc.errors import ArchiveError, InvalidImage, UnsupportedCompression

    kind = "app container image"
    try:
        validate_archive(path)
    except UnsupportedCompression as exc:
        issue = Issue("$", f"error: {exc}")
        return Verdict(
            kind=kind, summary="error decompressing file", issues=(issue,), fatal=True
        )
    except InvalidImage as exc:
        return Verdict(kind=kind, summary="error validating", issues=exc.issues)
    except ArchiveError as exc:  # a budget, or an unreadable file
        return Verdict(
            kind=kind, summary="error validating", issues=(Issue("$", str(exc)),)
        )
    return Verdict(kind=kind)


def validate_layout_dir(path: str) -> Verdict:
    """Validate an image layout directory as ``actool validate --type=layout`` does.

    >>> validate_layout_dir(os.devnull).summary
    'invalid image layout'
    """
    from appc.aci import validate_layout
    from appc.errors import ArchiveError, InvalidImage

    kind = "image layout"
    try:
        validate_layout(path)
    except InvalidImage as exc:
        return Verdict(kind=kind, summary="invalid image layout", issues=exc.issues)
    except ArchiveError as exc:
        return Verdict(
            kind=kind, summary="invalid image layout", issues=(Issue("$", str(exc)),)
        )
    return Verdict(kind=kind)


Validator = Callable[[str], Verdict]

VALIDATORS: Final[Mapping[str, Validator]] = MappingProxyType(
    {
        "appimage": validate_image_file,
        "layout": validate_layout_dir,
        "manifest": validate_manifest_file,
    }
)
"""The validator of each of :data:`TYPES`."""


def _looks_like_text(head: bytes) -> bool:
    if head.startswith((b"\xfe\xff", b"\xff\xfe")):
        return False  # UTF-16: Go says text/plain, but not charset=utf-8
    if head.startswith(b"\xef\xbb\xbf"):
        return True
    stripped = head.lstrip(b"\t\n\x0c\r ")
    match = _NOT_PLAIN.match(stripped)
    if match:
        after = stripped[match.end() : match.end() + 1]
        # An HTML tag counts only when a space or ">" follows it, as in Go.
        if match[0][:2] in (b"%P", b"%!", b"<?") or (after and after in _HTML_END):
            return False
    return not _BINARY.search(head)


def detect_type(head: bytes) -> str | None:
    """The ``--type`` actool would pick for a file starting with ``head``, if any.

    >>> detect_type(b'{"acKind": "ImageManifest"}'), detect_type(b"\\x1f\\x8b\\x08"), detect_type(b"\\x00\\x01")
    ('manifest', 'appimage', None)
    """
    if head.startswith(_ARCHIVE_MAGIC):
        return "appimage"
    if len(head) > _TAR_MAGIC_OFFSET + len(_TAR_MAGIC) and head[
        _TAR_MAGIC_OFFSET:
    ].startswith(_TAR_MAGIC):
        return "appimage"
    if _looks_like_text(head):
        return "manifest"
    return None


def _go_error(exc: OSError) -> str:
    # Go's messages are lower case: "no such file or directory".
    text = exc.strerror or str(exc)
    return text[:1].lower() + text[1:]


class _Stop(Exception):
    """actool returns 1 at once for this file."""

    def __init__(self, line: str) -> None:
        super().__init__(line)
        self.line = line


def _file_type(path: str, requested: str | None) -> str:
    try:
        is_dir = os.path.isdir(path)  # noqa: PTH112
        os.stat(path)  # noqa: PTH116
    except OSError as exc:
        raise _Stop(f"unable to access {path}: stat {path}: {_go_error(exc)}") from exc
    if is_dir:
        if requested in (None, "layout"):
            return "layout"
        raise _Stop(f"{path} is a directory (wrong --type?)")
    try:
        head = _read_limited(path, _SNIFF_LENGTH - 1)
    except OSError as exc:
        raise _Stop(f"{path}: unable to open: open {path}: {_go_error(exc)}") from exc
    if requested is not None:
        return requested
    detected = detect_type(head)
    if detected is None:
        raise _Stop(f"{path}: unable to detect filetype (try --type)")
    return detected


def _report(
    path: str, file_type: str, verdict: Verdict | None, error: str | None
) -> str:
    report: dict[str, Any] = {
        "file": path,
        "type": file_type,
        "valid": verdict is not None and verdict.valid,
    }
    if verdict is not None:
        report["kind"] = verdict.kind
        if not verdict.valid:
            report["summary"] = verdict.summary
        report["issues"] = [
            {"path": issue.path, "message": issue.message} for issue in verdict.issues
        ]
    if error is not None:
        report["error"] = error
    return json.dumps(report, ensure_ascii=False)


def _print_verdict(path: str, verdict: Verdict, *, debug: bool) -> None:
    if verdict.valid:
        if debug:
            print(f"{path}: valid {verdict.kind}", file=sys.stderr)
        return
    print(f"{path}: {verdict.summary}: {verdict.issues[0].message}", file=sys.stderr)
    if verdict.issues[0].path != "$" or len(verdict.issues) > 1:
        for issue in verdict.issues:
            print(f"  {issue}", file=sys.stderr)


def _run(args: argparse.Namespace) -> int:
    as_json: bool = args.json
    if not args.files:
        print("must pass one or more files", file=sys.stderr)
        return 1
    exit_code = 0
    for path in args.files:
        file_type = args.type or "?"
        try:
            file_type = _file_type(path, args.type)
            try:
                verdict = VALIDATORS[file_type](path)
            except OSError as exc:
                raise _Stop(f"{path}: unable to read file {_go_error(exc)}") from exc
        except _Stop as stop:
            if as_json:
                print(_report(path, file_type, None, stop.line))
            else:
                print(stop.line, file=sys.stderr)
            return 1
        if as_json:
            print(_report(path, file_type, verdict, None))
        else:
            _print_verdict(path, verdict, debug=args.debug)
        if not verdict.valid:
            exit_code = 1
            if verdict.fatal:
                return 1
    return exit_code


def register(subparsers: Any) -> None:
    """Add ``validate`` to the ``appc`` command."""
    parser = subparsers.add_parser(
        "validate",
        help="validate images, layouts or manifests (as actool validate)",
        description="Validate that files meet the App Container spec; "
        "exit 1 if any does not. The global --debug prints a line for each valid file.",
    )
    parser.add_argument(
        "--type",
        choices=TYPES,
        default=None,
        help="what the files are (default: detect, as actool does)",
    )
    parser.add_argument(
        "--json", action="store_true", help="print one JSON report per file on stdout"
    )
    parser.add_argument("files", nargs="*", metavar="FILE")
    parser.set_defaults(func=_run)
