"""A strict tar reader and a reproducible tar header writer.

We parse tar ourselves instead of using :mod:`tarfile` for three reasons:

- **Parser differentials.** Go's ``archive/tar`` (what rkt and actool run) and
  Python's ``tarfile`` read some header combinations differently, so an
  archive can show one name to a validator and another to a runtime. This
  reader accepts only headers on which both agree and rejects the rest with a
  reason: a PAX ``path`` together with a GNU long name, two extended headers
  of one kind for one member, a PAX ``size`` that disagrees with the header,
  numbers Go and Python parse differently (``"\\0" "12"``, ``"1_0"``), a
  ustar prefix in a GNU or v7 header, global PAX headers, sparse files.
- **Bounds.** Extended headers, names and the member count have budgets
  (:class:`appc.aci.limits.Limits`); ``tarfile`` reads long names whole.
- **Speed.** Headers are parsed straight out of the decompressed chunks,
  without ``tarfile``'s small seeks on compressed streams.

>>> import io
>>> data = encode_header(TarEntry(name=b"rootfs", type=DIRTYPE, mode=0o755)) + END_OF_ARCHIVE
>>> [m.name for m in TarReader(iter([data]))]
['rootfs']
"""

from __future__ import annotations

import re
import struct

from collections.abc import Iterator
from typing import Final
from zlib import adler32 as _adler32

import attrs

from appc.aci.limits import DEFAULT_LIMITS, Limits
from appc.errors import ArchiveError, LimitExceeded


__all__ = [
    "BLKTYPE",
    "BLOCK_SIZE",
    "CHRTYPE",
    "DIRTYPE",
    "END_OF_ARCHIVE",
    "FIFOTYPE",
    "LNKTYPE",
    "REGTYPE",
    "REGULAR_TYPES",
    "SYMTYPE",
    "Member",
    "TarEntry",
    "TarReader",
    "encode_header",
    "padding",
]

BLOCK_SIZE: Final = 512
END_OF_ARCHIVE: Final = b"\0" * (2 * BLOCK_SIZE)
_ZERO_BLOCK: Final = b"\0" * BLOCK_SIZE

REGTYPE: Final = "0"
AREGTYPE: Final = "\0"
LNKTYPE: Final = "1"
SYMTYPE: Final = "2"
CHRTYPE: Final = "3"
BLKTYPE: Final = "4"
DIRTYPE: Final = "5"
FIFOTYPE: Final = "6"
CONTTYPE: Final = "7"
_PAX_TYPE: Final = "x"
_PAX_GLOBAL_TYPE: Final = "g"
_GNU_LONGNAME: Final = "L"
_GNU_LONGLINK: Final = "K"

_MEMBER_TYPES: Final = frozenset(
    (REGTYPE, AREGTYPE, LNKTYPE, SYMTYPE, CHRTYPE, BLKTYPE, DIRTYPE, FIFOTYPE, CONTTYPE)
)
REGULAR_TYPES: Final = frozenset((REGTYPE, AREGTYPE, CONTTYPE))
_TYPE_NAMES: Final = {
    _PAX_GLOBAL_TYPE: "PAX global header",
    "S": "GNU sparse file",
    "D": "GNU dump directory",
    "M": "GNU multi-volume continuation",
    "N": "GNU old long name",
    "V": "GNU volume header",
    "X": "Solaris extended header",
}

_USTAR_MAGIC: Final = b"ustar\x00"
_USTAR_MAGIC_FIELD: Final = b"ustar\x0000"
_GNU_MAGIC: Final = b"ustar  \x00"
# The fields of a header block, in order (the magic with its version).
_HEADER: Final = struct.Struct("100s8s8s8s12s12s8s1s100s8s32s32s8s8s155s12s")
_STAR_TRAILER: Final = b"tar\x00"
#: The largest value an 11-digit octal size field holds.
_MAX_OCTAL_SIZE: Final = 0o77777777777

_DIGITS_RE: Final = re.compile(rb" *([0-7]*)[ \0]*")
_PAX_INT_RE: Final = re.compile(rb"(0|[1-9][0-9]*)")
_PAX_TIME_RE: Final = re.compile(rb"(-?)([0-9]+)(?:\.([0-9]+))?")


