"""``appc build``, ``image-id``, ``cat-manifest``, ``patch-manifest`` and ``extract``.

Flags, messages and exit codes follow actool where actool has the command
(0 on success, 1 on failure, 2 on a usage error); errors go to stderr as
``<command>: <message>``. A progress bar is drawn on stderr when it is a
terminal.

>>> from appc.cli import main
>>> main(["build", "layout", "out.tar"])
1
"""

from __future__ import annotations

import argparse
import pathlib
import sys

from typing import Any, Protocol

from appc.cli._progress import progress_bar
from appc.errors import AppcError, InvalidImage


__all__ = ["register"]

_COMPRESSIONS = ("gzip", "bzip2", "xz", "none")
_ACI_EXTENSION = ".aci"


def _error(command: str, message: str) -> int:
    print(f"{command}: {message}", file=sys.stderr)
    return 1


def _extension_error(command: str, path: str) -> int | None:
    extension = pathlib.Path(path).suffix
    if extension != _ACI_EXTENSION:
        return _error(
            command, f"Extension must be {_ACI_EXTENSION} (given {extension})"
        )
    return None


def _compression(args: argparse.Namespace, command: str) -> str | int:
    if args.no_compression:
        if args.compression not in (None, "none"):
            return _error(
                command,
                f"--no-compression conflicts with --compression={args.compression}",
            )
        return "none"
    return args.compression or "gzip"


def _issues_text(exc: InvalidImage) -> str:
    """actool's one-line message (the first problem), then every problem indented."""
    lines = [exc.issues[0].message]
    if len(exc.issues) > 1:
        lines.extend(f"  {issue}" for issue in exc.issues)
    return "\n".join(lines)


# -- build ---------------------------------------------------------------------


def _build(args: argparse.Namespace) -> int:
    from appc.aci import build

    failed = _extension_error("build", args.output)
    if failed is not None:
        return failed
    compression = _compression(args, "build")
    if isinstance(compression, int):
        return compression
    if not args.overwrite and pathlib.Path(args.output).exists():
        return _error("build", "Target file exists (try --overwrite)")
    try:
        with progress_bar("Building") as progress:
            build(
                args.directory,
                args.output,
                compression=compression,  # type: ignore[arg-type]
                owner_root=args.owner_root,
                overwrite=args.overwrite,
                compression_level=args.compression_level,
                progress=progress,
            )
    except InvalidImage as exc:
        return _error("build", f"Layout failed validation: {_issues_text(exc)}")
    except AppcError as exc:
        return _error("build", str(exc))
    return 0


# -- image-id --------------------------------------------------------------------


def _image_id(args: argparse.Namespace) -> int:
    from appc.aci import image_id

    code = 0
    for path in args.files:
        try:
            with progress_bar(pathlib.Path(path).name) as progress:
                found = image_id(path, progress=progress)
        except AppcError as exc:
            code = _error("image-id", f"{path}: {exc}")
            continue
        print(found if len(args.files) == 1 else f"{found}  {path}")
    return code


# -- cat-manifest ----------------------------------------------------------------


def _cat_manifest(args: argparse.Namespace) -> int:
    from appc.aci import read_manifest_bytes
    from appc.manifest import dump_manifest, load_image_manifest

    try:
        data = read_manifest_bytes(args.file)
        if not args.pretty_print:
            # As actool: the stored bytes first, then the verdict.
            sys.stdout.flush()
            sys.stdout.buffer.write(data + b"\n")
            sys.stdout.flush()
        manifest = load_image_manifest(data)
    except AppcError as exc:
        return _error("cat-manifest", f"Unable to read {args.file}: {exc}")
    if args.pretty_print:
        print(dump_manifest(manifest, indent=4))
    return 0


# -- patch-manifest --------------------------------------------------------------


def _patch_manifest(args: argparse.Namespace) -> int:
    from appc.aci import patch_manifest

    command = "patch-manifest"
    if args.replace and args.overwrite:
        return _error(command, "Cannot use both --replace and --overwrite")
    if not args.replace and len(args.files) != 2:
        return _error(command, "Must provide input and output files (or use --replace)")
    if args.replace and len(args.files) != 1:
        return _error(command, "Must provide one file")
    if not args.replace:
        failed = _extension_error(command, args.files[1])
        if failed is not None:
            return failed
    compression = _compression(args, command)
    if isinstance(compression, int):
        return compression
    source = args.files[0]
    editing = ("name", "exec", "user", "group", "capability", "mounts")
    if args.manifest and any(getattr(args, option) for option in editing):
        return _error(
            command, "--manifest is incompatible with other manifest editing options"
        )
    replacement: bytes | None = None
    if args.manifest:
        try:
            replacement = pathlib.Path(args.manifest).read_bytes()
        except OSError as exc:
            return _error(command, f"Cannot open {args.manifest}: {exc.strerror}")
    options: dict[str, Any] = {
        key: getattr(args, key)
        for key in (
            "name",
            "exec",
            "user",
            "group",
            "supplementary_groups",
            "capability",
            "revoke_capability",
            "mounts",
            "ports",
            "isolators",
            "seccomp_mode",
            "seccomp_set",
        )
    }
    try:
        with progress_bar("Patching") as progress:
            patch_manifest(
                source,
                None if args.replace else args.files[1],
                manifest=replacement,
                compression=compression,  # type: ignore[arg-type]
                overwrite=args.overwrite,
                progress=progress,
                **options,
            )
    except AppcError as exc:
        return _error(command, f"Unable to read {source}: {exc}")
    return 0


