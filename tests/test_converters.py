# pyright: reportPrivateUsage=false
"""The converter: camelCase table, Go's key and null rules, error paths, isolator values."""

from __future__ import annotations

import json
import pathlib
import subprocess

from collections.abc import Callable
from typing import Any

import attrs
import cattrs
import pytest

from appc import ACIdentifier, ACName, ImageManifest, PodManifest
from appc import converters as conv_module
from appc.converters import (
    IRREGULAR_KEYS,
    converter,
    issues_from,
    make_converter,
    manifest_class,
    structure_manifest,
    wire_key,
)
from appc.errors import InvalidManifest
from appc.manifest import dump_manifest, load_image_manifest, load_manifest
from appc.model import (
    App,
    Dependency,
    Environment,
    ExposedPort,
    FrozenDict,
    Isolator,
    KnownIsolator,
    LinuxCapabilitiesRemoveSet,
    LinuxCapabilitiesRetainSet,
    LinuxCPUShares,
    LinuxNoNewPrivileges,
    LinuxOOMScoreAdj,
    LinuxSeccompRemoveSet,
    LinuxSeccompRetainSet,
    LinuxSELinuxContext,
    MountPoint,
    Port,
    ResourceBlockBandwidth,
    ResourceBlockIOPS,
    ResourceCPU,
    ResourceMemory,
    ResourceNetworkBandwidth,
    RuntimeApp,
    UnixSysctl,
    UnknownIsolator,
)
from appc.quantity import Quantity


def _issues(value: Any, cls: type, conv: cattrs.Converter = converter) -> list[str]:
    with pytest.raises(Exception) as caught:
        conv.structure(value, cls)
    return [str(issue) for issue in issues_from(caught.value)]


def _app(**fields: Any) -> dict[str, Any]:
    return {
        "acKind": "ImageManifest",
        "acVersion": "0.8.11",
        "name": "a",
        "app": {"user": "0", "group": "0", **fields},
    }


# -- keys -------------------------------------------------------------------------


def test_irregular_keys_are_exactly_the_four() -> None:
    assert dict(IRREGULAR_KEYS) == {
        "supplementary_gids": "supplementaryGIDs",
        "image_id": "imageID",
        "host_ip": "hostIP",
        "read_only_root_fs": "readOnlyRootFS",
    }


IRREGULAR_CASES: list[tuple[dict[str, Any], Callable[[Any], bool]]] = [
        (_app(supplementaryGIDs=[5]), lambda m: m.app.supplementary_gids == (5,)),
        (
            {"acKind": "ImageManifest", "acVersion": "0.8.11", "name": "a",
             "dependencies": [{"imageName": "b", "imageID": "sha512-x"}]},
            lambda m: m.dependencies[0].image_id == "sha512-x",
        ),
        (
            {"acKind": "PodManifest", "acVersion": "0.8.11", "ports": [{"name": "p", "hostIP": "10.0.0.1"}]},
            lambda m: str(m.ports[0].host_ip) == "10.0.0.1",
        ),
        (
            {"acKind": "PodManifest", "acVersion": "0.8.11",
             "apps": [{"name": "a", "image": {"id": "sha512-x"}, "readOnlyRootFS": True}]},
            lambda m: m.apps[0].read_only_root_fs,
        ),
    ]  # fmt: skip


@pytest.mark.parametrize(("document", "check"), IRREGULAR_CASES)
def test_irregular_keys_read_and_write(
    document: dict[str, Any], check: Callable[[Any], bool]
) -> None:
    manifest = load_manifest(json.dumps(document))
    assert check(manifest)
    assert json.loads(dump_manifest(manifest)) == json.loads(
        dump_manifest(load_manifest(json.dumps(document)))
    )
    for key in IRREGULAR_KEYS.values():
        if key in json.dumps(document):
            assert f'"{key}"' in dump_manifest(manifest)


