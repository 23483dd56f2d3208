# pyright: reportPrivateUsage=false
"""Manifests: verdicts equal actool's, dumps equal actool cat-manifest's.

The vectors (tests/vectors/manifests/*.json) are Go's test tables and probes
of actool; each records what actool said. ``test_vector_verdict`` checks our
verdict; the interop tests re-run actool on every vector (so the data stay
honest) and compare our dumps with ``actool cat-manifest --pretty-print``.
"""

from __future__ import annotations

import json
import pathlib
import subprocess
import sys

from typing import Any, cast

import attrs
import pytest

from appc import ACIdentifier, ACName, ImageManifest, Labels, PodManifest, SemVer
from appc.errors import InvalidACKind, InvalidField, InvalidManifest
from appc.manifest import (
    MAX_MANIFEST_SIZE,
    dump_manifest,
    load_image_manifest,
    load_manifest,
    load_pod_manifest,
)
from appc.model import (
    Annotations,
    App,
    ExposedPort,
    RuntimeApp,
    RuntimeImage,
    UnknownIsolator,
    Volume,
)
from hypothesis import given
from hypothesis import strategies as st

from tests.manifest_vectors import Vector, load_vectors


EXAMPLES = pathlib.Path("/usr/share/doc/appc-spec/examples")
VECTORS = load_vectors()
VALID_IMAGE_VECTORS = [
    v
    for v in VECTORS
    if v.appc_valid and json.loads(v.document()).get("acKind") == "ImageManifest"
]


def _ids(vectors: list[Vector]) -> list[str]:
    return [vector.name for vector in vectors]


def _actool_validate(actool: str, path: pathlib.Path) -> tuple[int, str]:
    result = subprocess.run(
        [actool, "--debug", "validate", "--type=manifest", str(path)],
        capture_output=True,
        check=False,
    )
    lines = (
        (result.stdout + result.stderr).decode("utf-8", "replace").strip().splitlines()
    )
    return result.returncode, (lines[0].replace(f"{path}: ", "") if lines else "")


def _cat_manifest(actool: str, manifest: bytes, tmp_path: pathlib.Path) -> str:
    layout = tmp_path / "layout"
    (layout / "rootfs").mkdir(parents=True)
    (layout / "manifest").write_bytes(manifest)
    image = tmp_path / "image.aci"
    subprocess.run(
        [actool, "build", str(layout), str(image)], check=True, capture_output=True
    )
    result = subprocess.run(
        [actool, "cat-manifest", "--pretty-print", str(image)],
        check=True,
        capture_output=True,
    )
    return result.stdout.decode("utf-8")


def _absent_dropped(value: Any) -> Any:
    # Go writes a nil slice as null and an empty one as []: both mean absent.
    if isinstance(value, dict):
        items = cast("dict[str, Any]", value)
        return {
            k: _absent_dropped(v) for k, v in items.items() if v not in (None, [], {})
        }
    if isinstance(value, list):
        return [_absent_dropped(v) for v in value]  # pyright: ignore[reportUnknownVariableType]
    return value


# -- verdicts ------------------------------------------------------------------


def test_vectors_cover_every_go_table() -> None:
    sources = {vector.source.split(" ")[0] for vector in VECTORS}
    for table in (
        "schema/types/app_test.go",
        "schema/types/isolator_test.go",
        "schema/types/isolator_linux_specific_test.go",
        "schema/types/isolator_resources_test.go",
        "schema/types/isolator_unix_test.go",
        "schema/types/port_test.go",
        "schema/types/volume_test.go",
        "schema/types/environment_test.go",
        "schema/image_test.go",
        "schema/pod_test.go",
    ):
        assert table in sources


@pytest.mark.parametrize("vector", VECTORS, ids=_ids(VECTORS))
def test_vector_verdict(vector: Vector) -> None:
    document = vector.document()
    if vector.appc_valid:
        manifest = load_manifest(document)
        assert vector.actool_line == f"valid {manifest.ac_kind}"
        return
    with pytest.raises(InvalidManifest) as caught:
        load_manifest(document)
    assert caught.value.issues
    assert all(issue.path.startswith("$") for issue in caught.value.issues)
    assert not any("internal error" in issue.message for issue in caught.value.issues)


