"""The archive commands of ``appc``: actool's messages and exit codes, and ours."""

from __future__ import annotations

import gzip
import hashlib
import io
import pathlib
import subprocess

import pytest

from appc.aci import image_id, read_manifest_bytes, validate
from appc.cli import _progress, main

from tests.aci.tarcraft import END, MANIFEST_JSON, directory, image, member, symlink


def _layout(root: pathlib.Path, manifest: bytes = MANIFEST_JSON) -> pathlib.Path:
    (root / "rootfs" / "etc").mkdir(parents=True)
    (root / "rootfs" / "etc" / "hello").write_text("hello")
    (root / "manifest").write_bytes(manifest)
    return root


def _run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def _actool(actool: str, *argv: str) -> tuple[int, str, str]:
    result = subprocess.run(
        [actool, *argv], capture_output=True, text=True, check=False
    )
    return result.returncode, result.stdout, result.stderr


# -- build ---------------------------------------------------------------------------


@pytest.mark.interop
def test_build_messages_match_actool(
    tmp_path: pathlib.Path, capsys: pytest.CaptureFixture[str], actool: str
) -> None:
    layout = _layout(tmp_path / "layout")
    bad = _layout(tmp_path / "bad", manifest=b"{}")
    (tmp_path / "exists.aci").write_text("x")
    for argv in (
        ["build", str(layout), str(tmp_path / "out.tar")],
        ["build", str(layout), str(tmp_path / "exists.aci")],
    ):
        assert _run(capsys, *argv) == _actool(actool, *argv)
    code, out, err = _run(capsys, "build", str(bad), str(tmp_path / "bad.aci"))
    theirs = _actool(actool, "build", str(bad), str(tmp_path / "bad.aci"))
    assert (code, out) == theirs[:2] == (1, "")
    assert err.startswith(
        "build: Layout failed validation: image manifest validation failed"
    )
    assert theirs[2].startswith(
        "build: Layout failed validation: image manifest validation failed"
    )
    assert not (tmp_path / "bad.aci").exists()


def test_build(tmp_path: pathlib.Path, capsys: pytest.CaptureFixture[str]) -> None:
    layout = _layout(tmp_path / "layout")
    assert _run(capsys, "build", str(layout), str(tmp_path / "a.aci")) == (0, "", "")
    assert str(validate(tmp_path / "a.aci").name) == "example.com/test"
    assert (tmp_path / "a.aci").read_bytes()[:2] == b"\x1f\x8b"
    assert (
        _run(
            capsys,
            "build",
            "--no-compression",
            "--owner-root",
            str(layout),
            str(tmp_path / "b.aci"),
        )[0]
        == 0
    )
    assert (tmp_path / "b.aci").read_bytes()[257:262] == b"ustar"
    assert (
        _run(
            capsys,
            "build",
            "--compression=xz",
            "--compression-level=1",
            str(layout),
            str(tmp_path / "c.aci"),
        )[0]
        == 0
    )
    assert (tmp_path / "c.aci").read_bytes()[:6] == b"\xfd7zXZ\x00"
    assert (
        _run(
            capsys,
            "build",
            "--overwrite",
            "--compression=bzip2",
            str(layout),
            str(tmp_path / "a.aci"),
        )[0]
        == 0
    )
    assert image_id(tmp_path / "a.aci") == image_id(tmp_path / "c.aci")
    assert _run(
        capsys,
        "build",
        "--no-compression",
        "--compression=gzip",
        str(layout),
        str(tmp_path / "d.aci"),
    ) == (
        1,
        "",
        "build: --no-compression conflicts with --compression=gzip\n",
    )
    (layout / "extra").write_text("x")
    assert _run(capsys, "build", str(layout), str(tmp_path / "f.aci")) == (
        1,
        "",
        'build: Layout failed validation: unrecognized file path in layout: "extra"\n',
    )
    code, _out, err = _run(
        capsys, "build", str(tmp_path / "missing"), str(tmp_path / "e.aci")
    )
    assert code == 1
    assert "is not a directory" in err


