"""Image config -> image manifest, checked against docker2aci's rules and actool."""

from __future__ import annotations

import json
import subprocess

from pathlib import Path
from typing import Any

import pytest

from appc.docker._config import ImageConfig
from appc.docker._mapping import (
    aci_file_name,
    aci_name,
    layer_aci_name,
    manifest_document,
    os_arch_labels,
)
from appc.docker._reference import parse_reference
from appc.errors import ConversionError
from appc.manifest import load_image_manifest


_VECTORS: dict[str, Any] = json.loads(
    (Path(__file__).parent.parent / "vectors" / "docker_mapping.json").read_text()
)


def app_of(config: ImageConfig) -> dict[str, Any]:
    document = manifest_document(config, name="example.com/app")
    load_image_manifest(json.dumps(document))  # our models accept it
    app: dict[str, Any] = document["app"]
    return app


@pytest.mark.parametrize(
    "vector", _VECTORS["users"], ids=lambda v: v["user"] or "empty"
)
def test_user_and_group(vector: dict[str, str]) -> None:
    app = app_of(ImageConfig(user=vector["user"]))
    assert (app["user"], app["group"]) == (vector["app_user"], vector["app_group"])


@pytest.mark.parametrize("vector", _VECTORS["environment"])
def test_environment(vector: dict[str, Any]) -> None:
    app = app_of(ImageConfig(env=tuple(vector["env"])))
    assert [[e["name"], e["value"]] for e in app.get("environment", [])] == vector[
        "expected"
    ]


@pytest.mark.parametrize("vector", _VECTORS["volumes"])
def test_volumes(vector: dict[str, Any]) -> None:
    app = app_of(ImageConfig(volumes=tuple(vector["volumes"])))
    assert [[m["name"], m["path"]] for m in app["mountPoints"]] == vector["expected"]
    assert not any(m["readOnly"] for m in app["mountPoints"])


@pytest.mark.parametrize("vector", _VECTORS["ports"])
def test_ports(vector: dict[str, Any]) -> None:
    app = app_of(ImageConfig(exposed_ports=tuple(vector["ports"])))
    assert [
        [p["name"], p["protocol"], p["port"], p["count"]] for p in app["ports"]
    ] == vector["expected"]


def test_port_range_and_bad_ports() -> None:
    app = app_of(ImageConfig(exposed_ports=("8000-8010/tcp",)))
    assert app["ports"][0] | {} == {
        "name": "8000-8010-tcp",
        "protocol": "tcp",
        "port": 8000,
        "count": 11,
        "socketActivated": False,
    }
    for bad in ("http/tcp", "0/tcp", "70000/tcp", "9-8/tcp"):
        with pytest.raises(ConversionError, match="exposed port"):
            app_of(ImageConfig(exposed_ports=(bad,)))


@pytest.mark.parametrize(
    "vector",
    _VECTORS["os_arch"],
    ids=lambda v: f"{v['os']}-{v['architecture']}-{v['variant']}",
)
def test_os_arch(vector: dict[str, Any]) -> None:
    config = ImageConfig(
        os=vector["os"], architecture=vector["architecture"], variant=vector["variant"]
    )
    expected = tuple(vector["labels"]) if vector["labels"] else None
    assert os_arch_labels(config) == expected
    labels = {
        label["name"]: label["value"]
        for label in manifest_document(config, name="a")["labels"]
    }
    assert (labels.get("os"), labels.get("arch")) == (expected or (None, None))


