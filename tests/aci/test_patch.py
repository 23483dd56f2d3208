"""patch-manifest: the same results as actool's, except that ours are validated."""

from __future__ import annotations

import bz2
import gzip
import io
import json
import pathlib
import subprocess

from typing import Any

import pytest

from appc.aci import build, image_id, patch_manifest, read_manifest_bytes, validate
from appc.aci.patch import ManifestPatch
from appc.errors import (
    AppcError,
    ArchiveError,
    InvalidField,
    InvalidImage,
    InvalidManifest,
)
from appc.manifest import dump_manifest, load_image_manifest

from tests.aci.tarcraft import image, member


WITH_APP = (
    b'{"acKind":"ImageManifest","acVersion":"0.8.11","name":"example.com/app",'
    b'"labels":[{"name":"os","value":"linux"}],"app":{"exec":["/bin/app"],"user":"0","group":"0",'
    b'"isolators":[{"name":"os/linux/capabilities-retain-set","value":{"set":["CAP_KILL"]}},'
    b'{"name":"os/linux/seccomp-remove-set","value":{"set":["reboot"]}}],'
    b'"mountPoints":[{"name":"data","path":"/data"}],"ports":[{"name":"web","protocol":"tcp","port":80}]}}'
)
WITHOUT_APP = (
    b'{"acKind":"ImageManifest","acVersion":"0.8.11","name":"example.com/noapp"}'
)

# actool patch-manifest arguments; each is run through actool and through us.
CASES = [
    ["--name=example.com/renamed"],
    ["--exec=/bin/app  --debug 'a b'"],
    ["--user=1000", "--group=1000"],
    ["--supplementary-groups=1,2,-3"],
    ["--capability=CAP_NET_ADMIN,CAP_SYS_ADMIN"],
    ["--revoke-capability=CAP_SYS_CHROOT"],
    ["--capability=NOT_A_CAP"],
    ["--mounts=work,path=/opt,readOnly=true:cache,path=/var/cache"],
    [
        "--ports=http,protocol=tcp,port=8080:dns,protocol=udp,port=53,count=2,socketActivated=true"
    ],
    ["--ports=dns,protocol=udp,port=53"],
    ["--isolators=resource/cpu,request=50m,limit=100m:resource/memory,limit=1G"],
    ["--isolators=os/linux/no-new-privileges,true"],
    ["--isolators=os/linux/oom-score-adj,5"],
    ["--seccomp-mode=retain,errno=ENOSYS", "--seccomp-set=read,write"],
    ["--seccomp-mode=remove", "--seccomp-set=reboot"],
    ["--seccomp-mode=retain"],
    ["--exec=relative"],
    ["--exec=/bin/sh", "--user=1", "--group=1", "--ports=p,protocol=tcp,port=1"],
    # Refused by both:
    ["--seccomp-set=read"],
    ["--capability=A", "--revoke-capability=B"],
    ["--isolators=os/linux/seccomp-retain-set,set=a"],
    ["--isolators=resource/block-bandwidth,default=true,limit=1M"],
    ["--isolators=os/linux/no-new-privileges"],
    ["--isolators=os/linux/oom-score-adj,notjson"],
    ["--mounts=bad_name,path=/x"],
    ["--mounts=m,path=/x,ro=true"],
    ["--mounts=m,path=/x,readOnly=maybe"],
    ["--mounts=m,path"],
    ["--mounts=m,name=n,path=/x"],
    ["--ports=p,protocol=tcp,port=0"],
    ["--ports=p,port=99999"],
    ["--ports=p,protocol=tcp,port=80,bogus=1"],
    ["--supplementary-groups=x"],
    ["--seccomp-mode=keep", "--seccomp-set=a"],
    ["--seccomp-mode=retain,errno=EPERM,x=y", "--seccomp-set=a"],
    ["--seccomp-mode=retain,a=b=c", "--seccomp-set=a"],
]


def _kwargs(args: list[str]) -> dict[str, str]:
    options: dict[str, str] = {}
    for arg in args:
        key, _, value = arg[2:].partition("=")
        options[key.replace("-", "_")] = value
    return options


