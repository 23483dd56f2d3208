"""Signing fixtures made by a real gpg at test time, in a throwaway GNUPGHOME.

One session fixture generates every key and signature the verdict table
needs (security.md B.1 lists the recipe); inputs gpg refuses to make are
crafted in :mod:`tests.signing.crafting` with gpg's own secret keys.
"""

from __future__ import annotations

import calendar
import os
import time

from collections.abc import Iterator
from pathlib import Path

import attrs
import pytest

from appc import _openpgp
from appc._openpgp import (
    SignatureType,
    SubpacketType,
    Tag,
    encode_packet,
    encode_subpacket,
)

from tests.signing import crafting
from tests.signing.gpgtool import Gpg


def epoch(text: str) -> int:
    """Seconds since the epoch of a gpg --faked-system-time value (UTC)."""
    return calendar.timegm(
        (
            int(text[:4]),
            int(text[4:6]),
            int(text[6:8]),
            int(text[9:11]),
            int(text[11:13]),
            0,
        )
    )


JAN_2019 = "20190101T000000"
JAN_2020 = "20200101T000000"
JUN_2020 = "20200601T000000"
JUN_2021 = "20210601T000000"
JAN_2035 = "20350101T000000"


@attrs.define
class Fixtures:
    """Where the generated files are, and the fingerprints of the keys."""

    directory: Path
    gpg: Gpg
    data: Path
    other_data: Path
    tampered: Path
    fingerprints: dict[str, list[str]] = attrs.field(factory=dict[str, list[str]])
    public: dict[str, Path] = attrs.field(factory=dict[str, Path])
    secret: dict[str, bytes] = attrs.field(factory=dict[str, bytes])
    signatures: dict[str, Path] = attrs.field(factory=dict[str, Path])
    homes: list[Gpg] = attrs.field(factory=list[Gpg])

    def key_file(self, name: str, data: bytes) -> Path:
        path = self.directory / f"{name}.pub.asc"
        path.write_bytes(data)
        self.public[name] = path
        return path

    def signature_file(self, name: str, data: bytes) -> Path:
        path = self.directory / f"{name}.sig"
        path.write_bytes(data)
        self.signatures[name] = path
        return path

    def verifier(self, key_names: tuple[str, ...]) -> Gpg:
        """A fresh gpg home holding exactly these public keys."""
        home = Gpg.create(
            self.gpg.executable, self.directory / f"verify-{len(self.homes)}"
        )
        self.homes.append(home)
        for name in key_names:
            home.import_keys(self.public[name].read_bytes())
        return home


def _make_keys(fx: Fixtures) -> None:
    gpg = fx.gpg
    plain = {
        "rsa": ("RSA Signer <rsa@example.com>", "rsa2048"),
        "ed": ("Ed Signer <ed@example.com>", "ed25519"),
        "p256": ("P256 Signer <p256@example.com>", "nistp256"),
        "p384": ("P384 Signer <p384@example.com>", "nistp384"),
        "weak": ("Weak Signer <weak@example.com>", "rsa1024"),
        "other": ("Other Signer <other@example.com>", "ed25519"),
        "revoked": ("Revoked Signer <revoked@example.com>", "ed25519"),
    }
    for user_id, algorithm in plain.values():
        gpg.gen_key(user_id, algorithm, "sign")
    for name, algorithm, extra in (
        ("sub", "ed25519", [("ed25519", "sign"), ("cv25519", "encr")]),
        ("rsasub", "rsa2048", [("rsa2048", "sign"), ("rsa2048", "encr")]),
        ("revsub", "ed25519", [("ed25519", "sign")]),
        ("mallory", "ed25519", [("ed25519", "sign")]),
    ):
        primary = gpg.gen_key(
            f"{name.title()} Signer <{name}@example.com>", algorithm, "cert"
        )
        for sub_algorithm, usage in extra:
            gpg.add_key(primary, sub_algorithm, usage)
    gpg.gen_key(
        "Expired Signer <expired@example.com>",
        "ed25519",
        "sign",
        "1y",
        faked_time=JAN_2020,
    )
    primary = gpg.gen_key(
        "Expsub Signer <expsub@example.com>", "ed25519", "cert", faked_time=JAN_2020
    )
    gpg.add_key(primary, "ed25519", "sign", "1y", faked_time=JAN_2020)
    gpg.gen_key("Old Signer <old@example.com>", "ed25519", "sign", faked_time=JAN_2019)
    for name in [
        *plain,
        "sub",
        "rsasub",
        "revsub",
        "mallory",
        "expired",
        "expsub",
        "old",
    ]:
        fx.fingerprints[name] = gpg.fingerprints(f"<{name}@example.com>")
        fx.secret[name] = gpg.export_secret(f"<{name}@example.com>")


