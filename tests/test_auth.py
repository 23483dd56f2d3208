"""rkt's auth.d credentials: parsing, precedence, every bad file, fuzzing, and real HTTPS servers."""

from __future__ import annotations

import base64
import json
import logging
import os
import tempfile

from collections.abc import Generator
from pathlib import Path
from typing import Any

import pytest

from appc.auth import (
    AUTH_DIR,
    DEFAULT_LOCAL_CONFIG,
    DEFAULT_SYSTEM_CONFIG,
    MAX_AUTH_FILE_SIZE,
    AuthConfig,
    HostCredentials,
    RegistryCredentials,
    default_user_config,
    load_auth_config,
    read_auth_dir,
)
from appc.discovery import Insecure
from appc.errors import AuthConfigError, DiscoveryError, HTTPStatusError
from hypothesis import given
from hypothesis import strategies as st

from tests.discovery.repo import ACI_PATH, NAME, Repo, running_repo
from tests.discovery.servers import page_server


USER, PASSWORD, TOKEN = "bob", "s3cret-pw", "t0ken-xyz"
SECRETS = (
    PASSWORD,
    TOKEN,
    base64.b64encode(f"{USER}:{PASSWORD}".encode()).decode(),
    "AKIDSECRET",
    "aws-secret-key",
)


def basic_header(user: str = USER, password: str = PASSWORD) -> str:
    return "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode()


def auth(
    domains: Any = ("example.com",),
    auth_type: Any = "basic",
    credentials: Any = None,
    **extra: Any,
) -> dict[str, Any]:
    if credentials is None:
        credentials = {
            "basic": {"user": USER, "password": PASSWORD},
            "oauth": {"token": TOKEN},
            "aws": {"accessKeyID": "AKIDSECRET", "secretAccessKey": "aws-secret-key"},
        }.get(auth_type if isinstance(auth_type, str) else "", {})
    document: dict[str, Any] = {
        "rktKind": "auth",
        "rktVersion": "v1",
        "domains": domains,  # json writes a tuple as a list
        "type": auth_type,
        "credentials": credentials,
    }
    document.update(extra)
    return {k: v for k, v in document.items() if v is not _MISSING}


def docker_auth(
    registries: Any = ("quay.io",), user: Any = USER, password: Any = PASSWORD
) -> dict[str, Any]:
    return {
        "rktKind": "dockerAuth",
        "rktVersion": "v1",
        "registries": registries,
        "credentials": {"user": user, "password": password},
    }


_MISSING: Any = object()


def write(config_dir: Path, name: str, document: object) -> Path:
    directory = config_dir / AUTH_DIR
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / name
    data = document if isinstance(document, bytes) else json.dumps(document).encode()
    path.write_bytes(data)
    return path


def load(
    user: Path, system: Path | None = None, local: Path | None = None
) -> AuthConfig:
    return load_auth_config(system_config=system, local_config=local, user_config=user)


def assert_no_secret(text: str) -> None:
    for secret in SECRETS:
        assert secret not in text


# -- the three types and the docker kind ----------------------------------------


def test_basic(tmp_path: Path) -> None:
    path = write(tmp_path, "a.json", auth(["Example.com", "images.example.com:8443"]))
    config = load(tmp_path)
    assert dict(config.host_headers()) == {
        "example.com": {"Authorization": basic_header()},
        "images.example.com:8443": {"Authorization": basic_header()},
    }
    entry = config.hosts["example.com"]
    assert (entry.domain, entry.type, entry.path, entry.supported) == (
        "example.com",
        "basic",
        path,
        True,
    )
    assert config.registries == {}


def test_basic_is_utf8_then_base64(tmp_path: Path) -> None:
    write(
        tmp_path, "a.json", auth(credentials={"user": "zoë", "password": "pâss:wörd"})
    )
    header = load(tmp_path).host_headers()["example.com"]["Authorization"]
    assert base64.b64decode(header.removeprefix("Basic ")) == "zoë:pâss:wörd".encode()


def test_oauth(tmp_path: Path) -> None:
    write(tmp_path, "a.json", auth(["[::1]:8443", "localhost"], "oauth"))
    headers = load(tmp_path).host_headers()
    assert headers["[::1]:8443"]["Authorization"] == f"Bearer {TOKEN}"
    assert headers["localhost"]["Authorization"] == f"Bearer {TOKEN}"


