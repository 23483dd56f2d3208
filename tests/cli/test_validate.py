"""``appc validate``: actool's lines and exit codes (anchors.md 3.6), plus --json."""

# pyright: reportPrivateUsage=false
# (the command table is checked directly)

from __future__ import annotations

import argparse
import gc
import gzip
import importlib
import json
import pathlib
import subprocess

import pytest

from appc import cli
from appc.cli import main
from appc.cli._validate import TYPES, VALIDATORS, Verdict, detect_type


GOOD = b'{"acKind": "ImageManifest", "acVersion": "0.8.11", "name": "example.com/app"}'
BAD = b'{"acKind": "ImageManifest", "acVersion": "0.8.11", "name": "a", "app": {"user": "", "group": ""}}'
NO_KIND = b'{"acVersion": "0.8.11"}'
POD = b'{"acKind": "PodManifest", "acVersion": "0.8.11"}'
SYNTAX = b'{"acKind": "ImageManifest",}'
HTML = b"<html><body>" + GOOD + b"</body></html>"
BINARY = GOOD + b"\x01"


@pytest.fixture
def files(tmp_path: pathlib.Path) -> dict[str, pathlib.Path]:
    made: dict[str, pathlib.Path] = {}
    for name, data in {
        "good.json": GOOD,
        "bad.json": BAD,
        "pod.json": POD,
        "syntax.json": SYNTAX,
        "html.json": HTML,
        "binary.json": BINARY,
        "empty.json": b"",
        "image.aci": gzip.compress(b"not really a tar"),
    }.items():
        path = tmp_path / name
        path.write_bytes(data)
        made[name] = path
    return made


def _appc(args: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str, str]:
    code = main(args)
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def _actool(actool: str, args: list[str]) -> tuple[int, str]:
    result = subprocess.run([actool, *args], capture_output=True, check=False)
    return result.returncode, result.stderr.decode()


def test_types_are_actools() -> None:
    assert TYPES == ("appimage", "layout", "manifest")
    assert set(VALIDATORS) <= set(TYPES)


def test_no_files(capsys: pytest.CaptureFixture[str]) -> None:
    assert _appc(["validate"], capsys) == (1, "", "must pass one or more files\n")


def test_valid_file_is_silent_without_debug(
    files: dict[str, pathlib.Path], capsys: pytest.CaptureFixture[str]
) -> None:
    assert _appc(["validate", str(files["good.json"])], capsys) == (0, "", "")


def test_debug_prints_valid_lines(
    files: dict[str, pathlib.Path], capsys: pytest.CaptureFixture[str]
) -> None:
    code, _, err = _appc(
        ["--debug", "validate", str(files["good.json"]), str(files["pod.json"])], capsys
    )
    assert code == 0
    assert err.splitlines() == [
        f"{files['good.json']}: valid ImageManifest",
        f"{files['pod.json']}: valid PodManifest",
    ]


def test_invalid_lists_every_problem_and_goes_on(
    files: dict[str, pathlib.Path], capsys: pytest.CaptureFixture[str]
) -> None:
    code, _, err = _appc(
        ["--debug", "validate", str(files["bad.json"]), str(files["good.json"])], capsys
    )
    assert code == 1
    assert err.splitlines() == [
        f"{files['bad.json']}: invalid ImageManifest: user is required",
        "  $.app.user: user is required",
        "  $.app.group: group is required",
        f"{files['good.json']}: valid ImageManifest",
    ]


def test_unmarshal_error_stops_the_run(
    files: dict[str, pathlib.Path], capsys: pytest.CaptureFixture[str]
) -> None:
    code, _, err = _appc(
        ["--debug", "validate", str(files["syntax.json"]), str(files["good.json"])],
        capsys,
    )
    assert code == 1
    assert err.startswith(
        f"{files['syntax.json']}: error unmarshaling manifest: invalid JSON"
    )
    assert "valid ImageManifest" not in err