def test_exec_and_annotations() -> None:
    ref = parse_reference("quay.io/team/app:1.2")
    config = ImageConfig(
        entrypoint=("/entry", "--flag"),
        cmd=("run",),
        author="Jane <jane@example.com>",
        created="2021-02-03T04:05:06.789Z",
        comment="built",
        labels=(("a", "1"), ("b", "2")),
        working_dir="srv",
    )
    document = manifest_document(
        config,
        name=aci_name(ref, "x"),
        reference=ref,
        image_id="sha256:top",
        parent_image_id="sha256:below",
    )
    assert document["name"] == "quay.io/team/app"
    assert document["app"]["exec"] == ["/entry", "--flag", "run"]
    assert document["app"]["workingDirectory"] == "/srv"
    assert document["app"]["userLabels"] == {"a": "1", "b": "2"}
    assert document["labels"][0] == {"name": "version", "value": "1.2"}
    annotations = {a["name"]: a["value"] for a in document["annotations"]}
    assert annotations == {
        "authors": "Jane <jane@example.com>",
        "created": "2021-02-03T04:05:06Z",
        "docker-comment": "built",
        "appc.io/docker/entrypoint": '["/entry", "--flag"]',
        "appc.io/docker/cmd": '["run"]',
        "appc.io/docker/originalname": "quay.io/team/app:1.2",
        "appc.io/docker/registryurl": "quay.io",
        "appc.io/docker/repository": "team/app",
        "appc.io/docker/tag": "1.2",
        "appc.io/docker/imageid": "sha256:top",
        "appc.io/docker/parentimageid": "sha256:below",
    }


def test_empty_exec_and_no_reference() -> None:
    document = manifest_document(ImageConfig(created="1970-01-01T00:00:00Z"), name="a")
    assert document["app"]["exec"] == []
    assert document["annotations"] == []
    assert document["labels"] == []


def test_unparsable_created_is_left_out() -> None:
    document = manifest_document(ImageConfig(created="yesterday"), name="a")
    assert document["annotations"] == []


def test_invalid_environment_name_fails_validation() -> None:
    # docker2aci does not sanitise names: the manifest fails validation.
    with pytest.raises(ValueError):
        app_of(ImageConfig(env=("1BAD=x",)))


def test_layer_manifest_without_app() -> None:
    document = manifest_document(
        ImageConfig(entrypoint=("/x",)),
        name="a",
        with_app=False,
        dependencies=[{"imageName": "b"}],
        path_whitelist=("/x",),
    )
    assert "app" not in document
    assert document["dependencies"] == [{"imageName": "b"}]
    assert document["pathWhitelist"] == ["/x"]
    assert document["annotations"] == []


@pytest.mark.parametrize(
    ("text", "name", "file_name"),
    [
        (
            "busybox",
            "registry-1.docker.io/library/busybox",
            "library-busybox-latest.aci",
        ),
        ("localhost:5000/a/b:v1", "localhost_5000/a/b", "a-b-v1.aci"),
        ("quay.io/x@sha256:" + "0" * 64, "quay.io/x", "x.aci"),
    ],
)
def test_names(text: str, name: str, file_name: str) -> None:
    ref = parse_reference(text)
    assert aci_name(ref, "unused") == name
    assert aci_file_name(ref, "unused") == file_name


def test_names_without_reference() -> None:
    assert aci_name(None, "My.Image") == "my.image"
    assert (
        aci_file_name(None, "My Image", os_arch=("linux", "amd64"), layer=2)
        == "My_Image-linux-amd64-2.aci"
    )
    assert aci_file_name(None, "...") == "image.aci"
    with pytest.raises(ConversionError, match="cannot make an ACI name"):
        aci_name(None, "...")
    assert layer_aci_name("a/b", "sha256:" + "f" * 8) == "a/b-sha256-ffffffff"


def test_generated_manifests_pass_actool(actool: str, tmp_path: Path) -> None:
    ref = parse_reference("example.com/app:1")
    config = ImageConfig(
        entrypoint=("/bin/app",),
        user="1:2",
        env=("A=1",),
        volumes=("/data", "/var/log"),
        exposed_ports=("80/tcp", "53/udp"),
        labels=(("k", "v"),),
        os="linux",
        architecture="arm",
        variant="v7",
        created="2020-01-01T00:00:00Z",
        author="me",
    )
    path = tmp_path / "manifest"
    path.write_text(
        json.dumps(manifest_document(config, name=aci_name(ref, "x"), reference=ref))
    )
    result = subprocess.run(
        [actool, "validate", str(path)], capture_output=True, check=False
    )
    assert result.returncode == 0, result.stderr
