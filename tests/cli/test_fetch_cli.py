"""``appc discover``, ``appc fetch`` and ``appc image ...`` end to end (argv in, output and exit code out)."""

# pyright: reportPrivateUsage=false
# (the tests replace the terminal check and the prompt)

from __future__ import annotations

import io
import json

from collections.abc import Generator, Mapping
from pathlib import Path

import pytest

from appc import cli
from appc.cli import _fetch
from appc.image_id import ImageID
from appc.signing import PublicKey, format_fingerprint, sign
from appc.store import Store
from appc.trust import Keystore

from tests.discovery.images import make_aci
from tests.discovery.repo import ACI_PATH, KEY, NAME, Repo, running_repo
from tests.discovery.servers import meta_page


@pytest.fixture(autouse=True)
def _only_our_commands(monkeypatch: pytest.MonkeyPatch) -> None:
    # Test these commands alone, whatever state the other command modules are in.
    monkeypatch.setattr(cli, "_COMMAND_MODULES", ("appc.cli._fetch",))


@pytest.fixture(autouse=True)
def _no_user_config(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # Commands without --user-config read $XDG_CONFIG_HOME/appc (auth.d): not yours.
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "xdg"))


@pytest.fixture
def repo(tmp_path: Path) -> Generator[Repo]:
    with running_repo(tmp_path) as running:
        # The trust directories the CLI options below point at.
        running.keystore = Keystore(
            system=None, local=None, user=tmp_path / "config" / "trustedkeys"
        )
        yield running


def run(*argv: str | Path | int) -> int:
    return cli.main([str(a) for a in argv])


def trust_options(repo: Repo) -> list[str]:
    root = repo.store.root.parent
    return [
        "--system-config",
        str(root / "none-system"),
        "--local-config",
        str(root / "none-local"),
        "--user-config",
        str(root / "config"),
    ]


def fetch_args(repo: Repo, *extra: str) -> list[str]:
    return [
        "fetch",
        "--store",
        str(repo.store.root),
        "--ca-certs",
        str(repo.ca_file),
        "--port",
        str(repo.server.port),
        *trust_options(repo),
        *extra,
    ]


# -- discover -------------------------------------------------------------------


def test_discover_prints_actool_lines(
    repo: Repo, capsys: pytest.CaptureFixture[str]
) -> None:
    code = run(
        "discover",
        "--ca-certs",
        repo.ca_file,
        "--port",
        repo.server.port,
        f"{NAME}/sub:1.0",
    )
    assert code == 0
    url = repo.server.url
    assert capsys.readouterr().out.splitlines() == [
        "discover endpoints walk: prefix: 127.0.0.1/app/sub error: expected a 200 OK got 404",
        "discover public keys walk: prefix: 127.0.0.1/app/sub error: expected a 200 OK got 404",
        (
            f"ACI: {url}/images/127.0.0.1/app/sub-1.0-linux-amd64.aci, "
            f"ASC: {url}/images/127.0.0.1/app/sub-1.0-linux-amd64.aci.asc"
        ),
        f"PublicKeys: {url}/keys/repo.gpg",
    ]


def test_discover_json_is_only_json(
    repo: Repo, capsys: pytest.CaptureFixture[str]
) -> None:
    code = run(
        "discover",
        "--json",
        "--ca-certs",
        repo.ca_file,
        "--port",
        repo.server.port,
        f"{NAME}/sub",
    )
    assert code == 0
    out = capsys.readouterr().out
    assert json.loads(out)["PublicKeys"] == [f"{repo.server.url}/keys/repo.gpg"]
    assert out.startswith("{\n    ")


def test_discover_failures(repo: Repo, capsys: pytest.CaptureFixture[str]) -> None:
    base: list[str | Path | int] = [
        "discover",
        "--ca-certs",
        repo.ca_file,
        "--port",
        repo.server.port,
    ]
    assert run(*base, "127.0.0.1/elsewhere") == 1
    captured = capsys.readouterr()
    assert captured.out == ""
    assert captured.err.startswith(
        "error fetching endpoints for 127.0.0.1/elsewhere: discovery failed\n"
    )
    assert (
        "prefix: 127.0.0.1/elsewhere error: expected a 200 OK got 404" in captured.err
    )
    # actool's panic: a clean error here.
    assert run(*base, "Not/Valid") == 1
    assert "ACIdentifier" in capsys.readouterr().err
    # Endpoints but no keys: as actool, a failure.
    repo.server.add_page(
        "/app",
        meta_page(("ac-discovery", f"127.0.0.1 {repo.server.url}/{{name}}.{{ext}}")),
    )
    assert run(*base, NAME) == 1
    captured = capsys.readouterr()
    assert (
        "error fetching public keys for 127.0.0.1/app: discovery failed" in captured.err
    )
    # The first APP that fails stops the command.
    assert run(*base, "127.0.0.1/elsewhere", NAME) == 1


