"""``appc discover``, ``appc fetch`` and ``appc image list|rm|export|verify|extract|gc``.

``discover`` prints what ``actool discover`` prints (``--json``: only the
JSON); ``fetch`` prints the image ID of each image fetched, as ``rkt fetch``
does (``--pull-policy=never|new|update`` as rkt's); ``image`` works on the
local store. ``discover`` and ``fetch`` send the credentials of rkt's
``auth.d`` files (:mod:`appc.auth`) in the configuration directories, over
https only, unless ``--no-auth-config``.

>>> import argparse
>>> parser = argparse.ArgumentParser(prog="appc")
>>> register(parser.add_subparsers(dest="command"))
>>> parser.parse_args(["discover", "--port", "8443", "example.com/app"]).port
8443
>>> parser.parse_args(["fetch", "--pull-policy=new", "example.com/app"]).pull_policy
'new'
"""

from __future__ import annotations

import argparse
import json
import re
import sys

from datetime import timedelta
from typing import TYPE_CHECKING, Any, Protocol

from appc.cli._config import (
    AUTH_HINT,
    TRUST_DIRS,
    auth_option,
    config_options,
    load_auth,
    load_keystore,
    notes_to_stderr,
)
from appc.errors import AppcError, AuthConfigError, DiscoveryError


if TYPE_CHECKING:
    from collections.abc import Mapping

    from appc.discovery import DiscoveryResult
    from appc.signing import PublicKey
    from appc.store import Store, StoredImage


__all__ = ["register"]

# appc.fetch.PULL_POLICIES, spelled here to keep `appc --help` from importing
# the fetch machinery (a test checks that they agree).
_PULL_POLICIES = ("never", "new", "update")


class _Subcommands(Protocol):
    def add_parser(self, name: str, **kwargs: Any) -> argparse.ArgumentParser: ...


