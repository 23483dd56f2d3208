"""Drive a real gpg in a throwaway GNUPGHOME: the oracle for signing tests.

Every home is made under a pytest tmp directory (mode 0700) and closed with
``gpgconf --kill all``, so no gpg-agent outlives the tests.
"""

from __future__ import annotations

import os
import shutil
import subprocess

from pathlib import Path

import attrs


__all__ = ["Gpg", "status_keywords", "valid_signatures"]


def status_keywords(status: str) -> list[str]:
    """The keywords of ``--status-fd`` lines (``GOODSIG``, ``ERRSIG``...), in order."""
    return [
        line.split()[1]
        for line in status.splitlines()
        if line.startswith("[GNUPG:] ") and len(line.split()) > 1
    ]


def valid_signatures(status: str) -> list[list[str]]:
    """The fields of each ``VALIDSIG`` line: signing key, date, timestamp, ... hash, class, primary."""
    return [
        line.split()[2:]
        for line in status.splitlines()
        if line.startswith("[GNUPG:] VALIDSIG ")
    ]


@attrs.define
class Gpg:
    """A gpg with its own home directory."""

    executable: str
    home: Path

    @classmethod
    def create(cls, executable: str, home: Path) -> Gpg:
        home.mkdir(mode=0o700, parents=True)
        return cls(executable, home)

    def run(
        self,
        *args: str,
        faked_time: str | None = None,
        stdin: bytes | None = None,
        check: bool = True,
        passphrase: str = "",
    ) -> subprocess.CompletedProcess[bytes]:
        command = [
            self.executable,
            "--homedir",
            str(self.home),
            "--batch",
            "--yes",
            "--no-tty",
        ]
        command += ["--pinentry-mode", "loopback", "--passphrase", passphrase]
        if faked_time is not None:
            command += ["--faked-system-time", faked_time]
        env = {**os.environ, "LC_ALL": "C"}
        return subprocess.run(
            [*command, *args],
            input=stdin,
            capture_output=True,
            check=check,
            env=env,
            timeout=120,
        )

    def fingerprints(self, user: str) -> list[str]:
        """Fingerprints of the key ``user`` (primary first, then subkeys), lower-case."""
        listing = self.run("--with-colons", "--list-keys", user).stdout.decode()
        return [
            line.split(":")[9].lower()
            for line in listing.splitlines()
            if line.startswith("fpr:")
        ]

    def gen_key(
        self,
        user_id: str,
        algorithm: str,
        usage: str,
        expire: str = "never",
        *,
        faked_time: str | None = None,
    ) -> str:
        self.run(
            "--quick-gen-key", user_id, algorithm, usage, expire, faked_time=faked_time
        )
        return self.fingerprints(user_id)[0]

    def add_key(
        self,
        fingerprint: str,
        algorithm: str,
        usage: str,
        expire: str = "never",
        *,
        faked_time: str | None = None,
    ) -> str:
        before = set(self.fingerprints(fingerprint))
        self.run(
            "--quick-add-key",
            fingerprint,
            algorithm,
            usage,
            expire,
            faked_time=faked_time,
        )
        (added,) = set(self.fingerprints(fingerprint)) - before
        return added

    def export(self, user: str) -> bytes:
        return self.run("--armor", "--export", user).stdout

    def export_secret(self, user: str) -> bytes:
        return self.run("--armor", "--export-secret-keys", user).stdout

    def import_keys(self, data: bytes) -> None:
        self.run("--import", stdin=data)

    def sign(
        self,
        data: Path,
        out: Path,
        signers: list[str],
        *options: str,
        faked_time: str | None = None,
    ) -> Path:
        users = [arg for signer in signers for arg in ("--local-user", signer)]
        self.run(
            *users,
            *options,
            "--detach-sign",
            "--output",
            str(out),
            str(data),
            faked_time=faked_time,
        )
        return out

    def verify(
        self, signature: Path, data: Path, *, faked_time: str | None = None
    ) -> tuple[int, str]:
        """gpg's exit code and ``--status-fd`` output for a detached signature."""
        result = self.run(
            "--status-fd",
            "1",
            "--verify",
            str(signature),
            str(data),
            faked_time=faked_time,
            check=False,
        )
        return result.returncode, result.stdout.decode(errors="replace")

    def close(self) -> None:
        gpgconf = shutil.which("gpgconf")
        if gpgconf is not None:
            subprocess.run(
                [gpgconf, "--homedir", str(self.home), "--kill", "all"],
                capture_output=True,
                check=False,
                timeout=60,
            )