def padding(size: int) -> int:
    """Bytes of zero padding after ``size`` bytes of member data.

    >>> padding(0), padding(1), padding(512)
    (0, 511, 0)
    """
    return -size % BLOCK_SIZE


def _decode(raw: bytes) -> str:
    return raw.decode("utf-8", "surrogateescape")


def _string(field: bytes) -> bytes:
    end = field.find(0)
    return field if end < 0 else field[:end]


def _parse_number(field: bytes, what: str) -> int:
    """Parse a numeric header field as Go and Python both would."""
    first = field[0]
    if first & 0x80:
        # GNU base-256: a positive or (0xff) negative big-endian number.
        invert = 0xFF if first & 0x40 else 0
        body = bytes((c ^ invert) for c in field)
        value = int.from_bytes(bytes((body[0] & 0x7F,)) + body[1:], "big")
        if value >> 63:
            raise ArchiveError(f"tar header {what} field is out of range")
        return ~value if invert else value
    match = _DIGITS_RE.fullmatch(field)
    if match is None:
        # Go trims NULs on both sides and Python stops at the first one,
        # so a NUL before the digits would make them disagree.
        raise ArchiveError(f"tar header {what} field is not an octal number: {field!r}")
    digits = match.group(1)
    return int(digits, 8) if digits else 0


def _number(field: bytes, what: str) -> int:
    # The usual forms, digits then NULs or spaces, without the regex. isdigit
    # lets 8 and 9 through: int() then fails and the slow path says why.
    body = field.rstrip(b"\0 ")
    if body.isdigit():
        try:
            return int(body, 8)
        except ValueError:
            pass
    return _parse_number(field, what)


def _checksum_ok(block: bytes) -> bool:
    field = block[148:156]
    stored = _number(field, "checksum")
    # The checksum field itself counts as eight spaces.
    unsigned = sum(block) - sum(field) + 256
    if stored == unsigned:
        return True
    high = sum(1 for b in block[:148] if b & 0x80) + sum(
        1 for b in block[156:] if b & 0x80
    )
    return stored == unsigned - 256 * high


class Member:
    """One tar member as this reader resolved it (extended headers applied).

    ``raw`` is every header block of the member, extended headers included,
    so that a copy can reproduce it exactly.
    """

    __slots__ = (
        "devmajor",
        "devminor",
        "gid",
        "gname",
        "linkname",
        "mode",
        "mtime_ns",
        "name",
        "offset",
        "raw",
        "size",
        "type",
        "uid",
        "uname",
        "xattrs",
    )

    def __init__(
        self,
        *,
        name: str,
        type: str,  # noqa: A002 - the tar field's name
        mode: int = 0o644,
        uid: int = 0,
        gid: int = 0,
        size: int = 0,
        mtime_ns: int = 0,
        linkname: str = "",
        uname: str = "",
        gname: str = "",
        devmajor: int = 0,
        devminor: int = 0,
        xattrs: dict[str, bytes] | None = None,
        raw: bytes = b"",
        offset: int = 0,
    ) -> None:
        self.name = name
        self.type = type
        self.mode = mode
        self.uid = uid
        self.gid = gid
        self.size = size
        self.mtime_ns = mtime_ns
        self.linkname = linkname
        self.uname = uname
        self.gname = gname
        self.devmajor = devmajor
        self.devminor = devminor
        self.xattrs = xattrs if xattrs is not None else {}
        self.raw = raw
        self.offset = offset

    def __repr__(self) -> str:
        return f"Member(name={self.name!r}, type={self.type!r}, size={self.size})"

    @property
    def is_regular(self) -> bool:
        """Whether the member is a regular file (the only kind with data).

        >>> Member(name="a", type="0").is_regular, Member(name="a", type="5").is_regular
        (True, False)
        """
        return self.type in REGULAR_TYPES

    @property
    def is_dir(self) -> bool:
        """Whether the member is a directory."""
        return self.type == DIRTYPE


