"""``appc docker2aci``: convert a Docker or OCI image to ACIs, as docker2aci does.

>>> parser = build_parser_for_doc()
>>> args = parser.parse_args(["docker2aci", "--nosquash", "img.tar"])
>>> args.squash, args.source
(False, 'img.tar')
"""

from __future__ import annotations

import argparse
import json
import sys

from collections.abc import Callable, Generator
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any

from appc.cli._config import AUTH_HINT, auth_option, config_options, load_auth
from appc.errors import AuthConfigError


if TYPE_CHECKING:
    from appc.docker.convert import ConvertedImage


__all__ = ["build_parser_for_doc", "download_progress", "register", "report"]

_EPILOG = """\
IMAGE is docker://[REGISTRY/]NAME[:TAG|@DIGEST], a `docker save` file or an OCI
image layout (a directory or a tar). Registry credentials are read from rkt's
dockerAuth files in auth.d/ of the configuration directories, else from
~/.docker/config.json ($DOCKER_CONFIG). Prints the converted volumes and ports,
then the paths of the ACIs written.
"""


def register(sub: Any) -> None:
    """Add the ``docker2aci`` subcommand to the ``appc`` parser."""
    parser = sub.add_parser(
        "docker2aci",
        help="convert a Docker or OCI image to an ACI",
        description="Convert a Docker or OCI image (registry, docker save file, OCI layout) to ACIs.",
        epilog=_EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("source", metavar="IMAGE", help="the image to convert")
    parser.add_argument(
        "--nosquash",
        dest="squash",
        action="store_false",
        help="write one ACI per layer, linked by dependencies (default: squash into one)",
    )
    parser.add_argument(
        "--image",
        metavar="NAME[:TAG]",
        help="the image to take from a file that holds several",
    )
    parser.add_argument(
        "--compression",
        choices=("gzip", "none"),
        default="gzip",
        help="compression of the ACIs (default: gzip)",
    )
    parser.add_argument(
        "--os", help="the OS to pick from a manifest list (default: this host's)"
    )
    parser.add_argument(
        "--arch",
        help="the architecture to pick from a manifest list, Go names, e.g. amd64 or arm/v7"
        " (default: this host's)",
    )
    parser.add_argument(
        "--insecure-allow-http",
        action="store_true",
        help="fall back to plain HTTP registries",
    )
    parser.add_argument(
        "--insecure-skip-verify",
        action="store_true",
        help="do not verify the registry's TLS certificate",
    )
    parser.add_argument(
        "--ca-certs",
        metavar="FILE",
        help="trust the CA certificates in FILE for registries",
    )
    parser.add_argument(
        "-o",
        "--output-dir",
        default=".",
        metavar="DIR",
        help="where to write (default: .)",
    )
    auth_option(parser)
    config_options(
        parser,
        "configuration directories (rkt's layout: dockerAuth credentials in auth.d/)",
    )
    parser.set_defaults(func=_run)


def build_parser_for_doc() -> argparse.ArgumentParser:
    """A parser with only this subcommand (for examples and tests)."""
    parser = argparse.ArgumentParser(prog="appc")
    register(parser.add_subparsers(dest="command"))
    return parser


@contextmanager
def download_progress() -> Generator[
    Callable[[str, int, int | None], None] | None, None, None
]:
    """Download progress bars on a terminal (with rich, the ``cli`` extra)."""
    if not sys.stderr.isatty():
        yield None
        return
    try:
        from rich.progress import (
            BarColumn,
            DownloadColumn,
            Progress,
            TextColumn,
            TransferSpeedColumn,
        )
    except ImportError:  # pragma: no cover - rich comes with appc[cli]
        yield None
        return
    from rich.console import Console

    tasks: dict[str, Any] = {}
    with Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        DownloadColumn(),
        TransferSpeedColumn(),
        console=Console(stderr=True),
        transient=False,
    ) as bars:

        def update(label: str, done: int, total: int | None) -> None:
            task = tasks.get(label)
            if task is None:
                task = tasks[label] = bars.add_task(label, total=total)
            bars.update(task, completed=done)

        yield update


def _go_bool(value: bool) -> str:
    return "true" if value else "false"


def report(images: tuple[ConvertedImage, ...]) -> str:
    """docker2aci's report: converted volumes and ports, then the ACIs written."""
    lines: list[str] = []
    app = images[-1].manifest.app if images else None
    if app is not None and app.mount_points:
        lines += ["", "Converted volumes:"]
        lines += [
            f"\tname: {json.dumps(str(point.name))}, path: {json.dumps(point.path)},"
            f" readOnly: {_go_bool(point.read_only)}"
            for point in app.mount_points
        ]
    if app is not None and app.ports:
        lines += ["", "Converted ports:"]
        lines += [
            f"\tname: {json.dumps(str(port.name))}, protocol: {json.dumps(port.protocol)},"
            f" port: {port.port}, count: {port.count},"
            f" socketActivated: {_go_bool(port.socket_activated)}"
            for port in app.ports
        ]
    lines += ["", "Generated ACI(s):"]
    lines += [str(image.path) for image in images]
    return "\n".join(lines)


def _credentials(args: argparse.Namespace) -> tuple[str, str] | None:
    """The auth.d ``dockerAuth`` credentials for a ``docker://`` image's registry, if any."""
    from appc.docker.convert import DOCKER_PREFIX

    if not args.source.startswith(DOCKER_PREFIX):
        return None
    config = load_auth(args)
    if config is None:
        return None
    from appc.docker import parse_reference

    return config.registry_credentials(parse_reference(args.source).registry)


def _run(args: argparse.Namespace) -> int:
    from appc.docker import convert

    try:
        credentials = _credentials(args)
    except AuthConfigError as exc:
        print(f"docker2aci: {exc}; {AUTH_HINT}", file=sys.stderr)
        return 1
    with download_progress() as progress:
        images = convert(
            args.source,
            args.output_dir,
            squash=args.squash,
            image=args.image,
            os=args.os,
            arch=args.arch,
            compression=args.compression,
            insecure_allow_http=args.insecure_allow_http,
            insecure_skip_verify=args.insecure_skip_verify,
            ca_certs=args.ca_certs,
            credentials=credentials,
            progress=progress,
        )
    print(report(images))
    return 0