def test_wire_key_camel_cases() -> None:
    assert [wire_key(n) for n in ("ac_kind", "event_handlers", "user", "app_volume")] == [
        "acKind", "eventHandlers", "user", "appVolume",
    ]  # fmt: skip


def test_keys_match_in_any_case_as_in_go() -> None:
    manifest = load_image_manifest(
        '{"ACKIND": "ImageManifest", "AcVersion": "0.8.11", "NAME": "a"}'
    )
    assert manifest.name == "a"
    # Go folds the Kelvin sign onto k and the long s onto s (verified with actool).
    assert (
        load_image_manifest(
            '{"ac\\u212aind": "ImageManifest", "acVersion": "0.8.11", "name": "a"}'
        ).name
        == "a"
    )


def test_two_keys_for_one_field_are_refused() -> None:
    with pytest.raises(InvalidManifest) as caught:
        load_manifest(
            '{"acKind": "ImageManifest", "acVersion": "0.8.11", "name": "a", "Name": "b"}'
        )
    assert (
        str(caught.value.issues[0]) == '$.Name: keys "name" and "Name" both set "name"'
    )


def test_unknown_keys_are_ignored() -> None:
    assert (
        load_image_manifest(json.dumps({**_app(), "future": {"x": 1}})).app is not None
    )


def test_strict_converter_refuses_unknown_and_case_variant_keys() -> None:
    strict = make_converter(strict=True)
    document: dict[str, Any] = {**_app(), "Labels": [], "future": 1}
    with pytest.raises(InvalidManifest) as caught:
        structure_manifest(document, ImageManifest, conv=strict)
    assert [str(i) for i in caught.value.issues] == [
        '$.Labels: unknown key "Labels"',
        '$.future: unknown key "future"',
    ]
    assert structure_manifest(_app(), ImageManifest, conv=strict).app is not None


def test_strict_converter_checks_inside_isolator_values_and_labels() -> None:
    strict = make_converter(strict=True)
    value = {"name": "resource/cpu", "value": {"limit": "1", "Request": "1"}}
    assert _issues({"user": "0", "group": "0", "isolators": [value]}, App, strict) == [
        '$.isolators[0].value.Request: unknown key "Request"'
    ]
    labels = {
        "name": "a",
        "image": {"labels": [{"name": "os", "value": "linux", "x": 1}]},
    }
    assert _issues(labels, RuntimeApp, strict) == [
        '$.image.labels[0].x: unknown key "x"'
    ]


# -- nulls and zero values ---------------------------------------------------------


def test_null_is_the_zero_value() -> None:
    manifest = load_image_manifest(
        json.dumps(_app(exec=None, ports=None, environment=None, workingDirectory=None))
    )
    assert manifest.app is not None
    assert manifest.app.exec == ()
    assert manifest.app.working_directory == ""
    assert _issues({"name": None, "port": 1}, Port) == [
        "$.name: ACName cannot be empty"
    ]


def test_a_missing_name_is_reported_as_must_be_set() -> None:
    assert _issues({"path": "/x"}, MountPoint) == ["$.name: name must be set"]
    assert _issues({}, Dependency) == ["$.imageName: imageName cannot be empty"]


def test_port_count_zero_means_one() -> None:
    assert converter.structure({"name": "p", "port": 9, "count": 0}, Port).count == 1


def test_unsigned_fields_refuse_negative_zero_signed_fields_take_it() -> None:
    text = json.dumps(_app(ports=[{"name": "p", "port": 8}], supplementaryGIDs=["Z"]))
    text = text.replace('"port": 8', '"port": 8, "count": -0').replace('["Z"]', "[-0]")
    with pytest.raises(InvalidManifest) as caught:
        load_manifest(text)
    assert [str(i) for i in caught.value.issues] == [
        "$.app.ports[0].count: expected an unsigned integer, not -0"
    ]


