"""The layout rules on their own (the corpus covers them through archives)."""

from __future__ import annotations

import pytest

from appc.aci.layout import MAX_SYMLINK_HOPS, LayoutChecker, normalize_name
from hypothesis import given
from hypothesis import strategies as st


def _check(*entries: tuple[str, str] | tuple[str, str, str]) -> list[str]:
    checker = LayoutChecker()
    checker.add("manifest", "0")
    checker.add("rootfs", "5")
    for entry in entries:
        checker.add(*entry)
    checker.finish()
    return [str(issue) for issue in checker.issues]


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("rootfs", ("rootfs",)),
        ("./rootfs/", ("rootfs",)),
        ("rootfs//a/./b", ("rootfs", "a", "b")),
        (".", ()),
        ("./", ()),
        ("", "empty member name"),
        ("/rootfs", "absolute path"),
        ("rootfs/a/..", "path contains '..'"),
        ("rootfs/..a", ("rootfs", "..a")),
    ],
)
def test_normalize_name(name: str, expected: tuple[str, ...] | str) -> None:
    assert normalize_name(name) == expected


def test_valid_tree() -> None:
    assert (
        _check(
            ("rootfs/etc", "5"),
            ("rootfs/etc/passwd", "0"),
            ("rootfs/etc/hard", "1", "rootfs/etc/passwd"),
            ("rootfs/etc/hard2", "1", "./rootfs/etc/hard"),
            ("rootfs/etc/localtime", "2", "/usr/share/zoneinfo/UTC"),
            ("rootfs/etc/up", "2", "../etc/./passwd"),
            ("rootfs/dev/null", "3"),
            ("rootfs/dev/sda", "4"),
            ("rootfs/run/fifo", "6"),
            ("rootfs/bin/sh", "7"),
            ("rootfs/deep/implicit/file", "0"),
            ("rootfs/deep", "5"),  # an implicit parent listed later
            ("rootfs/deep/implicit", "5"),
            (".", "5"),
            ("rootfs/manifest", "0"),
            ("rootfs/x/rootfs", "0"),
        )
        == []
    )


def test_dot_entry_may_be_a_directory_only() -> None:
    assert _check(("./", "5")) == []
    assert _check((".", "0")) == [".: a member named '.' must be a directory"]


def test_unknown_type() -> None:
    assert _check(("rootfs/x", "V")) == ["rootfs/x: unsupported member type 'V'"]


def test_implicit_parent_then_duplicate_directory() -> None:
    assert _check(("rootfs/a/b", "0"), ("rootfs/a", "5"), ("rootfs/a", "5")) == [
        "rootfs/a: duplicate file entry in archive: rootfs/a"
    ]


def test_duplicate_manifest_of_another_type() -> None:
    checker = LayoutChecker()
    checker.add("manifest", "2", "elsewhere")
    checker.add("manifest", "0")
    assert [str(i) for i in checker.issues] == [
        "manifest: manifest is not a regular file",
        "manifest: duplicate file entry in archive: manifest",
    ]


def test_hard_link_to_rootfs_itself() -> None:
    assert _check(("rootfs/h", "1", "rootfs")) == [
        "rootfs/h: hard link target 'rootfs' is outside rootfs"
    ]


@pytest.mark.parametrize(
    ("entries", "escapes"),
    [
        ([("rootfs/s", "2", "/")], False),
        ([("rootfs/s", "2", "/..")], True),
        ([("rootfs/s", "2", "..")], True),
        ([("rootfs/a/s", "2", "..")], False),
        ([("rootfs/a/s", "2", "../..")], True),
        ([("rootfs/a/s", "2", "./b/../../c")], False),
        # Chains: each link looks harmless on its own.
        ([("rootfs/a/s", "2", "/x/y"), ("rootfs/e", "2", "a/s/../../..")], True),
        ([("rootfs/a/s", "2", "/x/y"), ("rootfs/e", "2", "a/s/../..")], False),
        (
            [
                ("rootfs/l1", "2", "l2"),
                ("rootfs/l2", "2", "/"),
                ("rootfs/e", "2", "l1/.."),
            ],
            True,
        ),
        # Loops are the kernel's ELOOP, not an escape.
        (
            [
                ("rootfs/l1", "2", "l2"),
                ("rootfs/l2", "2", "l1"),
                ("rootfs/e", "2", "l1/../.."),
            ],
            False,
        ),
    ],
)
def test_symlink_escapes(entries: list[tuple[str, str, str]], escapes: bool) -> None:
    issues = _check(*entries)
    assert any("leaves rootfs" in issue for issue in issues) == escapes, issues


def test_long_symlink_chain_stops_at_the_hop_limit() -> None:
    chain = [(f"rootfs/l{i}", "2", f"l{i + 1}") for i in range(MAX_SYMLINK_HOPS + 5)]
    chain.append((f"rootfs/l{MAX_SYMLINK_HOPS + 5}", "2", "/../.."))
    issues = _check(*chain)
    # Only the links within MAX_SYMLINK_HOPS of the escaping end are reported.
    assert 0 < len(issues) < len(chain)


@given(
    st.lists(
        st.tuples(
            st.text(st.sampled_from("ab/."), min_size=1, max_size=8),
            st.sampled_from(["0", "1", "2", "5"]),
            st.text(st.sampled_from("ab/."), max_size=8),
        ),
        max_size=12,
    )
)
def test_fuzz_never_crashes(entries: list[tuple[str, str, str]]) -> None:
    checker = LayoutChecker()
    for name, kind, link in entries:
        path = checker.add("rootfs/" + name, kind, link)
        if path is not None:
            assert not path.startswith("/")
            assert ".." not in path.split("/")
    checker.finish()
