"""End to end: docker save files and OCI layouts to ACIs that actool accepts."""

from __future__ import annotations

import json
import stat
import subprocess
import tarfile

from pathlib import Path

import appc.aci
import appc.docker
import appc.render
import pytest

from appc.discovery import Insecure, Request, Response
from appc.docker import ConvertedImage
from appc.errors import ConversionError, UnsafeLayer
from appc.fetch import fetch
from appc.store import Store
from appc.testing import MockTransport
from appc.trust import Keystore

from tests.docker.make_images import (
    Dir,
    File,
    Hardlink,
    Image,
    Symlink,
    opaque,
    sample_image,
    whiteout,
    write_docker_save,
    write_oci_layout,
)


def read_aci(path: Path) -> tuple[dict[str, object], dict[str, tuple[str, str]]]:
    """The manifest and rootfs (path -> kind, content/target) of an ACI."""
    files: dict[str, tuple[str, str]] = {}
    manifest: dict[str, object] = {}
    with tarfile.open(path) as archive:
        for info in archive:
            if info.name == "manifest":
                manifest = json.loads(archive.extractfile(info).read())  # type: ignore[union-attr]
                continue
            if info.name == "rootfs":
                continue
            name = info.name.removeprefix("rootfs/")
            if info.isdir():
                files[name] = ("dir", "")
            elif info.issym():
                files[name] = ("symlink", info.linkname)
            elif info.islnk():
                files[name] = ("hardlink", info.linkname.removeprefix("rootfs/"))
            else:
                files[name] = ("file", archive.extractfile(info).read().decode())  # type: ignore[union-attr]
    return manifest, files


def content(files: dict[str, tuple[str, str]]) -> dict[str, tuple[str, str]]:
    """Hard links resolved to the content they share."""
    return {
        path: ("file", files[value][1]) if kind == "hardlink" else (kind, value)
        for path, (kind, value) in files.items()
    }


def check_valid(images: tuple[ConvertedImage, ...], actool: str) -> None:
    for image in images:
        result = subprocess.run(
            [actool, "validate", str(image.path)], capture_output=True, check=False
        )
        assert result.returncode == 0, result.stderr
        assert appc.aci.validate(image.path).name == image.manifest.name
        assert appc.aci.image_id(image.path) == image.image_id


EXPECTED = {
    "a": ("dir", ""),
    "a/y": ("file", "y\n"),
    "bin": ("dir", ""),
    "bin/sh": ("file", "#!shell\n"),
    "dev": ("dir", ""),
    "dev/fd": ("symlink", "/proc/self/fd"),
    "dev/stderr": ("symlink", "/dev/console"),
    "dev/stdin": ("symlink", "/proc/self/fd/0"),
    "dev/stdout": ("symlink", "/dev/console"),
    "etc": ("dir", ""),
    "etc/new": ("file", "new\n"),
    "h/link": ("file", "shared\n"),
    "usr": ("dir", ""),
    "usr/bin": ("symlink", "../bin"),
}


def test_squashed_sample(tmp_path: Path, actool: str) -> None:
    archive = write_docker_save(tmp_path / "img.tar", [sample_image()])
    images = appc.docker.convert(archive, tmp_path / "out")
    assert len(images) == 1
    image = images[0]
    assert image.path == tmp_path / "out" / "test-img-latest.aci"
    assert image.name == "example.com/test/img"
    check_valid(images, actool)
    manifest, files = read_aci(image.path)
    assert files == EXPECTED
    assert "pathWhitelist" not in manifest
    assert "dependencies" not in manifest


def test_same_image_id_from_every_file_form(tmp_path: Path) -> None:
    image = sample_image()
    sources = [
        write_docker_save(tmp_path / "save.tar", [image]),
        write_docker_save(tmp_path / "skopeo.tar", [image], form="skopeo"),
        write_docker_save(tmp_path / "gz.tar", [image], gzip_layers=True),
        write_oci_layout(tmp_path / "oci", [image]),
        write_oci_layout(
            tmp_path / "oci.tar", [image], as_tar=True, compression="zstd"
        ),
        write_oci_layout(tmp_path / "plain", [image], compression="none"),
    ]
    ids = {
        appc.docker.convert(source, tmp_path / f"out{n}")[0].image_id
        for n, source in enumerate(sources)
    }
    assert len(ids) == 1
    # ... and twice from the same input.
    again = appc.docker.convert(sources[0], tmp_path / "again")[0].image_id
    assert ids == {again}


def test_uncompressed_output(tmp_path: Path, actool: str) -> None:
    archive = write_docker_save(tmp_path / "img.tar", [sample_image()])
    gz = appc.docker.convert(archive, tmp_path / "gz")[0]
    plain = appc.docker.convert(archive, tmp_path / "plain", compression="none")[0]
    check_valid((plain,), actool)
    assert plain.image_id == gz.image_id
    assert plain.path.read_bytes()[257:262] == b"ustar"
    with pytest.raises(ConversionError, match="unknown compression"):
        appc.docker.convert(archive, tmp_path, compression="xz")  # type: ignore[arg-type]