def test_numbers_must_be_integer_literals_in_range() -> None:
    assert _issues({"name": "p", "port": True}, Port) == [
        "$.port: expected an integer, not a boolean"
    ]
    assert _issues({"name": "p", "hostPort": 2**64}, ExposedPort) == [
        "$.hostPort: the number 18446744073709551616 does not fit in an unsigned 64-bit integer"
    ]
    assert _issues(
        {"user": "0", "group": "0", "supplementaryGIDs": [-(2**63) - 1]}, App
    ) == [
        "$.supplementaryGIDs[0]: the number -9223372036854775809 does not fit in a 64-bit integer"
    ]


def test_type_errors_name_what_was_expected() -> None:
    assert _issues({"name": "p", "readOnly": "yes"}, MountPoint) == [
        "$.readOnly: expected true or false, not a string"
    ]
    assert _issues({"user": "0", "group": "0", "exec": {}}, App) == [
        "$.exec: expected a list (a JSON array), not an object"
    ]
    assert _issues("x", App) == ["$: expected App (a JSON object), not a string"]


# -- errors from plain cattrs too -------------------------------------------------------


def test_issues_from_a_plain_cattrs_error() -> None:
    @attrs.frozen
    class Point:
        x_value: int
        items: list[int]

    plain = cattrs.Converter(detailed_validation=True)
    with pytest.raises(cattrs.ClassValidationError) as caught:
        plain.structure({"x_value": "a", "items": [1, "b"]}, Point)
    assert [str(i) for i in issues_from(caught.value)] == [
        "$.xValue: internal error: ValueError: invalid literal for int() with base 10: 'a'",
        "$.items[1]: internal error: ValueError: invalid literal for int() with base 10: 'b'",
    ]


def test_issues_from_a_single_error() -> None:
    assert [str(i) for i in issues_from(ValueError("x"))] == [
        "$: internal error: ValueError: x"
    ]


# -- manifest kinds -----------------------------------------------------------------


def test_manifest_class() -> None:
    assert (
        manifest_class({"acKind": "ImageManifest", "acVersion": "1.0.0"})
        is ImageManifest
    )
    assert manifest_class({"acKind": "PodManifest"}) is PodManifest
    cases: list[tuple[Any, str]] = [
        ([], "$: a manifest is a JSON object, not an array"),
        (None, "$.acKind: ACKind must be set"),
        ({"acKind": 1}, "$.acKind: expected a string, not a number"),
        (
            {"acKind": "PodManifest", "acVersion": "0.0.0"},
            "$.acVersion: SemVer cannot be zero",
        ),
    ]
    for document, message in cases:
        with pytest.raises(InvalidManifest) as caught:
            manifest_class(document)
        assert str(caught.value.issues[0]) == message


# -- isolators ---------------------------------------------------------------------

MADE_IN_PYTHON: list[Isolator] = [
    ResourceCPU(request=Quantity.parse("250m"), limit=Quantity.parse("1")),
    ResourceMemory(limit=Quantity.parse("1Gi")),
    ResourceBlockBandwidth(limit=Quantity.parse("10M")),
    ResourceBlockIOPS(),
    ResourceNetworkBandwidth(limit=Quantity.parse("1G")),
    LinuxCapabilitiesRetainSet(capabilities=("CAP_KILL",)),
    LinuxNoNewPrivileges(enabled=True),
    LinuxSeccompRetainSet(syscalls=("read",), errno="EPERM"),
    LinuxOOMScoreAdj(adjustment=-500),
    LinuxCPUShares(shares=512),
    LinuxSELinuxContext(user="u", role="r", type="t", level="s0:c1"),
    UnixSysctl(parameters=FrozenDict({"b": "2", "a": "1"})),
]


@pytest.mark.parametrize("isolator", MADE_IN_PYTHON, ids=lambda i: i.name)
def test_isolators_made_in_python_round_trip(isolator: Any) -> None:
    app = App(user="0", group="0", isolators=(isolator,))
    manifest = ImageManifest(name=ACIdentifier("a"), app=app)
    again = load_image_manifest(dump_manifest(manifest))
    assert again == manifest
    assert again.app is not None
    read = again.app.isolators[0]
    assert isinstance(read, KnownIsolator)
    assert read.raw_value is not None


