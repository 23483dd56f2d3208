"""``appc docker2aci``: docker2aci's report and flags."""

from __future__ import annotations

import io
import json

from pathlib import Path
from typing import Any

import pytest

from appc.cli._docker import build_parser_for_doc, download_progress
from appc.errors import ConversionError

from tests.docker.make_images import File, Image, sample_image, write_docker_save


def main(argv: list[str]) -> int:
    parser = build_parser_for_doc()
    args = parser.parse_args(argv)
    code: int = args.func(args)
    return code


def test_cli(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    archive = write_docker_save(tmp_path / "img.tar", [sample_image()])
    code = main(["docker2aci", "-o", str(tmp_path / "out"), str(archive)])
    out = capsys.readouterr().out
    assert code == 0
    assert out == (
        "\nConverted volumes:\n"
        '\tname: "volume-data", path: "/data", readOnly: false\n'
        "\nConverted ports:\n"
        '\tname: "53-udp", protocol: "udp", port: 53, count: 1, socketActivated: false\n'
        '\tname: "6379-tcp", protocol: "tcp", port: 6379, count: 1, socketActivated: false\n'
        "\nGenerated ACI(s):\n"
        f"{tmp_path / 'out' / 'test-img-latest.aci'}\n"
    )


def test_cli_nosquash_and_errors(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    archive = write_docker_save(
        tmp_path / "img.tar",
        [Image(layers=[[File("a")], [File("b")]], repo_tags=["x/y:z"])],
    )
    assert (
        main(
            [
                "docker2aci",
                "--nosquash",
                "--compression",
                "none",
                "-o",
                str(tmp_path),
                str(archive),
            ]
        )
        == 0
    )
    out = capsys.readouterr().out
    assert out.endswith(
        f"\nGenerated ACI(s):\n{tmp_path}/x-y-z-linux-amd64-0.aci\n{tmp_path}/x-y-z-linux-amd64-1.aci\n"
    )
    two = write_docker_save(
        tmp_path / "two.tar", [sample_image("a/one:1"), sample_image("a/two:1")]
    )
    with pytest.raises(ConversionError, match="several images found"):
        main(["docker2aci", str(two)])


def testdownload_progress_bars_on_a_terminal(monkeypatch: pytest.MonkeyPatch) -> None:
    class Terminal(io.StringIO):
        def isatty(self) -> bool:
            return True

    terminal = Terminal()
    monkeypatch.setattr("sys.stderr", terminal)
    with download_progress() as update:
        assert update is not None
        update("Downloading sha256:abc", 10, 100)
        update("Downloading sha256:abc", 100, 100)
    assert "Downloading sha256:abc" in terminal.getvalue()


def test_nodownload_progress_bars_when_not_a_terminal() -> None:
    with download_progress() as update:
        assert update is None


def _capture_convert(monkeypatch: pytest.MonkeyPatch) -> list[dict[str, Any]]:
    calls: list[dict[str, Any]] = []

    def convert(source: str, out_dir: str, **options: Any) -> tuple[()]:
        calls.append({"source": source, **options})
        return ()

    monkeypatch.setattr("appc.docker.convert", convert)
    return calls


def _config(tmp_path: Path) -> list[str]:
    return [
        "--system-config",
        str(tmp_path / "none"),
        "--local-config",
        str(tmp_path / "none"),
        "--user-config",
        str(tmp_path / "config"),
    ]


def _write_docker_auth(tmp_path: Path, document: dict[str, Any]) -> Path:
    auth_d = tmp_path / "config" / "auth.d"
    auth_d.mkdir(parents=True, exist_ok=True)
    path = auth_d / "docker.json"
    path.write_text(json.dumps(document))
    return path


DOCKER_AUTH = {
    "rktKind": "dockerAuth",
    "rktVersion": "v1",
    "registries": ["quay.io", "registry-1.docker.io"],
    "credentials": {"user": "bob", "password": "s3cret-pw"},
}


def test_cli_uses_docker_auth_from_auth_d(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    calls = _capture_convert(monkeypatch)
    _write_docker_auth(tmp_path, DOCKER_AUTH)
    for source in ("docker://quay.io/coreos/etcd:v3.5", "docker://busybox"):
        assert main(["docker2aci", *_config(tmp_path), source]) == 0
    assert [call["credentials"] for call in calls] == [("bob", "s3cret-pw")] * 2
    # Another registry, a file, or --no-auth-config: none (docker login's, if any, apply).
    calls.clear()
    assert main(["docker2aci", *_config(tmp_path), "docker://gcr.io/a/b"]) == 0
    assert main(["docker2aci", *_config(tmp_path), str(tmp_path / "img.tar")]) == 0
    assert (
        main(
            ["docker2aci", "--no-auth-config", *_config(tmp_path), "docker://quay.io/a"]
        )
        == 0
    )
    assert [call["credentials"] for call in calls] == [None] * 3


def test_cli_reports_a_bad_docker_auth_file(
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    calls = _capture_convert(monkeypatch)
    path = _write_docker_auth(tmp_path, {**DOCKER_AUTH, "registries": []})
    assert main(["docker2aci", *_config(tmp_path), "docker://quay.io/a"]) == 1
    assert capsys.readouterr().err == (
        f"docker2aci: {path}: no registries specified;"
        " fix or remove the file, or pass --no-auth-config\n"
    )
    assert calls == []