def test_source_date_epoch(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    archive = write_docker_save(tmp_path / "img.tar", [sample_image()])
    monkeypatch.setenv("SOURCE_DATE_EPOCH", "1234")
    image = appc.docker.convert(archive, tmp_path / "out")[0]
    with tarfile.open(image.path) as aci:
        assert aci.getmember("manifest").mtime == 1234


def render(images: tuple[ConvertedImage, ...]) -> dict[str, tuple[str, str]]:
    """Render per-layer ACIs as acirenderer does (anchors.md 6.2-6.4)."""
    by_id = {image.image_id: image for image in images}
    order: list[ConvertedImage] = []
    current: ConvertedImage | None = images[-1]
    while current is not None:
        order.append(current)
        deps = current.manifest.dependencies
        assert len(deps) <= 1
        current = by_id[deps[0].image_id] if deps else None  # type: ignore[index]
        if deps:
            # Dependencies must be resolvable by name and labels too.
            assert current is not None
            assert deps[0].image_name == current.manifest.name
            assert dict(deps[0].labels) == dict(current.manifest.labels)
    whitelist = next(
        (set(i.manifest.path_whitelist) for i in order if i.manifest.path_whitelist),
        None,
    )
    rendered: dict[str, tuple[str, str]] = {}
    for image in order:
        _manifest, files = read_aci(image.path)
        for path, (kind, value) in files.items():
            if whitelist is not None and "/" + path not in whitelist:
                continue
            if path in rendered:
                continue
            parts = path.split("/")
            if any(
                rendered.get("/".join(parts[:n]), ("dir", ""))[0] != "dir"
                for n in range(1, len(parts))
            ):
                continue
            rendered[path] = files[value] if kind == "hardlink" else (kind, value)
    return rendered


def layered_image() -> Image:
    """Three layers with whiteouts, an opaque directory and hard links."""
    return Image(
        layers=[
            [
                Dir("etc"),
                File("etc/a", b"a"),
                File("etc/b", b"b"),
                File("keep", b"k"),
                File("A", b"data"),
                Hardlink("B", "A"),
                Hardlink("C", "A"),
                Dir("d"),
                File("d/x", b"x"),
                File("f", b"old"),
            ],
            [
                opaque("etc"),
                File("etc/c", b"c"),
                whiteout("A"),
                File("f", b"new"),
                Symlink("d", "/etc"),
            ],
            [whiteout("keep"), File("top", b"t")],
        ],
        config={"Entrypoint": ["/top"]},
        repo_tags=["example.com/layers:1"],
    )


def test_nosquash_renders_like_the_squashed_image(tmp_path: Path, actool: str) -> None:
    archive = write_docker_save(tmp_path / "img.tar", [layered_image()])
    layers = appc.docker.convert(archive, tmp_path / "layers", squash=False)
    squashed = appc.docker.convert(archive, tmp_path / "squashed")[0]
    assert [i.path.name for i in layers] == [
        f"layers-1-linux-amd64-{n}.aci" for n in range(3)
    ]
    check_valid(layers, actool)
    assert render(layers) == content(read_aci(squashed.path)[1])
    # Only the top layer runs; the lower ones are files only.
    assert layers[-1].manifest.app is not None
    assert all(i.manifest.app is None for i in layers[:-1])
    assert layers[0].manifest.dependencies == ()
    assert str(layers[1].manifest.dependencies[0].image_id) == layers[0].image_id
    assert str(layers[0].manifest.name).startswith("example.com/layers-sha256-")


def _tree(root: Path) -> dict[str, tuple[str, str, int]]:
    """Each path under ``root``: its kind, content or link target, and mode."""
    found: dict[str, tuple[str, str, int]] = {}
    for path in sorted(root.rglob("*")):
        mode = stat.S_IMODE(path.lstat().st_mode)
        if path.is_symlink():
            found[str(path.relative_to(root))] = ("symlink", str(path.readlink()), mode)
        elif path.is_dir():
            found[str(path.relative_to(root))] = ("dir", "", mode)
        else:
            found[str(path.relative_to(root))] = ("file", path.read_text(), mode)
    return found


def test_nosquash_layers_fetched_and_rendered_are_the_squashed_image(
    tmp_path: Path,
) -> None:
    # The user's path: convert with --nosquash, import the layers from the
    # base up (each names its parent by image ID: no network), render.
    archive = write_docker_save(tmp_path / "img.tar", [layered_image()])
    layers = appc.docker.convert(archive, tmp_path / "layers", squash=False)
    squashed = appc.docker.convert(archive, tmp_path / "squashed")[0]
    store = Store(tmp_path / "store")
    keystore = Keystore(system=None, local=None, user=tmp_path / "trust")

    def offline(request: Request) -> Response:
        raise AssertionError(f"no request expected, got {request.url}")

    for layer in layers:
        fetched = fetch(
            str(layer.path),
            store=store,
            keystore=keystore,
            insecure=Insecure.IMAGE,  # unsigned local files
            transport=MockTransport(offline),
        )
        assert fetched.image_id == layer.image_id
    rendered = appc.render.render(
        str(layers[-1].image_id), tmp_path / "rendered", store=store
    )
    assert [entry.image.id for entry in rendered] == [
        i.image_id for i in reversed(layers)
    ]
    appc.aci.extract(squashed.path, tmp_path / "extracted")
    assert _tree(tmp_path / "rendered/rootfs") == _tree(tmp_path / "extracted/rootfs")
    # The manifest is the top layer's, which names the lower ones.
    manifest = json.loads((tmp_path / "rendered/manifest").read_bytes())
    assert manifest["name"] == str(layers[-1].manifest.name)
    assert len(manifest["dependencies"]) == 1


def test_nosquash_of_a_single_layer(tmp_path: Path) -> None:
    archive = write_docker_save(
        tmp_path / "img.tar", [Image(layers=[[File("x")]], repo_tags=["a/b:c"])]
    )
    (layer,) = appc.docker.convert(archive, tmp_path / "out", squash=False)
    assert layer.manifest.app is not None
    assert layer.manifest.path_whitelist == ()


def test_image_without_layers(tmp_path: Path, actool: str) -> None:
    archive = write_docker_save(
        tmp_path / "img.tar", [Image(layers=[], repo_tags=["a/empty:1"])]
    )
    for squash in (True, False):
        (image,) = appc.docker.convert(archive, tmp_path / str(squash), squash=squash)
        check_valid((image,), actool)
        assert set(read_aci(image.path)[1]) == {
            "dev",
            "dev/fd",
            "dev/stderr",
            "dev/stdin",
            "dev/stdout",
        }


def test_dev_must_stay_a_directory(tmp_path: Path) -> None:
    archive = write_docker_save(
        tmp_path / "img.tar", [Image(layers=[[File("dev", b"x")]], repo_tags=["a/b:c"])]
    )
    for squash in (True, False):
        with pytest.raises(ConversionError, match='"/dev" is not a directory'):
            appc.docker.convert(archive, tmp_path / "out", squash=squash)
    assert not list((tmp_path / "out").glob("*.aci"))


def test_hostile_layer_writes_nothing(tmp_path: Path) -> None:
    archive = write_docker_save(
        tmp_path / "img.tar",
        [
            Image(
                layers=[[Symlink("x", "/etc")], [File("x/passwd", b"owned")]],
                repo_tags=["a/b:c"],
            )
        ],
    )
    with pytest.raises(UnsafeLayer):
        appc.docker.convert(archive, tmp_path / "out")
    assert not (tmp_path / "out").exists() or not any((tmp_path / "out").iterdir())


def test_symlink_chain_escape_is_caught_before_writing(tmp_path: Path) -> None:
    # Each link stays inside lexically; together they climb out (CVE-2025-4517 shape).
    image = Image(
        layers=[[Dir("a"), Symlink("a/up", ".."), Symlink("esc", "a/up/a/up/..")]],
        repo_tags=["a/b:c"],
    )
    archive = write_docker_save(tmp_path / "img.tar", [image])
    with pytest.raises(ConversionError):
        appc.docker.convert(archive, tmp_path / "out")
    assert not any((tmp_path / "out").glob("*.aci"))


def test_invalid_manifest_is_a_conversion_error(tmp_path: Path) -> None:
    image = Image(layers=[[File("x")]], config={"Env": ["1BAD=x"]}, repo_tags=["a/b:c"])
    archive = write_docker_save(tmp_path / "img.tar", [image])
    with pytest.raises(ConversionError, match="not valid"):
        appc.docker.convert(archive, tmp_path / "out")


@pytest.mark.parametrize(
    ("created", "mtime"),
    [
        ("2020-01-01T00:00:00Z", 1577836800),
        ("2020-01-01T00:00:00", 1577836800),
        ("junk", 0),
    ],
)
def test_archive_time_comes_from_the_image(
    tmp_path: Path, created: str, mtime: int
) -> None:
    archive = write_docker_save(
        tmp_path / "img.tar",
        [Image(layers=[[File("x")]], created=created, repo_tags=["a/b:c"])],
    )
    (image,) = appc.docker.convert(archive, tmp_path / "out")
    with tarfile.open(image.path) as aci:
        assert aci.getmember("manifest").mtime == mtime
        assert aci.getmember("rootfs").mtime == mtime


def test_credentials_reach_the_registry_client(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    seen: list[object] = []

    def fetch_image(source: str, directory: Path, **options: object) -> object:
        seen.append(options["credentials"])
        raise ConversionError("stop here")

    monkeypatch.setattr("appc.docker.registry.fetch_image", fetch_image)
    for credentials in (("bob", "s3cret"), None):
        with pytest.raises(ConversionError, match="stop here"):
            appc.docker.convert(
                "docker://quay.io/a/b", tmp_path, credentials=credentials
            )
    assert seen == [("bob", "s3cret"), None]
