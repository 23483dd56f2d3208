"""The hostile corpus against validate, extract and actool; bombs; the tarfile CVE."""

from __future__ import annotations

import bz2
import gzip
import io
import lzma
import os
import pathlib
import subprocess
import sys
import tarfile
import tracemalloc

from collections.abc import Callable

import pytest

from appc.aci import Limits, extract, image_id, validate
from appc.errors import InvalidImage, LimitExceeded, UnsafeArchive

from tests.aci.corpus import CASES, Case
from tests.aci.tarcraft import END, Header, directory, image, member, octal


VECTORS = pathlib.Path(__file__).parent.parent / "vectors" / "archives"
BOMB = VECTORS / "bomb-1gib.aci"


def _ids(case: Case) -> str:
    return case.name


@pytest.mark.parametrize("case", CASES, ids=_ids)
def test_validate_rejects(case: Case, tmp_path: pathlib.Path) -> None:
    path = tmp_path / "hostile.aci"
    path.write_bytes(gzip.compress(case.archive))
    with pytest.raises(InvalidImage) as info:
        validate(path)
    assert any(case.message in str(issue) for issue in info.value.issues), info.value


@pytest.mark.interop
@pytest.mark.parametrize("case", CASES, ids=_ids)
def test_actool_verdict(case: Case, tmp_path: pathlib.Path, actool: str) -> None:
    """The corpus records actool's verdicts truthfully (where we are stricter)."""
    path = tmp_path / "hostile.aci"
    path.write_bytes(gzip.compress(case.archive))
    result = subprocess.run(
        [actool, "validate", str(path)], capture_output=True, check=False
    )
    assert (result.returncode == 0) == case.actool_valid, result.stderr


def _snapshot(root: pathlib.Path) -> dict[str, bytes | None]:
    found: dict[str, bytes | None] = {}
    for directory_path, dirs, files in os.walk(root):
        for name in dirs:
            found[str(pathlib.Path(directory_path) / name)] = None
        for name in files:
            path = pathlib.Path(directory_path) / name
            found[str(path)] = None if path.is_symlink() else path.read_bytes()
    return found


@pytest.mark.parametrize("case", CASES, ids=_ids)
def test_extract_refuses_and_leaves_nothing(case: Case, tmp_path: pathlib.Path) -> None:
    (tmp_path / "flag").write_text("original")
    before = _snapshot(tmp_path)
    dest = tmp_path / "dest"
    with pytest.raises(Exception) as info:
        extract(io.BytesIO(case.archive), dest)
    expected = UnsafeArchive if case.unsafe else case.error
    assert type(info.value) is expected, info.value
    assert _snapshot(tmp_path) == before  # no dest, no temporary tree, flag intact


def test_extract_into_symlinked_destination_is_refused(tmp_path: pathlib.Path) -> None:
    (tmp_path / "elsewhere").mkdir()
    (tmp_path / "dest").symlink_to("elsewhere")
    with pytest.raises(UnsafeArchive, match="is a symlink"):
        extract(io.BytesIO(image()), tmp_path / "dest")
    assert list((tmp_path / "elsewhere").iterdir()) == []


# -- the CVE that rules out tarfile --------------------------------------------------


def _tarfile_is_patched() -> bool:
    # The June 2025 fixes: 3.9.23, 3.10.18, 3.11.13, 3.12.11, 3.13.4.
    version = sys.version_info[:3]
    return (
        version >= (3, 13, 4)
        or (3, 12, 11) <= version < (3, 13)
        or (3, 11, 13) <= version < (3, 12)
    )


