"""The ``appc`` command: actool, docker2aci and rkt fetch/trust in one tool.

Each group of subcommands lives in its own module with a ``register``
function; this module only wires them together. The CLI is the only place
in ``appc`` that prints or exits.

>>> from appc.cli import main
>>> main(["version"])
appc version ...
0
"""

from __future__ import annotations

import argparse
import gc
import importlib
import sys

from collections.abc import Sequence

from appc.errors import AppcError


__all__ = ["main"]

# Modules under appc.cli that contribute subcommands, in help order.
_COMMAND_MODULES = (
    "appc.cli._validate",
    "appc.cli._aci",
    "appc.cli._docker",
    "appc.cli._signing",
    "appc.cli._fetch",
)
# Which module registers each subcommand: a run imports only the module of
# its command (a test checks this table against what the modules register).
_COMMANDS = {
    "validate": "appc.cli._validate",
    "build": "appc.cli._aci",
    "image-id": "appc.cli._aci",
    "cat-manifest": "appc.cli._aci",
    "patch-manifest": "appc.cli._aci",
    "extract": "appc.cli._aci",
    "docker2aci": "appc.cli._docker",
    "sign": "appc.cli._signing",
    "verify": "appc.cli._signing",
    "trust": "appc.cli._signing",
    "discover": "appc.cli._fetch",
    "fetch": "appc.cli._fetch",
    "image": "appc.cli._fetch",
}


def _version(_args: argparse.Namespace) -> int:
    from importlib.metadata import version

    print(f"appc version {version('appc')} (appc spec 0.8.11)")
    return 0


def _modules_for(words: Sequence[str]) -> tuple[str, ...]:
    """The command modules a run with these arguments needs: its command's, else all.

    Every module is loaded for help, a mistyped command or no command, so
    that argparse can list them all; a known command loads its own only
    (``appc image-id`` starts in 0.09 s instead of 0.14 s on the development
    machine, without the others' imports).

    >>> _modules_for(["--debug", "extract", "a.aci", "out"])
    ('appc.cli._aci',)
    >>> _modules_for(["--help"]) == _COMMAND_MODULES
    True
    """
    command = next((word for word in words if not word.startswith("-")), "")
    if command == "version":
        return ()
    module = _COMMANDS.get(command)
    if module is None or module not in _COMMAND_MODULES:
        return _COMMAND_MODULES
    return (module,)


def build_parser(argv: Sequence[str] | None = None) -> argparse.ArgumentParser:
    """The argument parser, with every subcommand, or with those ``argv`` needs.

    >>> argv = ["extract", "a.aci", "out"]
    >>> args = build_parser(argv).parse_args(argv)
    >>> args.command, args.directory, args.func.__module__
    ('extract', 'out', 'appc.cli._aci')
    """
    parser = argparse.ArgumentParser(
        prog="appc",
        description="Build, validate, sign, discover, fetch and convert App Container images.",
    )
    parser.add_argument(
        "--debug",
        action="store_true",
        help="print a line for each valid file (as actool --debug)",
    )
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    sub.required = True
    version_parser = sub.add_parser("version", help="print the version")
    version_parser.set_defaults(func=_version)
    for name in _COMMAND_MODULES if argv is None else _modules_for(argv):
        module = importlib.import_module(name)
        module.register(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run the ``appc`` command and return its exit code."""
    words = list(sys.argv[1:] if argv is None else argv)
    parser = build_parser(words)
    args = parser.parse_args(words)
    if argv is None:
        # The process is the command: what the imports made lives as long as
        # it does, so keep the cyclic collector from walking it again and
        # again (extracting 30,000 members runs the collector hundreds of
        # times; about 3 % of the CPU time).
        gc.freeze()
    try:
        code: int = args.func(args)
    except AppcError as exc:
        print(f"{args.command}: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        return 130
    return code
