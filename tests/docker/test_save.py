"""docker save archives and OCI layouts: forms, selection, verification, hostile files."""

from __future__ import annotations

import gzip
import hashlib
import io
import json
import shutil
import tarfile

from pathlib import Path

import pytest

from appc.docker._layers import LayerIndex
from appc.docker._save import read_image_file
from appc.docker._source import Digest, ResolvedImage
from appc.errors import (
    AppcError,
    ConversionError,
    DigestMismatch,
    LimitExceeded,
    UnsafeLayer,
)

from tests.docker.make_images import (
    File,
    Image,
    sample_image,
    write_docker_save,
    write_oci_layout,
)


def paths(resolved: ResolvedImage) -> list[str]:
    index = LayerIndex(stdio_symlinks=False)
    for layer in resolved.layers:
        index.apply(layer)
    return [entry.path for entry in index.entries()]


EXPECTED_PATHS = [
    "a",
    "a/y",
    "bin",
    "bin/sh",
    "etc",
    "etc/new",
    "h/link",
    "usr",
    "usr/bin",
]


@pytest.mark.parametrize("form", ["manifest", "skopeo", "legacy"])
def test_docker_save_forms(tmp_path: Path, form: str) -> None:
    archive = write_docker_save(tmp_path / "img.tar", [sample_image()], form=form)
    resolved = read_image_file(archive, tmp_path)
    assert str(resolved.reference) == "example.com/test/img:latest"
    assert resolved.config.entrypoint == ("/bin/sh",)
    assert len(resolved.layers) == 2
    assert paths(resolved) == EXPECTED_PATHS
    if form == "legacy":
        assert all(len(layer_id) == 64 for layer_id in resolved.layer_ids)
    else:
        diff_ids = json.loads(sample_image().config_json())["rootfs"]["diff_ids"]
        assert list(resolved.layer_ids) == diff_ids


def test_gzip_layers_in_docker_save(tmp_path: Path) -> None:
    archive = write_docker_save(
        tmp_path / "img.tar", [sample_image()], gzip_layers=True
    )
    assert paths(read_image_file(archive, tmp_path)) == EXPECTED_PATHS


def test_compressed_docker_save(tmp_path: Path) -> None:
    archive = write_docker_save(tmp_path / "img.tar", [sample_image()])
    packed = tmp_path / "img.tar.gz"
    packed.write_bytes(gzip.compress(archive.read_bytes()))
    resolved = read_image_file(packed, tmp_path)
    assert resolved.fallback_name == "img.tar"
    assert paths(resolved) == EXPECTED_PATHS


@pytest.mark.parametrize("compression", ["gzip", "zstd", "none"])
@pytest.mark.parametrize("as_tar", [False, True])
def test_oci_layouts(tmp_path: Path, compression: str, as_tar: bool) -> None:
    layout = write_oci_layout(
        tmp_path / ("oci.tar" if as_tar else "oci"),
        [sample_image()],
        as_tar=as_tar,
        compression=compression,
    )
    resolved = read_image_file(layout, tmp_path)
    assert str(resolved.reference) == "example.com/test/img:latest"
    assert resolved.manifest_digest.startswith("sha256:")
    assert paths(resolved) == EXPECTED_PATHS


def _two_images() -> list[Image]:
    first = sample_image("example.com/one:latest")
    second = Image(
        layers=[[File("only-two", b"2")]],
        repo_tags=["example.com/two:1.0", "example.com/two:2.0"],
    )
    return [first, second]


@pytest.mark.parametrize("form", ["manifest", "legacy"])
def test_several_images_need_a_choice(tmp_path: Path, form: str) -> None:
    archive = write_docker_save(tmp_path / "img.tar", _two_images(), form=form)
    with pytest.raises(
        ConversionError, match=r"several images found.*choose one with --image"
    ):
        read_image_file(archive, tmp_path)
    assert str(
        read_image_file(archive, tmp_path, image="example.com/one").reference
    ) == ("example.com/one:latest")
    assert (
        read_image_file(archive, tmp_path, image="example.com/two:2.0").reference
        is not None
    )
    with pytest.raises(ConversionError, match="several tags"):
        read_image_file(archive, tmp_path, image="example.com/two")
    with pytest.raises(ConversionError, match='tag "9" not found'):
        read_image_file(archive, tmp_path, image="example.com/two:9")
    with pytest.raises(ConversionError, match="not found"):
        read_image_file(archive, tmp_path, image="example.com/three")