@pytest.mark.parametrize(
    "vector",
    [v for v in VECTORS if v.actool_exit == 1 and not v.appc_valid],
    ids=_ids([v for v in VECTORS if v.actool_exit == 1 and not v.appc_valid]),
)
def test_vector_summary_is_actools(vector: Vector) -> None:
    """Where actool says "error unmarshaling" or "invalid X", we say the same first words."""
    with pytest.raises(InvalidManifest) as caught:
        load_manifest(vector.document())
    if vector.why is None:
        assert vector.actool_line.startswith(caught.value.summary + ": ")


@pytest.mark.parametrize(
    "vector",
    [v for v in VECTORS if v.why is not None],
    ids=_ids([v for v in VECTORS if v.why is not None]),
)
def test_divergences_only_ever_refuse(vector: Vector) -> None:
    """Where we decide otherwise than actool, we refuse (never accept more)."""
    assert vector.appc_valid is False


@pytest.mark.interop
@pytest.mark.parametrize("vector", VECTORS, ids=_ids(VECTORS))
def test_vector_matches_actool(
    vector: Vector, actool: str, tmp_path: pathlib.Path
) -> None:
    path = tmp_path / "manifest.json"
    path.write_bytes(vector.document())
    code, line = _actool_validate(actool, path)
    assert (code, line) == (vector.actool_exit, vector.actool_line)
    if vector.why is None and code in (0, 1):
        assert vector.appc_valid == (code == 0)


@pytest.mark.interop
@pytest.mark.parametrize(
    "name", ["image.json", "pod_runtime.json", "pod_template.json"]
)
def test_spec_examples_validate_as_actool_says(name: str, actool: str) -> None:
    code, _ = _actool_validate(actool, EXAMPLES / name)
    manifest = load_manifest((EXAMPLES / name).read_bytes())
    assert code == 0
    assert manifest.ac_kind == (
        "ImageManifest" if name == "image.json" else "PodManifest"
    )


def test_spec_image_example_reads_fully() -> None:
    manifest = load_image_manifest((EXAMPLES / "image.json").read_bytes())
    assert manifest.name == "example.com/reduce-worker"
    assert manifest.labels["os"] == "linux"
    assert manifest.app is not None
    assert [i.name for i in manifest.app.isolators][:2] == [
        "resource/cpu",
        "resource/memory",
    ]
    assert manifest.dependencies[0].image_id == "sha512-..."


def test_spec_pod_template_has_no_image_ids() -> None:
    pod = load_pod_manifest((EXAMPLES / "pod_template.json").read_bytes())
    assert pod.ac_version == SemVer.parse("0.3.0")
    assert [app.image.id for app in pod.apps][1:] == [None, None]


# -- every problem, with its path ------------------------------------------------


def test_every_problem_is_reported_with_its_path() -> None:
    document = {
        "acKind": "ImageManifest",
        "acVersion": "0.8.11",
        "name": "Bad",
        "labels": [{"name": "os", "value": "linux"}, {"name": "os", "value": "linux"}],
        "app": {
            "user": "",
            "workingDirectory": "rel",
            "ports": [{"name": "p", "port": 0}, {"name": "q", "port": 80}],
            "isolators": [
                {"name": "resource/cpu", "value": {"limit": "100K", "default": True}},
                {"name": "os/linux/cpu-shares", "value": 1},
            ],
        },
        "dependencies": [{"imageName": "a", "size": -1}],
    }
    with pytest.raises(InvalidManifest) as caught:
        load_manifest(json.dumps(document))
    paths = [issue.path for issue in caught.value.issues]
    assert paths == [
        "$.name",
        "$.labels[1].name",
        "$.app.user",
        "$.app.group",
        "$.app.workingDirectory",
        "$.app.ports[0].port",
        "$.app.isolators[0].value.default",
        "$.app.isolators[0].value.limit",
        "$.app.isolators[1].value",
        "$.dependencies[0].size",
    ]
    assert caught.value.summary == "invalid ImageManifest"