def register(sub: _Subcommands) -> None:
    """Add ``discover``, ``fetch`` and ``image`` to the ``appc`` command."""
    discover = sub.add_parser(
        "discover",
        help="discover the download URLs of images (as actool discover)",
        description="Discover the image, signature and public key URLs of each APP "
        "(NAME[:VERSION][,LABEL=VALUE]...) by meta discovery. os and arch default to this machine's.",
    )
    discover.add_argument("apps", nargs="+", metavar="APP")
    discover.add_argument(
        "--json", action="store_true", help="print only JSON (actool's shape)"
    )
    discover.add_argument(
        "--port", type=int, help="port to connect to for discovery pages"
    )
    discover.add_argument(
        "--insecure",
        action="store_true",
        help="don't check TLS certificates and allow plain http (fallback and redirects)",
    )
    discover.add_argument(
        "--ca-certs",
        metavar="FILE",
        help="trust the CAs in this PEM file (default: the system's; SSL_CERT_FILE)",
    )
    discover.add_argument(
        "--legacy-simple",
        action="store_true",
        help="first try simple discovery (https://{name}-{version}-{os}-{arch}.aci, removed in spec 0.8)",
    )
    auth_option(discover)
    config_options(
        discover, "configuration directories (rkt's layout: credentials in auth.d/)"
    )
    discover.set_defaults(func=_discover)

    fetch = sub.add_parser(
        "fetch",
        help="fetch images into the local store, verified (as rkt fetch)",
        description="Fetch each IMAGE (a name such as example.com/app:1.0, an https URL, or a file) "
        "with its signature, verify it against the trusted keys for its name, check its manifest, "
        "and store it. Prints each image ID.",
    )
    fetch.add_argument("images", nargs="+", metavar="IMAGE")
    fetch.add_argument(
        "--insecure-options",
        default="none",
        metavar="LIST",
        help="checks to skip, comma separated: http, tls, image (signature), pubkey, all-fetch",
    )
    fetch.add_argument(
        "--trust-keys-from-https",
        action="store_true",
        help="trust the keys discovery finds over verified https without asking",
    )
    fetch.add_argument("--port", type=int, help="port for discovery pages")
    fetch.add_argument(
        "--pull-policy",
        choices=_PULL_POLICIES,
        default="update",
        help="when to use the network (as rkt fetch): never = the store only, fail if the "
        "image is not there; new = the store if it holds the image, else fetch; "
        "update = always ask the remote, download only if changed (default: %(default)s)",
    )
    fetch.add_argument(
        "--ca-certs",
        metavar="FILE",
        help="trust the CAs in this PEM file (default: the system's)",
    )
    fetch.add_argument("--full", action="store_true", help="print full image IDs")
    fetch.add_argument(
        "--no-deps",
        action="store_true",
        help="do not fetch the images the manifest depends on (fetched by default, as rkt)",
    )
    auth_option(fetch)
    _store_option(fetch)
    config_options(
        fetch,
        "configuration directories (rkt's layout: keys in trustedkeys/, credentials in auth.d/)",
    )
    fetch.set_defaults(func=_fetch)

    image = sub.add_parser(
        "image",
        help="the local store: image list, rm, export, verify, extract, render, gc",
        description="Work on the local image store. IMAGE is an image ID, a unique ID prefix, "
        "or a name with labels (the newest import wins).",
    )
    commands = image.add_subparsers(dest="image_command", metavar="COMMAND")
    commands.required = True
    listing = commands.add_parser("list", help="list stored images")
    listing.add_argument("--full", action="store_true", help="full image IDs")
    listing.add_argument("--json", action="store_true", help="print JSON")
    listing.add_argument("--no-legend", action="store_true", help="no header line")
    listing.set_defaults(func=_image_list)
    remove = commands.add_parser("rm", help="remove images")
    remove.add_argument("refs", nargs="+", metavar="IMAGE")
    remove.set_defaults(func=_image_rm)
    export = commands.add_parser("export", help="write a stored image to a file")
    export.add_argument("ref", metavar="IMAGE")
    export.add_argument("dest", metavar="FILE")
    export.add_argument("--overwrite", action="store_true", help="replace FILE")
    export.add_argument(
        "--signature",
        action="store_true",
        help="also write FILE.asc, the stored signature",
    )
    export.set_defaults(func=_image_export)
    verify = commands.add_parser(
        "verify", help="hash stored images again and verify their signatures"
    )
    verify.add_argument("refs", nargs="*", metavar="IMAGE", help="default: every image")
    verify.add_argument(
        "--no-signature",
        action="store_true",
        help="only compare each image with its ID",
    )
    config_options(verify, TRUST_DIRS)
    verify.set_defaults(func=_image_verify)
    extract = commands.add_parser(
        "extract", help="extract a stored image to a directory"
    )
    extract.add_argument("ref", metavar="IMAGE")
    extract.add_argument("dest", metavar="DIR")
    extract.set_defaults(func=_image_extract)
    render = commands.add_parser(
        "render",
        help="render a stored image with its dependencies to a directory (as rkt image render)",
    )
    render.add_argument("ref", metavar="IMAGE")
    render.add_argument("dest", metavar="DIR")
    render.set_defaults(func=_image_render)
    gc = commands.add_parser(
        "gc", help="remove leftovers, and images unused for --grace-period"
    )
    gc.add_argument(
        "--grace-period",
        metavar="DURATION",
        help="also remove images not used for this long (e.g. 24h, 7d, 30m)",
    )
    gc.set_defaults(func=_image_gc)
    for parser in (listing, remove, export, verify, extract, render, gc):
        _store_option(parser)


def _store_option(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--store", metavar="DIR", help="the image store (default: $XDG_DATA_HOME/appc)"
    )


def _store(args: argparse.Namespace) -> Store:
    from appc.store import Store

    return Store(args.store)


# -- discover -------------------------------------------------------------------


def _go_json(value: object) -> str:
    # Go's json.MarshalIndent escapes <, > and & (and U+2028/9) in strings.
    text = json.dumps(value, indent=4, ensure_ascii=False)
    for char, escape in (
        ("<", "\\u003c"),
        (">", "\\u003e"),
        ("&", "\\u0026"),
        ("\u2028", "\\u2028"),
        ("\u2029", "\\u2029"),
    ):
        text = text.replace(char, escape)
    return text


def _host_headers(args: argparse.Namespace) -> Mapping[str, Mapping[str, str]] | None:
    """The auth.d credentials as host headers; warnings (aws, unreadable files) on stderr."""
    with notes_to_stderr("appc.auth"):
        config = load_auth(args)
    return None if config is None else config.host_headers()