def test_single_tag_is_used_without_latest(tmp_path: Path) -> None:
    image = Image(layers=[[File("f")]], repo_tags=["example.com/app:1.0"])
    archive = write_docker_save(tmp_path / "img.tar", [image])
    assert (
        read_image_file(archive, tmp_path, image="example.com/app").reference
        is not None
    )


def test_untagged_image_is_named_after_the_file(tmp_path: Path) -> None:
    archive = write_docker_save(
        tmp_path / "my-image.tar", [Image(layers=[[File("f")]])]
    )
    resolved = read_image_file(archive, tmp_path)
    assert resolved.reference is None
    assert resolved.fallback_name == "my-image"
    with pytest.raises(ConversionError, match="without a name"):
        read_image_file(
            write_docker_save(
                tmp_path / "two.tar", [Image(layers=[[File("a")]]), sample_image()]
            ),
            tmp_path,
        )


def _rewrite(
    archive: Path,
    change: dict[str, bytes | None],
    extra: tuple[tarfile.TarInfo, ...] = (),
) -> None:
    """Replace (or drop, with None) members of a tar in place."""
    members: list[tuple[tarfile.TarInfo, bytes | None]] = []
    with tarfile.open(archive) as source:
        for info in source:
            data = source.extractfile(info).read() if info.isreg() else None  # type: ignore[union-attr]
            if info.name in change:
                if change[info.name] is None:
                    continue
                data = change[info.name]
                info.size = len(data or b"")
            members.append((info, data))
    with tarfile.open(archive, "w", format=tarfile.PAX_FORMAT) as target:
        for info, data in members:
            target.addfile(info, io.BytesIO(data) if data is not None else None)
        for info in extra:
            target.addfile(info)


def _names(archive: Path) -> list[str]:
    with tarfile.open(archive) as source:
        return source.getnames()


def test_layer_digest_mismatch(tmp_path: Path) -> None:
    archive = write_docker_save(tmp_path / "img.tar", [sample_image()])
    layer = next(name for name in _names(archive) if name.endswith("layer.tar"))
    with tarfile.open(archive) as source:
        data = bytearray(source.extractfile(layer).read())  # type: ignore[union-attr]
    data[600] ^= 1
    _rewrite(archive, {layer: bytes(data)})
    with pytest.raises(DigestMismatch, match="layer 0"):
        read_image_file(archive, tmp_path)


def test_config_digest_mismatch(tmp_path: Path) -> None:
    archive = write_docker_save(tmp_path / "img.tar", [sample_image()])
    config = next(
        name
        for name in _names(archive)
        if name.endswith(".json") and "/" not in name and name != "manifest.json"
    )
    _rewrite(
        archive, {config: sample_image().config_json().replace(b"/bin/sh", b"/bin/xx")}
    )
    with pytest.raises(DigestMismatch, match="image config"):
        read_image_file(archive, tmp_path)


def test_diff_id_count_mismatch(tmp_path: Path) -> None:
    image = sample_image()
    archive = write_docker_save(tmp_path / "img.tar", [image])
    manifest = json.loads(_read(archive, "manifest.json"))
    manifest[0]["Layers"] = manifest[0]["Layers"][:1]
    _rewrite(archive, {"manifest.json": json.dumps(manifest).encode()})
    with pytest.raises(ConversionError, match="lists 2 layers, the manifest 1"):
        read_image_file(archive, tmp_path)


def _read(archive: Path, name: str) -> bytes:
    with tarfile.open(archive) as source:
        return source.extractfile(name).read()  # type: ignore[union-attr]


def _legacy_with_parents(tmp_path: Path, parents: dict[str, str]) -> Path:
    archive = write_docker_save(tmp_path / "img.tar", [sample_image()], form="legacy")
    changes: dict[str, bytes | None] = {}
    for name in _names(archive):
        if name.endswith("/json"):
            document = json.loads(_read(archive, name))
            if document["id"] in parents:
                document["parent"] = parents[document["id"]]
                changes[name] = json.dumps(document).encode()
    _rewrite(archive, changes)
    return archive