def _revoke(fx: Fixtures) -> None:
    gpg = fx.gpg
    primary = fx.fingerprints["revoked"][0]
    certificate = (gpg.home / "openpgp-revocs.d" / f"{primary.upper()}.rev").read_text()
    gpg.import_keys(certificate.replace(":-----BEGIN", "-----BEGIN").encode())
    script = b"key 1\nrevkey\ny\n0\n\ny\nsave\n"
    gpg.run(
        "--command-fd", "0", "--edit-key", fx.fingerprints["revsub"][0], stdin=script
    )


def _gpg_signatures(fx: Fixtures) -> None:
    gpg, data, out = fx.gpg, fx.data, fx.directory
    armor = "--armor"

    def sig(
        name: str,
        signers: list[str],
        *options: str,
        faked_time: str | None = None,
        over: Path = data,
    ) -> None:
        fx.signatures[name] = gpg.sign(
            over, out / f"{name}.sig", signers, *options, faked_time=faked_time
        )

    for name in (
        "rsa",
        "ed",
        "p256",
        "p384",
        "weak",
        "other",
        "revoked",
        "sub",
        "rsasub",
        "revsub",
        "mallory",
    ):
        sig(name, [f"<{name}@example.com>"], armor)
    sig("expired", ["<expired@example.com>"], armor, faked_time=JUN_2020)
    sig("expsub", ["<expsub@example.com>"], armor, faked_time=JUN_2020)
    sig("sha1", ["<rsa@example.com>"], armor, "--digest-algo", "SHA1")
    sig("sha224", ["<rsa@example.com>"], armor, "--digest-algo", "SHA224")
    sig("sha384", ["<ed@example.com>"], armor, "--digest-algo", "SHA384")
    sig(
        "md5",
        ["<rsa@example.com>"],
        armor,
        "--allow-weak-digest-algos",
        "--digest-algo",
        "MD5",
    )
    sig("ripemd160", ["<rsa@example.com>"], armor, "--digest-algo", "RIPEMD160")
    sig("text", ["<ed@example.com>"], armor, "--textmode")
    sig("two", ["<rsa@example.com>", "<ed@example.com>"], armor)
    sig("future", ["<ed@example.com>"], armor, faked_time=JAN_2035)
    sig(
        "sigexpired",
        ["<old@example.com>"],
        armor,
        "--default-sig-expire",
        "1d",
        faked_time=JUN_2020,
    )
    sig("binary", ["<ed@example.com>"])
    sig("otherdata", ["<ed@example.com>"], armor, over=fx.other_data)


def _crafted(fx: Fixtures) -> None:
    data = fx.data.read_bytes()
    now = int(time.time())  # after the keys were made, not in the future
    ed = crafting.secret_keys(fx.secret["ed"])[fx.fingerprints["ed"][0]]
    # A timestamp signature (0x40) hashes no document at all (pgpy accepts it for any data).
    fx.signature_file(
        "timestamp",
        crafting.armored(
            crafting.make_signature(
                ed, b"", sig_type=SignatureType.TIMESTAMP, created=now
            )
        ),
    )
    fx.signature_file(
        "standalone",
        crafting.armored(
            crafting.make_signature(
                ed, b"", sig_type=SignatureType.STANDALONE, created=now
            )
        ),
    )
    # A signature with a critical subpacket nobody understands (notation, type 20).
    notation = encode_subpacket(
        20, b"\x80\x00\x00\x00\x00\x01\x00\x01xy", critical=True
    )
    fx.signature_file(
        "critical",
        crafting.armored(
            crafting.make_signature(ed, data, created=now, hashed=[notation])
        ),
    )
    # Signatures by keys that must not sign (gpg refuses to make them).
    rsasub = crafting.secret_keys(fx.secret["rsasub"])
    encrypting = rsasub[fx.fingerprints["rsasub"][2]]
    fx.signature_file(
        "encronly",
        crafting.armored(crafting.make_signature(encrypting, data, created=now)),
    )
    certifying = crafting.secret_keys(fx.secret["sub"])[fx.fingerprints["sub"][0]]
    fx.signature_file(
        "certonly",
        crafting.armored(crafting.make_signature(certifying, data, created=now)),
    )
    # The expired key (2020-01-01 + 1y), signing after it expired.
    expired = crafting.secret_keys(fx.secret["expired"])[fx.fingerprints["expired"][0]]
    fx.signature_file(
        "afterexpiry",
        crafting.armored(
            crafting.make_signature(expired, data, created=epoch(JUN_2021))
        ),
    )
    _spliced(fx, ed, data, now)