# -- extract -----------------------------------------------------------------------


def _extract(args: argparse.Namespace) -> int:
    from appc.aci import extract

    try:
        with progress_bar("Extracting") as progress:
            extract(
                args.file,
                args.directory,
                preserve_owner=args.preserve_owner,
                preserve_special_bits=args.preserve_special_bits,
                devices=args.devices,
                xattrs=not args.no_xattrs,
                progress=progress,
            )
    except AppcError as exc:
        return _error("extract", f"{args.file}: {exc}")
    return 0


# -- registration ---------------------------------------------------------------------


def _compression_flags(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--no-compression", action="store_true", help="do not compress the produced ACI"
    )
    parser.add_argument(
        "--compression",
        choices=_COMPRESSIONS,
        default=None,
        help="compression of the produced ACI (default gzip)",
    )


class _Subcommands(Protocol):
    def add_parser(self, name: str, **kwargs: Any) -> argparse.ArgumentParser: ...


def register(sub: _Subcommands) -> None:
    """Add the archive commands to the ``appc`` parser."""
    build = sub.add_parser(
        "build",
        help="build an ACI from an image layout",
        description="Build an ACI from a directory holding an image layout (validated first). "
        "Reproducible: the same tree gives the same image ID (SOURCE_DATE_EPOCH honoured).",
    )
    build.add_argument(
        "--overwrite", action="store_true", help="overwrite the output if it exists"
    )
    build.add_argument(
        "--owner-root", action="store_true", help="make root own every file"
    )
    _compression_flags(build)
    build.add_argument(
        "--compression-level",
        type=int,
        choices=range(1, 10),
        metavar="1-9",
        default=None,
        help="gzip level (default 5; 6 is gzip's default, slower, ~2%% smaller)",
    )
    build.add_argument("directory", metavar="DIRECTORY")
    build.add_argument("output", metavar="OUTPUT_FILE")
    build.set_defaults(func=_build)

    image_id = sub.add_parser(
        "image-id",
        help="print the image ID of ACIs",
        description="Print the image ID (sha512 of the uncompressed tar) of each ACI.",
    )
    image_id.add_argument("files", nargs="+", metavar="ACI_FILE")
    image_id.set_defaults(func=_image_id)

    cat = sub.add_parser("cat-manifest", help="print the manifest of an ACI")
    cat.add_argument(
        "--pretty-print", action="store_true", help="validate, then print indented"
    )
    cat.add_argument("file", metavar="ACI_FILE")
    cat.set_defaults(func=_cat_manifest)

    patch = sub.add_parser(
        "patch-manifest",
        help="copy an ACI with its manifest patched",
        description="Copy an ACI and patch its manifest (actool's options; the result is validated).",
    )
    patch.add_argument(
        "--manifest",
        metavar="MANIFEST_FILE",
        help="replace the manifest with this file",
    )
    patch.add_argument("--name", help="replace the name")
    patch.add_argument("--exec", help="replace the command line (split on spaces)")
    patch.add_argument("--user", help="replace the user")
    patch.add_argument("--group", help="replace the group")
    patch.add_argument(
        "--supplementary-groups",
        metavar="GID,...",
        help="replace the supplementary groups",
    )
    patch.add_argument(
        "--capability", metavar="CAP,...", help="set the capability retain set"
    )
    patch.add_argument(
        "--revoke-capability", metavar="CAP,...", help="set the capability remove set"
    )
    patch.add_argument(
        "--mounts", metavar="NAME,path=P[,readOnly=B][:...]", help="add mount points"
    )
    patch.add_argument(
        "--ports", metavar="NAME,protocol=P,port=N[:...]", help="add ports"
    )
    patch.add_argument("--isolators", metavar="NAME,K=V[:...]", help="add isolators")
    patch.add_argument(
        "--seccomp-mode", metavar="remove|retain[,errno=E]", help="set the seccomp mode"
    )
    patch.add_argument(
        "--seccomp-set", metavar="SYSCALL,...", help="set the seccomp syscalls"
    )
    patch.add_argument("--replace", action="store_true", help="replace the input file")
    patch.add_argument(
        "--overwrite", action="store_true", help="overwrite the output if it exists"
    )
    _compression_flags(patch)
    patch.add_argument("files", nargs="+", metavar="INPUT_ACI_FILE [OUTPUT_ACI_FILE]")
    patch.set_defaults(func=_patch_manifest)

    extract = sub.add_parser(
        "extract",
        help="extract an ACI into a directory",
        description="Extract an ACI into DIRECTORY (which must not exist or be empty), safely.",
    )
    extract.add_argument(
        "--preserve-owner", action="store_true", help="restore ownership (root)"
    )
    extract.add_argument(
        "--preserve-special-bits",
        action="store_true",
        help="keep setuid and setgid bits",
    )
    extract.add_argument(
        "--devices", action="store_true", help="create device nodes (root)"
    )
    extract.add_argument(
        "--no-xattrs", action="store_true", help="do not restore extended attributes"
    )
    extract.add_argument("file", metavar="ACI_FILE")
    extract.add_argument("directory", metavar="DIRECTORY")
    extract.set_defaults(func=_extract)
