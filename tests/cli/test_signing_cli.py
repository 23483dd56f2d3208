"""``appc sign``, ``appc verify`` and ``appc trust`` end to end (argv in, output and exit code out)."""

# pyright: reportPrivateUsage=false
# (these tests reach into appc's internals on purpose)

from __future__ import annotations

import getpass
import io
import json
import subprocess
import sys
import tarfile

from pathlib import Path

import pytest

from appc import cli
from appc.cli import _signing
from appc.signing import format_fingerprint, verify
from appc.testing.keys import ThrowawayKey, make_key

from tests.signing.gpgtool import Gpg, status_keywords


KEY = make_key("CLI Signer <cli@example.com>")
SUBKEYED = make_key("Sub Signer <sub@example.com>", signing_subkey=True)


@pytest.fixture(autouse=True)
def _only_our_commands(monkeypatch: pytest.MonkeyPatch) -> None:
    # Test these commands alone, whatever state the other command modules are in.
    monkeypatch.setattr(cli, "_COMMAND_MODULES", ("appc.cli._signing",))
    monkeypatch.delenv("APPC_SIGNING_KEY", raising=False)


def run(*argv: str | Path) -> int:
    return cli.main([str(a) for a in argv])


def _aci(path: Path, name: str = "example.com/app") -> Path:
    manifest = json.dumps(
        {
            "acKind": "ImageManifest",
            "acVersion": "0.8.11",
            "name": name,
            "labels": [
                {"name": "os", "value": "linux"},
                {"name": "arch", "value": "amd64"},
            ],
        }
    ).encode()
    with tarfile.open(path, "w") as archive:
        member = tarfile.TarInfo("manifest")
        member.size = len(manifest)
        archive.addfile(member, io.BytesIO(manifest))
        rootfs = tarfile.TarInfo("rootfs")
        rootfs.type = tarfile.DIRTYPE
        rootfs.mode = 0o755
        archive.addfile(rootfs)
    return path


@pytest.fixture
def aci(tmp_path: Path) -> Path:
    return _aci(tmp_path / "app.aci")


def _keys(tmp_path: Path, key: ThrowawayKey = KEY) -> tuple[Path, Path]:
    directory = tmp_path / "keys"
    directory.mkdir(exist_ok=True)
    return key.write(directory)


def _config(tmp_path: Path) -> list[str]:
    return [
        "--system-config",
        str(tmp_path / "system"),
        "--local-config",
        str(tmp_path / "local"),
        "--user-config",
        str(tmp_path / "user"),
    ]


# -- sign -------------------------------------------------------------------------------