def test_discover_legacy_simple(repo: Repo, capsys: pytest.CaptureFixture[str]) -> None:
    repo.server.add_file("/app-1.0-linux-amd64.aci", b"x")
    code = run(
        "discover",
        "--legacy-simple",
        "--ca-certs",
        repo.ca_file,
        "--port",
        repo.server.port,
        f"{NAME}:1.0,os=linux,arch=amd64",
    )
    assert code == 0
    assert (
        f"ACI: https://127.0.0.1:{repo.server.port}/app-1.0-linux-amd64.aci, "
        f"ASC: https://127.0.0.1:{repo.server.port}/app-1.0-linux-amd64.aci.asc"
        in capsys.readouterr().out
    )


# -- fetch --------------------------------------------------------------------------


def test_fetch_prints_the_image_id(
    repo: Repo, capsys: pytest.CaptureFixture[str]
) -> None:
    assert run(*fetch_args(repo, "--trust-keys-from-https", f"{NAME}:1.0")) == 0
    captured = capsys.readouterr()
    assert captured.out == repo.built.image_id.short() + "\n"
    assert "signature verified:\n  Repo Signer <repo@example.com>" in captured.err
    # The key trusted on the way is shown, with its fingerprint.
    assert f"trusting key {format_fingerprint(KEY.fingerprint)}" in captured.err
    assert run(*fetch_args(repo, "--full", f"{NAME}:1.0")) == 0
    assert capsys.readouterr().out == repo.built.image_id + "\n"


