"""The configuration directories the commands share: rkt's ``--system-config`` and friends.

``trustedkeys/`` (the trust store) and ``auth.d/`` (credentials) live under
each of the system, local and user directories.

>>> import argparse
>>> parser = argparse.ArgumentParser()
>>> config_options(parser, "configuration directories")
>>> auth_option(parser)
>>> args = parser.parse_args(["--local-config", "/srv/rkt", "--no-auth-config"])
>>> args.local_config, args.system_config, args.no_auth_config
('/srv/rkt', '/usr/lib/rkt', True)
>>> load_auth(args) is None
True
"""

from __future__ import annotations

import argparse
import contextlib
import logging
import sys

from collections.abc import Generator
from typing import TYPE_CHECKING

from appc._config_dirs import DEFAULT_LOCAL_CONFIG, DEFAULT_SYSTEM_CONFIG


if TYPE_CHECKING:
    from appc.auth import AuthConfig
    from appc.trust import Keystore


__all__ = [
    "TRUST_DIRS",
    "auth_option",
    "config_options",
    "load_auth",
    "load_keystore",
    "notes_to_stderr",
]

#: The title of the directory options of commands that use only the trust store.
TRUST_DIRS = "trust directories (rkt's layout; trustedkeys/ is appended)"

#: Said after an auth.d error: how to get going again.
AUTH_HINT = "fix or remove the file, or pass --no-auth-config"


def config_options(parser: argparse.ArgumentParser, title: str) -> None:
    """Add ``--system-config``, ``--local-config`` and ``--user-config`` (rkt's defaults)."""
    group = parser.add_argument_group(title)
    group.add_argument(
        "--system-config",
        default=str(DEFAULT_SYSTEM_CONFIG),
        metavar="DIR",
        help="default: %(default)s",
    )
    group.add_argument(
        "--local-config",
        default=str(DEFAULT_LOCAL_CONFIG),
        metavar="DIR",
        help="default: %(default)s",
    )
    group.add_argument(
        "--user-config", metavar="DIR", help="default: $XDG_CONFIG_HOME/appc"
    )


def auth_option(parser: argparse.ArgumentParser) -> None:
    """Add ``--no-auth-config``: do not read credentials from ``auth.d``."""
    parser.add_argument(
        "--no-auth-config",
        action="store_true",
        help="don't read credentials from auth.d/ in the configuration directories",
    )


def load_auth(args: argparse.Namespace) -> AuthConfig | None:
    """The credentials in ``auth.d`` of the directories given, or None with ``--no-auth-config``."""
    if args.no_auth_config:
        return None
    from appc.auth import load_auth_config

    return load_auth_config(
        system_config=args.system_config,
        local_config=args.local_config,
        user_config=args.user_config,
    )


def load_keystore(args: argparse.Namespace) -> Keystore:
    """The trust store (``trustedkeys/``) of the directories given."""
    from appc.trust import Keystore

    return Keystore.from_config_dirs(
        system_config=args.system_config,
        local_config=args.local_config,
        user_config=args.user_config,
    )


@contextlib.contextmanager
def notes_to_stderr(*names: str) -> Generator[None]:
    """Show the warnings of these loggers on stderr, message only, while the block runs."""
    notes = logging.StreamHandler(sys.stderr)
    notes.setFormatter(logging.Formatter("%(message)s"))
    notes.setLevel(logging.WARNING)
    loggers = [logging.getLogger(name) for name in names]
    for logger in loggers:
        logger.addHandler(notes)
    try:
        yield
    finally:
        for logger in loggers:
            logger.removeHandler(notes)