@pytest.mark.interop
def test_isolators_made_in_python_pass_actool(
    actool: str, tmp_path: pathlib.Path
) -> None:
    # One app per isolator kind that allows it; the two seccomp sets conflict.
    for index, isolator in enumerate(
        [
            *MADE_IN_PYTHON,
            LinuxCapabilitiesRemoveSet(capabilities=("CAP_X",)),
            LinuxSeccompRemoveSet(syscalls=("x",)),
        ]
    ):
        manifest = ImageManifest(
            name=ACIdentifier("a"), app=App(user="0", group="0", isolators=(isolator,))
        )
        path = tmp_path / f"{index}.json"
        path.write_text(dump_manifest(manifest))
        result = subprocess.run(
            [actool, "validate", str(path)], capture_output=True, check=False
        )
        assert result.returncode == 0, (isolator, result.stderr)


def test_isolator_values_are_written_back_as_received() -> None:
    value = {"LIMIT": " 1024Mi ", "default": False, "extra": [1.50, None]}
    document = _app(isolators=[{"name": "resource/memory", "value": value}])
    manifest = load_manifest(json.dumps(document))
    assert json.loads(dump_manifest(manifest))["app"]["isolators"][0]["value"] == value


def test_an_evolved_isolator_is_written_from_its_fields() -> None:
    document = _app(
        isolators=[{"name": "resource/memory", "value": {"limit": "1024Mi"}}]
    )
    manifest = load_image_manifest(json.dumps(document))
    assert manifest.app is not None
    isolator = manifest.app.isolators[0]
    assert isinstance(isolator, ResourceMemory)
    changed = attrs.evolve(isolator, limit=Quantity.parse("2Gi"))
    assert changed.raw_value == isolator.raw_value  # stale, so not used
    app = attrs.evolve(manifest.app, isolators=(changed,))
    written = json.loads(dump_manifest(attrs.evolve(manifest, app=app)))
    assert written["app"]["isolators"][0]["value"] == {"default": False, "limit": "2Gi"}


def test_a_raw_value_that_no_longer_reads_is_not_used() -> None:
    shares = LinuxCPUShares(shares=4, raw_value="garbage")
    app = App(user="0", group="0", isolators=(shares,))
    written = json.loads(dump_manifest(ImageManifest(name=ACIdentifier("a"), app=app)))
    assert written["app"]["isolators"][0]["value"] == 4


def test_unknown_isolator_value_survives() -> None:
    pod = load_manifest(
        '{"acKind": "PodManifest", "isolators": [{"name": "x/y", "value": {"b": [1, {"c": null}]}}]}'
    )
    assert isinstance(pod, PodManifest)
    unknown = pod.isolators[0]
    assert isinstance(unknown, UnknownIsolator)
    assert unknown == UnknownIsolator(name=ACIdentifier("x/y"), value=unknown.value)
    assert json.loads(dump_manifest(pod))["isolators"][0]["value"] == {
        "b": [1, {"c": None}]
    }
    no_value = load_manifest(
        '{"acKind": "PodManifest", "isolators": [{"name": "x/y"}]}'
    )
    assert isinstance(no_value, PodManifest)
    assert json.loads(dump_manifest(no_value))["isolators"] == [
        {"name": "x/y", "value": None}
    ]


def test_quantities_are_read_from_their_json_text() -> None:
    document = _app(
        isolators=[{"name": "resource/cpu", "value": {"request": 0.5, "limit": 2}}]
    )
    manifest = load_image_manifest(json.dumps(document))
    assert manifest.app is not None
    cpu = manifest.app.isolators[0]
    assert isinstance(cpu, ResourceCPU)
    assert cpu.request is not None
    assert cpu.request.milli_value() == 500
    assert cpu.limit is not None
    assert cpu.limit.value() == 2
    assert _issues(
        {
            "user": "0",
            "group": "0",
            "isolators": [{"name": "resource/cpu", "value": {"limit": [1]}}],
        },
        App,
    ) == [
        "$.isolators[0].value.limit: a quantity must be a string or a number, not an array"
    ]


