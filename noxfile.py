"""Every check the project runs: ``nox`` runs them all, ``nox -s NAME`` one.

Sessions: tests (pytest with branch coverage >= 95% of ``appc/``), lint (ruff),
typing (mypy --strict and pyright strict over ``appc/`` and ``tests/``),
docs (Sphinx -W -n, then doctest), bench (the benchmarks against the
reference tools) and demo (the walkthrough).
"""

from __future__ import annotations

import nox


nox.options.sessions = ["lint", "typing", "tests", "docs"]
nox.options.reuse_existing_virtualenvs = True
nox.options.error_on_external_run = True

PYPROJECT = nox.project.load_toml("pyproject.toml")


def _install(session: nox.Session, *groups: str, package: bool = True) -> None:
    deps: list[str] = []
    for group in groups:
        deps.extend(nox.project.dependency_groups(PYPROJECT, group))
    session.install(*deps)
    if not package:
        return
    # A real (non-editable) install, so entry points and py.typed are tested
    # as users get them; `--force-reinstall --no-deps` keeps it fresh.
    session.install("--force-reinstall", "--no-deps", ".")
    session.install(".[cli,testing,docker,fast]")


@nox.session
def tests(session: nox.Session) -> None:
    """Run the test suite with branch coverage."""
    _install(session, "tests")
    session.run(
        "pytest",
        "-p",
        "no:cacheprovider",
        "--cov=appc",
        "--cov-branch",
        "--cov-report=term-missing:skip-covered",
        "--cov-fail-under=95",
        *session.posargs,
    )


@nox.session
def lint(session: nox.Session) -> None:
    """ruff check and ruff format --check."""
    _install(session, "lint", package=False)
    session.run("ruff", "check", ".")
    session.run("ruff", "format", "--check", ".")


@nox.session
def typing(session: nox.Session) -> None:
    """mypy --strict and pyright (strict) over appc/ and tests/."""
    _install(session, "typing")
    session.run("mypy")
    session.run("pyright", "--pythonpath", str(session.virtualenv.bin) + "/python")


@nox.session
def docs(session: nox.Session) -> None:
    """Build the docs with warnings as errors, then run their doctests."""
    _install(session, "docs")
    session.run(
        "sphinx-build", "-W", "-n", "-q", "-b", "html", "docs", "docs/_build/html"
    )
    session.run(
        "sphinx-build", "-W", "-n", "-q", "-b", "doctest", "docs", "docs/_build/doctest"
    )


@nox.session
def bench(session: nox.Session) -> None:
    """Run the benchmarks: ours against the reference tools, as ratios."""
    _install(session, "tests")
    session.run("python", "benchmarks/run.py", *session.posargs)


@nox.session
def demo(session: nox.Session) -> None:
    """Run the walkthrough end to end."""
    _install(session, "tests")
    session.run("python", "examples/walkthrough.py", *session.posargs)