def test_kind_errors_stop_before_the_body() -> None:
    with pytest.raises(InvalidManifest) as caught:
        load_manifest('{"acKind": "Pod", "acVersion": "x", "apps": 1}')
    assert caught.value.summary == "error unmarshaling manifest"
    assert [issue.path for issue in caught.value.issues] == [
        "$.acVersion",
        "$.acKind",
    ] or [issue.path for issue in caught.value.issues] == ["$.acKind", "$.acVersion"]


def test_load_image_manifest_refuses_a_pod() -> None:
    with pytest.raises(InvalidManifest) as caught:
        load_image_manifest(
            '{"acKind": "PodManifest", "acVersion": "0.8.11", "name": "a"}'
        )
    assert (
        str(caught.value.issues[0])
        == '$.acKind: missing or bad ACKind (must be "ImageManifest")'
    )


def test_load_pod_manifest_refuses_an_image() -> None:
    with pytest.raises(InvalidManifest) as caught:
        load_pod_manifest('{"acKind": "ImageManifest", "acVersion": "0.8.11"}')
    assert (
        caught.value.issues[0].message
        == 'missing or bad ACKind (must be "PodManifest")'
    )


# -- size limit ---------------------------------------------------------------


def test_manifest_at_the_size_limit_is_read() -> None:
    body = b'{"acKind": "ImageManifest", "acVersion": "0.8.11", "name": "a"}'
    document = body + b" " * (MAX_MANIFEST_SIZE - len(body))
    assert len(document) == MAX_MANIFEST_SIZE
    assert load_image_manifest(document).name == "a"


def test_manifest_over_the_size_limit_is_refused() -> None:
    body = b'{"acKind": "ImageManifest", "acVersion": "0.8.11", "name": "a"}'
    document = body + b" " * (MAX_MANIFEST_SIZE + 1 - len(body))
    with pytest.raises(InvalidManifest, match="more than the limit of 1048576"):
        load_manifest(document)


# -- dump -----------------------------------------------------------------------


@pytest.mark.interop
def test_dump_of_spec_example_is_byte_for_byte_cat_manifest(
    actool: str, tmp_path: pathlib.Path
) -> None:
    data = (EXAMPLES / "image.json").read_bytes()
    expected = _cat_manifest(actool, data, tmp_path)
    assert dump_manifest(load_manifest(data), indent=4) + "\n" == expected


@pytest.mark.interop
@pytest.mark.parametrize("vector", VALID_IMAGE_VECTORS, ids=_ids(VALID_IMAGE_VECTORS))
def test_dump_equals_cat_manifest(
    vector: Vector, actool: str, tmp_path: pathlib.Path
) -> None:
    expected = json.loads(_cat_manifest(actool, vector.document(), tmp_path))
    ours = json.loads(dump_manifest(load_manifest(vector.document()), indent=4))
    assert _absent_dropped(ours) == _absent_dropped(expected)


def test_blank_pod_dumps_as_go_marshals_it() -> None:
    # anchors.md 2.2, verified with Go's BlankPodManifest().
    expected = (
        '{"acVersion":"0.8.11","acKind":"PodManifest","apps":null,"volumes":null,'
        '"isolators":null,"annotations":null,"ports":null}'
    )
    assert dump_manifest(PodManifest()) == expected


def test_empty_volume_dumps_with_go_defaults() -> None:
    # anchors.md 1.18, verified: {"name":"v","kind":"empty","mode":"0755","uid":0,"gid":0}
    pod = PodManifest(volumes=(Volume(name=ACName("v"), kind="empty"),))
    assert json.loads(dump_manifest(pod))["volumes"] == [
        {"name": "v", "kind": "empty", "mode": "0755", "uid": 0, "gid": 0}
    ]


def test_port_dumps_all_five_fields() -> None:
    # anchors.md 1.17: "protocol":"","count":1,"socketActivated":false are always written
    manifest = load_manifest(
        '{"acKind": "ImageManifest", "acVersion": "0.8.11", "name": "a",'
        ' "app": {"user": "0", "group": "0", "ports": [{"name": "p", "port": 80}]}}'
    )
    assert json.loads(dump_manifest(manifest))["app"]["ports"] == [
        {"name": "p", "protocol": "", "port": 80, "count": 1, "socketActivated": False}
    ]


