"""``appc sign``, ``appc verify`` and ``appc trust`` (rkt's ``trust``, plus ``list`` and ``rm``).

>>> import argparse
>>> parser = argparse.ArgumentParser(prog="appc")
>>> register(parser.add_subparsers(dest="command"))
>>> parser.parse_args(["verify", "image.aci"]).signature is None
True
"""

from __future__ import annotations

import argparse
import getpass
import os
import sys

from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

from appc.cli._config import TRUST_DIRS, config_options, load_keystore
from appc.errors import (
    AppcError,
    PassphraseRequired,
    SigningError,
    TrustError,
    UntrustedKey,
)


# appc.signing and appc.trust import cryptography: only the commands that
# need them pay for it, so `appc validate` starts fast.
if TYPE_CHECKING:
    from appc.signing import PublicKey


__all__ = ["register"]

_KEY_ENV = "APPC_SIGNING_KEY"


class _Subcommands(Protocol):
    def add_parser(self, name: str, **kwargs: Any) -> argparse.ArgumentParser: ...


def register(sub: _Subcommands) -> None:
    """Add ``sign``, ``verify`` and ``trust`` to the ``appc`` command."""
    sign = sub.add_parser(
        "sign",
        help="sign an image (an armored detached signature, as gpg makes)",
        description="Write ACI.asc, an ASCII-armored detached OpenPGP signature of ACI.",
    )
    sign.add_argument("image", metavar="ACI")
    sign.add_argument(
        "--key",
        metavar="FILE",
        help=f"the secret key (armored or binary); default: ${_KEY_ENV}",
    )
    sign.add_argument(
        "-o",
        "--output",
        metavar="ACI.asc",
        help="where to write the signature ('-' for stdout)",
    )
    sign.add_argument(
        "--passphrase-file", metavar="FILE", help="read the key's passphrase from FILE"
    )
    sign.add_argument(
        "--hash",
        choices=("SHA256", "SHA384", "SHA512"),
        help="default: SHA256 (SHA384/SHA512 for P-384/P-521 keys)",
    )
    sign.add_argument(
        "--overwrite", action="store_true", help="replace an existing signature file"
    )
    sign.set_defaults(func=_sign)

    verify = sub.add_parser(
        "verify",
        help="verify an image's signature against trusted keys",
        description="Verify ACI's detached signature. Keys come from --keyring files, or else from the "
        "trust store for the image's name (from --name, or from the image's manifest).",
    )
    verify.add_argument("image", metavar="ACI")
    verify.add_argument(
        "signature", metavar="ACI.asc", nargs="?", help="default: ACI with .aci.asc"
    )
    verify.add_argument(
        "--keyring",
        action="append",
        metavar="FILE",
        help="a public key file (repeatable)",
    )
    verify.add_argument(
        "--name",
        help="the image name whose trusted keys apply (default: the manifest's)",
    )
    verify.add_argument(
        "--at",
        metavar="TIME",
        help="check keys as of this ISO 8601 time (default: now)",
    )
    verify.add_argument(
        "--allow-binary",
        action="store_true",
        help="accept a binary (non-armored) signature",
    )
    verify.add_argument(
        "--allow-text", action="store_true", help="accept a text-mode signature"
    )
    config_options(verify, TRUST_DIRS)
    verify.set_defaults(func=_verify)

    trust = sub.add_parser(
        "trust",
        help="trust keys for a name prefix; `trust list`, `trust rm FINGERPRINT`",
        description="appc trust [--prefix P | --root] KEYFILE...: show each key and ask before trusting it. "
        "appc trust list: show trusted keys. appc trust rm FINGERPRINT...: stop trusting keys.",
    )
    # Options may come before or after the words ("trust rm --root FP"), and
    # argparse does not mix a variable positional with options: the words take
    # the rest of the line, which _trust parses again.
    trust.add_argument(
        "args", nargs=argparse.REMAINDER, metavar="KEYFILE | list | rm FINGERPRINT"
    )
    _trust_options(trust)
    trust.set_defaults(func=_trust)


# -- sign -------------------------------------------------------------------


def _sign(args: argparse.Namespace) -> int:
    from appc.signing import sign

    key = args.key or os.environ.get(_KEY_ENV)
    if not key:
        raise SigningError(
            f"no signing key: pass --key FILE or set ${_KEY_ENV} "
            "(an armored secret key, from `gpg --armor --export-secret-keys KEYID`)"
        )
    output = args.output or args.image + ".asc"
    if output != "-" and Path(output).exists() and not args.overwrite:
        raise SigningError(f"{output} exists; pass --overwrite to replace it")
    passphrase = (
        _read_passphrase(args.passphrase_file) if args.passphrase_file else None
    )
    try:
        key_data = Path(key).read_bytes()
        try:
            signature = sign(
                args.image, key_data, passphrase=passphrase, hash_algorithm=args.hash
            )
        except PassphraseRequired:
            if not _interactive():
                raise
            signature = sign(
                args.image,
                key_data,
                passphrase=getpass.getpass("Passphrase: "),
                hash_algorithm=args.hash,
            )
    except OSError as exc:
        return _os_error("sign", exc)
    if output == "-":
        sys.stdout.write(signature)
        return 0
    Path(output).write_text(signature, encoding="ascii")
    print(f"Wrote signature {output}")
    return 0


