"""Progress bars for long commands: rich on a terminal, silence otherwise.

The library reports progress through callbacks, ``progress(done, total)``
(``total`` None when unknown); :func:`progress_bar` turns one into a rich
progress bar on stderr when stderr is a terminal. Without rich (the
``appc[cli]`` extra) it says once how to get it and carries on quietly.

>>> import io
>>> with progress_bar("Hashing", stream=io.StringIO()) as progress:
...     progress is None
True
"""

from __future__ import annotations

import contextlib
import importlib.util
import sys

from collections.abc import Callable, Generator
from typing import TextIO


__all__ = ["RICH_HINT", "ProgressCallback", "progress_bar", "rich_available"]

#: What to tell a user who has no rich.
RICH_HINT = "progress bars and tables need rich: pip install 'appc[cli]'"

#: Called as ``progress(done, total)``; ``total`` is None when unknown.
ProgressCallback = Callable[[int, int | None], None]

_hinted = False


def rich_available() -> bool:
    """Whether rich (the ``appc[cli]`` extra) can be imported.

    >>> isinstance(rich_available(), bool)
    True
    """
    return importlib.util.find_spec("rich") is not None


@contextlib.contextmanager
def progress_bar(
    description: str,
    *,
    stream: TextIO | None = None,
    enabled: bool | None = None,
) -> Generator[ProgressCallback | None, None, None]:
    """Yield a progress callback drawing a bar on ``stream`` (stderr), or None.

    ``enabled`` defaults to whether ``stream`` is a terminal; the bar is
    removed when the block ends.
    """
    global _hinted  # noqa: PLW0603 - one hint per process is the point
    out = stream if stream is not None else sys.stderr
    if enabled is None:
        enabled = out.isatty()
    if not enabled:
        yield None
        return
    if not rich_available():
        if not _hinted:
            print(f"appc: {RICH_HINT}", file=out)
            _hinted = True
        yield None
        return
    from rich.console import Console
    from rich.progress import (
        BarColumn,
        DownloadColumn,
        Progress,
        TextColumn,
        TimeRemainingColumn,
        TransferSpeedColumn,
    )

    columns = (
        TextColumn("{task.description}"),
        BarColumn(),
        DownloadColumn(),
        TransferSpeedColumn(),
        TimeRemainingColumn(),
    )
    console = Console(file=out, force_terminal=True)
    with Progress(*columns, console=console, transient=True) as bar:
        task = bar.add_task(description, total=None)

        def update(done: int, total: int | None) -> None:
            bar.update(task, completed=done, total=total)

        yield update
