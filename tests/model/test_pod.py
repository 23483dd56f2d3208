"""Pod parts: volumes with Go's defaults, mounts, runtime apps and images, exposed ports."""

from __future__ import annotations

import ipaddress

import pytest

from appc.errors import InvalidField
from appc.image_id import ImageHash
from appc.labels import Labels
from appc.model import (
    EMPTY_VOLUME_DEFAULT_GID,
    EMPTY_VOLUME_DEFAULT_MODE,
    EMPTY_VOLUME_DEFAULT_UID,
    ExposedPort,
    Mount,
    Port,
    RuntimeApp,
    RuntimeImage,
    Volume,
)
from appc.model._base import collect_problems
from appc.names import ACIdentifier, ACName


def test_empty_volume_gets_go_defaults() -> None:
    # volume.go: emptyVolumeDefaultMode "0755", UID 0, GID 0 (volume_test.go "foobar,kind=empty")
    assert (
        EMPTY_VOLUME_DEFAULT_MODE,
        EMPTY_VOLUME_DEFAULT_UID,
        EMPTY_VOLUME_DEFAULT_GID,
    ) == ("0755", 0, 0)
    volume = Volume(name=ACName("foobar"), kind="empty")
    assert (volume.mode, volume.uid, volume.gid, volume.read_only) == (
        "0755",
        0,
        0,
        None,
    )
    custom = Volume(name=ACName("foobar"), kind="empty", mode="0777", uid=1000)
    assert (custom.mode, custom.uid, custom.gid) == ("0777", 1000, 0)


def test_host_volume_takes_no_defaults() -> None:
    volume = Volume(name=ACName("foobar"), kind="host", source="/tmp", recursive=False)
    assert (volume.mode, volume.uid, volume.gid, volume.recursive) == (
        None,
        None,
        None,
        False,
    )


@pytest.mark.parametrize(
    ("fields", "messages"),
    [
        ({"kind": "empty", "source": "/x"}, ["source for empty volume must be empty"]),
        ({"kind": "host"}, ["source for host volume cannot be empty"]),
        (
            {"kind": "host", "source": "x"},
            ["source for host volume must be absolute path"],
        ),
        (
            {"kind": "host", "source": "/x", "mode": "", "uid": 0, "gid": 0},
            [
                "mode for host volume cannot be set",
                "uid for host volume cannot be set",
                "gid for host volume cannot be set",
            ],
        ),
        (
            {"kind": "tmpfs"},
            ['unrecognized volume kind: should be one of "empty", "host"'],
        ),
        (
            {"kind": "empty", "uid": 2**63},
            ["uid 9223372036854775808 does not fit in 64 bits"],
        ),
    ],
)
def test_volume_rules(fields: dict[str, object], messages: list[str]) -> None:
    problems = collect_problems(Volume, {"name": ACName("v"), **fields})
    assert [str(p.error) for p in problems] == messages
    with pytest.raises(InvalidField, match=messages[0]):
        Volume(name=ACName("v"), **fields)  # type: ignore[arg-type]


def test_mount_path_is_not_checked() -> None:
    mount = Mount(volume=ACName("v"))
    assert mount.path == ""
    assert (
        Mount(
            volume=ACName("v"),
            path="/p",
            app_volume=Volume(name=ACName("x"), kind="empty"),
        ).app_volume
        is not None
    )


def test_runtime_image_may_lack_an_id() -> None:
    image = RuntimeImage(
        name=ACIdentifier("example.com/app"), labels=Labels([("version", "1")])
    )
    assert image.id is None
    assert RuntimeImage(id=ImageHash("sha512-zz")).id == "sha512-zz"


def test_runtime_app_defaults() -> None:
    app = RuntimeApp(name=ACName("web"))
    assert (app.app, app.read_only_root_fs, app.mounts, len(app.annotations)) == (
        None,
        False,
        (),
        0,
    )


def test_exposed_port() -> None:
    port = ExposedPort(
        name=ACName("http"), host_port=0, pod_port=Port(name=ACName("http"), port=80)
    )
    assert port.host_port == 0
    mapped = ExposedPort(
        name=ACName("p"), host_ip=ipaddress.IPv6Address("::ffff:10.0.0.1")
    )
    assert mapped.host_ip == ipaddress.IPv4Address("10.0.0.1")
    assert ExposedPort(
        name=ACName("p"), host_ip=ipaddress.IPv6Address("::1")
    ).host_ip == ipaddress.IPv6Address("::1")
    with pytest.raises(InvalidField, match="hostPort must be from 0 to 2\\*\\*64-1"):
        ExposedPort(name=ACName("p"), host_port=-1)
    with pytest.raises(InvalidField, match="cannot have a zone"):
        ExposedPort(name=ACName("p"), host_ip=ipaddress.IPv6Address("fe80::1%eth0"))
    with pytest.raises(InvalidField, match="must be an IPv4Address or IPv6Address"):
        ExposedPort(name=ACName("p"), host_ip="1.2.3.4")  # type: ignore[arg-type]