def test_build_lists_every_problem(
    tmp_path: pathlib.Path, capsys: pytest.CaptureFixture[str]
) -> None:
    layout = _layout(tmp_path / "layout")
    (layout / "extra").write_text("x")
    (layout / "rootfs" / "escape").symlink_to("../../..")
    code, _out, err = _run(capsys, "build", str(layout), str(tmp_path / "x.aci"))
    assert code == 1
    assert err.splitlines()[1:] == [
        "  rootfs/escape: symlink target '../../..' leaves rootfs",
        '  extra: unrecognized file path in layout: "extra"',
    ]


# -- image-id ------------------------------------------------------------------------


def test_image_id(tmp_path: pathlib.Path, capsys: pytest.CaptureFixture[str]) -> None:
    tar = image(member("rootfs/f", b"x"))
    (tmp_path / "a.aci").write_bytes(gzip.compress(tar))
    expected = "sha512-" + hashlib.sha512(tar).hexdigest()
    assert _run(capsys, "image-id", str(tmp_path / "a.aci")) == (0, expected + "\n", "")
    code, out, err = _run(
        capsys,
        "image-id",
        str(tmp_path / "a.aci"),
        str(tmp_path / "nope.aci"),
        str(tmp_path / "a.aci"),
    )
    assert code == 1
    assert out == f"{expected}  {tmp_path / 'a.aci'}\n" * 2
    assert err.startswith(f"image-id: {tmp_path / 'nope.aci'}: cannot open")


# -- cat-manifest -----------------------------------------------------------------------


@pytest.mark.interop
@pytest.mark.parametrize("pretty", [[], ["--pretty-print"]], ids=["raw", "pretty"])
def test_cat_manifest_matches_actool(
    pretty: list[str],
    tmp_path: pathlib.Path,
    capsys: pytest.CaptureFixture[str],
    actool: str,
) -> None:
    manifest = (
        b'{"acKind":"ImageManifest","acVersion":"0.8.11","name":"example.com/cat",'
        b'"app":{"exec":["/bin/sh","-c","echo <&>"],"user":"0","group":"0",'
        b'"ports":[{"name":"p","protocol":"tcp","port":80}]},'
        b'"annotations":[{"name":"created","value":"2024-01-01T00:00:00Z"}]}'
    )
    layout = _layout(tmp_path / "layout", manifest)
    subprocess.run(
        [actool, "build", str(layout), str(tmp_path / "theirs.aci")], check=True
    )
    main(["build", str(layout), str(tmp_path / "ours.aci")])
    for aci in ("theirs.aci", "ours.aci"):
        argv = ["cat-manifest", *pretty, str(tmp_path / aci)]
        assert _run(capsys, *argv) == _actool(actool, *argv)


@pytest.mark.interop
def test_cat_manifest_of_an_invalid_manifest(
    tmp_path: pathlib.Path, capsys: pytest.CaptureFixture[str], actool: str
) -> None:
    (tmp_path / "bad.aci").write_bytes(
        gzip.compress(
            member("manifest", b'{"acKind":"Nope"}') + directory("rootfs") + END
        )
    )
    code, out, err = _run(capsys, "cat-manifest", str(tmp_path / "bad.aci"))
    theirs = _actool(actool, "cat-manifest", str(tmp_path / "bad.aci"))
    # The stored bytes first, then the failure.
    assert (code, out) == theirs[:2] == (1, '{"acKind":"Nope"}\n')
    assert err.startswith(f"cat-manifest: Unable to read {tmp_path / 'bad.aci'}: ")
    assert _run(capsys, "cat-manifest", "--pretty-print", str(tmp_path / "bad.aci"))[
        :2
    ] == (1, "")