# The header most archives hold, matched in one go: canonical octal numbers
# (zero-padded digits and a NUL, as GNU tar, Go and Python write them), a
# ustar or GNU magic, an empty name prefix and a type that needs neither device
# numbers nor extended headers. Such a header means the same to every reader;
# any other goes through TarReader._next_slow. The lookaheads capture a
# string field up to its first NUL, as both readers cut it.
_PLAIN_HEADER: Final = re.compile(
    rb"(?s)(?=([^\0]{0,100})).{100}"  # name
    rb"([0-7]{7})\0([0-7]{7})\0([0-7]{7})\0"  # mode, uid, gid
    rb"([0-7]{11})\0([0-7]{11})\0"  # size, mtime
    rb"([0-7]{6})\0 "  # checksum
    rb"([012567])"  # type: file, hard link, symlink, directory, fifo
    rb"(?=([^\0]{0,100})).{100}"  # link name
    rb"(?:ustar\x0000|ustar  \0)"  # POSIX or GNU magic
    rb"(?=([^\0]{0,32})).{32}(?=([^\0]{0,32})).{32}"  # owner names
    rb".{16}\0"  # device numbers; the prefix starts with NUL
)


def _plain_member(block: bytes, max_name_length: int) -> Member | None:
    """The member of a plain header block, or None to take the slow path.

    Returns what the slow path would for the same block. The unsigned sum
    of bytes is taken with ``adler32`` over spans too short to wrap its
    modulus (255 * 256 < 65521).
    """
    match = _PLAIN_HEADER.match(block)
    if match is None:
        return None
    name, mode, uid, gid, size, mtime, checksum, kind, link, uname, gname = (
        match.groups()
    )
    if int(checksum, 8) != (
        (_adler32(block[:148], 0) & 0xFFFF)
        + (_adler32(block[156:412], 0) & 0xFFFF)
        + (_adler32(block[412:], 0) & 0xFFFF)
        + 256  # the checksum field, counted as eight spaces
    ):
        return None
    length = int(size, 8)
    if (length and kind not in b"07") or (
        len(name) > max_name_length or len(link) > max_name_length
    ):
        return None
    return Member(
        name=name.decode("utf-8", "surrogateescape"),
        type=kind.decode(),
        mode=int(mode, 8),
        uid=int(uid, 8),
        gid=int(gid, 8),
        size=length,
        mtime_ns=int(mtime, 8) * 1_000_000_000,
        linkname=link.decode("utf-8", "surrogateescape") if link else "",
        uname=uname.decode("utf-8", "surrogateescape") if uname else "",
        gname=gname.decode("utf-8", "surrogateescape") if gname else "",
    )


def _parse_pax(data: bytes) -> dict[str, bytes]:
    records: dict[str, bytes] = {}
    pos = 0
    end = len(data)
    while pos < end:
        space = data.find(b" ", pos, pos + 21)
        if space < 0 or _PAX_INT_RE.fullmatch(data, pos, space) is None:
            raise ArchiveError("malformed PAX record length")
        length = int(data[pos:space])
        stop = pos + length
        if stop > end or stop <= space + 1 or data[stop - 1] != 0x0A:
            raise ArchiveError("malformed PAX record")
        key_value = data[space + 1 : stop - 1]
        equals = key_value.find(b"=")
        if equals <= 0:
            raise ArchiveError("malformed PAX record: no key")
        key = key_value[:equals].decode("utf-8", "surrogateescape")
        if "\0" in key:
            raise ArchiveError("malformed PAX record: NUL in key")
        if key in records:
            raise ArchiveError(f"PAX record {key!r} appears twice")
        records[key] = key_value[equals + 1 :]
        pos = stop
    return records


def _pax_int(records: dict[str, bytes], key: str) -> int | None:
    value = records.get(key)
    if value is None:
        return None
    if _PAX_INT_RE.fullmatch(value) is None or len(value) > 19:
        raise ArchiveError(f"PAX record {key!r} is not a number: {value!r}")
    return int(value)


def _pax_time_ns(value: bytes) -> int:
    match = _PAX_TIME_RE.fullmatch(value)
    if match is None or len(value) > 40:
        raise ArchiveError(f"PAX record 'mtime' is not a time: {value!r}")
    sign, seconds, fraction = match.groups()
    nanos = int(seconds) * 10**9 + (int((fraction or b"0")[:9].ljust(9, b"0")))
    return -nanos if sign else nanos


