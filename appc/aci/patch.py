"""Copy an image archive with its manifest patched, as ``actool patch-manifest``.

The options take actool's syntax and give actool's results (``exec`` is
split on single spaces, mounts and ports are appended, ``capability``
replaces the capability sets, ``seccomp_mode`` the seccomp sets...), with two
differences, both on purpose:

- the patched manifest is validated before it is written (actool writes
  whatever results, a PodManifest or garbage included);
- ``manifest`` (a replacement manifest) cannot be combined with any other
  editing option (actool refuses six of them and silently ignores the rest).

Every other member is copied byte for byte, headers included, in order. The
input goes through the same checks as :func:`appc.aci.validate`.

>>> parse_exec("/bin/app  --debug 'a b'")
('/bin/app', '', '--debug', "'a", "b'")
"""

from __future__ import annotations

import json
import os
import urllib.parse

from collections.abc import Sequence
from typing import Any, BinaryIO, Literal

from appc.aci._compression import open_compressor
from appc.aci._tar import END_OF_ARCHIVE, Member, TarEntry, encode_header, padding
from appc.aci.layout import MANIFEST
from appc.aci.limits import DEFAULT_LIMITS, Limits
from appc.aci.reader import (
    ArchiveScan,
    ProgressCallback,
    Source,
    archive_chunks,
)
from appc.aci.writer import TarSink, output_file
from appc.errors import ArchiveError, InvalidField, InvalidImage, InvalidIsolator
from appc.image_id import ImageID
from appc.manifest import ImageManifest


__all__ = [
    "ManifestPatch",
    "parse_exec",
    "patch_manifest",
]

_CAPS_NAMES = ("os/linux/capabilities-remove-set", "os/linux/capabilities-retain-set")
_SECCOMP_NAMES = ("os/linux/seccomp-remove-set", "os/linux/seccomp-retain-set")
_RAW_VALUE_ISOLATORS = ("os/linux/no-new-privileges", "os/linux/oom-score-adj")
_RESOURCE_ISOLATORS = (
    "resource/block-bandwidth",
    "resource/block-iops",
    "resource/cpu",
    "resource/memory",
    "resource/network-bandwidth",
)
_GO_TRUE = ("1", "t", "T", "TRUE", "true", "True")
_GO_FALSE = ("0", "f", "F", "FALSE", "false", "False")


def parse_exec(value: str) -> tuple[str, ...]:
    """Split an ``--exec`` value as actool does: on every single space, no quoting."""
    return tuple(value.split(" "))


def _go_bool(value: str, what: str) -> bool:
    if value in _GO_TRUE:
        return True
    if value in _GO_FALSE:
        return False
    raise InvalidField(value, f"{what}: invalid boolean {value!r}")


def _go_uint16(value: str, what: str) -> int:
    if not value.isascii() or not value.isdigit() or int(value) > 0xFFFF:
        raise InvalidField(value, f"{what}: invalid number {value!r} (0-65535)")
    return int(value)


def _query(text: str, kind: str) -> dict[str, str]:
    """``name=`` + a ``k=v,k=v`` list, as Go's MakeQueryString + ParseQuery read it."""
    pairs: dict[str, str] = {}
    for part in ("name=" + text).split(","):
        key, sep, value = part.partition("=")
        if not sep:
            raise InvalidField(text, f"malformed {kind} {text!r}: {key!r} has no value")
        if key in pairs:
            raise InvalidField(text, f"{kind} {text!r}: {key} is given twice")
        pairs[key] = value
    return pairs


def _mount_point(text: str) -> dict[str, Any]:
    mount: dict[str, Any] = {}
    for key, value in _query(text, "mount point").items():
        if key == "name":
            mount["name"] = value
        elif key == "path":
            mount["path"] = value
        elif key == "readOnly":
            mount["readOnly"] = _go_bool(value, f"mount point {text!r}")
        else:
            raise InvalidField(text, f"unknown mountpoint parameter {key!r}")
    return mount