@pytest.mark.interop
def test_cat_manifest_without_manifest(
    tmp_path: pathlib.Path, capsys: pytest.CaptureFixture[str], actool: str
) -> None:
    (tmp_path / "none.aci").write_bytes(gzip.compress(directory("rootfs") + END))
    # actool prints nothing and succeeds (a bug); we say what is wrong.
    assert _actool(actool, "cat-manifest", str(tmp_path / "none.aci")) == (0, "", "")
    code, out, err = _run(capsys, "cat-manifest", str(tmp_path / "none.aci"))
    assert (code, out) == (1, "")
    assert "missing manifest" in err


# -- patch-manifest ---------------------------------------------------------------------


@pytest.mark.interop
def test_patch_manifest_usage_matches_actool(
    tmp_path: pathlib.Path, capsys: pytest.CaptureFixture[str], actool: str
) -> None:
    layout = _layout(tmp_path / "layout")
    source = str(tmp_path / "in.aci")
    main(["build", str(layout), source])
    for argv in (
        ["patch-manifest", "--replace", "--overwrite", source],
        ["patch-manifest", source],
        ["patch-manifest", "--replace", source, "b.aci"],
        ["patch-manifest", source, str(tmp_path / "out.tar")],
        [
            "patch-manifest",
            "--manifest=x",
            "--name=example.com/x",
            source,
            str(tmp_path / "o.aci"),
        ],
    ):
        assert _run(capsys, *argv) == _actool(actool, *argv)
    code, _out, err = _run(
        capsys,
        "patch-manifest",
        f"--manifest={tmp_path / 'none'}",
        source,
        str(tmp_path / "o.aci"),
    )
    assert code == 1
    assert err.startswith(f"patch-manifest: Cannot open {tmp_path / 'none'}")


def test_patch_manifest(
    tmp_path: pathlib.Path, capsys: pytest.CaptureFixture[str]
) -> None:
    layout = _layout(tmp_path / "layout")
    source = tmp_path / "in.aci"
    main(["build", str(layout), str(source)])
    argv = [
        "patch-manifest",
        "--exec=/bin/sh -c",
        "--user=0",
        "--group=0",
        "--no-compression",
        str(source),
        str(tmp_path / "out.aci"),
    ]
    assert _run(capsys, *argv) == (0, "", "")
    assert (tmp_path / "out.aci").read_bytes()[257:262] == b"ustar"
    assert b'"exec":["/bin/sh","-c"]' in read_manifest_bytes(tmp_path / "out.aci")
    (tmp_path / "new.json").write_bytes(
        MANIFEST_JSON.replace(b"example.com/test", b"example.com/new")
    )
    assert (
        _run(
            capsys,
            "patch-manifest",
            f"--manifest={tmp_path / 'new.json'}",
            "--replace",
            str(source),
        )[0]
        == 0
    )
    assert str(validate(source).name) == "example.com/new"
    code, _out, err = _run(
        capsys,
        "patch-manifest",
        "--ports=p,port=0,protocol=tcp",
        "--replace",
        str(source),
    )
    assert code == 1
    assert (
        err
        == f"patch-manifest: Unable to read {source}: no app in the supplied manifest and no exec command provided\n"
    )
    assert (
        _run(
            capsys,
            "patch-manifest",
            "--no-compression",
            "--compression=xz",
            str(source),
            str(tmp_path / "x.aci"),
        )[0]
        == 1
    )


# -- extract --------------------------------------------------------------------------------


def test_extract(tmp_path: pathlib.Path, capsys: pytest.CaptureFixture[str]) -> None:
    layout = _layout(tmp_path / "layout")
    main(["build", str(layout), str(tmp_path / "a.aci")])
    assert _run(
        capsys, "extract", "--no-xattrs", str(tmp_path / "a.aci"), str(tmp_path / "out")
    ) == (0, "", "")
    assert (tmp_path / "out" / "rootfs" / "etc" / "hello").read_text() == "hello"
    (tmp_path / "evil.aci").write_bytes(
        image(symlink("rootfs/s", "/etc"), member("rootfs/s/passwd", b"x"))
    )
    code, out, err = _run(
        capsys, "extract", str(tmp_path / "evil.aci"), str(tmp_path / "evil")
    )
    assert (code, out) == (1, "")
    assert (
        err
        == f"extract: {tmp_path / 'evil.aci'}: rootfs/s/passwd: path passes through the symlink rootfs/s\n"
    )
    assert not (tmp_path / "evil").exists()