def test_aws_is_checked_logged_and_sends_nothing(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    path = write(
        tmp_path,
        "s3.json",
        auth(
            ["s3.example.com"],
            "aws",
            {
                "accessKeyID": "AKIDSECRET",
                "secretAccessKey": "aws-secret-key",
                "awsRegion": "eu-west-1",
            },
        ),
    )
    with caplog.at_level(logging.WARNING, logger="appc.auth"):
        config = load(tmp_path)
    entry = config.hosts["s3.example.com"]
    assert (entry.type, entry.supported, dict(entry.headers)) == ("aws", False, {})
    assert config.host_headers() == {}
    (record,) = caplog.records
    assert str(path) in record.getMessage()
    assert "s3.example.com" in record.getMessage()
    assert "not supported" in record.getMessage()
    assert_no_secret(caplog.text)


def test_aws_still_overrides_an_earlier_directory(tmp_path: Path) -> None:
    write(tmp_path / "system", "a.json", auth(["s3.example.com"]))
    write(tmp_path / "user", "a.json", auth(["s3.example.com"], "aws"))
    # No credential from the system directory goes where the user's aws entry points.
    assert load(tmp_path / "user", system=tmp_path / "system").host_headers() == {}


def test_docker_auth(tmp_path: Path) -> None:
    path = write(
        tmp_path, "d.json", docker_auth(["quay.io", "Registry.Example.com:5000"])
    )
    config = load(tmp_path)
    assert config.registry_credentials("quay.io") == (USER, PASSWORD)
    assert config.registry_credentials("registry.example.com:5000") == (USER, PASSWORD)
    assert config.registry_credentials("gcr.io") is None
    assert config.registries["quay.io"].path == path
    # dockerAuth gives no host headers: registries do their own auth.
    assert config.host_headers() == {}


@pytest.mark.parametrize(
    "written", ["registry-1.docker.io", "docker.io", "index.docker.io"]
)
def test_docker_hub_answers_to_each_of_its_names(tmp_path: Path, written: str) -> None:
    write(tmp_path, "d.json", docker_auth([written]))
    config = load(tmp_path)
    for name in ("registry-1.docker.io", "docker.io", "index.docker.io"):
        assert config.registry_credentials(name) == (USER, PASSWORD)


def test_unknown_fields_are_ignored(tmp_path: Path) -> None:
    # rkt's rule: newer files with added fields still load.
    write(
        tmp_path,
        "a.json",
        auth(
            comment="for the CI",
            credentials={"user": USER, "password": PASSWORD, "x": 1},
        ),
    )
    assert "example.com" in load(tmp_path).hosts


# -- directories and precedence ----------------------------------------------------


def test_precedence_system_local_user(tmp_path: Path) -> None:
    system, local, user = tmp_path / "system", tmp_path / "local", tmp_path / "user"
    write(
        system, "a.json", auth(["everywhere.com", "system-only.com", "sys-local.com"])
    )
    write(system, "d.json", docker_auth(["quay.io", "gcr.io"], user="system"))
    write(local, "a.json", auth(["everywhere.com", "sys-local.com"], "oauth"))
    write(local, "d.json", docker_auth(["quay.io"], user="local"))
    user_file = write(
        user,
        "a.json",
        auth(["everywhere.com"], credentials={"user": "me", "password": "mine"}),
    )
    config = load(user, system=system, local=local)
    headers = config.host_headers()
    assert headers["everywhere.com"]["Authorization"] == basic_header("me", "mine")
    assert config.hosts["everywhere.com"].path == user_file
    assert headers["sys-local.com"]["Authorization"] == f"Bearer {TOKEN}"
    assert headers["system-only.com"]["Authorization"] == basic_header()
    assert config.registry_credentials("quay.io") == ("local", PASSWORD)
    assert config.registry_credentials("gcr.io") == ("system", PASSWORD)


def test_defaults_are_rkts_directories_and_xdg(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    assert Path("/usr/lib/rkt") == DEFAULT_SYSTEM_CONFIG
    assert Path("/etc/rkt") == DEFAULT_LOCAL_CONFIG
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "xdg"))
    assert default_user_config() == tmp_path / "xdg" / "appc"
    write(tmp_path / "xdg" / "appc", "a.json", auth())
    config = load_auth_config(
        system_config=tmp_path / "none", local_config=tmp_path / "none"
    )
    assert "example.com" in config.hosts
    monkeypatch.delenv("XDG_CONFIG_HOME")
    assert default_user_config() == Path.home() / ".config" / "appc"


