"""Craft tar archives byte by byte, including the malformed ones.

Independent of ``appc.aci``: the tests build their inputs here (or with
Python's ``tarfile`` and GNU tar), so a bug in our writer cannot hide a bug
in our reader. Every field can be overridden, which is how the hostile
corpus is made.
"""

from __future__ import annotations

import attrs


BLOCK = 512
END = b"\0" * 1024


def octal(value: int, width: int) -> bytes:
    """A NUL-terminated, zero-padded octal field."""
    return b"%0*o\0" % (width - 1, value)


def checksum(block: bytearray) -> bytes:
    block[148:156] = b" " * 8
    return b"%06o\0 " % sum(block)


@attrs.define(kw_only=True)
class Header:
    """One raw 512-byte header; fields are bytes as they go on the wire."""

    name: bytes = b""
    mode: bytes = octal(0o644, 8)
    uid: bytes = octal(0, 8)
    gid: bytes = octal(0, 8)
    size: bytes = octal(0, 12)
    mtime: bytes = octal(1_600_000_000, 12)
    type: bytes = b"0"
    linkname: bytes = b""
    magic: bytes = b"ustar\x0000"
    uname: bytes = b""
    gname: bytes = b""
    devmajor: bytes = octal(0, 8)
    devminor: bytes = octal(0, 8)
    prefix: bytes = b""
    tail: bytes = b""  # bytes 500..512 (star trailer lives at 508)
    chksum: bytes | None = None  # None: computed

    def encode(self) -> bytes:
        block = bytearray(BLOCK)
        block[0 : len(self.name)] = self.name
        block[100:108] = self.mode.ljust(8, b"\0")
        block[108:116] = self.uid.ljust(8, b"\0")
        block[116:124] = self.gid.ljust(8, b"\0")
        block[124:136] = self.size.ljust(12, b"\0")
        block[136:148] = self.mtime.ljust(12, b"\0")
        block[156:157] = self.type
        block[157 : 157 + len(self.linkname)] = self.linkname
        block[257 : 257 + len(self.magic)] = self.magic
        block[265 : 265 + len(self.uname)] = self.uname
        block[297 : 297 + len(self.gname)] = self.gname
        block[329:337] = self.devmajor.ljust(8, b"\0")
        block[337:345] = self.devminor.ljust(8, b"\0")
        block[345 : 345 + len(self.prefix)] = self.prefix
        block[500 : 500 + len(self.tail)] = self.tail
        block[148:156] = self.chksum if self.chksum is not None else checksum(block)
        assert len(block) == BLOCK
        return bytes(block)


def pad(data: bytes) -> bytes:
    return data + b"\0" * (-len(data) % BLOCK)


def _raw(value: bytes | str) -> bytes:
    return value.encode() if isinstance(value, str) else value


def _header(name: bytes | str, linkname: bytes | str = b"", **fields: bytes) -> bytes:
    """A header, preceded by a PAX header when the name or link is too long."""
    raw_name, raw_link = _raw(name), _raw(linkname)
    records: list[tuple[bytes, bytes]] = []
    if len(raw_name) > 100:
        records.append((b"path", raw_name))
        raw_name = raw_name[:100]
    if len(raw_link) > 100:
        records.append((b"linkpath", raw_link))
        raw_link = raw_link[:100]
    header = Header(name=raw_name, linkname=raw_link, **fields).encode()
    return (pax(records) if records else b"") + header


def member(name: bytes | str, data: bytes = b"", **fields: bytes) -> bytes:
    """A regular file (or any type via ``type=``) with its data."""
    return _header(name, size=octal(len(data), 12), **fields) + pad(data)


def directory(name: bytes | str, **fields: bytes) -> bytes:
    return _header(name, type=b"5", mode=octal(0o755, 8), **fields)


def symlink(name: bytes | str, target: bytes | str, **fields: bytes) -> bytes:
    return _header(name, target, type=b"2", mode=octal(0o777, 8), **fields)


def hardlink(name: bytes | str, target: bytes | str, **fields: bytes) -> bytes:
    return _header(name, target, type=b"1", **fields)


def pax_records(records: list[tuple[bytes, bytes]]) -> bytes:
    out = b""
    for key, value in records:
        body = b" " + key + b"=" + value + b"\n"
        length = len(body) + 1
        while len(str(length)) + len(body) != length:
            length = len(str(length)) + len(body)
        out += str(length).encode() + body
    return out


def pax(records: list[tuple[bytes, bytes]], *, global_: bool = False) -> bytes:
    """A PAX extended header (``x``, or ``g`` with ``global_``) and its data."""
    data = pax_records(records)
    header = Header(
        name=b"././@PaxHeader",
        type=b"g" if global_ else b"x",
        size=octal(len(data), 12),
    )
    return header.encode() + pad(data)


def gnu_long(kind: bytes, value: bytes) -> bytes:
    """A GNU ``L`` (long name) or ``K`` (long link) header and its data."""
    data = value + b"\0"
    header = Header(
        name=b"././@LongLink", type=kind, size=octal(len(data), 12), magic=b"ustar  \0"
    )
    return header.encode() + pad(data)


MANIFEST_JSON = (
    b'{"acKind":"ImageManifest","acVersion":"0.8.11","name":"example.com/test",'
    b'"labels":[{"name":"os","value":"linux"},{"name":"arch","value":"amd64"}]}'
)


def manifest(data: bytes = MANIFEST_JSON) -> bytes:
    return member("manifest", data)


def image(*members: bytes, end: bytes = END) -> bytes:
    """``manifest`` + ``rootfs/`` + the given members + the end blocks."""
    return manifest() + directory("rootfs") + b"".join(members) + end