def _port(text: str) -> dict[str, Any]:
    port: dict[str, Any] = {"count": 0}
    for key, value in _query(text, "port").items():
        if key == "name":
            port["name"] = value
        elif key == "protocol":
            port["protocol"] = value
        elif key in ("port", "count"):
            port[key] = _go_uint16(value, f"port {text!r}")
        elif key == "socketActivated":
            port["socketActivated"] = _go_bool(value, f"port {text!r}")
        else:
            raise InvalidField(text, f"unknown port parameter {key!r}")
    return port


def _isolator(text: str) -> dict[str, Any]:
    """One ``--isolators`` item, read as actool does, as isolator JSON."""
    query = urllib.parse.parse_qs(
        "name=" + text.replace(",", "&"), keep_blank_values=True
    )
    values: dict[str, str] = {}
    for key, found in query.items():
        if len(found) > 1:
            raise InvalidIsolator(text, f"isolator {text!r}: {key} has several values")
        values[key] = found[0]
    name = values.pop("name")
    if name in _RAW_VALUE_ISOLATORS:
        parts = text.split(",")
        if len(parts) != 2:
            raise InvalidIsolator(text, f"isolator {name}: invalid format")
        try:
            raw = json.loads(parts[1])
        except ValueError as exc:
            raise InvalidIsolator(
                text, f"isolator {name}: {parts[1]!r} is not JSON"
            ) from exc
        return {"name": name, "value": raw}
    if name not in _RESOURCE_ISOLATORS:
        raise InvalidIsolator(text, f"isolator {name} is not supported for patching")
    # actool turns every value into a JSON string (so "default=true" fails).
    return {"name": name, "value": dict(values)}


def _seccomp(mode_text: str, set_text: str) -> dict[str, Any]:
    mode = ""
    errno = ""
    for arg in mode_text.split(","):
        parts = arg.split("=")
        if len(parts) == 1:
            mode = parts[0]
        elif len(parts) == 2 and parts[0] == "errno":
            errno = parts[1]
        elif len(parts) == 2:
            raise InvalidIsolator(
                mode_text, f"invalid seccomp-mode optional argument: {arg}"
            )
        else:
            raise InvalidIsolator(
                mode_text, f"cannot parse seccomp-mode argument: {arg}"
            )
    if mode not in ("remove", "retain"):
        raise InvalidIsolator(
            mode_text, f"cannot parse seccomp isolator: unknown seccomp mode {mode}"
        )
    # actool always writes the errno, empty or not.
    value: dict[str, Any] = {"set": set_text.split(","), "errno": errno}
    return {"name": f"os/linux/seccomp-{mode}-set", "value": value}


def _split(value: str | Sequence[str]) -> list[str]:
    return value.split(",") if isinstance(value, str) else list(value)