def test_known_isolator_without_value_is_a_clean_error() -> None:
    assert _issues(
        {"user": "0", "group": "0", "isolators": [{"name": "os/linux/cpu-shares"}]}, App
    ) == ["$.isolators[0].value: isolator os/linux/cpu-shares needs a value"]


def test_isolator_problem_paths_point_into_the_value() -> None:
    isolators: list[dict[str, Any]] = [
        {"name": "os/linux/capabilities-remove-set", "value": {"set": []}},
        {
            "name": "os/linux/seccomp-remove-set",
            "value": {"set": ["a"], "errno": "bad"},
        },
        {"name": "os/linux/oom-score-adj", "value": 5000},
        {
            "name": "os/linux/selinux-context",
            "value": {"user": "a:b", "role": "r", "type": "t", "level": "l"},
        },
        {"name": "os/unix/sysctl", "value": {"k.x": 1}},
        {"name": "resource/block-iops", "value": {"default": False, "request": "1"}},
        {"name": "x/y"},
        {"value": 1},
    ]
    assert _issues({"user": "0", "group": "0", "isolators": isolators}, App) == [
        "$.isolators[0].value.set: set must be non-empty",
        "$.isolators[1].value.errno: errno must start with an 'E' character, got bad",
        "$.isolators[2].value: os/linux/oom-score-adj must be between -1000 and 1000, got 5000",
        '$.isolators[3].value.user: invalid user value "a:b"',
        '$.isolators[4].value["k.x"]: expected a string, not a number',
        "$.isolators[5].value.default: default must be true",
        "$.isolators[5].value.request: request not supported by this resource, must be empty",
        "$.isolators[7].name: name must be set",
    ]


def test_environment_problems_point_at_the_variable() -> None:
    assert _issues([{"name": "A"}, {"name": "1"}, {"name": "A"}], Environment) == [
        '$[1].name: environment variable does not have valid identifier "1"',
    ]
    assert _issues([{"name": "A"}, {"name": "A"}], Environment) == [
        '$[1]: duplicate environment variable of name "A"'
    ]


def test_user_maps_are_written_sorted_as_go_writes_maps() -> None:
    manifest = load_manifest(json.dumps(_app(userLabels={"b": "1", "a": "2"})))
    assert dump_manifest(manifest).endswith('"userLabels":{"a":"2","b":"1"}}}')


def test_module_converter_is_not_the_global_one() -> None:
    assert converter is not cattrs.global_converter
    assert conv_module.converter is converter
    assert make_converter() is not make_converter()


def test_configure_converter_on_a_fresh_converter() -> None:
    fresh = cattrs.Converter()
    conv_module.configure_converter(fresh)
    port = fresh.structure({"name": "p", "port": 1}, Port)
    assert fresh.unstructure(port)["count"] == 1
    assert fresh.unstructure(ACName("x")) == "x"


def test_more_error_shapes() -> None:
    assert conv_module._json_kind(None) == "null"
    labels = {
        "acKind": "ImageManifest",
        "acVersion": "0.8.11",
        "name": "a",
        "labels": [1, {"name": "os"}],
    }
    with pytest.raises(InvalidManifest) as caught:
        load_manifest(json.dumps(labels))
    assert [str(i) for i in caught.value.issues] == [
        "$.labels[0]: expected a name and a value (a JSON object), not a number",
        '$.labels[1].value: bad os "" (must be one of: [darwin freebsd linux])',
    ]
    assert load_image_manifest(json.dumps(_app(userAnnotations=None))).app is not None


def test_issues_from_notes_and_errors_of_every_kind() -> None:
    inner = InvalidManifest("nested")
    inner.add_note("a plain note, not a place")
    group = ExceptionGroup("g", [inner])
    assert [str(i) for i in issues_from(group)] == ["$: nested"]