def test_dump_escapes_html_as_go() -> None:
    manifest = ImageManifest(
        name=ACIdentifier("a"), annotations=Annotations([("authors", "<a&b>")])
    )
    assert '"value":"\\u003ca\\u0026b\\u003e"' in dump_manifest(manifest)


def test_dump_refuses_other_objects() -> None:
    with pytest.raises(TypeError):
        dump_manifest(App(user="0", group="0"))  # type: ignore[arg-type]


@pytest.mark.parametrize(
    "vector",
    [v for v in VECTORS if v.appc_valid],
    ids=_ids([v for v in VECTORS if v.appc_valid]),
)
def test_round_trip(vector: Vector) -> None:
    manifest = load_manifest(vector.document())
    text = dump_manifest(manifest)
    again = load_manifest(text)
    assert again == manifest
    assert dump_manifest(again) == text
    assert hash(again) == hash(manifest)


def test_unknown_pod_isolator_survives_a_round_trip() -> None:
    document = (
        '{"acVersion": "0.8.11", "acKind": "PodManifest",'
        ' "isolators": [{"name": "example.com/gpu", "value": {"count": 2, "model": ["a", 1.50]}}]}'
    )
    pod = load_pod_manifest(document)
    gpu = pod.isolators[0]
    assert isinstance(gpu, UnknownIsolator)
    assert gpu == UnknownIsolator(name=ACIdentifier("example.com/gpu"), value=gpu.value)
    assert (
        json.loads(dump_manifest(pod))["isolators"] == json.loads(document)["isolators"]
    )
    assert '"model":["a",1.50]' in dump_manifest(pod)


# -- the models behind them ---------------------------------------------------------


def test_image_manifest_defaults_to_the_spec_version() -> None:
    assert ImageManifest(name=ACIdentifier("a")).ac_version == SemVer.parse("0.8.11")


def test_image_manifest_refuses_another_kind() -> None:
    with pytest.raises(InvalidACKind, match='must be "ImageManifest"'):
        ImageManifest(name=ACIdentifier("a"), ac_kind="PodManifest")  # type: ignore[arg-type]


def test_pod_refuses_duplicate_app_names() -> None:
    app = RuntimeApp(name=ACName("web"), image=RuntimeImage(id=None))
    with pytest.raises(InvalidField, match='duplicate apps of name "web"'):
        PodManifest(apps=(app, app))


def test_evolve_revalidates() -> None:
    manifest = ImageManifest(name=ACIdentifier("a"))
    assert (
        attrs.evolve(manifest, labels=Labels([("os", "linux")])).labels["os"] == "linux"
    )
    with pytest.raises(InvalidACKind):
        attrs.evolve(manifest, ac_kind="x")  # type: ignore[arg-type]


def test_lists_become_tuples() -> None:
    manifest = ImageManifest(name=ACIdentifier("a"), path_whitelist=["/a"])  # type: ignore[arg-type]
    assert manifest.path_whitelist == ("/a",)
    assert hash(manifest) == hash(
        ImageManifest(name=ACIdentifier("a"), path_whitelist=("/a",))
    )


def test_repr_html_escapes_every_value() -> None:
    manifest = load_image_manifest((EXAMPLES / "image.json").read_bytes())
    html = manifest._repr_html_()
    assert "Carly Container &lt;carly@example.com&gt;" in html
    assert "<carly" not in html
    assert "example.com/reduce-worker" in html
    pod = load_pod_manifest((EXAMPLES / "pod_runtime.json").read_bytes())
    pod = attrs.evolve(pod, annotations=Annotations([("note", "<script>")]))
    assert "&lt;script&gt;" in pod._repr_html_()
    assert "<script>" not in pod._repr_html_()