def test_missing_file_stops_the_run(
    files: dict[str, pathlib.Path],
    tmp_path: pathlib.Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    missing = tmp_path / "nope.json"
    code, _, err = _appc(["validate", str(missing), str(files["good.json"])], capsys)
    assert (code, err) == (
        1,
        f"unable to access {missing}: stat {missing}: no such file or directory\n",
    )


def test_directory_with_manifest_type(
    tmp_path: pathlib.Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, _, err = _appc(["validate", "--type=manifest", str(tmp_path)], capsys)
    assert (code, err) == (1, f"{tmp_path} is a directory (wrong --type?)\n")


def test_type_detection(
    files: dict[str, pathlib.Path], capsys: pytest.CaptureFixture[str]
) -> None:
    for name in ("html.json", "binary.json"):
        code, _, err = _appc(["validate", str(files[name])], capsys)
        assert (code, err) == (
            1,
            f"{files[name]}: unable to detect filetype (try --type)\n",
        )
    assert detect_type(b"BZh91AY") == "appimage"
    assert detect_type(b"\xfd7zXZ\x00") == "appimage"
    assert detect_type(b"\x00" * 257 + b"ustar\x00" + b"\x00" * 250) == "appimage"
    assert detect_type(b"\xef\xbb\xbf{}") == "manifest"
    assert detect_type(b"\xff\xfe{\x00") is None
    assert detect_type(b"  <?xml version='1.0'?>") is None
    assert detect_type(b"%PDF-1.4") is None
    assert detect_type(b"<html>") is None
    assert detect_type(b"<a") == "manifest"  # not a tag: Go wants a space or > after it
    assert detect_type(b"") == "manifest"


def test_every_type_has_a_validator() -> None:
    assert set(VALIDATORS) == set(TYPES)


def test_a_directory_is_a_layout(
    tmp_path: pathlib.Path, capsys: pytest.CaptureFixture[str]
) -> None:
    for args in (
        ["validate", str(tmp_path)],
        ["validate", "--type=layout", str(tmp_path)],
    ):
        code, _, err = _appc(args, capsys)
        assert code == 1
        assert err.startswith(f"{tmp_path}: invalid image layout: ")


def test_unopenable_file(
    files: dict[str, pathlib.Path],
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    import appc.cli._validate as module

    def refuse(_path: str, _limit: int) -> bytes:
        raise PermissionError(13, "Permission denied")

    monkeypatch.setattr(module, "_read_limited", refuse)
    path = files["good.json"]
    assert _appc(["validate", str(path)], capsys)[::2] == (
        1,
        f"{path}: unable to open: open {path}: permission denied\n",
    )


def test_type_manifest_on_text_that_is_not_json(
    files: dict[str, pathlib.Path], capsys: pytest.CaptureFixture[str]
) -> None:
    code, _, err = _appc(
        ["validate", "--type=manifest", str(files["html.json"])], capsys
    )
    assert code == 1
    assert "error unmarshaling manifest" in err


def test_json_report(
    files: dict[str, pathlib.Path], capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, err = _appc(
        ["validate", "--json", str(files["good.json"]), str(files["bad.json"])], capsys
    )
    assert (code, err) == (1, "")
    reports = [json.loads(line) for line in out.splitlines()]
    assert reports[0] == {
        "file": str(files["good.json"]),
        "type": "manifest",
        "valid": True,
        "kind": "ImageManifest",
        "issues": [],
    }
    assert reports[1]["valid"] is False
    assert reports[1]["summary"] == "invalid ImageManifest"
    assert reports[1]["issues"] == [
        {"path": "$.app.user", "message": "user is required"},
        {"path": "$.app.group", "message": "group is required"},
    ]


def test_json_report_of_a_stop(
    tmp_path: pathlib.Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, _ = _appc(["validate", "--json", str(tmp_path / "x")], capsys)
    report = json.loads(out)
    assert code == 1
    assert report["valid"] is False
    assert report["error"].startswith("unable to access")


def test_unreadable_file(
    tmp_path: pathlib.Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    path = tmp_path / "m.json"
    path.write_bytes(GOOD)

    def refuse(_path: str) -> Verdict:
        raise PermissionError(13, "Permission denied")

    import appc.cli._validate as module

    monkeypatch.setattr(module, "VALIDATORS", {"manifest": refuse})
    code, _, err = _appc(["validate", str(path)], capsys)
    assert (code, err) == (1, f"{path}: unable to read file permission denied\n")


@pytest.mark.interop
@pytest.mark.parametrize(
    ("args", "same_line"),
    [
        (["validate"], True),
        (["validate", "good.json", "bad.json"], True),
        (["--debug", "validate", "good.json", "pod.json"], True),
        (["validate", "nofile.json", "good.json"], True),
        (["validate", "html.json"], True),
        (["validate", "binary.json"], True),
        (["validate", "syntax.json", "good.json"], False),
        (["validate", "empty.json"], False),
        (["validate", "--type=manifest", "."], True),
    ],
)
def test_same_exit_code_and_line_as_actool(  # noqa: PLR0917 - pytest fixtures
    args: list[str],
    same_line: bool,
    files: dict[str, pathlib.Path],
    actool: str,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.chdir(files["good.json"].parent)
    go_code, go_err = _actool(actool, args)
    code, _, err = _appc(args, capsys)
    assert code == go_code
    go_first = go_err.splitlines()[0]
    ours_first = err.splitlines()[0]
    if same_line:
        assert ours_first == go_first
    else:
        assert ours_first.split(": ")[:2] == go_first.split(": ")[:2]


@pytest.mark.interop
def test_actool_crash_is_our_clean_error(
    tmp_path: pathlib.Path, actool: str, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "nokind.json"
    path.write_bytes(NO_KIND)
    go_code, go_err = _actool(actool, ["validate", str(path)])
    assert go_code == 2
    assert "panic" in go_err
    assert _appc(["validate", str(path)], capsys)[:3:2] == (
        1,
        f"{path}: error unmarshaling manifest: ACKind must be set\n  $.acKind: ACKind must be set\n",
    )


def test_the_command_process_freezes_its_startup_objects(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    # Only when main() runs as the process's command (argv from sys.argv):
    # a program that calls main([...]) keeps its collector as it was.
    assert gc.get_freeze_count() == 0
    assert main(["version"]) == 0
    assert gc.get_freeze_count() == 0
    monkeypatch.setattr("sys.argv", ["appc", "version"])
    try:
        assert main() == 0
        assert gc.get_freeze_count() > 0
    finally:
        gc.unfreeze()
    assert "appc version" in capsys.readouterr().out


def test_the_command_table_names_what_each_module_registers() -> None:
    # A run imports only its command's module (cli._COMMANDS): the table must
    # say, for every subcommand, the module that registers it.
    registered: dict[str, str] = {}
    for module in cli._COMMAND_MODULES:
        parser = argparse.ArgumentParser()
        sub = parser.add_subparsers()
        importlib.import_module(module).register(sub)
        registered.update(dict.fromkeys(sub.choices, module))
    assert registered == cli._COMMANDS


@pytest.mark.parametrize(
    ("argv", "modules"),
    [
        (["image-id", "x.aci"], ("appc.cli._aci",)),
        (["--debug", "validate", "x"], ("appc.cli._validate",)),
        (["image", "list"], ("appc.cli._fetch",)),
        (["version"], ()),
        (["--help"], cli._COMMAND_MODULES),
        ([], cli._COMMAND_MODULES),
        (["imgae-id"], cli._COMMAND_MODULES),  # argparse lists every command
    ],
)
def test_a_run_loads_its_commands_module_only(
    argv: list[str], modules: tuple[str, ...]
) -> None:
    assert cli._modules_for(argv) == modules


def test_a_mistyped_command_lists_every_command(
    capsys: pytest.CaptureFixture[str],
) -> None:
    with pytest.raises(SystemExit):
        main(["imgae-id", "x.aci"])
    err = capsys.readouterr().err
    assert "invalid choice: 'imgae-id'" in err
    assert "'image-id'" in err
    assert "'docker2aci'" in err