def test_only_json_files_in_name_order_not_recursive(tmp_path: Path) -> None:
    write(tmp_path, "b.json", auth(["b.example.com"]))
    write(tmp_path, "a.json", auth(["a.example.com"]))
    auth_d = tmp_path / AUTH_DIR
    (auth_d / "notes.txt").write_text("not json at all")
    (auth_d / "a.json.bak").write_text("{")
    (auth_d / "sub").mkdir()
    (auth_d / "sub" / "deep.json").write_text(json.dumps(auth(["deep.example.com"])))
    (auth_d / "dir.json").mkdir()
    os.mkfifo(auth_d / "fifo.json")  # must not hang the reader
    (auth_d / "dangling.json").symlink_to(auth_d / "missing")
    outside = tmp_path / "secret-mount" / "c"
    outside.parent.mkdir()
    outside.write_text(json.dumps(auth(["c.example.com"])))
    (auth_d / "c.json").symlink_to(outside)
    config = read_auth_dir(auth_d)
    assert list(config.hosts) == ["a.example.com", "b.example.com", "c.example.com"]


def test_missing_directories_hold_nothing(tmp_path: Path) -> None:
    assert load(tmp_path / "nothing") == AuthConfig()
    assert read_auth_dir(tmp_path / "nothing" / AUTH_DIR) == AuthConfig()


def test_auth_d_that_is_a_file_is_an_error(tmp_path: Path) -> None:
    (tmp_path / AUTH_DIR).write_text("oops")
    with pytest.raises(AuthConfigError, match="cannot be read as a directory") as info:
        load(tmp_path)
    assert info.value.path == str(tmp_path / AUTH_DIR)


def test_symlink_loop_is_an_error(tmp_path: Path) -> None:
    auth_d = tmp_path / AUTH_DIR
    auth_d.mkdir()
    (auth_d / "loop.json").symlink_to(auth_d / "loop.json")
    with pytest.raises(AuthConfigError, match="cannot be opened") as info:
        load(tmp_path)
    assert info.value.path == str(auth_d / "loop.json")