def _read_passphrase(path: str) -> str:
    try:
        text = Path(path).read_text(encoding="utf-8")
    except OSError as exc:
        raise SigningError(f"cannot read the passphrase file: {exc}") from exc
    return text.splitlines()[0] if text else ""


def _os_error(command: str, exc: OSError) -> int:
    print(
        f"{command}: {exc.strerror or exc}: {exc.filename or ''}".rstrip(": "),
        file=sys.stderr,
    )
    return 1


def _interactive() -> bool:
    return sys.stdin.isatty() and sys.stderr.isatty()


# -- verify -------------------------------------------------------------------


def _signature_path(image: str) -> str:
    # rkt's rule for a local image: the path without ".aci", plus ".aci.asc".
    return image.removesuffix(".aci") + ".aci.asc"


def _parse_time(text: str) -> datetime:
    try:
        when = datetime.fromisoformat(text)
    except ValueError as exc:
        raise SigningError(
            f"--at {text!r} is not an ISO 8601 time (2020-07-01T00:00:00Z)"
        ) from exc
    return when if when.tzinfo is not None else when.replace(tzinfo=UTC)


def _verify(args: argparse.Namespace) -> int:
    from appc.signing import Keyring, format_fingerprint, verify

    signature = args.signature or _signature_path(args.image)
    at = _parse_time(args.at) if args.at else None
    try:
        if args.keyring:
            keyring = Keyring()
            for path in args.keyring:
                keyring |= Keyring.from_file(path)
            source = "the --keyring files"
        else:
            name = args.name or _manifest_name(args.image)
            store = load_keystore(args)
            keyring = store.keyring_for(name)
            source = f"the trust store for {name!r}"
            if not keyring:
                raise UntrustedKey(
                    f"no key is trusted for {name!r}: trust the publisher's key with "
                    f"`appc trust --prefix {name} KEYFILE`, or pass --keyring FILE"
                )
        signer = verify(
            args.image,
            signature,
            keyring,
            at=at,
            allow_binary=args.allow_binary,
            allow_text=args.allow_text,
        )
    except OSError as exc:
        return _os_error("verify", exc)
    print(f"Signature verified with {source}:")
    print(f"  key:     {format_fingerprint(signer.fingerprint)}")
    if signer.subkey_fingerprint:
        print(f"  subkey:  {format_fingerprint(signer.subkey_fingerprint)}")
    for user_id in signer.user_ids:
        print(f"  signer:  {user_id}")
    print(
        f"  signed:  {signer.created:%Y-%m-%d %H:%M:%S} UTC ({signer.hash_algorithm}, {signer.key_algorithm})"
    )
    return 0


def _manifest_name(image: str) -> str:
    from appc.aci import read_manifest

    return str(read_manifest(image).name)


# -- trust ------------------------------------------------------------------


def _trust_options(parser: argparse.ArgumentParser) -> None:
    scope = parser.add_mutually_exclusive_group()
    scope.add_argument("--prefix", help="trust for images named PREFIX or PREFIX/...")
    scope.add_argument("--root", action="store_true", help="trust for every image")
    parser.add_argument(
        "--skip-fingerprint-review", action="store_true", help="trust without asking"
    )
    parser.add_argument(
        "--local",
        action="store_true",
        help="write the local (/etc) directory, not the user's",
    )
    parser.add_argument(
        "--mask", action="store_true", help="rm: also mask the key with an empty file"
    )
    config_options(parser, TRUST_DIRS)


def _reparse(args: argparse.Namespace) -> tuple[argparse.Namespace, list[str]]:
    """Options given after the first word, merged over those given before it."""
    parser = argparse.ArgumentParser(prog="appc trust", add_help=False)
    _trust_options(parser)
    parser.add_argument("words", nargs="*")
    later = parser.parse_intermixed_args(args.args)
    defaults = parser.parse_args([])
    merged = argparse.Namespace(**vars(args))
    for name, value in vars(later).items():
        if name != "words" and value != getattr(defaults, name):
            setattr(merged, name, value)
    if merged.prefix and merged.root:
        raise TrustError("--root and --prefix usage mutually exclusive")
    return merged, later.words