def _pax_bytes(records: dict[str, bytes], key: str) -> bytes | None:
    value = records.get(key)
    if value is not None and (not value or b"\0" in value):
        # An empty value means "unset" in POSIX but not to every reader.
        raise ArchiveError(f"PAX record {key!r} is empty or holds a NUL byte")
    return value


def _pax_string(records: dict[str, bytes], key: str) -> str | None:
    value = _pax_bytes(records, key)
    return None if value is None else _decode(value)


_KNOWN_PAX_PREFIXES: Final = ("GNU.sparse.", "LIBARCHIVE.", "SCHILY.")


class TarReader:
    """Iterate the members of an uncompressed tar stream given as chunks.

    After each member, its data can be read with :meth:`iter_data`; data not
    read is skipped. Every problem is an :class:`~appc.errors.ArchiveError`
    (a :class:`~appc.errors.LimitExceeded` for budgets).
    """

    def __init__(
        self, chunks: Iterator[bytes], limits: Limits = DEFAULT_LIMITS
    ) -> None:
        self._chunks = chunks
        self._limits = limits
        self._buf = b""
        self._pos = 0
        self._offset = 0  # stream offset of self._buf[0]
        self._data_left = 0  # data of the current member not read yet
        self._pad_left = 0
        self._members = 0
        self.ended = False  # the end-of-archive blocks were seen

    @property
    def offset(self) -> int:
        """Bytes of the stream consumed so far."""
        return self._offset + self._pos

    # -- byte source ---------------------------------------------------

    def _fill(self) -> bool:
        for chunk in self._chunks:
            if chunk:
                self._offset += len(self._buf)
                self._buf = chunk
                self._pos = 0
                return True
        return False

    def _take(self, size: int) -> bytes:
        """Exactly ``size`` bytes, or fewer at the end of the stream."""
        pos = self._pos
        end = pos + size
        buf = self._buf
        if end <= len(buf):
            self._pos = end
            return buf[pos:end]
        parts = [buf[pos:]]
        got = len(buf) - pos
        self._pos = len(buf)
        while got < size and self._fill():
            want = size - got
            piece = self._buf[:want]
            self._pos = len(piece)
            parts.append(piece)
            got += len(piece)
        return b"".join(parts)

    def _skip(self, size: int) -> None:
        while True:
            available = len(self._buf) - self._pos
            if available >= size:
                self._pos += size
                return
            size -= available
            self._pos = len(self._buf)
            if not self._fill():
                raise ArchiveError("truncated tar archive: member data ends early")

    def drain(self) -> int:
        """Read the rest of the stream (after the archive's end); return its size."""
        rest = len(self._buf) - self._pos
        self._pos = len(self._buf)
        while self._fill():
            rest += len(self._buf)
            self._pos = len(self._buf)
        return rest

    # -- member data -----------------------------------------------------

    def iter_data(self, limit: int | None = None) -> Iterator[memoryview]:
        """Yield the data of the current member in pieces.

        >>> from appc.aci._tar import TarReader, TarEntry, encode_header, END_OF_ARCHIVE
        >>> arch = encode_header(TarEntry(name=b"f", size=3)) + b"abc".ljust(512, b"\\0")
        >>> reader = TarReader(iter([arch + END_OF_ARCHIVE]))
        >>> member = next(iter(reader))
        >>> b"".join(reader.iter_data())
        b'abc'
        """
        left = self._data_left if limit is None else min(limit, self._data_left)
        while left:
            if self._pos == len(self._buf) and not self._fill():
                raise ArchiveError("truncated tar archive: member data ends early")
            pos = self._pos
            piece = min(left, len(self._buf) - pos)
            self._pos = pos + piece
            self._data_left -= piece
            left -= piece
            yield memoryview(self._buf)[pos : pos + piece]

    def data_view(self) -> memoryview | None:
        """All the unread data of the current member, if the buffer holds it.

        Consumes it and returns a view; None (consuming nothing) when the data
        runs past the current chunk: then use :meth:`iter_data`.
        """
        pos = self._pos
        end = pos + self._data_left
        if end > len(self._buf):
            return None
        self._pos = end
        self._data_left = 0
        return memoryview(self._buf)[pos:end]

    def read_data(self) -> bytes:
        """The whole data of the current member (callers bound its size first)."""
        return b"".join(self.iter_data())

    # -- headers -----------------------------------------------------------

    def __iter__(self) -> Iterator[Member]:
        max_name_length = self._limits.max_name_length
        max_members = self._limits.max_members
        while not self.ended:
            pos = self._pos
            if self._data_left or self._pad_left:
                pos += self._data_left + self._pad_left
                self._data_left = self._pad_left = 0
                if pos > len(self._buf):
                    self._skip(pos - self._pos)
                    pos = self._pos
            start = self._offset + pos
            end = pos + BLOCK_SIZE
            if end <= len(self._buf):
                block = self._buf[pos:end]
                self._pos = end
            else:
                self._pos = pos
                block = self._take(BLOCK_SIZE)
            member = (
                _plain_member(block, max_name_length)
                if len(block) == BLOCK_SIZE
                else None
            )
            if member is not None:
                # _admit, inlined: this is the path of nearly every member.
                self._members += 1
                if self._members > max_members:
                    self._too_many_members()
                member.raw = block
                member.offset = start
                if member.type in REGULAR_TYPES:
                    self._data_left = size = member.size
                    self._pad_left = -size % BLOCK_SIZE
                yield member
                continue
            member = self._next_slow(block, start)
            if member is None:
                return
            yield member

    def _admit(self, member: Member, raw: bytes, start: int) -> Member:
        """Count ``member`` against the budget and make it the current one."""
        self._members += 1
        if self._members > self._limits.max_members:
            self._too_many_members()
        member.raw = raw
        member.offset = start
        self._data_left = left = member.size if member.type in REGULAR_TYPES else 0
        self._pad_left = -left % BLOCK_SIZE
        return member

    def _too_many_members(self) -> None:
        limit = self._limits.max_members
        raise LimitExceeded(
            "max_members",
            limit,
            f"more than {limit} members in the archive (max_members)",
        )

    def _next_slow(self, block: bytes, start: int) -> Member | None:
        """Every header form: extended headers, checksum variants, refusals."""
        raw: list[bytes] = []
        pax: dict[str, bytes] | None = None
        long_name: bytes | None = None
        long_link: bytes | None = None
        while True:
            if raw:
                block = self._take(BLOCK_SIZE)
            if not block:
                if raw:
                    raise ArchiveError(
                        "truncated tar archive: extended header without a member"
                    )
                self.ended = True
                return None
            if len(block) < BLOCK_SIZE:
                raise ArchiveError("truncated tar archive: partial header block")
            if block == _ZERO_BLOCK:
                if raw:
                    raise ArchiveError(
                        "extended header followed by the end of the archive"
                    )
                self._end_of_archive()
                return None
            if not _checksum_ok(block):
                raise ArchiveError(
                    f"tar header checksum mismatch at offset {self.offset - BLOCK_SIZE}"
                )
            raw.append(block)
            kind = chr(block[156])
            if kind in (_PAX_TYPE, _GNU_LONGNAME, _GNU_LONGLINK):
                data = self._extension_data(block, kind)
                raw.append(data.ljust(len(data) + padding(len(data)), b"\0"))
                if kind == _PAX_TYPE:
                    if pax is not None:
                        raise ArchiveError(
                            "two PAX headers for one member (Go keeps the last, Python the first)"
                        )
                    pax = _parse_pax(data)
                elif kind == _GNU_LONGNAME:
                    if long_name is not None:
                        raise ArchiveError(
                            "two GNU long names for one member (Go keeps the last, Python the first)"
                        )
                    long_name = _string(data)
                else:
                    if long_link is not None:
                        raise ArchiveError(
                            "two GNU long links for one member (Go keeps the last, Python the first)"
                        )
                    long_link = _string(data)
                continue
            if kind not in _MEMBER_TYPES:
                what = _TYPE_NAMES.get(kind, f"type {kind!r}")
                raise ArchiveError(f"unsupported tar member ({what})")
            member = self._member(block, kind, pax, long_name, long_link)
            return self._admit(member, block if len(raw) == 1 else b"".join(raw), start)

    def _end_of_archive(self) -> None:
        second = self._take(BLOCK_SIZE)
        if second and second != _ZERO_BLOCK:
            # Python stops at one zero block, Go wants a second one.
            raise ArchiveError(
                "zero block not followed by a second one (Go fails there, Python stops)"
            )
        self.ended = True

    def _extension_data(self, block: bytes, kind: str) -> bytes:
        size = _number(block[124:136], "size")
        limit = self._limits.max_extended_header_size
        if size > limit:
            what = "PAX header" if kind == _PAX_TYPE else "GNU long name"
            raise LimitExceeded(
                "max_extended_header_size",
                limit,
                f"{what} of {size} bytes is larger than {limit} (max_extended_header_size)",
            )
        data = self._take(size + padding(size))
        if len(data) < size + padding(size):
            raise ArchiveError("truncated tar archive: extended header data ends early")
        return data[:size]

    def _member(
        self,
        block: bytes,
        kind: str,
        pax: dict[str, bytes] | None,
        long_name: bytes | None,
        long_link: bytes | None,
    ) -> Member:
        (
            name_field,
            mode_field,
            uid_field,
            gid_field,
            size_field,
            mtime_field,
            _checksum,
            _type,
            link_field,
            magic,
            uname_field,
            gname_field,
            major_field,
            minor_field,
            prefix_field,
            trailer,
        ) = _HEADER.unpack(block)
        end = name_field.find(0)
        raw_name = name_field if end < 0 else name_field[:end]
        if magic == _USTAR_MAGIC_FIELD or magic[:6] == _USTAR_MAGIC:
            if trailer[8:] == _STAR_TRAILER and 0 not in prefix_field[:131]:
                raise ArchiveError(
                    "star header whose prefix Go and Python read differently"
                )
            prefix = _string(prefix_field)
            if prefix:
                raw_name = prefix + b"/" + raw_name
        elif magic == _GNU_MAGIC:
            if prefix_field[0]:
                raise ArchiveError(
                    "GNU header with data where Python reads a name prefix"
                )
        else:
            # Pre-POSIX (v7): Go reads nothing past the link name, Python reads
            # a prefix, owner names and device numbers.
            if prefix_field[0]:
                raise ArchiveError(
                    "pre-POSIX header with data where Python reads a name prefix"
                )
            if kind in (CHRTYPE, BLKTYPE):
                raise ArchiveError("pre-POSIX header cannot describe a device node")
            uname_field = gname_field = b""
        end = link_field.find(0)
        raw_link = link_field if end < 0 else link_field[:end]
        size = _number(size_field, "size")
        uid = _number(uid_field, "uid")
        gid = _number(gid_field, "gid")
        mtime_ns = _number(mtime_field, "mtime") * 1_000_000_000
        xattrs: dict[str, bytes] = {}
        uname = _string(uname_field)
        gname = _string(gname_field)
        name = linkname = None
        if pax is not None or long_name is not None or long_link is not None:
            records = pax if pax is not None else {}
            name, linkname = self._long_names(records, long_name, long_link)
            size = self._pax_size(records, size, name or _decode(raw_name))
            if any(key.startswith("GNU.sparse.") for key in records):
                raise ArchiveError(
                    f"member {name or _decode(raw_name)!r} is a GNU sparse file"
                )
            pax_uid, pax_gid = _pax_int(records, "uid"), _pax_int(records, "gid")
            uid = uid if pax_uid is None else pax_uid
            gid = gid if pax_gid is None else pax_gid
            if "mtime" in records:
                mtime_ns = _pax_time_ns(records["mtime"])
            xattrs = {
                key[13:]: value
                for key, value in records.items()
                if key.startswith("SCHILY.xattr.")
            }
            uname = _pax_bytes(records, "uname") or uname
            gname = _pax_bytes(records, "gname") or gname
        if name is None:
            name = raw_name.decode("utf-8", "surrogateescape")
        if linkname is None:
            linkname = raw_link.decode("utf-8", "surrogateescape") if raw_link else ""
        if kind == AREGTYPE:
            # Old tars mark directories with a trailing slash; Python looks at
            # the header's own name and Go at the final one.
            if raw_name.endswith(b"/") != name.endswith("/"):
                raise ArchiveError(
                    f"member {name!r} is a directory to one reader and a file to another"
                )
            kind = DIRTYPE if name.endswith("/") else REGTYPE
        limit = self._limits.max_name_length
        if (len(name) > limit // 4 or len(linkname) > limit // 4) and (
            len(name.encode("utf-8", "surrogateescape")) > limit
            or len(linkname.encode("utf-8", "surrogateescape")) > limit
        ):
            raise LimitExceeded(
                "max_name_length",
                limit,
                f"member name or link longer than {limit} bytes (max_name_length)",
            )
        if size < 0:
            raise ArchiveError(f"member {name!r} has a negative size")
        if size and kind not in REGULAR_TYPES:
            # Readers disagree on whether such data is skipped.
            raise ArchiveError(
                f"member {name!r} is not a regular file but has {size} bytes of data"
            )
        if uid < 0 or gid < 0:
            raise ArchiveError(f"member {name!r} has a negative uid or gid")
        device = kind in (CHRTYPE, BLKTYPE)
        return Member(
            name=name,
            type=kind,
            mode=_number(mode_field, "mode"),
            uid=uid,
            gid=gid,
            size=size,
            mtime_ns=mtime_ns,
            linkname=linkname,
            uname=_decode(uname) if uname else "",
            gname=_decode(gname) if gname else "",
            devmajor=_number(major_field, "devmajor") if device else 0,
            devminor=_number(minor_field, "devminor") if device else 0,
            xattrs=xattrs,
        )

    @staticmethod
    def _long_names(
        records: dict[str, bytes], long_name: bytes | None, long_link: bytes | None
    ) -> tuple[str | None, str | None]:
        name = _pax_string(records, "path")
        if long_name is not None:
            if name is not None:
                raise ArchiveError("member has both a PAX path and a GNU long name")
            name = _decode(long_name)
        linkname = _pax_string(records, "linkpath")
        if long_link is not None:
            if linkname is not None:
                raise ArchiveError("member has both a PAX linkpath and a GNU long link")
            linkname = _decode(long_link)
        return name, linkname

    @staticmethod
    def _pax_size(records: dict[str, bytes], size: int, name: str) -> int:
        pax_size = _pax_int(records, "size")
        if pax_size is None:
            return size
        if pax_size != size and not (size == 0 and pax_size > _MAX_OCTAL_SIZE):
            raise ArchiveError(
                f"member {name!r}: PAX size {pax_size} disagrees with header size {size}"
            )
        return pax_size