def test_fetch_asks_before_trusting(
    repo: Repo, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    # Not a terminal: the key is shown, not trusted, and the fetch fails.
    assert run(*fetch_args(repo, f"{NAME}:1.0")) == 1
    err = capsys.readouterr().err
    assert 'Prefix: "127.0.0.1/app"' in err
    assert "GPG key fingerprint is:" in err
    assert "not a terminal" in err
    assert repo.store.images() == ()
    # At a terminal, "no" and then "yes".
    monkeypatch.setattr(_fetch, "_interactive", lambda: True)
    answers = iter(["no", "yes"])

    def answer(prompt: str) -> str:
        return next(answers)

    monkeypatch.setattr("builtins.input", answer)
    assert run(*fetch_args(repo, f"{NAME}:1.0")) == 1
    assert run(*fetch_args(repo, f"{NAME}:1.0")) == 0
    assert repo.keystore.prefix_exists(NAME)


def test_fetch_insecure_options(repo: Repo, capsys: pytest.CaptureFixture[str]) -> None:
    assert run(*fetch_args(repo, "--insecure-options=bogus", NAME)) == 2
    assert "unknown insecure option" in capsys.readouterr().err
    assert run(*fetch_args(repo, "--insecure-options=image", f"{NAME}:1.0")) == 0
    captured = capsys.readouterr()
    assert captured.out.strip() == repo.built.image_id.short()
    assert "signature verified" not in captured.err


def test_fetch_pull_policy(repo: Repo, capsys: pytest.CaptureFixture[str]) -> None:
    # never, with an empty store: a clear error, and not a single request.
    assert run(*fetch_args(repo, "--pull-policy=never", f"{NAME}:1.0")) == 1
    captured = capsys.readouterr()
    assert captured.out == ""
    assert captured.err.startswith(f"fetch: no image {NAME}:1.0 for this machine")
    assert captured.err.endswith(
        "the pull policy is never: fetch it with --pull-policy=new or --pull-policy=update\n"
    )
    assert repo.server.requests == []
    # new, with an empty store: fetched.
    args = fetch_args(repo, "--pull-policy", "new", "--trust-keys-from-https")
    assert run(*args, f"{NAME}:1.0") == 0
    assert capsys.readouterr().out == repo.built.image_id.short() + "\n"
    assert repo.requests_to(ACI_PATH) == ["GET"]
    # Stored now: never and new answer from the store, by name and by URL.
    repo.server.reset()
    for policy in ("never", "new"):
        for image in (f"{NAME}:1.0", repo.url):
            assert run(*fetch_args(repo, f"--pull-policy={policy}", image)) == 0
            captured = capsys.readouterr()
            assert captured.out == repo.built.image_id.short() + "\n"
            assert "signature verified" not in captured.err
    assert repo.server.requests == []
    # update (the default, as rkt fetch) asks the server.
    assert run(*fetch_args(repo, repo.url)) == 0
    assert repo.requests_to(ACI_PATH) == ["GET"]
    assert run(*fetch_args(repo, "--pull-policy=update", repo.url)) == 0
    assert repo.requests_to(ACI_PATH) == ["GET", "GET"]


def test_fetch_pull_policy_usage(capsys: pytest.CaptureFixture[str]) -> None:
    from appc.fetch import PULL_POLICIES

    assert _fetch._PULL_POLICIES == PULL_POLICIES
    with pytest.raises(SystemExit) as exit_info:
        run("fetch", "--pull-policy=always", NAME)
    assert exit_info.value.code == 2
    assert "invalid choice: 'always'" in capsys.readouterr().err
    with pytest.raises(SystemExit):
        run("fetch", "--help")
    assert "--pull-policy {never,new,update}" in capsys.readouterr().out


# -- image ------------------------------------------------------------------------


@pytest.fixture
def stored(repo: Repo) -> Store:
    repo.keystore.add(PublicKey.from_bytes(KEY.public), prefix=NAME)
    repo.fetch()
    return repo.store


def test_image_list(
    repo: Repo, stored: Store, capsys: pytest.CaptureFixture[str]
) -> None:
    assert run("image", "list", "--store", stored.root) == 0
    header, row = capsys.readouterr().out.splitlines()
    assert header.split() == ["ID", "NAME", "SIZE", "IMPORTED", "LAST", "USED"]
    assert row.startswith(
        repo.built.image_id.short() + "  127.0.0.1/app:1.0,arch=amd64,os=linux  "
    )
    assert row.endswith("never")
    assert run("image", "list", "--store", stored.root, "--no-legend", "--full") == 0
    assert capsys.readouterr().out.startswith(repo.built.image_id + "  ")
    assert run("image", "list", "--store", stored.root, "--json") == 0
    (entry,) = json.loads(capsys.readouterr().out)
    assert entry["id"] == repo.built.image_id
    assert entry["signer"] == KEY.fingerprint
    assert entry["labels"] == {"version": "1.0", "os": "linux", "arch": "amd64"}


def test_image_rm(
    repo: Repo, stored: Store, capsys: pytest.CaptureFixture[str]
) -> None:
    assert run("image", "rm", "--store", stored.root, NAME, "example.com/missing") == 1
    captured = capsys.readouterr()
    assert captured.out == f"rm: {repo.built.image_id}\n"
    assert "example.com/missing" in captured.err
    assert stored.images() == ()


def test_image_export_and_extract(
    repo: Repo, stored: Store, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "out.aci"
    assert run("image", "export", "--store", stored.root, "--signature", NAME, out) == 0
    assert out.read_bytes() == repo.built.data
    assert (tmp_path / "out.aci.asc").exists()
    assert run("image", "export", "--store", stored.root, NAME, out) == 1
    assert "exists" in capsys.readouterr().err
    assert (
        run(
            "image",
            "extract",
            "--store",
            stored.root,
            repo.built.image_id[:12],
            tmp_path / "layout",
        )
        == 0
    )
    assert (tmp_path / "layout" / "rootfs" / "hello").read_bytes() == b"hello\n"
    assert f"Extracted {NAME}" in capsys.readouterr().out


def test_image_verify(
    repo: Repo, stored: Store, capsys: pytest.CaptureFixture[str]
) -> None:
    args: list[str | Path | int] = [
        "image",
        "verify",
        "--store",
        stored.root,
        *trust_options(repo),
    ]
    assert run(*args) == 0
    assert capsys.readouterr().out == (
        f"OK {repo.built.image_id.short()} 127.0.0.1/app:1.0,arch=amd64,os=linux "
        f"(signed by {KEY.fingerprint})\n"
    )
    image = stored.get(NAME)
    image.path.write_bytes(make_aci(NAME).data)
    assert run(*args, NAME) == 1
    assert "FAILED" in capsys.readouterr().out
    assert run("image", "verify", "--store", stored.root, "--no-signature") == 1


def test_image_gc(
    repo: Repo, stored: Store, capsys: pytest.CaptureFixture[str]
) -> None:
    assert run("image", "gc", "--store", stored.root) == 0
    assert capsys.readouterr().out == "freed 0 B\n"
    orphan = stored.blob_path(ImageID("sha512-" + "cd" * 64))
    orphan.parent.mkdir(parents=True, exist_ok=True)
    orphan.write_bytes(b"x" * 1260)
    assert run("image", "gc", "--store", stored.root) == 0
    assert capsys.readouterr().out == f"removed file {orphan}\nfreed 1.26 KB\n"
    assert run("image", "gc", "--store", stored.root, "--grace-period", "soon") == 2
    assert "bad duration" in capsys.readouterr().err
    assert run("image", "gc", "--store", stored.root, "--grace-period", "0s") == 0
    out = capsys.readouterr().out
    assert out.startswith(f"removed image {repo.built.image_id}\n")
    assert stored.images() == ()


@pytest.mark.parametrize(
    ("size", "shown"),
    [
        (0, "0 B"),
        (999, "999 B"),
        (1000, "1 KB"),
        (1260, "1.26 KB"),
        (358_000, "358 KB"),
        (2 * 10**15, "2e+03 TB"),
    ],
)
def test_sizes_as_rkt_shows_them(size: int, shown: str) -> None:
    assert _fetch._size(size) == shown


@pytest.mark.parametrize(
    ("text", "seconds"), [("30s", 30), ("5m", 300), ("24h", 86400), ("7d", 604800)]
)
def test_durations(text: str, seconds: int) -> None:
    assert _fetch._duration(text).total_seconds() == seconds


# -- auth.d credentials -------------------------------------------------------------

USER, PASSWORD = "bob", "s3cret-pw"


def write_auth(config_dir: Path, name: str, document: Mapping[str, object]) -> Path:
    auth_d = config_dir / "auth.d"
    auth_d.mkdir(parents=True, exist_ok=True)
    path = auth_d / name
    path.write_text(json.dumps(document))
    return path


def basic_entry(*domains: str, password: str = PASSWORD) -> dict[str, object]:
    return {
        "rktKind": "auth",
        "rktVersion": "v1",
        "domains": list(domains),
        "type": "basic",
        "credentials": {"user": USER, "password": password},
    }


@pytest.fixture
def locked(repo: Repo) -> Repo:
    """The repository answers 401 without bob's credentials; its key is trusted."""
    repo.server.require_basic_auth(USER, PASSWORD)
    repo.keystore.add(PublicKey.from_bytes(KEY.public), prefix=NAME)
    return repo


def config_dir(repo: Repo) -> Path:
    # The --user-config of trust_options().
    return repo.store.root.parent / "config"


def test_fetch_uses_auth_d(locked: Repo, capsys: pytest.CaptureFixture[str]) -> None:
    write_auth(
        config_dir(locked), "repo.json", basic_entry(f"127.0.0.1:{locked.server.port}")
    )
    assert run(*fetch_args(locked, f"{NAME}:1.0")) == 0
    captured = capsys.readouterr()
    assert captured.out == locked.built.image_id.short() + "\n"
    assert PASSWORD not in captured.out + captured.err
    assert all("authorization" in r.headers for r in locked.server.requests)
    # Without the credentials the server refuses, and the fetch fails cleanly.
    assert run(*fetch_args(locked, "--no-auth-config", f"{NAME}:1.0")) == 1
    assert "fetch: discovery failed for 127.0.0.1/app" in capsys.readouterr().err


def test_fetch_without_auth_d_fails(
    locked: Repo, capsys: pytest.CaptureFixture[str]
) -> None:
    assert run(*fetch_args(locked, locked.url)) == 1
    assert "fetch: bad HTTP status code: 401" in capsys.readouterr().err
    assert locked.store.images() == ()


def test_fetch_reports_a_bad_auth_file(
    repo: Repo, capsys: pytest.CaptureFixture[str]
) -> None:
    entry = basic_entry("example.com")
    entry["type"] = "digest"
    path = write_auth(config_dir(repo), "bad.json", entry)
    assert run(*fetch_args(repo, f"{NAME}:1.0")) == 1
    captured = capsys.readouterr()
    assert captured.out == ""
    assert captured.err == (
        f'fetch: {path}: unknown auth type \'digest\' (use "basic", "oauth" or "aws");'
        " fix or remove the file, or pass --no-auth-config\n"
    )
    assert repo.server.requests == []
    # --no-auth-config does without the file.
    assert (
        run(
            *fetch_args(
                repo, "--no-auth-config", "--trust-keys-from-https", f"{NAME}:1.0"
            )
        )
        == 0
    )


def discover_args(repo: Repo, *extra: str) -> list[str | Path | int]:
    return [
        "discover",
        "--ca-certs",
        repo.ca_file,
        "--port",
        repo.server.port,
        *trust_options(repo),
        *extra,
    ]


def test_discover_uses_auth_d(locked: Repo, capsys: pytest.CaptureFixture[str]) -> None:
    write_auth(
        config_dir(locked), "repo.json", basic_entry(f"127.0.0.1:{locked.server.port}")
    )
    assert run(*discover_args(locked, f"{NAME}:1.0")) == 0
    captured = capsys.readouterr()
    assert f"PublicKeys: {locked.server.url}/keys/repo.gpg" in captured.out
    assert PASSWORD not in captured.out + captured.err
    assert run(*discover_args(locked, "--no-auth-config", f"{NAME}:1.0")) == 1
    assert "expected a 200 OK got 401" in capsys.readouterr().err


def test_discover_warns_about_aws_and_bad_files(
    repo: Repo, capsys: pytest.CaptureFixture[str]
) -> None:
    aws = {
        "rktKind": "auth",
        "rktVersion": "v1",
        "domains": ["s3.example.com"],
        "type": "aws",
        "credentials": {"accessKeyID": "AKIDSECRET", "secretAccessKey": PASSWORD},
    }
    path = write_auth(config_dir(repo), "s3.json", aws)
    assert run(*discover_args(repo, f"{NAME}:1.0")) == 0
    err = capsys.readouterr().err
    assert f"{path}: aws credentials (S3 signature version 4) are not supported" in err
    assert PASSWORD not in err
    assert "AKIDSECRET" not in err
    path.write_text("{")
    assert run(*discover_args(repo, f"{NAME}:1.0")) == 1
    err = capsys.readouterr().err
    assert err.startswith(f"discover: {path}: not valid JSON")
    assert err.endswith("; fix or remove the file, or pass --no-auth-config\n")


def test_fetch_with_dependencies(
    repo: Repo, capsys: pytest.CaptureFixture[str]
) -> None:
    base = make_aci(
        "127.0.0.1/base", {"version": "1.0", "os": "linux", "arch": "amd64"}
    )
    server = repo.server
    server.add_page(
        "/base",
        meta_page(
            (
                "ac-discovery",
                f"127.0.0.1 {server.url}/images/{{name}}-{{version}}-{{os}}-{{arch}}.{{ext}}",
            )
        ),
    )
    base_path = "/images/127.0.0.1/base-1.0-linux-amd64.aci"
    server.add_file(base_path, base.data)
    server.add_file(
        base_path + ".asc", sign(io.BytesIO(base.data), KEY.secret).encode()
    )
    app = make_aci(
        NAME,
        {"version": "1.0", "os": "linux", "arch": "amd64"},
        dependencies=[
            {
                "imageName": "127.0.0.1/base",
                "imageID": str(base.image_id),
                "labels": [{"name": "version", "value": "1.0"}],
            }
        ],
    )
    repo.serve(app)
    repo.trust(prefix="127.0.0.1")
    assert run(*fetch_args(repo, "--no-deps", f"{NAME}:1.0")) == 0
    captured = capsys.readouterr()
    assert captured.out == app.image_id.short() + "\n"
    assert "dependency" not in captured.err
    assert repo.requests_to(base_path) == []
    assert run(*fetch_args(repo, f"{NAME}:1.0")) == 0
    captured = capsys.readouterr()
    # stdout stays one ID per image asked for; the dependencies go to stderr.
    assert captured.out == app.image_id.short() + "\n"
    assert (
        "signature of 127.0.0.1/base:1.0,arch=amd64,os=linux verified:\n"
        "  Repo Signer <repo@example.com>"
    ) in captured.err
    assert (
        f"dependency 127.0.0.1/base:1.0,arch=amd64,os=linux: {base.image_id.short()}"
        in captured.err
    )
