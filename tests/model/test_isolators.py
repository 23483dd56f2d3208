"""Isolators: each kind's value rules, the set rules, the immutable registry."""

from __future__ import annotations

import pytest

from appc.errors import InvalidIsolator
from appc.model import (
    KNOWN_ISOLATORS,
    FrozenDict,
    KnownIsolator,
    LinuxCapabilitiesRemoveSet,
    LinuxCapabilitiesRetainSet,
    LinuxCPUShares,
    LinuxNoNewPrivileges,
    LinuxOOMScoreAdj,
    LinuxSeccompRemoveSet,
    LinuxSeccompRetainSet,
    LinuxSELinuxContext,
    ResourceBlockBandwidth,
    ResourceBlockIOPS,
    ResourceCPU,
    ResourceMemory,
    ResourceNetworkBandwidth,
    UnixSysctl,
    UnknownIsolator,
)
from appc.model.isolators import isolator_set_problems
from appc.names import ACIdentifier
from appc.quantity import Quantity


# Every isolator name in the Go reference v0.8.11 (isolator_*.go), and whether
# an app may list it more than once (anchors.md 1.19).
GO_ISOLATORS = {
    "resource/block-bandwidth": True,
    "resource/block-iops": True,
    "resource/cpu": True,
    "resource/memory": True,
    "resource/network-bandwidth": True,
    "os/linux/capabilities-retain-set": True,
    "os/linux/capabilities-remove-set": True,
    "os/linux/no-new-privileges": True,
    "os/linux/seccomp-remove-set": False,
    "os/linux/seccomp-retain-set": False,
    "os/linux/oom-score-adj": False,
    "os/linux/cpu-shares": False,
    "os/linux/selinux-context": False,
    "os/unix/sysctl": False,
}


def test_registry_is_every_go_isolator() -> None:
    assert {
        name: cls.MULTIPLE_ALLOWED for name, cls in KNOWN_ISOLATORS.items()
    } == GO_ISOLATORS
    assert all(name == cls.NAME for name, cls in KNOWN_ISOLATORS.items())


def test_registry_cannot_be_changed() -> None:
    with pytest.raises(TypeError):
        KNOWN_ISOLATORS["x/y"] = KnownIsolator  # type: ignore[index]


def test_conflicts_are_the_two_seccomp_sets() -> None:
    conflicting = {
        name: cls.CONFLICTS for name, cls in KNOWN_ISOLATORS.items() if cls.CONFLICTS
    }
    assert conflicting == {
        "os/linux/seccomp-remove-set": frozenset({"os/linux/seccomp-retain-set"}),
        "os/linux/seccomp-retain-set": frozenset({"os/linux/seccomp-remove-set"}),
    }


@pytest.mark.parametrize(
    "cls", [LinuxCapabilitiesRetainSet, LinuxCapabilitiesRemoveSet]
)
def test_capability_sets(cls: type[LinuxCapabilitiesRetainSet]) -> None:
    # isolator_linux_specific_test.go: empty fails; names are not checked
    assert cls(capabilities=("CAP_PONIES",)).capabilities == ("CAP_PONIES",)
    with pytest.raises(InvalidIsolator, match="set must be non-empty"):
        cls(capabilities=())


@pytest.mark.parametrize("cls", [LinuxSeccompRemoveSet, LinuxSeccompRetainSet])
@pytest.mark.parametrize(
    ("syscalls", "errno", "message"),
    [
        (
            ("chmod", "chown"),
            "-EPERM",
            "errno must start with an 'E' character, got -EPERM",
        ),
        ((), "", "set must be non-empty"),
        (("chmod",), "eaccess", "errno must start with an 'E' character, got eaccess"),
        (
            ("a",),
            "E_PERM",
            "errno can only contain upper case or numeric characters, got E_PERM",
        ),
        (("a",), "E\u24d0", "errno can only contain upper case or numeric characters"),
    ],
)
def test_seccomp_sets_refuse(
    cls: type[LinuxSeccompRemoveSet],
    syscalls: tuple[str, ...],
    errno: str,
    message: str,
) -> None:
    with pytest.raises(InvalidIsolator, match=message):
        cls(syscalls=syscalls, errno=errno)


@pytest.mark.parametrize("errno", ["", "EACCESS", "E1", "E\u00c4\u0663", "E\u216b"])
def test_seccomp_errno_accepted(errno: str) -> None:
    # Go's unicode.IsUpper / IsNumber: letters Lu, numbers Nd/Nl/No (verified with actool)
    assert (
        LinuxSeccompRetainSet(syscalls=("@appc.io/empty",), errno=errno).errno == errno
    )