# --------------------------------------------------------------------------
# Writing


@attrs.frozen(kw_only=True)
class TarEntry:
    """The header of one member to write; names and strings are raw bytes.

    >>> len(encode_header(TarEntry(name=b"rootfs/a", size=1)))
    512
    """

    name: bytes
    type: str = REGTYPE
    mode: int = 0o644
    uid: int = 0
    gid: int = 0
    size: int = 0
    mtime: int = 0
    linkname: bytes = b""
    uname: bytes = b""
    gname: bytes = b""
    devmajor: int = 0
    devminor: int = 0
    xattrs: tuple[tuple[bytes, bytes], ...] = ()


def _octal(value: int, width: int) -> bytes | None:
    if value < 0:
        return None
    text = b"%0*o" % (width - 1, value)
    if len(text) >= width:
        return None
    return text + b"\0"


def _split_name(name: bytes) -> tuple[bytes, bytes] | None:
    """Split a long name into ustar ``prefix`` and ``name`` fields, if it fits."""
    if len(name) <= 100:
        return b"", name
    # The prefix is at most 155 bytes and the rest at most 100.
    start = max(len(name) - 101, 0)
    cut = name.find(b"/", start, 156)
    if cut <= 0 or len(name) - cut - 1 > 100 or cut == len(name) - 1:
        return None
    return name[:cut], name[cut + 1 :]


