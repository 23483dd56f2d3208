"""The app model: Go's rules (schema/types/app.go and friends), checked at construction."""

from __future__ import annotations

import attrs
import pytest

from appc.errors import InvalidField, InvalidIsolator
from appc.model import (
    EVENT_HANDLER_NAMES,
    App,
    Environment,
    EnvironmentVariable,
    EventHandler,
    LinuxCPUShares,
    MountPoint,
    Port,
    UnknownIsolator,
)
from appc.model._base import collect_problems
from appc.names import ACIdentifier, ACName


def test_event_handler_names() -> None:
    assert frozenset({"pre-start", "post-stop"}) == EVENT_HANDLER_NAMES
    assert EventHandler(name="post-stop").exec == ()
    with pytest.raises(InvalidField, match='eventHandler "name" cannot be empty'):
        EventHandler(name="")
    with pytest.raises(InvalidField, match='bad eventHandler "name": "start"'):
        EventHandler(name="start")


@pytest.mark.parametrize("name", ["DEBUG", "_0_DEBUG_0_", "DEBUG.0", "DEBUG-0", "a"])
def test_environment_names_go_accepts(name: str) -> None:
    # schema/types/environment_test.go, accepted forms
    assert EnvironmentVariable(name=name).name == name


@pytest.mark.parametrize("name", ["0DEBUG", "VERBOSE|DEBUG", "A=B", "", "é"])
def test_environment_names_go_refuses(name: str) -> None:
    with pytest.raises(InvalidField, match="environment variable"):
        EnvironmentVariable(name=name, value="x")


def test_environment_is_an_ordered_immutable_mapping() -> None:
    env = Environment.from_pairs([("B", "2"), ("A", "1")])
    assert list(env.items()) == [("B", "2"), ("A", "1")]
    assert env["A"] == "1"
    assert "C" not in env
    with pytest.raises(KeyError):
        env["C"]
    assert len(env) == 2
    assert hash(env) == hash(Environment.from_pairs({"B": "2", "A": "1"}))
    assert (
        Environment.from_pairs([("a", "1"), ("A", "2")])["a"] == "1"
    )  # names are case-sensitive
    with pytest.raises(
        InvalidField, match='duplicate environment variable of name "B"'
    ):
        Environment.from_pairs([("B", "1"), ("B", "1")])


def test_app_needs_user_and_group() -> None:
    with pytest.raises(InvalidField, match="user is required"):
        App(user="", group="0")
    with pytest.raises(InvalidField, match="group is required"):
        App(user="0", group="")
    problems = collect_problems(App, {"user": "", "group": ""})
    assert [(p.path, str(p.error)) for p in problems] == [
        (("user",), "user is required"),
        (("group",), "group is required"),
    ]


@pytest.mark.parametrize("directory", ["/", "/tmp", "/a/../..", ""])
def test_working_directory_absolute_or_empty(directory: str) -> None:
    assert (
        App(user="0", group="0", working_directory=directory).working_directory
        == directory
    )


@pytest.mark.parametrize("directory", ["stuff", "../home/fred", "./x"])
def test_working_directory_relative(directory: str) -> None:
    with pytest.raises(InvalidField, match="workingDirectory must be an absolute path"):
        App(user="0", group="0", working_directory=directory)


def test_exec_is_not_checked() -> None:
    # schema/types/exec.go: no validation (anchors.md 1.12)
    assert App(user="0", group="0", exec=("bin/app", "")).exec == ("bin/app", "")


def test_event_handlers_unique() -> None:
    handlers = (
        EventHandler(name="post-stop"),
        EventHandler(name="pre-start"),
        EventHandler(name="post-stop"),
    )
    with pytest.raises(
        InvalidField, match='Only one eventHandler of name "post-stop" allowed'
    ):
        App(user="0", group="0", event_handlers=handlers)


def test_supplementary_gids_are_go_ints() -> None:
    assert (
        App(user="0", group="0", supplementary_gids=(-1, 2**63 - 1)).supplementary_gids[
            0
        ]
        == -1
    )
    with pytest.raises(InvalidField, match="does not fit in 64 bits"):
        App(user="0", group="0", supplementary_gids=(2**63,))


def test_mount_points_are_not_checked_beyond_their_name() -> None:
    point = MountPoint(name=ACName("db"))
    assert (point.path, point.read_only) == ("", False)
    assert App(user="0", group="0", mount_points=(point, point)).mount_points == (
        point,
        point,
    )


@pytest.mark.parametrize(
    ("port", "count", "message"),
    [
        (0, 1, "port must be in 1-65535 range"),
        (65536, 1, "port must be in 1-65535 range"),
        (32456, 45678, "end of port range must be in 1-65535 range"),
        (65535, 2, "end of port range must be in 1-65535 range"),
        (1, 2**64 - 1, "end of port range must be in 1-65535 range"),
        (80, 0, "count must be at least 1"),
    ],
)
def test_port_ranges(port: int, count: int, message: str) -> None:
    with pytest.raises(InvalidField, match=message):
        Port(name=ACName("p"), port=port, count=count)


def test_port_good_ranges() -> None:
    # schema/types/port_test.go TestGoodPort, and the last port
    assert Port(name=ACName("p"), port=32456, count=100).count == 100
    assert Port(name=ACName("p"), port=65535).count == 1


def test_app_refuses_an_unknown_isolator_and_bad_sets() -> None:
    unknown = UnknownIsolator(name=ACIdentifier("x/y"), value=1)
    with pytest.raises(
        InvalidIsolator, match='invalid isolator: "x/y" is not a known isolator'
    ):
        App(user="0", group="0", isolators=(unknown,))
    shares = LinuxCPUShares(shares=2)
    with pytest.raises(
        InvalidIsolator, match="too many instances of type os/linux/cpu-shares"
    ):
        App(user="0", group="0", isolators=(shares, shares))
    problems = collect_problems(
        App, {"user": "0", "group": "0", "isolators": (unknown, shares, shares)}
    )
    assert [p.path for p in problems] == [("isolators", 0), ("isolators", 2)]


def test_app_is_frozen_hashable_and_evolves() -> None:
    app = App(user="0", group="0", exec=["/bin/sh"])  # type: ignore[arg-type]
    assert app.exec == ("/bin/sh",)
    with pytest.raises(attrs.exceptions.FrozenInstanceError):
        app.user = "1"  # type: ignore[misc]
    assert hash(app) == hash(App(user="0", group="0", exec=("/bin/sh",)))
    assert attrs.evolve(app, user="1").user == "1"
    with pytest.raises(InvalidField):
        attrs.evolve(app, group="")