def _canonical(aci: pathlib.Path) -> Any:
    # The JSON value, not the text: actool builds an isolator's value from a
    # Go map, so its key order changes from run to run ("limit" or "request"
    # first), where ours follows the command line.
    return json.loads(dump_manifest(load_image_manifest(read_manifest_bytes(aci))))


@pytest.fixture(params=[WITH_APP, WITHOUT_APP], ids=["app", "no-app"])
def source(
    request: pytest.FixtureRequest, tmp_path: pathlib.Path, actool: str
) -> pathlib.Path:
    layout = tmp_path / "layout"
    (layout / "rootfs").mkdir(parents=True)
    (layout / "rootfs" / "file").write_text("data")
    (layout / "manifest").write_bytes(request.param)
    subprocess.run([actool, "build", str(layout), str(tmp_path / "in.aci")], check=True)
    return tmp_path / "in.aci"


@pytest.mark.interop
@pytest.mark.parametrize("args", CASES, ids=[" ".join(case) for case in CASES])
def test_same_result_as_actool(
    args: list[str], source: pathlib.Path, actool: str
) -> None:
    theirs = source.parent / "theirs.aci"
    ours = source.parent / "ours.aci"
    result = subprocess.run(
        [actool, "patch-manifest", *args, str(source), str(theirs)],
        capture_output=True,
        check=False,
    )
    actool_ok = result.returncode == 0
    if actool_ok:
        # actool writes what it made, valid or not; we validate: compare verdicts.
        actool_ok = (
            subprocess.run(
                [actool, "validate", str(theirs)], capture_output=True, check=False
            ).returncode
            == 0
        )
    try:
        patch_manifest(source, ours, **_kwargs(args))  # type: ignore[arg-type]
    except AppcError:
        assert not actool_ok, result.stderr
        assert not ours.exists()
        return
    assert actool_ok, result.stderr
    assert _canonical(ours) == _canonical(theirs)
    subprocess.run([actool, "validate", str(ours)], check=True)


@pytest.mark.interop
def test_manifest_replacement(tmp_path: pathlib.Path, actool: str) -> None:
    source = image(member("rootfs/f", b"x"))
    (tmp_path / "in.aci").write_bytes(gzip.compress(source))
    patch_manifest(tmp_path / "in.aci", tmp_path / "out.aci", manifest=WITH_APP)
    # Kept verbatim once valid, as actool keeps it.
    assert read_manifest_bytes(tmp_path / "out.aci") == WITH_APP
    patch_manifest(
        tmp_path / "in.aci",
        tmp_path / "model.aci",
        manifest=load_image_manifest(WITH_APP),
    )
    assert (
        read_manifest_bytes(tmp_path / "model.aci")
        == dump_manifest(load_image_manifest(WITH_APP)).encode()
    )
    # actool writes a pod manifest into an image; we refuse.
    pod = b'{"acKind":"PodManifest","acVersion":"0.8.11","apps":[]}'
    (tmp_path / "pod.json").write_bytes(pod)
    subprocess.run(
        [
            actool,
            "patch-manifest",
            f"--manifest={tmp_path / 'pod.json'}",
            str(tmp_path / "in.aci"),
            str(tmp_path / "bad.aci"),
        ],
        check=True,
    )
    assert read_manifest_bytes(tmp_path / "bad.aci") == pod
    with pytest.raises(InvalidManifest):
        patch_manifest(tmp_path / "in.aci", tmp_path / "ours.aci", manifest=pod)
    assert not (tmp_path / "ours.aci").exists()


def test_manifest_is_incompatible_with_every_edit() -> None:
    for option in ("name", "user", "ports", "isolators", "supplementary_groups"):
        edit: dict[str, Any] = {option: "x"}
        with pytest.raises(InvalidField, match="incompatible"):
            patch_manifest(io.BytesIO(), io.BytesIO(), manifest=WITH_APP, **edit)