def _pax_record(key: bytes, value: bytes) -> bytes:
    body = b" " + key + b"=" + value + b"\n"
    length = len(body) + 1
    while len(str(length)) + len(body) != length:
        length = len(str(length)) + len(body)
    return str(length).encode() + body


def _ustar_block(
    *,
    name: bytes,
    prefix: bytes,
    type: str,  # noqa: A002 - the tar field's name
    mode: bytes,
    uid: bytes,
    gid: bytes,
    size: bytes,
    mtime: bytes,
    linkname: bytes,
    uname: bytes,
    gname: bytes,
    devmajor: bytes,
    devminor: bytes,
) -> bytes:
    block = _HEADER.pack(
        name,
        mode,
        uid,
        gid,
        size,
        mtime,
        b"        ",  # the checksum counts itself as spaces
        type.encode(),
        linkname,
        _USTAR_MAGIC_FIELD,
        uname,
        gname,
        devmajor,
        devminor,
        prefix,
        b"",
    )
    return block[:148] + b"%06o\0 " % sum(block) + block[156:]


_ZERO7: Final = b"0000000\0"


def encode_header(entry: TarEntry) -> bytes:
    """The header block(s) of ``entry``: ustar, with a PAX header when needed.

    A PAX header carries what ustar cannot hold: long names and links, large
    numbers, negative times and extended attributes (``SCHILY.xattr.``, as
    GNU tar, Go and Python write them). Records are sorted, so the bytes
    depend only on the entry.

    >>> blocks = encode_header(TarEntry(name=b"rootfs/" + b"x" * 300))
    >>> len(blocks), blocks[156:157]
    (1536, b'x')
    """
    records: list[tuple[bytes, bytes]] = []
    split = _split_name(entry.name)
    if split is None:
        records.append((b"path", entry.name))
        prefix, name = b"", entry.name[-100:].lstrip(b"/")[:100]
    else:
        prefix, name = split
    linkname = entry.linkname
    if len(linkname) > 100:
        records.append((b"linkpath", linkname))
        linkname = linkname[:100]
    fields: dict[str, bytes] = {}
    for field, value, width, key in (
        ("uid", entry.uid, 8, b"uid"),
        ("gid", entry.gid, 8, b"gid"),
        ("size", entry.size, 12, b"size"),
        ("mtime", entry.mtime, 12, b"mtime"),
    ):
        encoded = _octal(value, width)
        if encoded is None:
            records.append((key, b"%d" % value))
            encoded = b"0" * (width - 1) + b"\0"
        fields[field] = encoded
    uname, gname = entry.uname, entry.gname
    if len(uname) > 31:
        records.append((b"uname", uname))
        uname = b""
    if len(gname) > 31:
        records.append((b"gname", gname))
        gname = b""
    mode = _octal(entry.mode & 0o7777777, 8)
    devmajor = _octal(entry.devmajor, 8)
    devminor = _octal(entry.devminor, 8)
    if mode is None or devmajor is None or devminor is None:
        raise ArchiveError(
            f"cannot store {entry.name!r}: mode or device number too large"
        )
    records.extend((b"SCHILY.xattr." + key, value) for key, value in entry.xattrs)
    header = _ustar_block(
        name=name,
        prefix=prefix,
        type=entry.type,
        mode=mode,
        uid=fields["uid"],
        gid=fields["gid"],
        size=fields["size"],
        mtime=fields["mtime"],
        linkname=linkname,
        uname=uname,
        gname=gname,
        devmajor=devmajor,
        devminor=devminor,
    )
    if not records:
        return header
    body = b"".join(_pax_record(key, value) for key, value in sorted(records))
    size = b"%011o\0" % len(body)  # < 8 GiB: bounded by the xattrs and names
    pax_header = _ustar_block(
        name=b"././@PaxHeader",
        prefix=b"",
        type=_PAX_TYPE,
        mode=b"0000644\0",
        uid=_ZERO7,
        gid=_ZERO7,
        size=size,
        mtime=b"00000000000\0",
        linkname=b"",
        uname=b"",
        gname=b"",
        devmajor=_ZERO7,
        devminor=_ZERO7,
    )
    return pax_header + body + b"\0" * padding(len(body)) + header
