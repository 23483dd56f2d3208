"""The Go reference as an oracle for value types, and Go's proxy rules (``values_oracle.go``).

``go`` builds the oracle against the Go source Debian ships in
``golang-github-appc-spec-dev`` (which ``.ci/run`` installs, ``go`` with it).
Tests get it through :func:`go_oracle_or_skip`, which skips locally when ``go``
is missing and fails under ``APPC_REQUIRE_INTEROP=1``, like every real
counterpart.
"""

from __future__ import annotations

import hashlib
import json
import os
import pathlib
import subprocess
import tempfile

from collections.abc import Callable
from typing import Any, TypeVar

from appc.errors import InvalidValue

from tests.helpers import require_tool


__all__ = [
    "GOPATH",
    "GoOracle",
    "actool_validate",
    "build_oracle",
    "go_oracle_or_skip",
    "outcome",
]

T = TypeVar("T")
R = TypeVar("R")

GOPATH = "/usr/share/gocode"
SOURCE = pathlib.Path(__file__).with_name("values_oracle.go")


def build_oracle(directory: pathlib.Path, go: str = "go") -> pathlib.Path:
    """Build the oracle into ``directory`` (reused while its source is the same).

    The binary is named after a hash of the source, so that checkouts with
    different versions of it never share a stale build.
    """
    directory.mkdir(parents=True, exist_ok=True)
    digest = hashlib.sha256(SOURCE.read_bytes()).hexdigest()[:16]
    binary = directory / f"values_oracle-{digest}"
    if binary.exists():
        return binary
    env = {
        **os.environ,
        "GOPATH": GOPATH,
        "GO111MODULE": "off",
        "GOFLAGS": "",
        "GOCACHE": str(directory / "cache"),
    }
    partial = binary.with_name(f"{binary.name}.{os.getpid()}.partial")
    subprocess.run(
        [go, "build", "-o", str(partial), str(SOURCE)],
        check=True,
        env=env,
        capture_output=True,
        timeout=600,
    )
    partial.replace(binary)  # whole or not at all, for the next test run
    return binary


class GoOracle:
    """A running oracle: one JSON request per line, one answer per line."""

    def __init__(self, binary: pathlib.Path) -> None:
        self._binary = binary
        self._process = self._start()

    def _start(self) -> subprocess.Popen[str]:
        return subprocess.Popen(
            [str(self._binary)],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
            encoding="utf-8",
        )

    def ask(
        self,
        kind: str,
        text: str = "",
        *,
        other: str = "",
        extra: str = "",
        raw: Any = None,
    ) -> dict[str, Any]:
        """Ask for Go's verdict; ``timeout`` is set when Go did not finish in 5 s."""
        request = {
            "kind": kind,
            "input": text,
            "other": other,
            "extra": extra,
            "raw": raw,
        }
        assert self._process.stdin is not None
        assert self._process.stdout is not None
        self._process.stdin.write(json.dumps(request) + "\n")
        self._process.stdin.flush()
        answer: dict[str, Any] = json.loads(self._process.stdout.readline())
        if answer.get("timeout"):
            # The oracle exits after a timeout; start a fresh one.
            self.close()
            self._process = self._start()
        return answer

    def close(self) -> None:
        """Stop the oracle."""
        if self._process.stdin is not None:
            self._process.stdin.close()
        self._process.wait(timeout=10)
        if self._process.stdout is not None:
            self._process.stdout.close()


def go_oracle_or_skip() -> GoOracle:
    """A running oracle, or skip (fail under ``APPC_REQUIRE_INTEROP=1``) without ``go``."""
    go = require_tool("go")
    if not pathlib.Path(GOPATH, "src/github.com/appc/spec/schema/types").is_dir():
        require_tool("the appc/spec Go source (golang-github-appc-spec-dev)")
    directory = (
        pathlib.Path(tempfile.gettempdir()) / f"appc-values-oracle-{os.getuid()}"
    )
    return GoOracle(build_oracle(directory, go))


def actool_validate(
    actool: str, documents: list[str], directory: pathlib.Path
) -> list[tuple[str, str]]:
    """``actool validate --type=manifest`` on each document, in few runs.

    Returns one ``(verdict, message)`` per document: verdict ``"valid"``,
    ``"invalid"`` or ``"crash"`` (actool panicked on it, as it does on a
    known isolator without a value). One run takes many files, but actool
    stops at a file whose acKind or JSON is bad, or that makes it panic;
    the files after it get a new run.
    """
    directory.mkdir(parents=True, exist_ok=True)
    names: list[str] = []
    for index, document in enumerate(documents):
        name = f"m{index:05d}.json"
        (directory / name).write_text(document, encoding="utf-8")
        names.append(name)
    results: dict[str, tuple[str, str]] = {}
    stopping: set[str] = set()
    pending = names
    while pending:
        run = subprocess.run(
            [actool, "--debug", "validate", "--type=manifest", *pending],
            cwd=directory,
            capture_output=True,
            text=True,
            encoding="utf-8",
            errors="replace",
            timeout=600,
            check=False,
        )
        for line in run.stderr.splitlines():
            name, _, rest = line.partition(": ")
            if name not in pending or name in results:
                continue
            if rest.startswith("valid "):
                results[name] = ("valid", "")
            elif rest.startswith("invalid "):
                results[name] = ("invalid", rest.partition(": ")[2])
            elif rest.startswith("error unmarshaling manifest: "):
                results[name] = ("invalid", rest.partition(": ")[2])
                stopping.add(name)
        first_missing = next(
            (i for i, name in enumerate(pending) if name not in results), None
        )
        if first_missing is None:
            break
        if first_missing > 0 and pending[first_missing - 1] in stopping:
            pending = pending[first_missing:]
        else:
            results[pending[first_missing]] = ("crash", run.stderr[-500:])
            pending = pending[first_missing + 1 :]
    return [results[name] for name in names]


def outcome(function: Callable[[T], R], argument: T) -> tuple[R | None, str | None]:
    """``(result, None)``, or ``(None, reason)`` when ``function`` raises one of our value errors."""
    try:
        return function(argument), None
    except InvalidValue as exc:
        return None, exc.reason