def _spliced(fx: Fixtures, ed: crafting.SecretKey, data: bytes, now: int) -> None:
    ed_public = _openpgp.read_packets(
        _openpgp.dearmor(fx.gpg.export("<ed@example.com>"), _openpgp.ARMOR_PUBLIC_KEY)
    )
    ed_packets = b"".join(encode_packet(p.tag, bytes(p.body)) for p in ed_public)
    mallory_public = _openpgp.read_packets(
        _openpgp.dearmor(
            fx.gpg.export("<mallory@example.com>"), _openpgp.ARMOR_PUBLIC_KEY
        )
    )
    subkey_index = next(
        i for i, p in enumerate(mallory_public) if p.tag == Tag.PUBLIC_SUBKEY
    )
    mallory_subkey = encode_packet(
        Tag.PUBLIC_SUBKEY, bytes(mallory_public[subkey_index].body)
    )
    mallory_binding = encode_packet(
        Tag.SIGNATURE, bytes(mallory_public[subkey_index + 1].body)
    )
    fx.key_file("spliced", _armor_key(ed_packets + mallory_subkey + mallory_binding))
    fx.key_file("splicednobinding", _armor_key(ed_packets + mallory_subkey))
    fx.signatures["spliced"] = fx.signatures["mallory"]
    # A signing subkey that Ed's primary binds, but that never signed back.
    fresh = crafting.fresh_ed25519(now)
    binding = crafting.make_signature(
        ed,
        crafting.key_prefix(ed.packet, fresh.packet),
        sig_type=SignatureType.SUBKEY_BINDING,
        created=now,
        hashed=[encode_subpacket(SubpacketType.KEY_FLAGS, b"\x02")],
    )
    subkey = encode_packet(Tag.PUBLIC_SUBKEY, fresh.packet.public_body) + encode_packet(
        Tag.SIGNATURE, binding
    )
    fx.key_file("nobacksig", _armor_key(ed_packets + subkey))
    fx.signature_file(
        "nobacksig", crafting.armored(crafting.make_signature(fresh, data, created=now))
    )


def _armor_key(packets: bytes) -> bytes:
    return _openpgp.armor(_openpgp.ARMOR_PUBLIC_KEY, packets).encode()


@pytest.fixture(scope="session")
def fixtures(gpg: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Fixtures]:
    """Every key and signature of the verdict table, made by gpg (about 2 s)."""
    directory = tmp_path_factory.mktemp("gpgfx")
    maker = Gpg.create(gpg, directory / "maker")
    data = directory / "image.aci"
    data.write_bytes(os.urandom(200_000) + b"\nend of image\n")
    other = directory / "other.aci"
    other.write_bytes(b"another image\n")
    tampered = directory / "tampered.aci"
    tampered.write_bytes(data.read_bytes()[:-2] + b"X\n")
    fx = Fixtures(
        directory=directory, gpg=maker, data=data, other_data=other, tampered=tampered
    )
    try:
        _make_keys(fx)
        _gpg_signatures(fx)
        _revoke(fx)
        for name in fx.fingerprints:
            fx.key_file(name, maker.export(f"<{name}@example.com>"))
        _crafted(fx)
        yield fx
    finally:
        for home in [maker, *fx.homes]:
            home.close()
