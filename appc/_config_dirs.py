"""rkt's configuration directories, where ``trustedkeys/`` and ``auth.d/`` live.

:mod:`appc.trust` and :mod:`appc.auth` both read from the same three places,
as rkt's ``--system-config``, ``--local-config`` and its user directory:

>>> from appc._config_dirs import DEFAULT_LOCAL_CONFIG, DEFAULT_SYSTEM_CONFIG
>>> str(DEFAULT_SYSTEM_CONFIG), str(DEFAULT_LOCAL_CONFIG)
('/usr/lib/rkt', '/etc/rkt')
"""

from __future__ import annotations

import os

from pathlib import Path
from typing import Final


__all__ = ["DEFAULT_LOCAL_CONFIG", "DEFAULT_SYSTEM_CONFIG", "default_user_config"]

#: The distribution's configuration (rkt's ``--system-config``).
DEFAULT_SYSTEM_CONFIG: Final = Path("/usr/lib/rkt")
#: The administrator's configuration (rkt's ``--local-config``).
DEFAULT_LOCAL_CONFIG: Final = Path("/etc/rkt")


def default_user_config() -> Path:
    """The user's configuration directory: ``$XDG_CONFIG_HOME/appc``.

    >>> default_user_config().name
    'appc'
    """
    base = os.environ.get("XDG_CONFIG_HOME") or str(Path.home() / ".config")
    return Path(base) / "appc"