def _discover(args: argparse.Namespace) -> int:
    from appc.discovery import Insecure, Urllib3Transport, discover, image_ref
    from appc.discovery.resolver import host_os_arch

    insecure = Insecure.HTTP | Insecure.TLS if args.insecure else Insecure.NONE
    try:
        host_headers = _host_headers(args)
    except AuthConfigError as exc:
        print(f"discover: {exc}; {AUTH_HINT}", file=sys.stderr)
        return 1
    transport = Urllib3Transport(ca_certs=args.ca_certs)
    try:
        for app in args.apps:
            ref = image_ref(app)
            labels = {**host_os_arch(), **ref.labels}
            try:
                result = discover(
                    ref.name,
                    labels,
                    insecure=insecure,
                    port=args.port,
                    transport=transport,
                    host_headers=host_headers,
                    simple=args.legacy_simple,
                )
            except DiscoveryError as exc:
                _fail("endpoints", app, exc.attempts)
                return 1
            if not _print_result(app, result, as_json=args.json):
                return 1
    finally:
        transport.close()
    return 0


def _fail(what: str, app: str, attempts: tuple[Any, ...]) -> None:
    print(f"error fetching {what} for {app}: discovery failed", file=sys.stderr)
    for attempt in attempts:
        print(f"  {attempt}", file=sys.stderr)


def _print_result(app: str, result: DiscoveryResult, *, as_json: bool) -> bool:
    if not as_json:
        for attempt in result.endpoint_attempts():
            print(f"discover endpoints walk: {attempt}")
    if not result.public_keys:
        # actool fails without an ac-discovery-pubkeys tag; so does this command.
        _fail("public keys", app, result.key_attempts())
        return False
    if as_json:
        print(_go_json(result.to_json()))
        return True
    for attempt in result.key_attempts():
        print(f"discover public keys walk: {attempt}")
    for endpoint in result.endpoints:
        print(f"ACI: {endpoint.aci}, ASC: {endpoint.asc}")
    print("PublicKeys: " + ",".join(result.public_keys))
    return True


# -- fetch ------------------------------------------------------------------------


def _interactive() -> bool:
    return sys.stdin.isatty() and sys.stderr.isatty()


def _ask_key(key: PublicKey, prefix: str, url: str) -> bool:
    from appc.signing import format_fingerprint

    print(f'Prefix: "{prefix}"', file=sys.stderr)
    print(f'Key: "{url}"', file=sys.stderr)
    print(
        f"GPG key fingerprint is: {format_fingerprint(key.fingerprint)}",
        file=sys.stderr,
    )
    for user_id in key.user_ids:
        print(f"\t{user_id}", file=sys.stderr)
    if not _interactive():
        print(
            "not a terminal: key not trusted (trust it with `appc trust`, or pass --trust-keys-from-https)",
            file=sys.stderr,
        )
        return False
    answer = input("Are you sure you want to trust this key (yes/no)? ")
    return answer.strip().lower() in {"y", "yes"}


def _fetch(args: argparse.Namespace) -> int:
    from appc.cli._progress import progress_bar
    from appc.discovery import Insecure, Urllib3Transport
    from appc.fetch import fetch

    try:
        insecure = Insecure.parse(args.insecure_options)
    except ValueError as exc:
        print(f"fetch: {exc}", file=sys.stderr)
        return 2
    try:
        host_headers = _host_headers(args)
    except AuthConfigError as exc:
        print(f"fetch: {exc}; {AUTH_HINT}", file=sys.stderr)
        return 1
    store = _store(args)
    keystore = load_keystore(args)
    transport = Urllib3Transport(ca_certs=args.ca_certs)
    # What fetch decides on the way (a key trusted from https, a key refused,
    # a broken key URL) is logged: the user must see it.
    try:
        with notes_to_stderr("appc.fetch"):
            for image in args.images:
                with progress_bar("Downloading ACI") as progress:
                    result = fetch(
                        image,
                        store=store,
                        keystore=keystore,
                        insecure=insecure,
                        trust_keys_from_https=args.trust_keys_from_https,
                        accept_key=_ask_key,
                        transport=transport,
                        host_headers=host_headers,
                        port=args.port,
                        progress=progress,
                        pull_policy=args.pull_policy,
                        dependencies=not args.no_deps,
                    )
                for fetched in (result, *result.dependencies):
                    if fetched.signer is not None:
                        of = "" if fetched is result else f" of {fetched.image.ref()}"
                        print(f"signature{of} verified:", file=sys.stderr)
                        for user_id in fetched.signer.user_ids or (
                            fetched.signer.fingerprint,
                        ):
                            print(f"  {user_id}", file=sys.stderr)
                for dependency in result.dependencies:
                    shown = (
                        dependency.image_id if args.full else dependency.image.short_id
                    )
                    print(
                        f"dependency {dependency.image.ref()}: {shown}", file=sys.stderr
                    )
                print(result.image_id if args.full else result.image.short_id)
    finally:
        transport.close()
    return 0