class ManifestPatch:
    """The edits of ``actool patch-manifest``, applied to a manifest's JSON.

    >>> patch = ManifestPatch(name="example.com/renamed", exec="/bin/sh -c", user="0", group="0")
    >>> patch.apply({"acKind": "ImageManifest", "acVersion": "0.8.11", "name": "example.com/a"})["app"]
    {'exec': ['/bin/sh', '-c'], 'user': '0', 'group': '0'}
    """

    def __init__(
        self,
        *,
        name: str | None = None,
        exec: str | Sequence[str] | None = None,  # noqa: A002 - actool's flag
        user: str | None = None,
        group: str | None = None,
        supplementary_groups: str | Sequence[int] | None = None,
        capability: str | Sequence[str] | None = None,
        revoke_capability: str | Sequence[str] | None = None,
        mounts: str | None = None,
        ports: str | None = None,
        isolators: str | None = None,
        seccomp_mode: str | None = None,
        seccomp_set: str | None = None,
    ) -> None:
        self.name = name or None
        if isinstance(exec, str):
            self.exec: tuple[str, ...] | None = parse_exec(exec) if exec else None
        else:
            self.exec = tuple(exec) if exec else None
        self.user = user or None
        self.group = group or None
        self.supplementary_groups = self._gids(supplementary_groups)
        if capability and revoke_capability:
            raise InvalidIsolator(
                capability, "conflicting capabilities isolators provided"
            )
        self.capabilities: dict[str, Any] | None = None
        if capability:
            self.capabilities = {
                "name": _CAPS_NAMES[1],
                "value": {"set": _split(capability)},
            }
        elif revoke_capability:
            self.capabilities = {
                "name": _CAPS_NAMES[0],
                "value": {"set": _split(revoke_capability)},
            }
        self.mounts = (
            [_mount_point(item) for item in mounts.split(":")] if mounts else []
        )
        self.ports = [_port(item) for item in ports.split(":")] if ports else []
        if seccomp_set and not seccomp_mode:
            raise InvalidIsolator(
                seccomp_set, "--seccomp-set specified without --seccomp-mode"
            )
        self.seccomp = (
            _seccomp(seccomp_mode, seccomp_set or "") if seccomp_mode else None
        )
        self.isolators = (
            [_isolator(item) for item in isolators.split(":")] if isolators else []
        )

    @staticmethod
    def _gids(value: str | Sequence[int] | None) -> list[int] | None:
        if value is None or (isinstance(value, str) and not value):
            return None
        if not isinstance(value, str):
            return [int(gid) for gid in value]
        gids: list[int] = []
        for text in value.split(","):
            stripped = text[1:] if text[:1] in "+-" else text
            if not stripped.isascii() or not stripped.isdigit():
                raise InvalidField(text, f"invalid supplementary group {text!r}")
            gids.append(int(text))
        return gids

    @property
    def edits_app(self) -> bool:
        """Whether any edit other than ``name`` and ``exec`` touches the app."""
        return bool(
            self.user
            or self.group
            or self.supplementary_groups is not None
            or self.capabilities
            or self.mounts
            or self.ports
            or self.isolators
            or self.seccomp
        )

    @property
    def empty(self) -> bool:
        """Whether the patch changes nothing."""
        return not (self.name or self.exec or self.edits_app)

    def apply(self, manifest: dict[str, Any]) -> dict[str, Any]:
        """Apply the edits to a manifest's JSON object (modified and returned)."""
        if self.name:
            manifest["name"] = self.name
        app: dict[str, Any] | None = manifest.get("app")
        if self.exec:
            if app is None:
                app = manifest["app"] = {}
            app["exec"] = list(self.exec)
        if self.edits_app and app is None:
            raise InvalidField(
                None, "no app in the supplied manifest and no exec command provided"
            )
        if app is None:
            return manifest
        if self.user:
            app["user"] = self.user
        if self.group:
            app["group"] = self.group
        if self.supplementary_groups is not None:
            app["supplementaryGIDs"] = list(self.supplementary_groups)
        isolators: list[dict[str, Any]] = list(app.get("isolators") or [])
        if self.capabilities:
            isolators = [i for i in isolators if i.get("name") not in _CAPS_NAMES]
            isolators.append(self.capabilities)
        app["mountPoints"] = [*(app.get("mountPoints") or []), *self.mounts]
        app["ports"] = [*(app.get("ports") or []), *self.ports]
        if self.seccomp:
            isolators = [i for i in isolators if i.get("name") not in _SECCOMP_NAMES]
            isolators.append(self.seccomp)
        isolators.extend(self.isolators)
        app["isolators"] = isolators
        for key in ("mountPoints", "ports", "isolators"):
            if not app[key]:
                del app[key]
        return manifest


def _patched_bytes(
    original: bytes, patch: ManifestPatch, replacement: bytes | None
) -> bytes:
    from appc.manifest import dump_manifest, load_image_manifest

    if replacement is not None:
        load_image_manifest(replacement)  # validated, then kept verbatim as actool does
        return replacement
    document: dict[str, Any] = json.loads(dump_manifest(load_image_manifest(original)))
    patched = load_image_manifest(json.dumps(patch.apply(document)).encode())
    return dump_manifest(patched).encode()