def test_other_members_are_copied_verbatim(tmp_path: pathlib.Path) -> None:
    layout = tmp_path / "layout"
    (layout / "rootfs" / "dir").mkdir(parents=True)
    (layout / "rootfs" / "dir" / "file").write_bytes(b"x" * 10_000)
    (layout / "rootfs" / "link").symlink_to("dir/file")
    (layout / "manifest").write_bytes(WITH_APP)
    build(layout, tmp_path / "in.aci", compression="bzip2")
    new_id = patch_manifest(
        tmp_path / "in.aci", tmp_path / "out.aci", user="42", compression="none"
    )
    before = bz2.decompress((tmp_path / "in.aci").read_bytes())
    after = (tmp_path / "out.aci").read_bytes()
    # The manifest is first in our images; everything after it is unchanged.
    manifest_end = 512 + len(dump_manifest(load_image_manifest(WITH_APP))) + 511 & ~511
    new_end = 512 + len(read_manifest_bytes(tmp_path / "out.aci")) + 511 & ~511
    assert after[new_end:] == before[manifest_end:]
    assert image_id(tmp_path / "out.aci") == new_id
    app = load_image_manifest(read_manifest_bytes(tmp_path / "out.aci")).app
    assert app is not None
    assert app.user == "42"


def test_replace_in_place(tmp_path: pathlib.Path) -> None:
    (tmp_path / "in.aci").write_bytes(gzip.compress(image(member("rootfs/f", b"x"))))
    patch_manifest(tmp_path / "in.aci", name="example.com/replaced")
    assert str(validate(tmp_path / "in.aci").name) == "example.com/replaced"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["in.aci"]
    with pytest.raises(ArchiveError, match="needs a path"):
        patch_manifest(io.BytesIO(), name="example.com/x")


def test_output_exists(tmp_path: pathlib.Path) -> None:
    (tmp_path / "in.aci").write_bytes(gzip.compress(image()))
    (tmp_path / "out.aci").write_text("keep")
    with pytest.raises(ArchiveError, match="exists"):
        patch_manifest(tmp_path / "in.aci", tmp_path / "out.aci", name="example.com/x")
    assert (tmp_path / "out.aci").read_text() == "keep"
    patch_manifest(
        tmp_path / "in.aci", tmp_path / "out.aci", name="example.com/x", overwrite=True
    )
    assert str(validate(tmp_path / "out.aci").name) == "example.com/x"


def test_invalid_input_is_refused(tmp_path: pathlib.Path) -> None:
    (tmp_path / "in.aci").write_bytes(gzip.compress(image(member("rootfsX/a", b""))))
    with pytest.raises(InvalidImage, match="rootfsX"):
        patch_manifest(tmp_path / "in.aci", tmp_path / "out.aci", name="example.com/x")
    (tmp_path / "late.aci").write_bytes(
        gzip.compress(
            image()[:-1024]
            + member("rootfs/s", b"", type=b"2", linkname=b"../../..")
            + b"\0" * 1024
        )
    )
    with pytest.raises(InvalidImage, match="leaves rootfs"):
        patch_manifest(
            tmp_path / "late.aci", tmp_path / "out.aci", name="example.com/x"
        )
    assert not (tmp_path / "out.aci").exists()


def test_python_sequences_are_accepted() -> None:
    patch = ManifestPatch(
        exec=["/bin/a b", "c"], capability=["CAP_A"], supplementary_groups=[5]
    )
    document = patch.apply({"app": {"exec": ["/x"], "user": "0", "group": "0"}})
    assert document["app"]["exec"] == ["/bin/a b", "c"]
    assert document["app"]["supplementaryGIDs"] == [5]
    assert document["app"]["isolators"] == [
        {"name": "os/linux/capabilities-retain-set", "value": {"set": ["CAP_A"]}}
    ]
    assert ManifestPatch().empty
    assert ManifestPatch().apply({"name": "x"}) == {"name": "x"}


def test_option_parsing_details() -> None:
    patch = ManifestPatch(
        mounts="m,path=/p,readOnly=F", ports="p,protocol=tcp,port=1,socketActivated=0"
    )
    assert patch.mounts == [{"name": "m", "path": "/p", "readOnly": False}]
    assert patch.ports == [
        {
            "count": 0,
            "name": "p",
            "protocol": "tcp",
            "port": 1,
            "socketActivated": False,
        }
    ]
    with pytest.raises(AppcError, match="several values"):
        ManifestPatch(isolators="resource/cpu,limit=1,limit=2")