# -- image ------------------------------------------------------------------------


def _size(size: int) -> str:
    # rkt's units: 1000-based, three significant digits.
    value = float(size)
    for unit in ("B", "KB", "MB", "GB", "TB"):
        if value < 1000 or unit == "TB":
            return f"{value:.3g} {unit}"
        value /= 1000
    raise AssertionError  # pragma: no cover - the loop always returns


def _row(image: StoredImage, *, full: bool) -> tuple[str, ...]:
    return (
        image.id if full else image.short_id,
        image.ref(),
        _size(image.size),
        image.imported.strftime("%Y-%m-%d %H:%M:%S"),
        image.last_used.strftime("%Y-%m-%d %H:%M:%S") if image.last_used else "never",
    )


def _image_list(args: argparse.Namespace) -> int:
    images = _store(args).images()
    if args.json:
        print(
            json.dumps(
                [
                    {
                        "id": i.id,
                        "name": i.name,
                        "labels": dict(i.labels),
                        "size": i.size,
                        "imported": i.imported.isoformat(),
                        "last_used": i.last_used.isoformat() if i.last_used else None,
                        "signer": i.signer,
                        "source": i.source,
                    }
                    for i in images
                ],
                indent=2,
            )
        )
        return 0
    rows = [_row(i, full=args.full) for i in images]
    if not args.no_legend:
        rows.insert(0, ("ID", "NAME", "SIZE", "IMPORTED", "LAST USED"))
    widths = [max((len(r[c]) for r in rows), default=0) for c in range(5)]
    for row in rows:
        print(
            "  ".join(
                cell.ljust(w) for cell, w in zip(row, widths, strict=True)
            ).rstrip()
        )
    return 0


def _image_rm(args: argparse.Namespace) -> int:
    store = _store(args)
    failed = 0
    for ref in args.refs:
        try:
            image = store.remove(ref)
        except AppcError as exc:
            print(f"rm: {exc}", file=sys.stderr)
            failed += 1
            continue
        print(f"rm: {image.id}")
    return 1 if failed else 0


def _image_export(args: argparse.Namespace) -> int:
    path = _store(args).export(
        args.ref, args.dest, overwrite=args.overwrite, signature=args.signature
    )
    print(f"Wrote {path}")
    return 0


def _image_verify(args: argparse.Namespace) -> int:
    store = _store(args)
    keystore = None if args.no_signature else load_keystore(args)
    refs = args.refs or [None]
    failed = 0
    for ref in refs:
        for result in store.verify(ref, keystore=keystore):
            label = f"{result.image.short_id} {result.image.ref()}"
            if result.ok:
                signed = (
                    f" (signed by {result.signer.fingerprint})" if result.signer else ""
                )
                print(f"OK {label}{signed}")
            else:
                print(f"FAILED {label}: {result.problem}")
                failed += 1
    return 1 if failed else 0


def _image_extract(args: argparse.Namespace) -> int:
    manifest = _store(args).extract(args.ref, args.dest)
    print(f"Extracted {manifest.name} to {args.dest}")
    return 0


def _image_render(args: argparse.Namespace) -> int:
    from appc.cli._progress import progress_bar
    from appc.render import render

    with progress_bar("Rendering") as progress:
        rendered = render(args.ref, args.dest, store=_store(args), progress=progress)
    count = len(rendered) - 1
    plural = "dependency" if count == 1 else "dependencies"
    print(f"Rendered {rendered[0].image.name} with {count} {plural} to {args.dest}")
    return 0


_DURATION = re.compile(r"^(\d+)([smhd])$")
_UNITS = {"s": "seconds", "m": "minutes", "h": "hours", "d": "days"}


def _duration(text: str) -> timedelta:
    found = _DURATION.match(text.strip())
    if found is None:
        raise ValueError(
            f"bad duration {text!r}: use a number and s, m, h or d (24h, 7d)"
        )
    return timedelta(**{_UNITS[found[2]]: int(found[1])})


def _image_gc(args: argparse.Namespace) -> int:
    try:
        unused = _duration(args.grace_period) if args.grace_period else None
    except ValueError as exc:
        print(f"gc: {exc}", file=sys.stderr)
        return 2
    result = _store(args).gc(unused_for=unused)
    for image_id in result.removed_images:
        print(f"removed image {image_id}")
    for path in result.removed_files:
        print(f"removed file {path}")
    print(f"freed {_size(result.freed_bytes)}")
    return 0