def _trust(args: argparse.Namespace) -> int:
    args, words = _reparse(args)
    if words[:1] == ["list"]:
        return _trust_list(args, words[1:])
    if words[:1] == ["rm"]:
        return _trust_rm(args, words[1:])
    return _trust_add(args, words)


def _trust_list(args: argparse.Namespace, extra: list[str]) -> int:
    from appc.signing import Keyring

    if extra:
        raise TrustError(f"trust list takes no arguments (got {' '.join(extra)})")
    entries = load_keystore(args).entries()
    if not entries:
        print("No trusted keys.")
        return 0
    for entry in entries:
        if entry.masked:
            detail = "(masked)"
        else:
            try:
                keys = Keyring.from_file(entry.path).keys
                detail = ", ".join(keys[0].user_ids) if keys else "(no key)"
            except (OSError, AppcError) as exc:
                detail = f"(unreadable: {exc})"
        print(
            f"{entry.tier.value:<6}  {entry.scope:<32}  {entry.fingerprint}  {detail}"
        )
    return 0


def _trust_rm(args: argparse.Namespace, fingerprints: list[str]) -> int:
    from appc.trust import Tier

    if not fingerprints:
        raise TrustError(
            "trust rm needs the fingerprint of the key to remove (see `appc trust list`)"
        )
    store = load_keystore(args)
    tier = Tier.LOCAL if args.local else Tier.USER
    for fingerprint in fingerprints:
        if args.mask:
            if not args.prefix and not args.root:
                raise TrustError(
                    "--mask needs --prefix PREFIX or --root: the scope the key is masked in"
                )
            path = store.mask(
                fingerprint, prefix=args.prefix, root=args.root, tier=tier
            )
            print(f"Masked key {fingerprint} at {path}")
            continue
        for path in store.remove(
            fingerprint, prefix=args.prefix, root=args.root, tier=tier
        ):
            print(f"Removed {path}")
    return 0


def _trust_add(args: argparse.Namespace, files: list[str]) -> int:
    from appc.signing import Keyring
    from appc.trust import Tier

    if not files:
        if args.prefix:
            raise TrustError(
                "discovering keys for a prefix (ac-discovery-pubkeys) is not available yet: give KEYFILE"
            )
        raise TrustError("give the KEYFILE(s) to trust, with --prefix PREFIX or --root")
    if not args.prefix and not args.root:
        raise TrustError(
            "aborting due to implicit unbounded trust (root domain): pass --prefix PREFIX to trust the key "
            "for images named PREFIX or PREFIX/..., or --root to trust it for every image"
        )
    store = load_keystore(args)
    tier = Tier.LOCAL if args.local else Tier.USER
    for location in files:
        if location.startswith(("http://", "https://")):
            raise TrustError(
                f"fetching keys from URLs arrives with discovery: download {location} and pass the file"
            )
        try:
            keys: tuple[PublicKey, ...] = Keyring.from_file(location).keys
        except OSError as exc:
            return _os_error("trust", exc)
        if not keys:
            raise TrustError(f"{location} holds no public key")
        _show(location, args.prefix, keys)
        if not args.skip_fingerprint_review and not _review():
            print(f"Not trusting {location!r}.")
            return 1
        review = "without" if args.skip_fingerprint_review else "after"
        scope = f"prefix {args.prefix!r}" if args.prefix else "every image (root)"
        print(f"Trusting {location!r} for {scope} {review} fingerprint review.")
        for key in keys:
            path = store.add(key, prefix=args.prefix, root=args.root, tier=tier)
            if args.prefix:
                print(f"Added key for prefix {args.prefix!r} at {str(path)!r}")
            else:
                print(f"Added root key at {str(path)!r}")
    return 0


def _show(location: str, prefix: str | None, keys: tuple[PublicKey, ...]) -> None:
    from appc.signing import format_fingerprint

    print(f"Prefix: {prefix or ''!r}")
    print(f"Key: {location!r}")
    for key in keys:
        print(f"gpg key fingerprint is: {format_fingerprint(key.fingerprint)}")
        for fingerprint, _algorithm in key.subkey_algorithms():
            print(f"    Subkey fingerprint: {format_fingerprint(fingerprint)}")
        for user_id in key.user_ids:
            print(f"\t{user_id}")


def _review() -> bool:
    if not _interactive():
        raise TrustError(
            "error reviewing key: unable to ask user to review fingerprint due to lack of tty; "
            "check the fingerprint another way and pass --skip-fingerprint-review"
        )
    while True:
        print(
            "Are you sure you want to trust this key (yes/no)?",
            file=sys.stderr,
            flush=True,
        )
        answer = sys.stdin.readline()
        if not answer:
            return False
        if answer.strip() in {"yes", "no"}:
            return answer.strip() == "yes"
        print("Please enter 'yes' or 'no'", file=sys.stderr)