def test_repr_pretty_prints_the_indented_json() -> None:
    printed: list[str] = []

    class Printer:
        def text(self, text: str) -> None:
            printed.append(text)

    manifest = ImageManifest(name=ACIdentifier("a"))
    manifest._repr_pretty_(Printer(), False)
    PodManifest()._repr_pretty_(Printer(), False)
    assert printed[0] == dump_manifest(manifest, indent=4)
    assert json.loads(printed[1])["acKind"] == "PodManifest"


def test_exposed_port_keeps_an_ipv4_address_in_ipv6_form_as_ipv4() -> None:
    pod = load_pod_manifest(
        '{"acKind": "PodManifest", "acVersion": "0.8.11",'
        ' "ports": [{"name": "p", "hostPort": 1, "hostIP": "::ffff:1.2.3.4"}]}'
    )
    assert str(pod.ports[0].host_ip) == "1.2.3.4"
    assert json.loads(dump_manifest(pod))["ports"][0]["hostIP"] == "1.2.3.4"
    assert ExposedPort(name=ACName("p")).host_ip is None


# -- fuzz -----------------------------------------------------------------------

_json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(),
    lambda children: st.lists(children) | st.dictionaries(st.text(), children),
    max_leaves=25,
)
_keys = st.sampled_from(
    [
        "acKind", "acVersion", "name", "labels", "app", "annotations", "dependencies",
        "pathWhitelist", "apps", "volumes", "isolators", "ports", "user", "group", "exec",
        "value", "id", "image", "kind", "source", "mode", "uid", "port", "count", "hostIP",
    ]
)  # fmt: skip
_manifest_like = st.recursive(
    st.none()
    | st.booleans()
    | st.integers()
    | st.text(max_size=8)
    | st.sampled_from(
        [
            "ImageManifest",
            "PodManifest",
            "0.8.11",
            "resource/cpu",
            "empty",
            "host",
            "/x",
        ]
    ),
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(_keys, children, max_size=6)
    ),
    max_leaves=40,
)


def _load_or_error(data: bytes | str) -> ImageManifest | PodManifest | InvalidManifest:
    try:
        return load_manifest(data)
    except InvalidManifest as exc:
        return exc


def _only_invalid_manifest(data: bytes | str) -> None:
    result = _load_or_error(data)
    if isinstance(result, InvalidManifest):
        assert not any("internal error" in issue.message for issue in result.issues), (
            result
        )


@given(st.binary(max_size=300))
def test_fuzz_bytes(data: bytes) -> None:
    _only_invalid_manifest(data)


@given(_json_values)
def test_fuzz_any_json(value: Any) -> None:
    _only_invalid_manifest(json.dumps(value))


@given(_manifest_like, st.sampled_from(["ImageManifest", "PodManifest"]))
def test_fuzz_manifest_shaped_json(body: Any, kind: str) -> None:
    document = {"acKind": kind, "acVersion": "0.8.11", "name": "a"}
    if isinstance(body, dict):
        document.update(cast("dict[str, Any]", body))
    result = _load_or_error(json.dumps(document))
    if isinstance(result, InvalidManifest):
        assert not any("internal error" in issue.message for issue in result.issues), (
            result
        )
    else:
        assert load_manifest(dump_manifest(result)) == result


def test_repr_html_of_small_manifests() -> None:
    bare = ImageManifest(name=ACIdentifier("a"), app=App(user="0", group="0"))
    html = bare._repr_html_()
    assert "<i>none</i>" in html
    assert "labels" not in html
    assert "ports" not in html
    pod = PodManifest(apps=(RuntimeApp(name=ACName("web")),))
    assert "<code>?</code>" in pod._repr_html_()


def test_version_and_light_import() -> None:
    import appc

    assert isinstance(appc.__version__, str)
    with pytest.raises(AttributeError):
        appc.no_such_name  # noqa: B018
    code = (
        'import sys, appc; appc.load_manifest(b\'{"acKind": "PodManifest"}\');'
        "heavy = {'pgpy', 'urllib3', 'tarfile', 'hypothesis'} & {m.split('.')[0] for m in sys.modules};"
        "sys.exit(len(heavy))"
    )
    assert subprocess.run([sys.executable, "-c", code], check=False).returncode == 0