@pytest.mark.parametrize(
    ("shares", "ok"),
    [(1, False), (2, True), (1024, True), (262144, True), (262145, False)],
)
def test_cpu_shares_range(shares: int, ok: bool) -> None:
    if ok:
        assert LinuxCPUShares(shares=shares).shares == shares
    else:
        with pytest.raises(
            InvalidIsolator, match=f"must be between 2 and 262144, got {shares}"
        ):
            LinuxCPUShares(shares=shares)


@pytest.mark.parametrize(
    ("score", "ok"),
    [(-1001, False), (-1000, True), (250, True), (1000, True), (1001, False)],
)
def test_oom_score_adj_range(score: int, ok: bool) -> None:
    if ok:
        assert LinuxOOMScoreAdj(adjustment=score).adjustment == score
    else:
        with pytest.raises(InvalidIsolator, match="must be between -1000 and 1000"):
            LinuxOOMScoreAdj(adjustment=score)


def test_bool_is_not_an_integer_here() -> None:
    with pytest.raises(InvalidIsolator):
        LinuxCPUShares(shares=True)


@pytest.mark.parametrize(
    ("parts", "message"),
    [
        (("", "object_r", "user_home_t", "s0"), 'invalid user value ""'),
        (
            ("unconfined_u:unconfined_t", "object_r", "user_home_t", "s0"),
            "invalid user value",
        ),
        (("u", "role_r:type_t", "t", "s0"), "invalid role value"),
        (("u", "r", "a:b", "s0"), "invalid type value"),
        (("u", "r", "t", ""), 'invalid level value ""'),
    ],
)
def test_selinux_context_refuses(
    parts: tuple[str, str, str, str], message: str
) -> None:
    user, role, kind, level = parts
    with pytest.raises(InvalidIsolator, match=message):
        LinuxSELinuxContext(user=user, role=role, type=kind, level=level)


def test_selinux_level_may_hold_a_colon() -> None:
    context = LinuxSELinuxContext(
        user="unconfined_u", role="object_r", type="user_home_t", level="s0-s0:c0"
    )
    assert context.level == "s0-s0:c0"


def test_resources_and_simple_values() -> None:
    assert ResourceCPU().request is None
    assert ResourceMemory(request=Quantity.parse("1G")).request == Quantity.parse(
        "1000M"
    )
    for cls in (ResourceBlockBandwidth, ResourceBlockIOPS, ResourceNetworkBandwidth):
        assert cls(limit=Quantity.parse("1G")).name == cls.NAME
    assert LinuxNoNewPrivileges(enabled=False).enabled is False
    assert UnixSysctl().parameters == {}
    assert UnixSysctl(parameters=FrozenDict({"foo": "bar"})).parameters["foo"] == "bar"


def test_raw_value_does_not_change_equality() -> None:
    assert LinuxCPUShares(shares=2, raw_value=2) == LinuxCPUShares(shares=2)
    assert hash(LinuxCPUShares(shares=2, raw_value=2)) == hash(LinuxCPUShares(shares=2))


def test_unknown_isolator() -> None:
    gpu = UnknownIsolator(
        name=ACIdentifier("example.com/gpu"), value=FrozenDict({"n": 1})
    )
    assert gpu.value == {"n": 1}
    assert hash(gpu) == hash(
        UnknownIsolator(
            name=ACIdentifier("example.com/gpu"), value=FrozenDict({"n": 1})
        )
    )
    with pytest.raises(InvalidIsolator, match="use LinuxCPUShares"):
        UnknownIsolator(name=ACIdentifier("os/linux/cpu-shares"), value=2)


def test_set_rules() -> None:
    remove = LinuxSeccompRemoveSet(syscalls=("a",))
    retain = LinuxSeccompRetainSet(syscalls=("a",))
    caps = LinuxCapabilitiesRetainSet(capabilities=("A",))
    revoke = LinuxCapabilitiesRemoveSet(capabilities=("A",))
    cpu = ResourceCPU()
    unknown = UnknownIsolator(name=ACIdentifier("x/y"))
    assert (
        list(isolator_set_problems([cpu, cpu, caps, revoke, caps])) == []
    )  # Go allows retain + remove
    found = [
        (p.path, str(p.error))
        for p in isolator_set_problems([remove, retain, remove, unknown])
    ]
    assert found == [
        ((1,), "isolators set contains incompatible types"),
        (
            (2,),
            "isolators set contains too many instances of type os/linux/seccomp-remove-set",
        ),
        ((2,), "isolators set contains incompatible types"),
        ((3,), 'invalid isolator: "x/y" is not a known isolator'),
    ]