def test_sign_then_verify_with_keyring(
    tmp_path: Path, aci: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    public, secret = _keys(tmp_path)
    assert run("sign", aci, "--key", secret) == 0
    assert f"Wrote signature {aci}.asc" in capsys.readouterr().out
    assert run("verify", "--keyring", public, aci) == 0
    out = capsys.readouterr().out
    assert format_fingerprint(KEY.fingerprint) in out
    assert "CLI Signer <cli@example.com>" in out
    assert "SHA256" in out  # sign's default


@pytest.mark.interop
def test_gpg_verifies_what_appc_sign_writes(
    gpg: str, tmp_path: Path, aci: Path
) -> None:
    _, secret = _keys(tmp_path)
    assert run("sign", aci, "--key", secret, "--hash", "SHA256") == 0
    home = Gpg.create(gpg, tmp_path / "gnupg")
    try:
        home.import_keys(KEY.public)
        code, status = home.verify(Path(f"{aci}.asc"), aci)
    finally:
        home.close()
    assert code == 0
    assert "GOODSIG" in status_keywords(status)


def test_sign_key_from_environment_and_stdout(
    tmp_path: Path,
    aci: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    _, secret = _keys(tmp_path)
    monkeypatch.setenv("APPC_SIGNING_KEY", str(secret))
    assert run("sign", aci, "-o", "-") == 0
    signature = capsys.readouterr().out
    assert verify(aci, signature.encode(), KEY.public).fingerprint == KEY.fingerprint


def test_sign_refuses_to_overwrite(
    tmp_path: Path, aci: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    _, secret = _keys(tmp_path)
    output = tmp_path / "out.asc"
    output.write_text("old")
    assert run("sign", aci, "--key", secret, "-o", output) == 1
    assert "pass --overwrite" in capsys.readouterr().err
    assert run("sign", aci, "--key", secret, "-o", output, "--overwrite") == 0
    assert output.read_text().startswith("-----BEGIN PGP SIGNATURE-----")


def test_sign_errors(
    tmp_path: Path, aci: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    _, secret = _keys(tmp_path)
    assert run("sign", aci) == 1
    assert "no signing key" in capsys.readouterr().err
    assert run("sign", tmp_path / "missing.aci", "--key", secret) == 1
    assert "No such file or directory" in capsys.readouterr().err
    assert (
        run("sign", aci, "--key", secret, "--passphrase-file", tmp_path / "nope") == 1
    )
    assert "passphrase file" in capsys.readouterr().err


@pytest.fixture(scope="module")
def protected_key(
    tmp_path_factory: pytest.TempPathFactory, gpg: str
) -> tuple[bytes, bytes]:
    """A passphrase-protected secret key and its public key, exported by gpg."""
    home = Gpg.create(gpg, tmp_path_factory.mktemp("protected") / "gnupg")
    try:
        home.run(
            "--quick-gen-key",
            "Locked <locked@example.com>",
            "ed25519",
            "sign",
            "never",
            passphrase="s3cret",
        )
        secret = home.run(
            "--armor",
            "--export-secret-keys",
            "<locked@example.com>",
            passphrase="s3cret",
        ).stdout
        public = home.export("<locked@example.com>")
    finally:
        home.close()
    return secret, public


@pytest.mark.interop
def test_sign_with_passphrase_file(
    tmp_path: Path, aci: Path, protected_key: tuple[bytes, bytes]
) -> None:
    secret, public = protected_key
    key = tmp_path / "locked.asc"
    key.write_bytes(secret)
    passphrase = tmp_path / "passphrase"
    passphrase.write_text("s3cret\n")
    assert run("sign", aci, "--key", key, "--passphrase-file", passphrase) == 0
    verify(aci, Path(f"{aci}.asc"), public)


@pytest.mark.interop
def test_sign_asks_for_the_passphrase_on_a_tty(
    tmp_path: Path,
    aci: Path,
    protected_key: tuple[bytes, bytes],
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    secret, public = protected_key
    key = tmp_path / "locked.asc"
    key.write_bytes(secret)
    assert run("sign", aci, "--key", key) == 1
    assert "protected" in capsys.readouterr().err
    monkeypatch.setattr(_signing, "_interactive", lambda: True)
    monkeypatch.setattr(getpass, "getpass", lambda prompt="": "s3cret")
    assert run("sign", aci, "--key", key) == 0
    verify(aci, Path(f"{aci}.asc"), public)


def test_empty_passphrase_file(
    tmp_path: Path, aci: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    _, secret = _keys(tmp_path)
    empty = tmp_path / "empty"
    empty.write_text("")
    # An unprotected key ignores the passphrase.
    assert run("sign", aci, "--key", secret, "--passphrase-file", empty) == 0


# -- verify --------------------------------------------------------------------------------


def test_verify_default_signature_path_like_rkt(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    public, secret = _keys(tmp_path)
    image = _aci(tmp_path / "image.tar")
    assert (
        run("sign", image, "--key", secret, "-o", tmp_path / "image.tar.aci.asc") == 0
    )
    assert run("verify", image, "--keyring", public) == 0
    assert _signing._signature_path("dir/x.aci") == "dir/x.aci.asc"


def test_verify_with_the_trust_store_and_manifest_name(
    tmp_path: Path, aci: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    public, secret = _keys(tmp_path, SUBKEYED)
    assert run("sign", aci, "--key", secret) == 0
    assert run("verify", aci, *_config(tmp_path)) == 1
    err = capsys.readouterr().err
    assert "no key is trusted for 'example.com/app'" in err
    assert "appc trust --prefix example.com/app" in err
    assert (
        run(
            "trust",
            "--prefix",
            "example.com",
            "--skip-fingerprint-review",
            public,
            *_config(tmp_path),
        )
        == 0
    )
    capsys.readouterr()
    assert run("verify", aci, *_config(tmp_path)) == 0
    out = capsys.readouterr().out
    assert "the trust store for 'example.com/app'" in out
    assert f"subkey:  {format_fingerprint(SUBKEYED.signing_fingerprint)}" in out
    # --name replaces the manifest's name: no key is trusted for this one.
    assert run("verify", aci, "--name", "example.org/app", *_config(tmp_path)) == 1


def test_verify_failures(
    tmp_path: Path, aci: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    public, secret = _keys(tmp_path)
    assert run("sign", aci, "--key", secret) == 0
    other = make_key()
    other_public = tmp_path / "other.asc"
    other_public.write_bytes(other.public)
    capsys.readouterr()
    assert run("verify", aci, "--keyring", other_public) == 1
    assert "not a trusted key" in capsys.readouterr().err
    tampered = _aci(tmp_path / "tampered.aci", name="example.com/other")
    assert run("verify", tampered, f"{aci}.asc", "--keyring", public) == 1
    assert "does not match the image" in capsys.readouterr().err
    assert run("verify", tmp_path / "nothing.aci", "--keyring", public) == 1
    assert "No such file" in capsys.readouterr().err
    assert run("verify", aci, "--keyring", public, "--at", "yesterday") == 1
    assert "ISO 8601" in capsys.readouterr().err


def test_verify_at_and_allow_binary(
    tmp_path: Path, aci: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from appc import _openpgp

    public, _ = _keys(tmp_path)
    from appc.signing import sign

    binary = _openpgp.dearmor(sign(aci, KEY.secret).encode(), _openpgp.ARMOR_SIGNATURE)
    signature = tmp_path / "app.sig"
    signature.write_bytes(binary)
    assert run("verify", aci, signature, "--keyring", public) == 1
    assert "--allow-binary" in capsys.readouterr().err
    assert (
        run(
            "verify",
            aci,
            signature,
            "--keyring",
            public,
            "--allow-binary",
            "--at",
            "2999-01-01T00:00:00",
        )
        == 0
    )
    assert (
        run(
            "verify",
            aci,
            signature,
            "--keyring",
            public,
            "--allow-binary",
            "--at",
            "2000-01-01T00:00:00Z",
        )
        == 1
    )
    assert "in the future" in capsys.readouterr().err


# -- trust -------------------------------------------------------------------------------------


def test_trust_shows_the_key_like_rkt(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    public, _ = _keys(tmp_path, SUBKEYED)
    assert (
        run(
            "trust",
            "--prefix",
            "example.com/app",
            "--skip-fingerprint-review",
            public,
            *_config(tmp_path),
        )
        == 0
    )
    out = capsys.readouterr().out
    assert f"gpg key fingerprint is: {format_fingerprint(SUBKEYED.fingerprint)}" in out
    assert (
        f"    Subkey fingerprint: {format_fingerprint(SUBKEYED.signing_fingerprint)}"
        in out
    )
    assert "\tSub Signer <sub@example.com>" in out
    assert "without fingerprint review" in out
    stored = (
        tmp_path / "user/trustedkeys/prefix.d/example.com/app" / SUBKEYED.fingerprint
    )
    assert f"Added key for prefix 'example.com/app' at '{stored}'" in out
    assert stored.is_file()


def test_trust_root_and_local(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    public, _ = _keys(tmp_path)
    assert (
        run(
            "trust",
            "--root",
            "--local",
            "--skip-fingerprint-review",
            public,
            *_config(tmp_path),
        )
        == 0
    )
    stored = tmp_path / "local/trustedkeys/root.d" / KEY.fingerprint
    assert f"Added root key at '{stored}'" in capsys.readouterr().out


def test_trust_refusals(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    public, _ = _keys(tmp_path)
    assert run("trust", public, *_config(tmp_path)) == 1
    assert "implicit unbounded trust" in capsys.readouterr().err
    assert run("trust", "--prefix", "example.com", public, *_config(tmp_path)) == 1
    assert "lack of tty" in capsys.readouterr().err
    assert (
        run(
            "trust",
            "--prefix",
            "example.com",
            "https://example.com/key.asc",
            *_config(tmp_path),
        )
        == 1
    )
    assert "download" in capsys.readouterr().err
    assert run("trust", "--prefix", "example.com", *_config(tmp_path)) == 1
    assert "discovering keys" in capsys.readouterr().err
    assert run("trust", *_config(tmp_path)) == 1
    assert "give the KEYFILE" in capsys.readouterr().err
    assert (
        run(
            "trust",
            "--root",
            "--skip-fingerprint-review",
            tmp_path / "missing.asc",
            *_config(tmp_path),
        )
        == 1
    )
    assert "No such file" in capsys.readouterr().err
    empty = tmp_path / "empty.asc"
    empty.write_text(
        "-----BEGIN PGP PUBLIC KEY BLOCK-----\n\n-----END PGP PUBLIC KEY BLOCK-----\n"
    )
    assert (
        run("trust", "--root", "--skip-fingerprint-review", empty, *_config(tmp_path))
        == 1
    )
    assert "holds no public key" in capsys.readouterr().err
    with pytest.raises(SystemExit) as exited:
        run("trust", "--root", "--prefix", "example.com", public)
    assert exited.value.code == 2
    assert (
        run("trust", "--root", public, "--prefix", "example.com", *_config(tmp_path))
        == 1
    )
    assert "mutually exclusive" in capsys.readouterr().err


@pytest.mark.parametrize(
    ("answers", "code", "trusted"),
    [
        ("yes\n", 0, True),
        ("maybe\nno\n", 1, False),
        ("", 1, False),
        ("Yes\nyes\n", 0, True),
    ],
)
def test_trust_review(  # noqa: PLR0917 -- pytest passes fixtures and parameters positionally
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    answers: str,
    code: int,
    trusted: bool,
) -> None:
    public, _ = _keys(tmp_path)
    monkeypatch.setattr(_signing, "_interactive", lambda: True)
    monkeypatch.setattr("sys.stdin", io.StringIO(answers))
    assert run("trust", "--prefix", "example.com", public, *_config(tmp_path)) == code
    captured = capsys.readouterr()
    assert "Are you sure you want to trust this key (yes/no)?" in captured.err
    assert ("Please enter 'yes' or 'no'" in captured.err) is (
        "\n" in answers.rstrip("\n")
    )
    assert (
        tmp_path / "user/trustedkeys/prefix.d/example.com" / KEY.fingerprint
    ).exists() is trusted


def test_trust_list_and_rm(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    public, _ = _keys(tmp_path)
    assert run("trust", "list", *_config(tmp_path)) == 0
    assert "No trusted keys." in capsys.readouterr().out
    assert (
        run(
            "trust",
            "--prefix",
            "example.com",
            "--skip-fingerprint-review",
            public,
            *_config(tmp_path),
        )
        == 0
    )
    assert (
        run("trust", "rm", "--mask", "--root", SUBKEYED.fingerprint, *_config(tmp_path))
        == 0
    )
    broken = tmp_path / "user/trustedkeys/root.d" / KEY.fingerprint
    broken.write_text("not a key")
    capsys.readouterr()
    assert run("trust", "list", *_config(tmp_path)) == 0
    out = capsys.readouterr().out
    assert "user    prefix example.com" in out
    assert "CLI Signer <cli@example.com>" in out
    assert "(masked)" in out
    assert "(unreadable:" in out
    assert run("trust", "list", "extra", *_config(tmp_path)) == 1
    assert run("trust", "rm", KEY.fingerprint, *_config(tmp_path)) == 0
    assert "Removed" in capsys.readouterr().out
    assert run("trust", "rm", *_config(tmp_path)) == 1
    assert "needs the fingerprint" in capsys.readouterr().err
    assert run("trust", "rm", "--mask", KEY.fingerprint, *_config(tmp_path)) == 1
    assert "--mask needs --prefix" in capsys.readouterr().err


def test_module_entry_point_has_our_commands() -> None:
    """``python -m appc`` with every command module registers ours (no import-time surprises)."""
    result = subprocess.run(
        [sys.executable, "-m", "appc", "trust", "--help"],
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    assert "--skip-fingerprint-review" in result.stdout