def test_legacy_parent_loop_is_refused(tmp_path: Path) -> None:
    # docker2aci fixture-test-depsloop, CVE-2016-8579.
    archive = write_docker_save(tmp_path / "img.tar", [sample_image()], form="legacy")
    ids = [name.split("/")[0] for name in _names(archive) if name.endswith("/json")]
    base = next(
        i for i in ids if "parent" not in json.loads(_read(archive, f"{i}/json"))
    )
    top = next(i for i in ids if i != base)
    looped = _legacy_with_parents(tmp_path, {base: top})
    with pytest.raises(UnsafeLayer, match="dependency loop detected"):
        read_image_file(looped, tmp_path)


def test_legacy_invalid_layer_id_is_refused(tmp_path: Path) -> None:
    # docker2aci fixture-test-invalidlayerid, CVE-2016-7569.
    archive = write_docker_save(tmp_path / "img.tar", [sample_image()], form="legacy")
    ids = [name.split("/")[0] for name in _names(archive) if name.endswith("/json")]
    base = next(
        i for i in ids if "parent" not in json.loads(_read(archive, f"{i}/json"))
    )
    bad = _legacy_with_parents(tmp_path, {base: "../../../etc"})
    with pytest.raises(UnsafeLayer, match="invalid layer ID"):
        read_image_file(bad, tmp_path)


def test_outer_symlink_leaving_the_archive_is_refused(tmp_path: Path) -> None:
    archive = write_docker_save(tmp_path / "img.tar", [sample_image()], form="skopeo")
    layer = next(name for name in _names(archive) if name.endswith("/layer.tar"))
    manifest = json.loads(_read(archive, "manifest.json"))
    manifest[0]["Layers"][0] = layer
    link = tarfile.TarInfo(layer)
    link.type = tarfile.SYMTYPE
    link.linkname = "/etc/passwd"
    _rewrite(
        archive, {"manifest.json": json.dumps(manifest).encode(), layer: None}, (link,)
    )
    with pytest.raises(UnsafeLayer, match="links outside the archive"):
        read_image_file(archive, tmp_path)
    link.linkname = "../../../etc/passwd"
    archive2 = write_docker_save(tmp_path / "img2.tar", [sample_image()], form="skopeo")
    _rewrite(
        archive2, {"manifest.json": json.dumps(manifest).encode(), layer: None}, (link,)
    )
    with pytest.raises(UnsafeLayer, match="leaves the image root"):
        read_image_file(archive2, tmp_path)


def test_symlink_loop_in_the_archive(tmp_path: Path) -> None:
    archive = write_docker_save(tmp_path / "img.tar", [sample_image()], form="skopeo")
    layer = next(name for name in _names(archive) if name.endswith("/layer.tar"))
    manifest = json.loads(_read(archive, "manifest.json"))
    manifest[0]["Layers"][0] = layer
    link = tarfile.TarInfo(layer)
    link.type = tarfile.SYMTYPE
    link.linkname = "layer.tar"
    _rewrite(
        archive, {"manifest.json": json.dumps(manifest).encode(), layer: None}, (link,)
    )
    with pytest.raises(UnsafeLayer, match="too many symlinks"):
        read_image_file(archive, tmp_path)


def test_missing_member(tmp_path: Path) -> None:
    archive = write_docker_save(tmp_path / "img.tar", [sample_image()])
    layer = next(name for name in _names(archive) if name.endswith("layer.tar"))
    _rewrite(archive, {layer: None})
    with pytest.raises(ConversionError, match="missing or not a regular file"):
        read_image_file(archive, tmp_path)


def test_hostile_outer_member_names(tmp_path: Path) -> None:
    archive = write_docker_save(tmp_path / "img.tar", [sample_image()])
    evil = tarfile.TarInfo("../evil")
    _rewrite(archive, {}, (evil,))
    with pytest.raises(UnsafeLayer, match="leaves the image root"):
        read_image_file(archive, tmp_path)


def test_duplicate_outer_members(tmp_path: Path) -> None:
    archive = write_docker_save(tmp_path / "img.tar", [sample_image()])
    _rewrite(archive, {}, (tarfile.TarInfo("manifest.json"),))
    with pytest.raises(UnsafeLayer, match="duplicate member"):
        read_image_file(archive, tmp_path)