# -- validate (the appimage and layout types) ---------------------------------------------------


@pytest.mark.interop
def test_validate_images_and_layouts_like_actool(
    tmp_path: pathlib.Path, capsys: pytest.CaptureFixture[str], actool: str
) -> None:
    layout = _layout(tmp_path / "layout")
    main(["build", str(layout), str(tmp_path / "good.aci")])
    (tmp_path / "dup.aci").write_bytes(
        gzip.compress(image(member("rootfs/a", b""), member("rootfs/a", b"")))
    )
    (tmp_path / "text.aci").write_text("hello")
    broken = _layout(tmp_path / "broken")
    (broken / "manifest").unlink()
    for argv in (
        ["--debug", "validate", str(tmp_path / "good.aci"), str(layout)],
        ["validate", "--type=layout", str(layout)],
        ["validate", str(tmp_path / "dup.aci")],
        ["validate", str(broken)],
        ["validate", "--type=appimage", str(layout)],
    ):
        actool_argv = ["--debug", *argv[1:]] if argv[0] == "--debug" else argv
        code, out, err = _run(capsys, *argv)
        theirs = _actool(actool, *actool_argv)
        assert (code, out) == theirs[:2]
        assert err.splitlines()[:1] == theirs[2].splitlines()[:1]
    code, _out, err = _run(
        capsys, "validate", "--type=appimage", str(tmp_path / "text.aci")
    )
    assert (
        code
        == _actool(actool, "validate", "--type=appimage", str(tmp_path / "text.aci"))[0]
        == 1
    )
    assert err.startswith(f"{tmp_path / 'text.aci'}: error decompressing file: ")


def test_validate_reports_a_budget(monkeypatch: pytest.MonkeyPatch) -> None:
    import appc.aci

    from appc.cli._validate import validate_image_file
    from appc.errors import LimitExceeded

    def over_budget(path: str) -> None:
        raise LimitExceeded(
            "max_members", 1, "more than 1 members in the archive (max_members)"
        )

    monkeypatch.setattr(appc.aci, "validate_archive", over_budget)
    verdict = validate_image_file("any.aci")
    assert (verdict.summary, verdict.fatal) == ("error validating", False)
    assert (
        verdict.issues[0].message == "more than 1 members in the archive (max_members)"
    )


def test_validate_unreadable_layout(tmp_path: pathlib.Path) -> None:
    from appc.cli._validate import validate_layout_dir

    verdict = validate_layout_dir(str(tmp_path / "missing"))
    assert verdict.summary == "invalid image layout"
    assert "is not a directory" in verdict.issues[0].message


# -- progress bars ----------------------------------------------------------------------------------


def test_progress_bar_draws_with_rich() -> None:
    stream = io.StringIO()
    with _progress.progress_bar("Testing", stream=stream, enabled=True) as progress:
        assert progress is not None
        progress(10, 100)
        progress(100, 100)
    assert "Testing" in stream.getvalue()


def test_progress_bar_quiet_without_a_terminal() -> None:
    stream = io.StringIO()
    with _progress.progress_bar("Testing", stream=stream) as progress:
        assert progress is None
    assert stream.getvalue() == ""


def test_progress_bar_without_rich(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(_progress, "rich_available", lambda: False)
    monkeypatch.setattr(_progress, "_hinted", False)
    stream = io.StringIO()
    for _ in range(2):
        with _progress.progress_bar("Testing", stream=stream, enabled=True) as progress:
            assert progress is None
    assert (
        stream.getvalue()
        == "appc: progress bars and tables need rich: pip install 'appc[cli]'\n"
    )