def test_unreadable_file_is_skipped_with_a_warning(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    # As a user, /etc/rkt/auth.d files kept for root must not break every fetch.
    write(tmp_path, "a.json", auth(["a.example.com"]))
    locked = write(tmp_path, "b.json", auth(["b.example.com"]))
    real_open = os.open

    def deny(path: Any, flags: int, *args: Any) -> int:
        if Path(path) == locked:
            raise PermissionError(13, "Permission denied", str(path))
        return real_open(path, flags, *args)

    monkeypatch.setattr(os, "open", deny)
    with caplog.at_level(logging.WARNING, logger="appc.auth"):
        config = load(tmp_path)
    assert list(config.hosts) == ["a.example.com"]
    assert f"skipping {locked}: permission denied" in caplog.text


def test_unreadable_directory_is_skipped_with_a_warning(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    write(tmp_path, "a.json", auth())

    def deny(path: Any) -> Any:
        raise PermissionError(13, "Permission denied", str(path))

    monkeypatch.setattr(os, "scandir", deny)
    with caplog.at_level(logging.WARNING, logger="appc.auth"):
        assert load(tmp_path) == AuthConfig()
    assert f"skipping {tmp_path / AUTH_DIR}: permission denied" in caplog.text


def test_read_error_is_an_auth_config_error(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = write(tmp_path, "a.json", auth())

    def broken(descriptor: int, size: int) -> bytes:
        raise OSError(5, "Input/output error")

    monkeypatch.setattr(os, "read", broken)
    with pytest.raises(
        AuthConfigError, match="cannot be read: Input/output error"
    ) as info:
        load(tmp_path)
    assert info.value.path == str(path)


# -- the same domain twice in one directory ---------------------------------------------


def test_same_domain_in_two_files_of_one_directory(tmp_path: Path) -> None:
    first = write(tmp_path, "a.json", auth(["example.com"]))
    second = write(tmp_path, "b.json", auth(["EXAMPLE.com"], "oauth"))
    with pytest.raises(AuthConfigError) as info:
        load(tmp_path)
    assert info.value.path == str(second)
    assert str(info.value) == (
        f"{second}: auth for domain 'example.com' is already specified in {first}"
    )


def test_same_domain_twice_in_one_file(tmp_path: Path) -> None:
    write(tmp_path, "a.json", auth(["example.com", "example.com"]))
    with pytest.raises(AuthConfigError, match="already specified in this file"):
        load(tmp_path)


def test_same_registry_twice_in_one_directory(tmp_path: Path) -> None:
    write(tmp_path, "a.json", docker_auth(["quay.io"]))
    write(tmp_path, "b.json", docker_auth(["quay.io"]))
    with pytest.raises(
        AuthConfigError,
        match=r"credentials for docker registry 'quay\.io' is already specified",
    ):
        load(tmp_path)


def test_a_domain_and_a_registry_may_share_a_name(tmp_path: Path) -> None:
    write(tmp_path, "a.json", auth(["quay.io"]))
    write(tmp_path, "b.json", docker_auth(["quay.io"]))
    config = load(tmp_path)
    assert "quay.io" in config.hosts
    assert "quay.io" in config.registries


# -- every malformed file -------------------------------------------------------------------


MALFORMED: list[tuple[str, object, str]] = [
    (
        "not-json",
        b"rktKind: auth",
        "not valid JSON: $: invalid JSON at line 1, column 1",
    ),
    ("empty", b"", "not valid JSON"),
    ("trailing", b'{"rktKind": "auth"} x', "not valid JSON"),
    ("not-utf8", b'{"a": "\xff"}', "not UTF-8 text (bad byte at offset 7)"),
    ("bom", b"\xef\xbb\xbf{}", "byte order mark"),
    (
        "duplicate-key",
        b'{"rktKind": "auth", "rktKind": "auth"}',
        'duplicate key "rktKind"',
    ),
    ("deep", b"[" * 200 + b"]" * 200, "nesting is 200 levels deep"),
    ("long-number", b'{"a": ' + b"1" * 2000 + b"}", "a number is longer than"),
    ("nan", b'{"a": NaN}', "NaN is not a JSON value"),
    ("lone-surrogate", b'{"a": "\\ud800"}', "lone UTF-16 surrogate"),
    ("array", [auth()], "the file is not a JSON object"),
    ("string", "auth", "the file is not a JSON object"),
    ("no-kind", {"rktVersion": "v1"}, "no rktKind specified"),
    ("empty-kind", {"rktKind": "", "rktVersion": "v1"}, "no rktKind specified"),
    ("kind-not-string", {"rktKind": 1, "rktVersion": "v1"}, "no rktKind specified"),
    ("no-version", {"rktKind": "auth"}, "no rktVersion specified"),
    (
        "version-not-string",
        {"rktKind": "auth", "rktVersion": 1},
        "no rktVersion specified",
    ),
    ("other-kind", {"rktKind": "paths", "rktVersion": "v1"}, "not 'paths'"),
    (
        "long-kind",
        {"rktKind": "k" * 100, "rktVersion": "v1"},
        "not '" + "k" * 40 + "...'",
    ),
    (
        "other-version",
        auth(rktVersion="v2"),
        "no parser for rktKind \"auth\" and rktVersion 'v2'",
    ),
    ("no-domains", auth(domains=_MISSING), "no domains specified"),
    ("empty-domains", auth(domains=[]), "no domains specified"),
    (
        "domains-not-list",
        auth(domains="example.com"),
        "domains must be a list of host names",
    ),
    (
        "domain-not-string",
        auth(domains=["example.com", 1]),
        "domains[1] must be a string",
    ),
    ("empty-domain", auth(domains=[""]), "domains[0] is empty"),
    (
        "domain-with-scheme",
        auth(domains=["https://example.com"]),
        "domains[0] is not a host or host:port",
    ),
    ("domain-with-path", auth(domains=["example.com/app"]), "domains[0] is not a host"),
    ("domain-with-space", auth(domains=[" example.com"]), "domains[0] is not a host"),
    (
        "domain-bad-port",
        auth(domains=["example.com:99999"]),
        "domains[0] is not a host",
    ),
    ("domain-port-zero", auth(domains=["example.com:0"]), "domains[0] is not a host"),
    (
        "domain-with-user",
        auth(domains=[f"{USER}:{PASSWORD}@example.com"]),
        "domains[0] is not a host",
    ),
    ("no-type", auth(auth_type=_MISSING), "no auth type specified"),
    ("empty-type", auth(auth_type=""), "no auth type specified"),
    ("type-not-string", auth(auth_type=["basic"]), "type must be a string"),
    ("unknown-type", auth(auth_type="digest"), "unknown auth type 'digest'"),
    ("no-credentials", auth(credentials=_MISSING), "no credentials specified"),
    (
        "credentials-not-object",
        auth(credentials=[USER, PASSWORD]),
        "credentials must be a JSON object",
    ),
    ("basic-no-user", auth(credentials={"password": PASSWORD}), "user not specified"),
    (
        "basic-empty-user",
        auth(credentials={"user": "", "password": PASSWORD}),
        "user not specified",
    ),
    ("basic-no-password", auth(credentials={"user": USER}), "password not specified"),
    (
        "basic-user-not-string",
        auth(credentials={"user": 7, "password": PASSWORD}),
        "credentials.user must be a string",
    ),
    (
        "basic-password-not-string",
        auth(credentials={"user": USER, "password": [PASSWORD]}),
        "credentials.password must be a string",
    ),
    (
        "basic-colon-in-user",
        auth(credentials={"user": f"{USER}:{PASSWORD}", "password": PASSWORD}),
        "the user must not contain ':'",
    ),
    (
        "oauth-no-token",
        auth(auth_type="oauth", credentials={}),
        "no oauth bearer token specified",
    ),
    (
        "oauth-token-not-string",
        auth(auth_type="oauth", credentials={"token": {"t": TOKEN}}),
        "credentials.token must be a string",
    ),
    (
        "oauth-header-injection",
        auth(auth_type="oauth", credentials={"token": f"{TOKEN}\r\nX-Evil: 1"}),
        "printable ASCII without spaces",
    ),
    (
        "oauth-token-with-space",
        auth(auth_type="oauth", credentials={"token": f"{TOKEN} more"}),
        "printable ASCII",
    ),
    (
        "aws-no-key-id",
        auth(auth_type="aws", credentials={"secretAccessKey": "aws-secret-key"}),
        "no accessKeyID specified",
    ),
    (
        "aws-no-secret",
        auth(auth_type="aws", credentials={"accessKeyID": "AKIDSECRET"}),
        "no secretAccessKey specified",
    ),
    (
        "aws-region-not-string",
        auth(
            auth_type="aws",
            credentials={
                "accessKeyID": "AKIDSECRET",
                "secretAccessKey": "aws-secret-key",
                "awsRegion": 1,
            },
        ),
        "credentials.awsRegion must be a string",
    ),
    ("docker-no-registries", docker_auth(registries=[]), "no registries specified"),
    (
        "docker-bad-registry",
        docker_auth(registries=["docker://quay.io"]),
        "registries[0] is not a host",
    ),
    ("docker-no-password", docker_auth(password=""), "password not specified"),
    (
        "docker-no-credentials",
        {"rktKind": "dockerAuth", "rktVersion": "v1", "registries": ["quay.io"]},
        "no credentials specified",
    ),
]


@pytest.mark.parametrize(
    ("document", "reason"),
    [case[1:] for case in MALFORMED],
    ids=[case[0] for case in MALFORMED],
)
def test_malformed_file(tmp_path: Path, document: object, reason: str) -> None:
    path = write(tmp_path, "bad.json", document)
    with pytest.raises(AuthConfigError) as info:
        load(tmp_path)
    error = info.value
    assert isinstance(error, ValueError)
    assert error.path == str(path)
    assert str(error).startswith(f"{path}: ")
    assert reason in error.reason
    assert_no_secret(str(error))
    assert_no_secret(repr(error))


def test_too_large_file(tmp_path: Path) -> None:
    padding = "x" * MAX_AUTH_FILE_SIZE
    path = write(tmp_path, "big.json", auth(comment=padding))
    with pytest.raises(
        AuthConfigError, match=r"larger than MAX_AUTH_FILE_SIZE \(65536 bytes\)"
    ) as info:
        load(tmp_path)
    assert info.value.path == str(path)
    # A file of exactly the limit is read.
    room = MAX_AUTH_FILE_SIZE - len(json.dumps(auth(comment="")))
    write(tmp_path, "big.json", auth(comment="x" * room))
    assert path.stat().st_size == MAX_AUTH_FILE_SIZE
    assert "example.com" in load(tmp_path).hosts


def test_one_bad_file_in_any_directory_fails_the_load(tmp_path: Path) -> None:
    write(tmp_path / "user", "a.json", auth())
    bad = write(tmp_path / "system", "z.json", {"rktKind": "auth"})
    with pytest.raises(AuthConfigError) as info:
        load(tmp_path / "user", system=tmp_path / "system")
    assert info.value.path == str(bad)


# -- no secret in a repr, and immutable values ------------------------------------------------


def test_no_secret_in_reprs(tmp_path: Path) -> None:
    write(tmp_path, "a.json", auth(["a.example.com"]))
    write(tmp_path, "b.json", auth(["b.example.com"], "oauth"))
    write(tmp_path, "d.json", docker_auth())
    config = load(tmp_path)
    for shown in (
        config,
        config.hosts,
        config.registries,
        config.host_headers(),
        config.hosts["a.example.com"].headers,
        config.registries["quay.io"],
    ):
        assert_no_secret(repr(shown))
        assert_no_secret(str(shown))
        assert USER not in repr(shown)
    assert repr(config.host_headers()) == (
        "{'a.example.com': {'Authorization': '<redacted>'}, "
        "'b.example.com': {'Authorization': '<redacted>'}}"
    )


def test_values_are_immutable_and_hashable(tmp_path: Path) -> None:
    write(tmp_path, "a.json", auth())
    write(tmp_path, "d.json", docker_auth())
    config = load(tmp_path)
    with pytest.raises(TypeError):
        config.hosts["other.com"] = config.hosts["example.com"]  # type: ignore[index]
    with pytest.raises(TypeError):
        config.host_headers()["example.com"]["Authorization"] = "x"  # type: ignore[index]
    assert hash(config) == hash(load(tmp_path))
    assert config == load(tmp_path)
    assert config != AuthConfig()
    assert len({config, load(tmp_path)}) == 1
    # A mapping given to the constructor is copied, not kept.
    hosts = dict(config.hosts)
    copied = AuthConfig(hosts=hosts)
    hosts.clear()
    assert list(copied.hosts) == ["example.com"]


def test_merged_overrides_by_name(tmp_path: Path) -> None:
    first = HostCredentials(
        domain="a.com", type="oauth", path=Path("1.json"), authorization="Bearer 1"
    )
    second = HostCredentials(
        domain="a.com", type="oauth", path=Path("2.json"), authorization="Bearer 2"
    )
    merged = AuthConfig(hosts={"a.com": first}).merged(
        AuthConfig(hosts={"a.com": second})
    )
    assert merged.hosts["a.com"] is second


@pytest.mark.parametrize(
    ("kwargs", "reason"),
    [
        ({"domain": "Example.com"}, "not a lower-case host"),
        ({"domain": "https://example.com"}, "not a lower-case host"),
        ({"type": "digest"}, "unknown auth type 'digest'"),
        ({"authorization": None}, "type 'basic' needs an Authorization value"),
        ({"type": "aws"}, "type 'aws' cannot have an Authorization value"),
        ({"authorization": "Basic x\r\nX-Evil: 1"}, "printable ASCII"),
        ({"authorization": " "}, "printable ASCII"),
    ],
)
def test_host_credentials_are_valid_once_made(
    kwargs: dict[str, Any], reason: str
) -> None:
    fields: dict[str, Any] = {
        "domain": "example.com",
        "type": "basic",
        "path": Path("a.json"),
        "authorization": basic_header(),
        **kwargs,
    }
    with pytest.raises(AuthConfigError, match=reason) as info:
        HostCredentials(**fields)
    assert info.value.path == "a.json"


@pytest.mark.parametrize(
    ("kwargs", "reason"),
    [
        ({"registry": "Quay.io"}, "not a lower-case host"),
        ({"user": ""}, "user not specified"),
        ({"password": ""}, "password not specified"),
        ({"user": "a:b"}, "must not contain ':'"),
    ],
)
def test_registry_credentials_are_valid_once_made(
    kwargs: dict[str, Any], reason: str
) -> None:
    fields: dict[str, Any] = {
        "registry": "quay.io",
        "path": Path("d.json"),
        "user": USER,
        "password": PASSWORD,
        **kwargs,
    }
    with pytest.raises(AuthConfigError, match=reason):
        RegistryCredentials(**fields)


# -- fuzzing: only AuthConfigError escapes, and no secret in it -----------------------------


def _load_bytes(data: bytes) -> AuthConfig | AuthConfigError:
    with tempfile.TemporaryDirectory() as tmp:
        write(Path(tmp), "fuzz.json", data)
        try:
            return load(Path(tmp))
        except AuthConfigError as exc:
            error = exc
    assert error.path.endswith("fuzz.json")
    return error


@given(st.binary(max_size=300))
def test_arbitrary_bytes(data: bytes) -> None:
    _load_bytes(data)


JSON = st.recursive(
    st.none()
    | st.booleans()
    | st.integers()
    | st.floats(allow_nan=False)
    | st.text(max_size=20),
    lambda children: (
        st.lists(children, max_size=4)
        | st.dictionaries(st.text(max_size=10), children, max_size=4)
    ),
    max_leaves=20,
)


@given(JSON)
def test_arbitrary_json(value: object) -> None:
    _load_bytes(json.dumps(value).encode())


# Credentials are marked; nothing else may hold the mark.
PLAIN = st.text(
    alphabet=st.characters(exclude_characters="S", codec="utf-8"),
    max_size=12,
)
SECRET = PLAIN.map(lambda text: "SECRET" + text)
ANY_PLAIN = st.one_of(st.none(), st.integers(), PLAIN, st.lists(PLAIN, max_size=3))
DOMAINS = st.one_of(
    st.lists(
        st.sampled_from(
            ["example.com", "Example.COM:443", "127.0.0.1:8443", "[::1]", ""]
        )
        | PLAIN,
        max_size=4,
    ),
    ANY_PLAIN,
)
CREDENTIALS = st.one_of(
    st.fixed_dictionaries(
        {},
        optional={
            "user": SECRET | ANY_PLAIN,
            "password": SECRET | st.integers(),
            "token": SECRET | st.integers(),
            "accessKeyID": SECRET,
            "secretAccessKey": SECRET,
            "awsRegion": ANY_PLAIN,
        },
    ),
    ANY_PLAIN,
)
DOCUMENTS = st.fixed_dictionaries(
    {},
    optional={
        "rktKind": st.sampled_from(["auth", "dockerAuth"]) | ANY_PLAIN,
        "rktVersion": st.just("v1") | ANY_PLAIN,
        "domains": DOMAINS,
        "registries": DOMAINS,
        "type": st.sampled_from(["basic", "oauth", "aws"]) | ANY_PLAIN,
        "credentials": CREDENTIALS,
    },
)


@given(DOCUMENTS)
def test_nearly_valid_documents(document: dict[str, Any]) -> None:
    outcome = _load_bytes(json.dumps(document).encode())
    if isinstance(outcome, AuthConfigError):
        assert "SECRET" not in str(outcome)
        return
    assert "SECRET" not in repr(outcome)
    assert "SECRET" not in repr(outcome.host_headers())
    for domain, headers in outcome.host_headers().items():
        assert domain == domain.lower()
        value = headers["Authorization"]
        assert "\r" not in value
        assert "\n" not in value


# -- end to end: a real HTTPS server that wants Basic auth ----------------------------------


@pytest.fixture
def repo(tmp_path: Path) -> Generator[Repo]:
    with running_repo(tmp_path) as running:
        running.server.require_basic_auth(USER, PASSWORD)
        running.trust()
        yield running


def _repo_auth(repo: Repo, config_dir: Path) -> AuthConfig:
    write(config_dir, "repo.json", auth([f"127.0.0.1:{repo.server.port}"]))
    return load(config_dir)


def test_fetch_with_auth_d_against_a_server_that_wants_it(
    repo: Repo, tmp_path: Path
) -> None:
    config = _repo_auth(repo, tmp_path / "config")
    result = repo.fetch(host_headers=config.host_headers())
    assert result.image_id == repo.built.image_id
    # Discovery page, signature and image: every request carried the header.
    assert repo.server.requests
    assert {r.headers.get("authorization") for r in repo.server.requests} == {
        basic_header()
    }


def test_fetch_without_auth_d_fails_with_a_typed_error(
    repo: Repo, tmp_path: Path
) -> None:
    with pytest.raises(DiscoveryError) as info:
        repo.fetch(host_headers=load(tmp_path / "empty").host_headers())
    assert "401" in str(info.value.attempts)
    # By URL, the image itself is refused.
    with pytest.raises(HTTPStatusError) as by_url:
        repo.fetch(repo.url)
    assert by_url.value.status == 401
    assert repo.store.images() == ()


def test_wrong_domain_or_port_gets_nothing(repo: Repo, tmp_path: Path) -> None:
    write(tmp_path / "config", "other.json", auth(["127.0.0.1:1", "example.com"]))
    with pytest.raises(DiscoveryError):
        repo.fetch(host_headers=load(tmp_path / "config").host_headers())
    assert all("authorization" not in r.headers for r in repo.server.requests)


def test_credentials_never_go_over_plain_http(repo: Repo, tmp_path: Path) -> None:
    with page_server() as plain:
        plain.require_basic_auth(USER, PASSWORD)
        plain.add_file("/app.aci", repo.built.data)
        write(
            tmp_path / "config",
            "plain.json",
            auth([f"127.0.0.1:{plain.port}", "127.0.0.1"]),
        )
        headers = load(tmp_path / "config").host_headers()
        with pytest.raises(HTTPStatusError) as info:
            repo.fetch(
                f"{plain.url}/app.aci",
                insecure=Insecure.HTTP | Insecure.IMAGE,
                host_headers=headers,
            )
        assert info.value.status == 401
        assert plain.requests
        assert all("authorization" not in r.headers for r in plain.requests)


def test_credentials_do_not_follow_a_redirect_to_another_host(
    repo: Repo, tmp_path: Path
) -> None:
    with page_server(repo.ca) as mirror:
        mirror.add_file("/app.aci", repo.built.data)
        repo.server.add_redirect(ACI_PATH, f"https://localhost:{mirror.port}/app.aci")
        config = _repo_auth(repo, tmp_path / "config")
        repo.fetch(host_headers=config.host_headers())
        first = next(r for r in repo.server.requests if r.bare_path == ACI_PATH)
        assert first.headers["authorization"] == basic_header()
        (landing,) = mirror.requests
        assert "authorization" not in landing.headers


def test_another_host_gets_its_own_credentials_after_a_redirect(
    repo: Repo, tmp_path: Path
) -> None:
    with page_server(repo.ca) as mirror:
        mirror.require_basic_auth("mirror", "mirror-pw")
        mirror.add_file("/app.aci", repo.built.data)
        repo.server.add_redirect(ACI_PATH, f"https://localhost:{mirror.port}/app.aci")
        write(tmp_path / "config", "repo.json", auth([f"127.0.0.1:{repo.server.port}"]))
        write(
            tmp_path / "config",
            "mirror.json",
            auth(
                ["localhost"], credentials={"user": "mirror", "password": "mirror-pw"}
            ),
        )
        result = repo.fetch(
            f"{NAME}:1.0", host_headers=load(tmp_path / "config").host_headers()
        )
        assert result.image_id == repo.built.image_id
        (landing,) = mirror.requests
        assert landing.headers["authorization"] == basic_header("mirror", "mirror-pw")