@pytest.mark.parametrize("content", [b"", b"not a tar at all" * 100])
def test_not_an_image_file(tmp_path: Path, content: bytes) -> None:
    path = tmp_path / "junk.tar"
    path.write_bytes(content)
    with pytest.raises(ConversionError):
        read_image_file(path, tmp_path)


def test_empty_tar_is_not_an_image(tmp_path: Path) -> None:
    path = tmp_path / "empty.tar"
    with tarfile.open(path, "w"):
        pass
    with pytest.raises(
        ConversionError, match=r"no manifest\.json, index\.json or repositories"
    ):
        read_image_file(path, tmp_path)


def test_missing_file(tmp_path: Path) -> None:
    with pytest.raises(ConversionError, match="no such file"):
        read_image_file(tmp_path / "nothing.tar", tmp_path)


def test_layer_limit(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("appc.docker._save.MAX_LAYERS", 1)
    for form in ("manifest", "legacy"):
        archive = write_docker_save(
            tmp_path / f"{form}.tar", [sample_image()], form=form
        )
        with pytest.raises(LimitExceeded, match="MAX_LAYERS"):
            read_image_file(archive, tmp_path)
    layout = write_oci_layout(tmp_path / "oci", [sample_image()])
    with pytest.raises(LimitExceeded, match="MAX_LAYERS"):
        read_image_file(layout, tmp_path)


# -- OCI layouts -----------------------------------------------------------


def _platform_images() -> list[Image]:
    amd = Image(
        layers=[[File("arch", b"amd64")]], repo_tags=["example.com/multi:latest"]
    )
    arm = Image(
        layers=[[File("arch", b"arm")]],
        repo_tags=["example.com/multi:latest"],
        architecture="arm",
        variant="v7",
    )
    return [amd, arm]


def _content(resolved: ResolvedImage) -> bytes:
    with resolved.layers[0].open() as stream, tarfile.open(fileobj=stream) as archive:
        return archive.extractfile("arch").read()  # type: ignore[union-attr]


def test_oci_index_picks_the_platform(tmp_path: Path) -> None:
    layout = write_oci_layout(tmp_path / "oci", _platform_images(), platform_index=True)
    assert (
        _content(read_image_file(layout, tmp_path, os_name="linux", arch="amd64"))
        == b"amd64"
    )
    assert (
        _content(read_image_file(layout, tmp_path, os_name="linux", arch="arm/v7"))
        == b"arm"
    )
    assert (
        _content(read_image_file(layout, tmp_path, os_name="linux", arch="arm"))
        == b"arm"
    )
    with pytest.raises(
        ConversionError, match=r"no image for linux/s390x.*linux/amd64, linux/arm/v7"
    ):
        read_image_file(layout, tmp_path, os_name="linux", arch="s390x")


def test_oci_selection_by_name_and_tag(tmp_path: Path) -> None:
    layout = write_oci_layout(tmp_path / "oci", _two_images())
    with pytest.raises(ConversionError, match="several images found"):
        read_image_file(layout, tmp_path)
    assert str(
        read_image_file(layout, tmp_path, image="example.com/one").reference
    ) == ("example.com/one:latest")
    assert (
        str(read_image_file(layout, tmp_path, image="1.0").reference)
        == "example.com/two:1.0"
    )
    with pytest.raises(ConversionError, match="not found"):
        read_image_file(layout, tmp_path, image="example.com/nothing")


def test_oci_tag_only_names_from_the_directory(tmp_path: Path) -> None:
    layout = write_oci_layout(tmp_path / "myimage", [sample_image()])
    index = json.loads((layout / "index.json").read_text())
    del index["manifests"][0]["annotations"]["io.containerd.image.name"]
    (layout / "index.json").write_text(json.dumps(index))
    resolved = read_image_file(layout, tmp_path)
    assert str(resolved.reference) == "docker.io/library/myimage:latest"


def _blob(layout: Path, digest: str) -> Path:
    return layout / "blobs" / "sha256" / digest.split(":")[1]


def test_oci_blob_digest_mismatch(tmp_path: Path) -> None:
    layout = write_oci_layout(tmp_path / "oci", [sample_image()], compression="gzip")
    index = json.loads((layout / "index.json").read_text())
    manifest = json.loads(_blob(layout, index["manifests"][0]["digest"]).read_text())
    layer = _blob(layout, manifest["layers"][1]["digest"])
    data = bytearray(layer.read_bytes())
    data[len(data) // 2] ^= 0xFF
    layer.write_bytes(bytes(data))
    with pytest.raises(DigestMismatch, match="content has digest"):
        read_image_file(layout, tmp_path)


def test_oci_manifest_digest_mismatch(tmp_path: Path) -> None:
    layout = write_oci_layout(tmp_path / "oci", [sample_image()])
    index = json.loads((layout / "index.json").read_text())
    manifest = _blob(layout, index["manifests"][0]["digest"])
    manifest.write_bytes(
        manifest.read_bytes().replace(b'"schemaVersion": 2', b'"schemaVersion": 3')
    )
    with pytest.raises(DigestMismatch, match="content has digest"):
        read_image_file(layout, tmp_path)


def test_oci_layer_swapped_for_another_valid_blob(tmp_path: Path) -> None:
    # A layer blob replaced by other valid gzip content: both digests catch it.
    layout = write_oci_layout(tmp_path / "oci", [sample_image()], compression="gzip")
    index = json.loads((layout / "index.json").read_text())
    manifest = json.loads(_blob(layout, index["manifests"][0]["digest"]).read_text())
    first = _blob(layout, manifest["layers"][0]["digest"])
    second = _blob(layout, manifest["layers"][1]["digest"])
    shutil.copy(first, second)
    with pytest.raises(DigestMismatch):
        read_image_file(layout, tmp_path)


def test_oci_size_mismatch(tmp_path: Path) -> None:
    layout = write_oci_layout(tmp_path / "oci", [sample_image()])
    index = json.loads((layout / "index.json").read_text())
    index["manifests"][0]["size"] += 1
    (layout / "index.json").write_text(json.dumps(index))
    with pytest.raises(ConversionError, match="expected"):
        read_image_file(layout, tmp_path)


def test_oci_layout_version(tmp_path: Path) -> None:
    layout = write_oci_layout(tmp_path / "oci", [sample_image()])
    (layout / "oci-layout").write_text('{"imageLayoutVersion": "2.0.0"}')
    with pytest.raises(ConversionError, match="imageLayoutVersion"):
        read_image_file(layout, tmp_path)


def test_oci_unsupported_media_type(tmp_path: Path) -> None:
    layout = write_oci_layout(tmp_path / "oci", [sample_image()])
    index = json.loads((layout / "index.json").read_text())
    digest = index["manifests"][0]["digest"]
    manifest = json.loads(_blob(layout, digest).read_text())
    manifest["mediaType"] = "application/vnd.example+json"
    data = json.dumps(manifest).encode()
    new = "sha256:" + hashlib.sha256(data).hexdigest()
    _blob(layout, new).write_bytes(data)
    index["manifests"][0].update(digest=new, size=len(data))
    (layout / "index.json").write_text(json.dumps(index))
    with pytest.raises(ConversionError, match="unsupported manifest media type"):
        read_image_file(layout, tmp_path)


def test_oci_blob_symlink_is_refused(tmp_path: Path) -> None:
    layout = write_oci_layout(tmp_path / "oci", [sample_image()])
    index = json.loads((layout / "index.json").read_text())
    blob = _blob(layout, index["manifests"][0]["digest"])
    blob.unlink()
    blob.symlink_to("/etc/passwd")
    with pytest.raises(ConversionError, match="not a regular file"):
        read_image_file(layout, tmp_path)


def test_bad_digest_string(tmp_path: Path) -> None:
    layout = write_oci_layout(tmp_path / "oci", [sample_image()])
    index = json.loads((layout / "index.json").read_text())
    index["manifests"][0]["digest"] = "sha256:../../etc/passwd"
    (layout / "index.json").write_text(json.dumps(index))
    with pytest.raises(ConversionError, match="malformed digest"):
        read_image_file(layout, tmp_path)


@pytest.mark.parametrize(
    "index",
    [b"[]", b'{"manifests": {}}', b'{"manifests": []}', b'{"manifests": [1]}'],
)
def test_bad_index(tmp_path: Path, index: bytes) -> None:
    layout = write_oci_layout(tmp_path / "oci", [sample_image()])
    (layout / "index.json").write_bytes(index)
    with pytest.raises(ConversionError):
        read_image_file(layout, tmp_path)


def test_digest_helpers() -> None:
    digest = Digest.parse("sha256:" + hashlib.sha256(b"x").hexdigest())
    assert digest.verify(b"x", "x") == b"x"
    with pytest.raises(DigestMismatch):
        digest.verify(b"y", "y")
    with pytest.raises(ConversionError):
        Digest.parse("sha256:abc")
    with pytest.raises(ConversionError):
        Digest.parse(None)


def test_outer_hard_link_to_a_layer(tmp_path: Path) -> None:
    archive = write_docker_save(tmp_path / "img.tar", [sample_image()])
    layer = next(name for name in _names(archive) if name.endswith("layer.tar"))
    manifest = json.loads(_read(archive, "manifest.json"))
    manifest[0]["Layers"][0] = "linked.tar"
    link = tarfile.TarInfo("linked.tar")
    link.type = tarfile.LNKTYPE
    link.linkname = layer
    _rewrite(archive, {"manifest.json": json.dumps(manifest).encode()}, (link,))
    assert paths(read_image_file(archive, tmp_path)) == EXPECTED_PATHS


@pytest.mark.parametrize(
    ("manifest", "message"),
    [
        (b"[]", "no images found"),
        (b'[{"RepoTags": [1]}]', "expected a string"),
        (b'[{"RepoTags": null, "Config": 5}]', "expected a string"),
        (b" " * (4 * 2**20 + 1), "MAX_JSON_SIZE"),
    ],
)
def test_bad_manifest_json(tmp_path: Path, manifest: bytes, message: str) -> None:
    archive = write_docker_save(tmp_path / "img.tar", [sample_image()])
    _rewrite(archive, {"manifest.json": manifest})
    with pytest.raises(AppcError, match=message):
        read_image_file(archive, tmp_path)


def test_empty_legacy_repositories(tmp_path: Path) -> None:
    archive = write_docker_save(tmp_path / "img.tar", [sample_image()], form="legacy")
    _rewrite(archive, {"repositories": b"{}"})
    with pytest.raises(ConversionError, match="no images found"):
        read_image_file(archive, tmp_path)


def test_oci_entry_without_annotations(tmp_path: Path) -> None:
    layout = write_oci_layout(tmp_path / "plain-layout", [sample_image()])
    index = json.loads((layout / "index.json").read_text())
    del index["manifests"][0]["annotations"]
    (layout / "index.json").write_text(json.dumps(index))
    resolved = read_image_file(layout, tmp_path)
    assert resolved.reference is None
    assert resolved.fallback_name == "plain-layout"


def test_oci_indexes_nested_too_deeply(tmp_path: Path) -> None:
    layout = write_oci_layout(tmp_path / "oci", [sample_image()])
    index = json.loads((layout / "index.json").read_text())
    descriptor = index["manifests"][0]
    for _ in range(5):
        nested = json.dumps(
            {
                "schemaVersion": 2,
                "mediaType": "application/vnd.oci.image.index.v1+json",
                "manifests": [
                    descriptor | {"platform": {"os": "linux", "architecture": "amd64"}}
                ],
            }
        ).encode()
        digest = "sha256:" + hashlib.sha256(nested).hexdigest()
        _blob(layout, digest).write_bytes(nested)
        descriptor = {
            "mediaType": "application/vnd.oci.image.index.v1+json",
            "digest": digest,
            "size": len(nested),
        }
    index["manifests"] = [descriptor]
    (layout / "index.json").write_text(json.dumps(index))
    with pytest.raises(ConversionError, match="nested too deeply"):
        read_image_file(layout, tmp_path, os_name="linux", arch="amd64")


def test_uncompressed_oci_blob_size_is_checked(tmp_path: Path) -> None:
    layout = write_oci_layout(tmp_path / "oci", [sample_image()], compression="none")
    index = json.loads((layout / "index.json").read_text())
    digest = index["manifests"][0]["digest"]
    manifest = json.loads(_blob(layout, digest).read_text())
    manifest["layers"][0]["size"] += 1
    data = json.dumps(manifest).encode()
    new = "sha256:" + hashlib.sha256(data).hexdigest()
    _blob(layout, new).write_bytes(data)
    index["manifests"][0].update(digest=new, size=len(data))
    (layout / "index.json").write_text(json.dumps(index))
    with pytest.raises(DigestMismatch, match="expected"):
        read_image_file(layout, tmp_path)