def _cpython_cve_archive(dest: pathlib.Path) -> bytes:
    """CPython's test_realpath_limit_attack archive, sized for ``dest``."""
    steps = "abcdefghijklmnop"
    max_path = os.pathconf(dest.parent, "PC_PATH_MAX")
    component = "d" * ((max_path - len(str(dest)) - 1) // (len(steps) + 1))
    stream = io.BytesIO()
    with tarfile.open(fileobj=stream, mode="w", format=tarfile.PAX_FORMAT) as tar:

        def add(
            name: str,
            *,
            kind: bytes = tarfile.REGTYPE,
            link: str = "",
            data: bytes = b"",
        ) -> None:
            info = tarfile.TarInfo(name)
            info.type, info.linkname, info.size = kind, link, len(data)
            info.mode = 0o777 if kind == tarfile.DIRTYPE else 0o644
            tar.addfile(info, io.BytesIO(data))

        path = ""
        for step in steps:
            add(f"{path}{component}", kind=tarfile.DIRTYPE)
            add(f"{path}{step}", kind=tarfile.SYMTYPE, link=component)
            path = f"{path}{component}/"
        link_path = "/".join(steps) + "/" + "l" * 254
        add(link_path, kind=tarfile.SYMTYPE, link="/".join([".."] * len(steps)))
        add("escape", kind=tarfile.SYMTYPE, link=link_path + "/..")
        add("flaglink", kind=tarfile.LNKTYPE, link="escape/flag")
        add("flaglink", data=b"overwrite")
        add("escape/newfile", data=b"new")
    return stream.getvalue()


def test_tarfile_data_filter_is_bypassable_on_this_python(
    tmp_path: pathlib.Path,
) -> None:
    """Why we extract ourselves: CVE-2025-4517 against tarfile's data filter."""
    dest = tmp_path / "dest"
    dest.mkdir()
    (tmp_path / "flag").write_text("original")
    archive = _cpython_cve_archive(dest)
    with tarfile.open(fileobj=io.BytesIO(archive)) as tar:
        if _tarfile_is_patched():
            with pytest.raises(tarfile.FilterError):
                tar.extractall(dest, filter="data")
            return
        tar.extractall(dest, filter="data")
    assert (tmp_path / "flag").read_text() == "overwrite"
    assert (tmp_path / "newfile").exists()


# -- bombs and budgets ---------------------------------------------------------------


def test_bzip2_bomb_vector_is_what_it_claims() -> None:
    assert BOMB.stat().st_size < 1024
    head = bz2.BZ2Decompressor().decompress(BOMB.read_bytes(), 1024)
    assert head[512 : 512 + 12] == b"rootfs/zeros"
    assert int(head[512 + 124 : 512 + 135], 8) == 1 << 30


@pytest.mark.parametrize(
    "operation", [validate, image_id], ids=["validate", "image_id"]
)
def test_bzip2_bomb_stops_at_the_budget(
    operation: Callable[..., object], tmp_path: pathlib.Path
) -> None:
    budget = 64 << 20
    tracemalloc.start()
    try:
        with pytest.raises(LimitExceeded) as info:
            operation(BOMB, limits=Limits(max_uncompressed_bytes=budget))
        _current, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert info.value.limit == "max_uncompressed_bytes"
    assert info.value.value == budget
    assert peak < 32 << 20  # memory does not follow the bomb


def test_bzip2_bomb_stops_extraction(tmp_path: pathlib.Path) -> None:
    with pytest.raises(LimitExceeded):
        extract(BOMB, tmp_path / "dest", limits=Limits(max_uncompressed_bytes=16 << 20))
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize("compress", [gzip.compress, lzma.compress], ids=["gzip", "xz"])
def test_other_bombs(
    compress: Callable[[bytes], bytes], tmp_path: pathlib.Path
) -> None:
    body = (
        directory("rootfs")
        + Header(name=b"rootfs/zeros", size=octal(64 << 20, 12)).encode()
    )
    data = compress(body + bytes(64 << 20) + END)
    assert len(data) < (64 << 20) // 1000
    with pytest.raises(LimitExceeded):
        validate(io.BytesIO(data), limits=Limits(max_uncompressed_bytes=8 << 20))


def test_member_count_budget() -> None:
    archive = image(*(member(f"rootfs/f{i}", b"") for i in range(200)))
    with pytest.raises(LimitExceeded, match="max_members") as info:
        validate(io.BytesIO(archive), limits=Limits(max_members=100))
    assert info.value.value == 100
    validate(io.BytesIO(archive), limits=Limits(max_members=202))


def test_manifest_size_budget() -> None:
    padded = (
        b'{"acKind":"ImageManifest","acVersion":"0.8.11","name":"example.com/x"}'
        + b" " * 2000
    )
    archive = member("manifest", padded) + directory("rootfs") + END
    with pytest.raises(LimitExceeded, match="max_manifest_size"):
        validate(io.BytesIO(archive), limits=Limits(max_manifest_size=1000))
    assert str(validate(io.BytesIO(archive)).name) == "example.com/x"


def test_default_manifest_budget_is_the_models_limit() -> None:
    from appc.aci import MAX_MANIFEST_SIZE, Limits
    from appc.manifest import MAX_MANIFEST_SIZE as MODELS_LIMIT

    assert Limits().max_manifest_size == MAX_MANIFEST_SIZE == MODELS_LIMIT