def patch_manifest(
    src: Source,
    out: str | os.PathLike[str] | BinaryIO | None = None,
    *,
    manifest: bytes | ImageManifest | None = None,
    name: str | None = None,
    exec: str | Sequence[str] | None = None,  # noqa: A002 - actool's flag
    user: str | None = None,
    group: str | None = None,
    supplementary_groups: str | Sequence[int] | None = None,
    capability: str | Sequence[str] | None = None,
    revoke_capability: str | Sequence[str] | None = None,
    mounts: str | None = None,
    ports: str | None = None,
    isolators: str | None = None,
    seccomp_mode: str | None = None,
    seccomp_set: str | None = None,
    compression: Literal["gzip", "bzip2", "xz", "none"] = "gzip",
    overwrite: bool = False,
    limits: Limits = DEFAULT_LIMITS,
    progress: ProgressCallback | None = None,
) -> ImageID:
    """Copy the archive ``src`` to ``out`` with its manifest patched; return the new image ID.

    ``out=None`` replaces ``src`` (which must then be a path) through a
    temporary file renamed over it, as ``--replace``. The editing options
    take actool's syntax (see the module). Output is gzip unless
    ``compression`` says otherwise, whatever the input's compression.

    >>> patch_manifest("in.aci", "out.aci", manifest=b"{}", name="example.com/x")
    Traceback (most recent call last):
    ...
    appc.errors.InvalidField: --manifest is incompatible with other manifest editing options
    """
    edits: dict[str, Any] = {
        "name": name,
        "exec": exec,
        "user": user,
        "group": group,
        "supplementary_groups": supplementary_groups,
        "capability": capability,
        "revoke_capability": revoke_capability,
        "mounts": mounts,
        "ports": ports,
        "isolators": isolators,
        "seccomp_mode": seccomp_mode,
        "seccomp_set": seccomp_set,
    }
    replacement: bytes | None = None
    if manifest is not None:
        if any(edits.values()):
            raise InvalidField(
                None, "--manifest is incompatible with other manifest editing options"
            )
        if isinstance(manifest, bytes):
            replacement = manifest
        else:
            from appc.manifest import dump_manifest

            replacement = dump_manifest(manifest).encode()
    patch = ManifestPatch(**edits)
    if out is None:
        if not isinstance(src, (str, os.PathLike)):
            raise ArchiveError("replacing the input needs a path, not a file object")
        out, overwrite = src, True
    with (
        archive_chunks(src, limits, progress) as chunks,
        output_file(out, overwrite) as sink_stream,
    ):
        scan = ArchiveScan(chunks, limits)
        sink = TarSink(open_compressor(sink_stream, compression))
        try:
            image_id = _copy(scan, sink, patch, replacement)
        except BaseException:
            sink.abort()
            raise
    return image_id


def _copy(
    scan: ArchiveScan, sink: TarSink, patch: ManifestPatch, replacement: bytes | None
) -> ImageID:
    for member, path in scan:
        if scan.checker.issues:
            raise InvalidImage("invalid app container image", scan.checker.issues)
        if path == MANIFEST:
            assert scan.manifest_bytes is not None  # noqa: S101 - the scan read it
            data = _patched_bytes(scan.manifest_bytes, patch, replacement)
            sink.write(encode_header(_manifest_header(member, len(data))))
            sink.write(data + b"\0" * padding(len(data)))
            continue
        sink.write(member.raw)
        if member.is_regular and member.size:
            for piece in scan.reader.iter_data():
                sink.write(bytes(piece))
            sink.write(b"\0" * padding(member.size))
    scan.reader.drain()
    scan.checker.finish()
    if scan.checker.issues:
        raise InvalidImage("invalid app container image", scan.checker.issues)
    sink.write(END_OF_ARCHIVE)
    return sink.close()


def _manifest_header(member: Member, size: int) -> TarEntry:
    return TarEntry(
        name=os.fsencode(member.name),
        mode=member.mode,
        uid=member.uid,
        gid=member.gid,
        size=size,
        mtime=member.mtime_ns // 10**9,
        uname=os.fsencode(member.uname),
        gname=os.fsencode(member.gname),
        xattrs=tuple(sorted((os.fsencode(k), v) for k, v in member.xattrs.items())),
    )
