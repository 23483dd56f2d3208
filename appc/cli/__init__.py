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


def _version(_args: argparse.Namespace) -> int:
    from importlib.metadata import version

    print(f"appc version {version('appc')} (appc spec 0.8.11)")
    return 0


def build_parser() -> argparse.ArgumentParser:
    """Build the argument parser with every subcommand registered."""
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
    for name in _COMMAND_MODULES:
        module = importlib.import_module(name)
        module.register(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run the ``appc`` command and return its exit code."""
    parser = build_parser()
    args = parser.parse_args(argv)
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
