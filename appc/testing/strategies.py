"""Hypothesis strategies for every public ``appc`` type, and near misses.

Valid values are built from the spec's grammars (``appc._grammar``) and
tables, not by generating anything and filtering, so they stay fast and
cover the edges (runs of separators, leading zeros, every suffix, every
os/arch pair). Each ``invalid_*`` strategy makes near misses: a valid value
with one rule broken, the inputs that find bugs in validators.

Needs the ``appc[testing]`` extra (hypothesis). The strategies are also
registered with :func:`hypothesis.strategies.register_type_strategy`, so
``st.from_type(ACName)`` works.

>>> from hypothesis import given
>>> @given(ac_names())
... def test_names_are_lower_case(name):
...     assert name == name.lower()
>>> test_names_are_lower_case()
"""

# No "from __future__ import annotations": it would clash with annotations().
import string

from typing import Any

from hypothesis import strategies as st

from appc import _grammar
from appc.app_string import ImageRef
from appc.image_id import ImageHash, ImageID, ImageIDPrefix
from appc.labels import KNOWN_OS_ARCH, Labels
from appc.model.common import URL, UUID, Annotations, Date
from appc.names import ACIdentifier, ACName
from appc.quantity import Quantity
from appc.semver import SemVer


__all__ = [
    "NEAR_MISS_RULES",
    "ac_identifiers",
    "ac_names",
    "annotations",
    "apps",
    "date_strings",
    "dates",
    "dependencies",
    "image_hashes",
    "image_id_prefixes",
    "image_ids",
    "image_manifests",
    "image_refs",
    "invalid_ac_identifiers",
    "invalid_ac_names",
    "invalid_date_strings",
    "invalid_quantity_strings",
    "invalid_semver_strings",
    "invalid_urls",
    "isolator_documents",
    "isolator_values",
    "isolators",
    "json_values",
    "known_isolators",
    "labels",
    "manifest_documents",
    "near_miss_documents",
    "os_arch_pairs",
    "pod_manifests",
    "ports",
    "quantities",
    "quantity_strings",
    "register_type_strategies",
    "semver_strings",
    "semvers",
    "unknown_isolators",
    "urls",
    "uuids",
    "volumes",
]

_LOWER_ALNUM = string.ascii_lowercase + string.digits
_SEPARATORS = _grammar.AC_IDENTIFIER_SEPARATORS
_MAX_INT64 = 2**63 - 1


# -- names -------------------------------------------------------------------


def _joined(
    edge: st.SearchStrategy[str], middle: st.SearchStrategy[str], max_size: int
) -> st.SearchStrategy[str]:
    # An alphanumeric first character, then optionally a middle and an
    # alphanumeric last character: the shape both name grammars share.
    return st.one_of(
        edge,
        st.tuples(edge, st.text(middle, max_size=max_size), edge).map("".join),
    )


def ac_identifiers(
    *, strict: bool = False, max_size: int = 40
) -> st.SearchStrategy[ACIdentifier]:
    """AC Identifiers; ``strict=True`` keeps to the spec's regex (no ``a..b``).

    >>> isinstance(ac_identifiers(strict=True), st.SearchStrategy)
    True
    """
    alnum = st.sampled_from(_LOWER_ALNUM)
    if strict:
        words = st.text(alnum, min_size=1, max_size=8)
        pieces = st.lists(
            st.tuples(st.sampled_from(_SEPARATORS), words), max_size=max_size // 8
        )
        text = st.tuples(words, pieces).map(
            lambda t: t[0] + "".join(a + b for a, b in t[1])
        )
    else:
        text = _joined(alnum, st.sampled_from(_LOWER_ALNUM + _SEPARATORS), max_size)
    return text.map(ACIdentifier)


def ac_names(*, strict: bool = False, max_size: int = 40) -> st.SearchStrategy[ACName]:
    """AC Names; ``strict=True`` keeps to the spec's regex (no ``a--b``).

    >>> isinstance(ac_names(), st.SearchStrategy)
    True
    """
    alnum = st.sampled_from(_LOWER_ALNUM)
    if strict:
        words = st.text(alnum, min_size=1, max_size=8)
        text = st.lists(words, min_size=1, max_size=max(1, max_size // 8)).map("-".join)
    else:
        text = _joined(alnum, st.sampled_from(_LOWER_ALNUM + "-"), max_size)
    return text.map(ACName)


def _break_name(
    valid: st.SearchStrategy[str], separators: str
) -> st.SearchStrategy[str]:
    bad_chars = st.sampled_from(
        "ABZ#_ :é@\n\x00" if separators == "-" else "ABZ#: @é\n\x00+"
    )
    edges = st.sampled_from(separators)

    @st.composite
    def broken(draw: st.DrawFn) -> str:
        text = draw(valid)
        how = draw(st.sampled_from(("empty", "char", "start", "end", "upper")))
        if how == "empty":
            return ""
        if how == "char":
            at = draw(st.integers(0, len(text)))
            return text[:at] + draw(bad_chars) + text[at:]
        if how == "start":
            return draw(edges) + text
        if how == "end":
            return text + draw(edges)
        return text.upper() if text.upper() != text else text + "X"

    return broken()


def invalid_ac_identifiers() -> st.SearchStrategy[str]:
    """Strings that just miss being AC Identifiers (an edge, a character, case).

    >>> isinstance(invalid_ac_identifiers(), st.SearchStrategy)
    True
    """
    return _break_name(ac_identifiers(), _SEPARATORS)


def invalid_ac_names() -> st.SearchStrategy[str]:
    """Strings that just miss being AC Names, AC Identifiers such as ``a.b`` among them.

    >>> isinstance(invalid_ac_names(), st.SearchStrategy)
    True
    """
    separator_inside = st.tuples(
        st.sampled_from(_LOWER_ALNUM),
        st.sampled_from("._~/"),
        st.sampled_from(_LOWER_ALNUM),
    ).map("".join)
    return st.one_of(_break_name(ac_names(), "-"), separator_inside)


# -- versions ----------------------------------------------------------------

_SEMVER_IDENTIFIER = st.text(
    st.sampled_from(string.ascii_letters + string.digits + "-"), min_size=1, max_size=6
)
_SEMVER_IDENTIFIERS = st.lists(_SEMVER_IDENTIFIER, min_size=1, max_size=3).map(".".join)
_VERSION_NUMBER = st.one_of(st.integers(0, 20), st.integers(0, _MAX_INT64))


def semvers() -> st.SearchStrategy[SemVer]:
    """Non-zero semantic versions, pre-release and build parts included.

    >>> isinstance(semvers(), st.SearchStrategy)
    True
    """

    def build(parts: tuple[int, int, int, str, str]) -> SemVer:
        major, minor, patch, prerelease, build_part = parts
        if not (major or minor or patch or prerelease or build_part):
            patch = 1
        return SemVer(
            major=major,
            minor=minor,
            patch=patch,
            prerelease=prerelease,
            build=build_part,
        )

    optional = st.one_of(st.just(""), _SEMVER_IDENTIFIERS)
    return st.tuples(
        _VERSION_NUMBER, _VERSION_NUMBER, _VERSION_NUMBER, optional, optional
    ).map(build)


def semver_strings() -> st.SearchStrategy[str]:
    """Version strings Go accepts: normal ones and its leniencies (``01.0.0``, ``1.0.0-``).

    >>> isinstance(semver_strings(), st.SearchStrategy)
    True
    """

    @st.composite
    def lenient(draw: st.DrawFn) -> str:
        version = draw(semvers())
        zeros = st.text(st.just("0"), max_size=2)
        text = f"{draw(zeros)}{version.major}.{draw(zeros)}{version.minor}.{draw(zeros)}{version.patch}"
        text += (
            f"-{version.prerelease}"
            if version.prerelease
            else draw(st.sampled_from(("", "-")))
        )
        text += (
            f"+{version.build}" if version.build else draw(st.sampled_from(("", "+")))
        )
        return text

    return st.one_of(semvers().map(str), lenient())


def invalid_semver_strings() -> st.SearchStrategy[str]:
    """Version strings Go rejects: ``1.0``, ``v1.0.0``, ``0.0.0``, ``1.0.0-a..b``...

    >>> isinstance(invalid_semver_strings(), st.SearchStrategy)
    True
    """

    def mutate(pair: tuple[SemVer, str]) -> str:
        version, how = pair
        core = f"{version.major}.{version.minor}.{version.patch}"
        return {
            "two": f"{version.major}.{version.minor}",
            "v": "v" + str(version),
            "space": " " + str(version),
            "four": core + ".1",
            "dots": core + "-a..b",
            "bad": core + "-a_b",
            "plus": core + "+a+b",
            "zero": "0.0.0",
            "empty": "",
            "big": f"{version.major}.{version.minor}.99999999999999999999",
        }[how]

    hows = st.sampled_from(
        ("two", "v", "space", "four", "dots", "bad", "plus", "zero", "empty", "big")
    )
    return st.tuples(semvers(), hows).map(mutate)


# -- image IDs ---------------------------------------------------------------


def image_ids() -> st.SearchStrategy[ImageID]:
    """Full image IDs (``sha512-`` and 128 hex digits).

    >>> isinstance(image_ids(), st.SearchStrategy)
    True
    """
    return st.binary(min_size=64, max_size=64).map(
        lambda b: ImageID("sha512-" + b.hex())
    )


def image_id_prefixes() -> st.SearchStrategy[ImageIDPrefix]:
    """Short and full image IDs.

    >>> isinstance(image_id_prefixes(), st.SearchStrategy)
    True
    """
    return st.tuples(image_ids(), st.integers(8, 135)).map(
        lambda t: ImageIDPrefix(t[0][: t[1]])
    )


def image_hashes() -> st.SearchStrategy[ImageHash]:
    """Hashes as Go accepts them in manifests: full IDs and any ``sha512-VALUE``.

    >>> isinstance(image_hashes(), st.SearchStrategy)
    True
    """
    loose = st.text(
        st.characters(codec="utf-8", exclude_characters="-"),
        min_size=1,
        max_size=20,
    )
    return st.one_of(
        image_ids().map(ImageHash), loose.map(lambda v: ImageHash("sha512-" + v))
    )


# -- labels and annotations --------------------------------------------------

_LABEL_VALUE = st.text(st.characters(codec="utf-8"), max_size=20)


def os_arch_pairs() -> st.SearchStrategy[tuple[str, str]]:
    """Every ``(os, arch)`` pair of :data:`~appc.labels.KNOWN_OS_ARCH`.

    >>> isinstance(os_arch_pairs(), st.SearchStrategy)
    True
    """
    return st.sampled_from(
        [(os, arch) for os, arches in KNOWN_OS_ARCH.items() for arch in arches]
    )


def _unique_pairs(
    names: st.SearchStrategy[ACIdentifier],
    values: st.SearchStrategy[str],
    max_size: int,
) -> st.SearchStrategy[list[tuple[ACIdentifier, str]]]:
    return st.lists(
        st.tuples(names, values), max_size=max_size, unique_by=lambda pair: pair[0]
    )


def labels(*, max_size: int = 5) -> st.SearchStrategy[Labels]:
    """Valid labels: unique names other than ``name``, and a known os/arch (or none).

    >>> isinstance(labels(), st.SearchStrategy)
    True
    """
    names = ac_identifiers(max_size=12).filter(
        lambda n: n not in {"name", "os", "arch"}
    )

    @st.composite
    def build(draw: st.DrawFn) -> Labels:
        pairs: list[tuple[str, str]] = list(
            draw(_unique_pairs(names, _LABEL_VALUE, max_size))
        )
        platform = draw(st.sampled_from(("none", "os", "both", "arch")))
        os_name, arch = draw(os_arch_pairs())
        extra: list[tuple[str, str]] = []
        if platform in {"os", "both"}:
            extra.append(("os", os_name))
        if platform in {"both", "arch"}:
            # Go checks arch only when os is there: a lone arch may be anything.
            extra.append(("arch", arch if platform == "both" else draw(_LABEL_VALUE)))
        order = draw(st.permutations(pairs + extra))
        return Labels(order)

    return build()


def annotations(*, max_size: int = 5) -> st.SearchStrategy[Annotations]:
    """Valid annotations, the well-known ``created``, ``homepage`` and ``documentation`` among them.

    >>> isinstance(annotations(), st.SearchStrategy)
    True
    """
    well_known = st.one_of(
        st.tuples(st.just(ACIdentifier("created")), date_strings()),
        st.tuples(st.just(ACIdentifier("homepage")), urls()),
        st.tuples(st.just(ACIdentifier("documentation")), urls()),
        st.tuples(st.just(ACIdentifier("authors")), _LABEL_VALUE),
    )
    names = ac_identifiers(max_size=12).filter(
        lambda n: n not in {"created", "homepage", "documentation", "authors"}
    )
    return (
        st.tuples(
            _unique_pairs(names, _LABEL_VALUE, max_size),
            st.lists(well_known, max_size=4, unique_by=lambda pair: pair[0]),
        )
        .flatmap(lambda t: st.permutations(t[0] + t[1]))
        .map(Annotations)
    )


# -- UUIDs, dates and URLs ---------------------------------------------------


def uuids() -> st.SearchStrategy[UUID]:
    """Non-nil UUIDs.

    >>> isinstance(uuids(), st.SearchStrategy)
    True
    """
    return st.binary(min_size=16, max_size=16).map(
        lambda b: UUID(b.hex() if any(b) else "00000000000000000000000000000001")
    )


_DAYS = (31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31)


def dates() -> st.SearchStrategy[Date]:
    """Dates Go can parse: years 0 to 9999, nanoseconds, odd offsets (``+99:99``).

    >>> isinstance(dates(), st.SearchStrategy)
    True
    """

    @st.composite
    def build(draw: st.DrawFn) -> Date:
        year = draw(st.integers(0, 9999))
        month = draw(st.integers(1, 12))
        leap = year % 4 == 0 and (year % 100 != 0 or year % 400 == 0)
        last = _DAYS[month - 1] if month != 2 or leap else 28
        # Go reads any two digits as the offset's hours and minutes.
        offset_hours, offset_minutes = (
            draw(st.integers(0, 99)),
            draw(st.integers(0, 99)),
        )
        sign = draw(st.sampled_from((-1, 0, 1)))
        return Date(
            year=year,
            month=month,
            day=draw(st.integers(1, last)),
            hour=draw(st.integers(0, 23)),
            minute=draw(st.integers(0, 59)),
            second=draw(st.integers(0, 59)),
            nanosecond=draw(st.one_of(st.just(0), st.integers(0, 999_999_999))),
            utc_offset=sign * (offset_hours * 60 + offset_minutes) * 60,
        )

    return build()


def date_strings() -> st.SearchStrategy[str]:
    """RFC 3339 strings Go accepts, in all the spellings it accepts.

    >>> isinstance(date_strings(), st.SearchStrategy)
    True
    """

    @st.composite
    def build(draw: st.DrawFn) -> str:
        date = draw(dates())
        hour = (
            f"{date.hour:02d}"
            if date.hour >= 10 or draw(st.booleans())
            else str(date.hour)
        )
        text = f"{date.year:04d}-{date.month:02d}-{date.day:02d}T{hour}:{date.minute:02d}:{date.second:02d}"
        if draw(st.booleans()):
            text += draw(st.sampled_from(".,")) + draw(
                st.text(st.sampled_from(string.digits), min_size=1, max_size=12)
            )
        if draw(st.booleans()):
            return text + "Z"
        # Go reads any two digits for the offset's hours and minutes.
        hours, minutes = draw(st.integers(0, 99)), draw(st.integers(0, 99))
        return f"{text}{draw(st.sampled_from('+-'))}{hours:02d}:{minutes:02d}"

    return build()


def invalid_date_strings() -> st.SearchStrategy[str]:
    """Near misses: a space or ``t`` for ``T``, ``z``, no offset, day 30 in February...

    >>> isinstance(invalid_date_strings(), st.SearchStrategy)
    True
    """

    def mutate(pair: tuple[Date, str]) -> str:
        date, how = pair
        text = str(date)
        return {
            "space": text.replace("T", " "),
            "lower_t": text.replace("T", "t"),
            "lower_z": text[:19] + "z",
            "no_offset": text[:19],
            "leap_second": text[:17] + "60Z",
            "february": f"{date.year:04d}-02-30T00:00:00Z",
            "month": f"{date.year:04d}-13-01T00:00:00Z",
            "hour": text[:11] + "24" + text[13:],
            "dot": text[:19] + ".Z",
            "short_offset": text[:19] + "+01",
        }[how]

    hows = st.sampled_from(
        (
            "space",
            "lower_t",
            "lower_z",
            "no_offset",
            "leap_second",
            "february",
            "month",
            "hour",
            "dot",
            "short_offset",
        )
    )
    return st.tuples(dates(), hows).map(mutate)


_HOST_LABEL = st.text(st.sampled_from(_LOWER_ALNUM), min_size=1, max_size=10)
_PATH_CHAR = st.sampled_from(
    string.ascii_letters + string.digits + "-._~!$&'()*+,;=:@/%20"
)


def urls() -> st.SearchStrategy[URL]:
    """``http``/``https`` URLs: hosts, ports, IPv6 literals, paths, queries, fragments.

    >>> isinstance(urls(), st.SearchStrategy)
    True
    """
    hosts = st.one_of(
        st.lists(_HOST_LABEL, min_size=1, max_size=3).map(".".join),
        st.just("[::1]"),
        st.just("127.0.0.1"),
    )
    ports = st.one_of(st.just(""), st.integers(0, 65535).map(lambda p: f":{p}"))
    paths = st.lists(
        st.text(
            st.sampled_from(string.ascii_letters + string.digits + "-._~"), max_size=8
        ),
        max_size=3,
    ).map(lambda parts: "".join("/" + p for p in parts))
    extras = st.sampled_from(("", "?q=1", "#top", "?a=b&c=d#x"))
    schemes = st.sampled_from(("http", "https", "HTTP", "Https"))
    return st.tuples(schemes, hosts, ports, paths, extras).map(
        lambda t: URL(f"{t[0]}://{t[1]}{t[2]}{t[3]}{t[4]}")
    )


def invalid_urls() -> st.SearchStrategy[str]:
    """Near misses: other schemes, no scheme, bad ports, bad escapes, control characters.

    >>> isinstance(invalid_urls(), st.SearchStrategy)
    True
    """

    def mutate(pair: tuple[URL, str]) -> str:
        url, how = pair
        rest = url.partition("://")[2]
        return {
            "ftp": "ftp://" + rest,
            "no_scheme": "//" + rest,
            "relative": rest,
            "port": "http://example.com:" + rest[:1] + "x/",
            # Go checks neither the query nor the fragment for these two.
            "escape": f"{url.partition('?')[0].partition('#')[0]}/%zz",
            "control": f"\x01{url}",
            "host": "http://exa mple.com/",
            "colon": ":" + rest,
        }[how]

    hows = st.sampled_from(
        ("ftp", "no_scheme", "relative", "port", "escape", "control", "host", "colon")
    )
    return st.tuples(urls(), hows).map(mutate)


# -- quantities --------------------------------------------------------------

_QUANTITY_SUFFIXES = (
    "",
    "n",
    "u",
    "m",
    "k",
    "M",
    "G",
    "T",
    "P",
    "E",
    "Ki",
    "Mi",
    "Gi",
    "Ti",
    "Pi",
    "Ei",
)


def quantity_strings() -> st.SearchStrategy[str]:
    """Quantity strings from the grammar: sign, digits, fraction, every suffix, exponents.

    >>> isinstance(quantity_strings(), st.SearchStrategy)
    True
    """
    digits = st.text(st.sampled_from(string.digits), max_size=12)

    def number(parts: tuple[str, str, str, bool]) -> str:
        sign, whole, fraction, dot = parts
        if not whole and not fraction:
            whole = "1"
        return sign + whole + ("." + fraction if dot or fraction else "")

    numbers = st.tuples(
        st.sampled_from(("", "", "+", "-")), digits, digits, st.booleans()
    ).map(number)
    exponents = st.tuples(
        st.sampled_from("eE"), st.sampled_from(("", "+", "-")), st.integers(0, 40)
    ).map(lambda t: f"{t[0]}{t[1]}{t[2]}")
    suffixes = st.one_of(st.sampled_from(_QUANTITY_SUFFIXES), exponents)
    return st.tuples(numbers, suffixes).map("".join)


def invalid_quantity_strings() -> st.SearchStrategy[str]:
    """Near misses: ``100K``, ``1..2``, ``1e``, spaces, empty.

    >>> isinstance(invalid_quantity_strings(), st.SearchStrategy)
    True
    """

    def mutate(pair: tuple[str, str]) -> str:
        text, how = pair
        return {
            "upper_k": text + "K",
            "dots": text + "..1" if "." not in text else text + ".1",
            "bare_e": text.rstrip("eE") + "e",
            "space": " " + text,
            "empty": "",
            "letter": text + "x",
            "ii": text + "Kii",
        }[how]

    return st.tuples(
        quantity_strings().filter(lambda t: t[-1:].isdigit()),
        st.sampled_from(
            ("upper_k", "dots", "bare_e", "space", "empty", "letter", "ii")
        ),
    ).map(mutate)


def quantities() -> st.SearchStrategy[Quantity]:
    """Quantities parsed from :func:`quantity_strings`.

    >>> isinstance(quantities(), st.SearchStrategy)
    True
    """
    return quantity_strings().map(Quantity.parse)


# -- image strings -----------------------------------------------------------

_REF_VALUE = st.text(
    st.characters(codec="utf-8", exclude_characters=",:"),
    max_size=12,
)


def image_refs() -> st.SearchStrategy[ImageRef]:
    """Image references whose string form round-trips (no ``,`` or ``:`` in values).

    >>> isinstance(image_refs(), st.SearchStrategy)
    True
    """
    names = ac_identifiers(max_size=12).filter(lambda n: n != "name")
    return st.builds(
        ImageRef,
        name=ac_identifiers(),
        labels=st.dictionaries(names, _REF_VALUE, max_size=4),
    )


# -- models ------------------------------------------------------------------

_TEXT = st.text(st.characters(codec="utf-8"), max_size=12)
_PATHS = st.lists(
    st.text(
        st.characters(codec="utf-8", exclude_characters="/"), min_size=1, max_size=6
    ),
    max_size=3,
).map(lambda parts: "/" + "/".join(parts))
_INT64 = st.integers(-(2**63), _MAX_INT64)
_UINT64 = st.integers(0, 2**64 - 1)
_STRING_MAP = st.dictionaries(_TEXT, _TEXT, max_size=3)
_CAPABILITIES = st.sampled_from(
    (
        "CAP_AUDIT_WRITE",
        "CAP_CHOWN",
        "CAP_DAC_OVERRIDE",
        "CAP_FSETID",
        "CAP_FOWNER",
        "CAP_KILL",
        "CAP_MKNOD",
        "CAP_NET_RAW",
        "CAP_NET_BIND_SERVICE",
        "CAP_SETUID",
        "CAP_SETGID",
        "CAP_SETPCAP",
        "CAP_SETFCAP",
        "CAP_SYS_CHROOT",
        "CAP_PONIES",
    )
)
_SYSCALLS = st.sampled_from(
    ("read", "write", "reboot", "mount", "@appc.io/empty", "@appc.io/all")
)
_ERRNOS = st.sampled_from(("", "EPERM", "EACCES", "E1", "ENOSYS"))


def _frozen_dict(mapping: dict[str, str]) -> Any:
    from appc.model._base import FrozenDict

    return FrozenDict(mapping)


def known_isolators() -> dict[type[Any], st.SearchStrategy[Any]]:
    """For each isolator class the reference knows, a strategy for valid instances.

    >>> from appc.model.isolators import LinuxCPUShares
    >>> isinstance(known_isolators()[LinuxCPUShares], st.SearchStrategy)
    True
    """
    from appc.model import isolators as iso

    quantity = st.one_of(st.none(), quantities())
    capabilities = st.lists(_CAPABILITIES, min_size=1, max_size=3).map(tuple)
    syscalls = st.lists(_SYSCALLS, min_size=1, max_size=3).map(tuple)
    no_colon = st.text(
        st.characters(codec="utf-8", exclude_characters=":"), min_size=1, max_size=8
    )
    return {
        iso.ResourceCPU: st.builds(iso.ResourceCPU, request=quantity, limit=quantity),
        iso.ResourceMemory: st.builds(
            iso.ResourceMemory, request=quantity, limit=quantity
        ),
        iso.ResourceBlockBandwidth: st.builds(
            iso.ResourceBlockBandwidth, limit=quantity
        ),
        iso.ResourceBlockIOPS: st.builds(iso.ResourceBlockIOPS, limit=quantity),
        iso.ResourceNetworkBandwidth: st.builds(
            iso.ResourceNetworkBandwidth, limit=quantity
        ),
        iso.LinuxCapabilitiesRetainSet: st.builds(
            iso.LinuxCapabilitiesRetainSet, capabilities=capabilities
        ),
        iso.LinuxCapabilitiesRemoveSet: st.builds(
            iso.LinuxCapabilitiesRemoveSet, capabilities=capabilities
        ),
        iso.LinuxNoNewPrivileges: st.builds(
            iso.LinuxNoNewPrivileges, enabled=st.booleans()
        ),
        iso.LinuxSeccompRemoveSet: st.builds(
            iso.LinuxSeccompRemoveSet, syscalls=syscalls, errno=_ERRNOS
        ),
        iso.LinuxSeccompRetainSet: st.builds(
            iso.LinuxSeccompRetainSet, syscalls=syscalls, errno=_ERRNOS
        ),
        iso.LinuxOOMScoreAdj: st.builds(
            iso.LinuxOOMScoreAdj, adjustment=st.integers(-1000, 1000)
        ),
        iso.LinuxCPUShares: st.builds(
            iso.LinuxCPUShares, shares=st.integers(2, 262144)
        ),
        iso.LinuxSELinuxContext: st.builds(
            iso.LinuxSELinuxContext,
            user=no_colon,
            role=no_colon,
            type=no_colon,
            level=st.text(st.characters(codec="utf-8"), min_size=1, max_size=8),
        ),
        iso.UnixSysctl: st.builds(
            iso.UnixSysctl, parameters=_STRING_MAP.map(_frozen_dict)
        ),
    }


def unknown_isolators() -> st.SearchStrategy[Any]:
    """Isolators the reference does not know (valid in a pod, refused in an app).

    >>> isinstance(unknown_isolators(), st.SearchStrategy)
    True
    """
    from appc.model import isolators as iso
    from appc.model._base import freeze

    names = ac_identifiers(max_size=20).filter(
        lambda name: name not in iso.KNOWN_ISOLATORS
    )
    return st.builds(iso.UnknownIsolator, name=names, value=json_values().map(freeze))


def isolators(*, app_level: bool = True) -> st.SearchStrategy[Any]:
    """One isolator of any kind the reference knows (and, at pod level, unknown ones).

    >>> isinstance(isolators(), st.SearchStrategy)
    True
    """
    known = st.one_of(list(known_isolators().values()))
    if app_level:
        return known
    return st.one_of(known, unknown_isolators())


def _isolator_set(candidates: list[Any]) -> tuple[Any, ...]:
    # Keep the list actool accepts for an app: one of each single kind, and
    # never both seccomp sets.
    kept: list[Any] = []
    seen: set[str] = set()
    for isolator in candidates:
        if isolator.NAME in seen and not isolator.MULTIPLE_ALLOWED:
            continue
        if isolator.CONFLICTS & seen:
            continue
        kept.append(isolator)
        seen.add(isolator.NAME)
    return tuple(kept)


def json_values(*, max_leaves: int = 6) -> st.SearchStrategy[Any]:
    """Any JSON value (for unknown isolators and user data).

    >>> isinstance(json_values(), st.SearchStrategy)
    True
    """
    scalars = st.one_of(st.none(), st.booleans(), st.integers(-(2**53), 2**53), _TEXT)
    return st.recursive(
        scalars,
        lambda inner: st.one_of(
            st.lists(inner, max_size=3), st.dictionaries(_TEXT, inner, max_size=3)
        ),
        max_leaves=max_leaves,
    )


def _unique_by_name(
    strategy: st.SearchStrategy[Any], max_size: int
) -> st.SearchStrategy[tuple[Any, ...]]:
    return st.lists(strategy, max_size=max_size, unique_by=lambda item: item.name).map(
        tuple
    )


def ports() -> st.SearchStrategy[Any]:
    """App ports: 1 to 65535, with a count that keeps the range inside.

    >>> isinstance(ports(), st.SearchStrategy)
    True
    """
    from appc.model.app import Port

    return st.integers(1, 65535).flatmap(
        lambda port: st.builds(
            Port,
            name=ac_names(max_size=12),
            protocol=st.sampled_from(("", "tcp", "udp", "sctp")),
            port=st.just(port),
            count=st.integers(1, 65536 - port),
            socket_activated=st.booleans(),
        )
    )


def apps() -> st.SearchStrategy[Any]:
    """Valid apps, every field in play.

    >>> isinstance(apps(), st.SearchStrategy)
    True
    """
    from appc.model.app import App, Environment, EventHandler, MountPoint

    env_names = st.from_regex(_grammar.ENVIRONMENT_NAME, fullmatch=True).filter(
        lambda n: len(n) <= 12
    )
    handlers = st.lists(
        st.builds(
            EventHandler,
            name=st.sampled_from(("pre-start", "post-stop")),
            exec=st.lists(_TEXT, max_size=3).map(tuple),
        ),
        max_size=2,
        unique_by=lambda handler: handler.name,
    ).map(tuple)
    return st.builds(
        App,
        exec=st.lists(_TEXT, max_size=3).map(tuple),
        event_handlers=handlers,
        user=st.text(st.characters(codec="utf-8"), min_size=1, max_size=8),
        group=st.text(st.characters(codec="utf-8"), min_size=1, max_size=8),
        supplementary_gids=st.lists(_INT64, max_size=3).map(tuple),
        working_directory=st.one_of(st.just(""), _PATHS),
        environment=st.lists(
            st.tuples(env_names, _TEXT), max_size=3, unique_by=lambda pair: pair[0]
        ).map(Environment.from_pairs),
        mount_points=st.lists(
            st.builds(
                MountPoint,
                name=ac_names(max_size=12),
                path=st.one_of(_PATHS, _TEXT),
                read_only=st.booleans(),
            ),
            max_size=2,
        ).map(tuple),
        ports=st.lists(ports(), max_size=2).map(tuple),
        isolators=st.lists(isolators(), max_size=4).map(_isolator_set),
        user_annotations=_STRING_MAP.map(_frozen_dict),
        user_labels=_STRING_MAP.map(_frozen_dict),
    )


def dependencies() -> st.SearchStrategy[Any]:
    """Image dependencies.

    >>> isinstance(dependencies(), st.SearchStrategy)
    True
    """
    from appc.model.dependency import Dependency

    return st.builds(
        Dependency,
        image_name=ac_identifiers(max_size=20),
        image_id=st.one_of(st.none(), image_hashes()),
        labels=labels(max_size=2),
        size=st.one_of(st.just(0), _UINT64),
    )


def image_manifests() -> st.SearchStrategy[Any]:
    """Valid image manifests, every field in play.

    >>> isinstance(image_manifests(), st.SearchStrategy)
    True
    """
    from appc.manifest import ImageManifest

    return st.builds(
        ImageManifest,
        ac_version=semvers(),
        name=ac_identifiers(),
        labels=labels(),
        app=st.one_of(st.none(), apps()),
        annotations=annotations(max_size=3),
        dependencies=st.lists(dependencies(), max_size=2).map(tuple),
        path_whitelist=st.lists(st.one_of(_PATHS, _TEXT), max_size=3).map(tuple),
    )


def volumes() -> st.SearchStrategy[Any]:
    """Pod volumes: ``empty`` ones (with or without mode, uid, gid) and ``host`` ones.

    >>> isinstance(volumes(), st.SearchStrategy)
    True
    """
    from appc.model.pod import Volume

    optional_bool = st.one_of(st.none(), st.booleans())
    empty = st.builds(
        Volume,
        name=ac_names(max_size=12),
        kind=st.just("empty"),
        read_only=optional_bool,
        recursive=optional_bool,
        mode=st.one_of(st.none(), st.sampled_from(("0755", "0700", "abc"))),
        uid=st.one_of(st.none(), _INT64),
        gid=st.one_of(st.none(), _INT64),
    )
    host = st.builds(
        Volume,
        name=ac_names(max_size=12),
        kind=st.just("host"),
        source=_PATHS,
        read_only=optional_bool,
        recursive=optional_bool,
    )
    return st.one_of(empty, host)


def pod_manifests() -> st.SearchStrategy[Any]:
    """Valid pod manifests, every field in play.

    >>> isinstance(pod_manifests(), st.SearchStrategy)
    True
    """
    import ipaddress

    from appc.manifest import PodManifest
    from appc.model.pod import ExposedPort, Mount, RuntimeApp, RuntimeImage

    images = st.builds(
        RuntimeImage,
        name=st.one_of(st.none(), ac_identifiers(max_size=20)),
        id=image_hashes(),
        labels=labels(max_size=2),
    )
    mounts = st.builds(
        Mount,
        volume=ac_names(max_size=12),
        path=st.one_of(_PATHS, _TEXT),
        app_volume=st.one_of(st.none(), volumes()),
    )
    runtime_apps = st.builds(
        RuntimeApp,
        name=ac_names(max_size=12),
        image=images,
        app=st.one_of(st.none(), apps()),
        read_only_root_fs=st.booleans(),
        mounts=st.lists(mounts, max_size=2).map(tuple),
        annotations=annotations(max_size=2),
    )
    addresses = st.one_of(
        st.none(),
        st.ip_addresses(v=4),
        st.ip_addresses(v=6).filter(
            lambda ip: not (isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped)
        ),
    )
    exposed = st.builds(
        ExposedPort,
        name=ac_names(max_size=12),
        host_port=st.one_of(st.integers(0, 65535), _UINT64),
        host_ip=addresses,
        pod_port=st.one_of(st.none(), ports()),
    )
    return st.builds(
        PodManifest,
        ac_version=semvers(),
        apps=_unique_by_name(runtime_apps, 3),
        volumes=_unique_by_name(volumes(), 3),
        isolators=st.lists(isolators(app_level=False), max_size=3).map(tuple),
        annotations=annotations(max_size=2),
        ports=st.lists(exposed, max_size=2).map(tuple),
        user_annotations=_STRING_MAP.map(_frozen_dict),
        user_labels=_STRING_MAP.map(_frozen_dict),
    )


# -- JSON documents ----------------------------------------------------------
# Built from the spec's schema with its wire names, independently of
# appc.converters, so that they can test it.


def _pairs_json(pairs: list[tuple[str, str]]) -> list[dict[str, str]]:
    return [{"name": name, "value": value} for name, value in pairs]


def _labels_json() -> st.SearchStrategy[list[dict[str, str]]]:
    return labels(max_size=3).map(
        lambda value: _pairs_json([(str(n), v) for n, v in value.pairs()])
    )


def _annotations_json() -> st.SearchStrategy[list[dict[str, str]]]:
    return annotations(max_size=3).map(
        lambda value: _pairs_json([(str(n), v) for n, v in value.pairs()])
    )


def _quantity_json() -> st.SearchStrategy[Any]:
    # Strings, and JSON numbers, which Go reads too ({"limit": 0.5}).
    numbers = st.one_of(st.integers(0, 10**6), st.sampled_from((0.5, 1.5, 0.001, 2.0)))
    return st.one_of(quantity_strings(), numbers)


def isolator_values() -> dict[str, st.SearchStrategy[Any]]:
    """For each isolator name the reference knows, a strategy for valid JSON values.

    >>> sorted(isolator_values())[0]
    'os/linux/capabilities-remove-set'
    """
    quantity = _quantity_json()
    no_colon = st.text(
        st.characters(codec="utf-8", exclude_characters=":"), min_size=1, max_size=8
    )
    seccomp = st.fixed_dictionaries(
        {"set": st.lists(_SYSCALLS, min_size=1, max_size=3)},
        optional={"errno": _ERRNOS},
    )
    capabilities = st.fixed_dictionaries(
        {"set": st.lists(_CAPABILITIES, min_size=1, max_size=3)}
    )
    request_and_limit = st.fixed_dictionaries(
        {}, optional={"request": quantity, "limit": quantity, "default": st.just(False)}
    )
    limit_only = st.fixed_dictionaries(
        {"default": st.just(True)}, optional={"limit": quantity}
    )
    return {
        "resource/cpu": request_and_limit,
        "resource/memory": request_and_limit,
        "resource/block-bandwidth": limit_only,
        "resource/block-iops": limit_only,
        "resource/network-bandwidth": limit_only,
        "os/linux/capabilities-retain-set": capabilities,
        "os/linux/capabilities-remove-set": capabilities,
        "os/linux/no-new-privileges": st.booleans(),
        "os/linux/seccomp-remove-set": seccomp,
        "os/linux/seccomp-retain-set": seccomp,
        "os/linux/oom-score-adj": st.integers(-1000, 1000),
        "os/linux/cpu-shares": st.integers(2, 262144),
        "os/linux/selinux-context": st.fixed_dictionaries(
            {"user": no_colon, "role": no_colon, "type": no_colon, "level": no_colon}
        ),
        "os/unix/sysctl": st.dictionaries(_TEXT, _TEXT, max_size=3),
    }


def _named_value(pair: tuple[ACIdentifier, Any]) -> dict[str, Any]:
    return {"name": str(pair[0]), "value": pair[1]}


def _isolator_json(*, app_level: bool) -> st.SearchStrategy[dict[str, Any]]:
    def named(
        name: str, value: st.SearchStrategy[Any]
    ) -> st.SearchStrategy[dict[str, Any]]:
        return value.map(lambda v: {"name": name, "value": v})

    known = st.one_of([named(name, value) for name, value in isolator_values().items()])
    if app_level:
        return known
    from appc.model.isolators import KNOWN_ISOLATORS

    unknown_names = ac_identifiers(max_size=20).filter(
        lambda name: name not in KNOWN_ISOLATORS
    )
    unknown = st.tuples(unknown_names, json_values()).map(_named_value)
    return st.one_of(known, unknown)


def isolator_documents(name: str) -> st.SearchStrategy[dict[str, Any]]:
    """Image manifests (as JSON) whose app holds a valid isolator ``name``.

    >>> isinstance(isolator_documents("resource/cpu"), st.SearchStrategy)
    True
    """
    value = isolator_values()[name]
    return st.tuples(_image_document(), _app_json(), value).map(
        lambda t: {
            **t[0],
            "app": {**t[1], "isolators": [{"name": name, "value": t[2]}]},
        }
    )


_SINGLE_ISOLATORS = frozenset(
    {
        "os/linux/seccomp-remove-set",
        "os/linux/seccomp-retain-set",
        "os/linux/oom-score-adj",
        "os/linux/cpu-shares",
        "os/linux/selinux-context",
        "os/unix/sysctl",
    }
)
_SECCOMP_SETS = frozenset(
    {"os/linux/seccomp-remove-set", "os/linux/seccomp-retain-set"}
)


def _isolator_set_json(candidates: list[dict[str, Any]]) -> list[dict[str, Any]]:
    # The JSON twin of _isolator_set: what actool accepts in an app.
    kept: list[dict[str, Any]] = []
    seen: set[str] = set()
    for isolator in candidates:
        name = isolator["name"]
        if name in _SINGLE_ISOLATORS and name in seen:
            continue
        if name in _SECCOMP_SETS and (_SECCOMP_SETS - {name}) & seen:
            continue
        kept.append(isolator)
        seen.add(name)
    return kept


def _port_json() -> st.SearchStrategy[dict[str, Any]]:
    return st.integers(1, 65535).flatmap(
        lambda port: st.fixed_dictionaries(
            {"name": ac_names(max_size=12).map(str), "port": st.just(port)},
            optional={
                "protocol": st.sampled_from(("tcp", "udp", "")),
                "count": st.integers(0, 65536 - port),
                "socketActivated": st.booleans(),
            },
        )
    )


def _app_json() -> st.SearchStrategy[dict[str, Any]]:
    env_names = st.from_regex(_grammar.ENVIRONMENT_NAME, fullmatch=True).filter(
        lambda n: len(n) <= 12
    )
    handler: st.SearchStrategy[dict[str, Any]] = st.fixed_dictionaries(
        {"name": st.sampled_from(("pre-start", "post-stop"))},
        optional={"exec": st.lists(_TEXT, max_size=2)},
    )
    handlers = st.lists(handler, max_size=2, unique_by=lambda h: str(h["name"]))
    return st.fixed_dictionaries(
        {
            "user": st.text(st.characters(codec="utf-8"), min_size=1, max_size=6),
            "group": st.text(st.characters(codec="utf-8"), min_size=1, max_size=6),
        },
        optional={
            "exec": st.one_of(st.none(), st.lists(_TEXT, max_size=3)),
            "eventHandlers": handlers,
            "supplementaryGIDs": st.lists(st.integers(-(2**31), 2**31), max_size=3),
            "workingDirectory": st.one_of(st.just(""), _PATHS),
            "environment": st.lists(
                st.fixed_dictionaries({"name": env_names, "value": _TEXT}),
                max_size=3,
                unique_by=lambda e: e["name"],
            ),
            "mountPoints": st.lists(
                st.fixed_dictionaries(
                    {"name": ac_names(max_size=12).map(str)},
                    optional={
                        "path": st.one_of(_PATHS, _TEXT),
                        "readOnly": st.booleans(),
                    },
                ),
                max_size=2,
            ),
            "ports": st.lists(_port_json(), max_size=2),
            "isolators": st.lists(_isolator_json(app_level=True), max_size=4).map(
                _isolator_set_json
            ),
            "userAnnotations": _STRING_MAP,
            "userLabels": _STRING_MAP,
        },
    )


def _image_document() -> st.SearchStrategy[dict[str, Any]]:
    dependency = st.fixed_dictionaries(
        {"imageName": ac_identifiers(max_size=20).map(str)},
        optional={
            "imageID": image_hashes().map(str),
            "labels": _labels_json(),
            "size": st.integers(0, 2**40),
        },
    )
    return st.fixed_dictionaries(
        {
            "acKind": st.just("ImageManifest"),
            "acVersion": semver_strings(),
            "name": ac_identifiers().map(str),
        },
        optional={
            "labels": st.one_of(st.none(), _labels_json()),
            "app": st.one_of(st.none(), _app_json()),
            "annotations": _annotations_json(),
            "dependencies": st.lists(dependency, max_size=2),
            "pathWhitelist": st.lists(st.one_of(_PATHS, _TEXT), max_size=3),
        },
    )


def _volume_json() -> st.SearchStrategy[dict[str, Any]]:
    flags = {"readOnly": st.booleans(), "recursive": st.booleans()}
    empty = st.fixed_dictionaries(
        {"name": ac_names(max_size=12).map(str), "kind": st.just("empty")},
        optional={
            **flags,
            "mode": st.sampled_from(("0755", "0700")),
            "uid": st.integers(0, 65535),
            "gid": st.integers(0, 65535),
        },
    )
    host = st.fixed_dictionaries(
        {
            "name": ac_names(max_size=12).map(str),
            "kind": st.just("host"),
            "source": _PATHS,
        },
        optional=flags,
    )
    return st.one_of(empty, host)


def _pod_document() -> st.SearchStrategy[dict[str, Any]]:
    image = st.fixed_dictionaries(
        {"id": image_hashes().map(str)},
        optional={
            "name": ac_identifiers(max_size=20).map(str),
            "labels": _labels_json(),
        },
    )
    mount = st.fixed_dictionaries(
        {"volume": ac_names(max_size=12).map(str), "path": st.one_of(_PATHS, _TEXT)},
        optional={"appVolume": _volume_json()},
    )
    runtime_app = st.fixed_dictionaries(
        {"name": ac_names(max_size=12).map(str), "image": image},
        optional={
            "app": _app_json(),
            "readOnlyRootFS": st.booleans(),
            "mounts": st.lists(mount, max_size=2),
            "annotations": _annotations_json(),
        },
    )
    exposed = st.fixed_dictionaries(
        {"name": ac_names(max_size=12).map(str), "hostPort": st.integers(0, 65535)},
        optional={
            "hostIP": st.one_of(st.ip_addresses(v=4), st.ip_addresses(v=6)).map(str),
            "podPort": _port_json(),
        },
    )
    return st.fixed_dictionaries(
        {"acVersion": semver_strings(), "acKind": st.just("PodManifest")},
        optional={
            "apps": st.lists(
                runtime_app, max_size=3, unique_by=lambda app: app["name"]
            ),
            "volumes": st.lists(
                _volume_json(), max_size=3, unique_by=lambda volume: volume["name"]
            ),
            "isolators": st.lists(_isolator_json(app_level=False), max_size=3),
            "annotations": _annotations_json(),
            "ports": st.lists(exposed, max_size=2),
            "userAnnotations": _STRING_MAP,
            "userLabels": _STRING_MAP,
        },
    )


# Each near miss breaks one rule that actool checks.
NEAR_MISS_RULES: tuple[str, ...] = (
    "name",
    "ac_kind",
    "ac_version",
    "zero_version",
    "label_name",
    "label_reserved",
    "label_duplicate",
    "os_arch",
    "annotation_created",
    "annotation_homepage",
    "annotation_duplicate",
    "dependency_hash",
    "app_user",
    "app_group",
    "working_directory",
    "event_handler",
    "event_handler_twice",
    "environment_name",
    "environment_duplicate",
    "port_zero",
    "port_range",
    "mount_point_name",
    "isolator_unknown_in_app",
    "isolator_cpu_default",
    "isolator_block_default",
    "isolator_quantity",
    "isolator_capabilities_empty",
    "isolator_seccomp_errno",
    "isolator_seccomp_both",
    "isolator_oom",
    "isolator_shares",
    "isolator_selinux",
    "isolator_twice",
    "isolator_no_new_privileges",
    "pod_app_name",
    "pod_app_duplicate",
    "pod_image_id",
    "pod_volume_kind",
    "pod_volume_source",
    "pod_volume_duplicate",
    "pod_host_ip",
)
"""The rules :func:`near_miss_documents` can break, one per document."""


def _break(document: dict[str, Any], how: str, draw: st.DrawFn) -> dict[str, Any]:
    doc = dict(document)
    image = doc["acKind"] == "ImageManifest"
    app: dict[str, Any] = dict(doc.get("app") or {"user": "0", "group": "0"})
    if how == "name" and not image:
        how = "pod_app_name"
    if how == "name":
        doc["name"] = draw(invalid_ac_identifiers())
    elif how == "ac_kind":
        doc["acKind"] = draw(
            st.sampled_from(("imagemanifest", "Image", "ImageManifest "))
        )
    elif how == "ac_version":
        doc["acVersion"] = draw(invalid_semver_strings().filter(lambda v: v != "0.0.0"))
    elif how == "zero_version":
        doc["acVersion"] = "0.0.0"
    elif how.startswith("label"):
        pairs = list(doc.get("labels") or [])
        if how == "label_name":
            pairs.append({"name": draw(invalid_ac_identifiers()), "value": "x"})
        elif how == "label_reserved":
            pairs.append({"name": "name", "value": "x"})
        else:
            pairs = [p for p in pairs if p["name"] != "version"]
            pairs += [
                {"name": "version", "value": "1"},
                {"name": "version", "value": "2"},
            ]
        doc["labels" if image else "apps"] = (
            pairs
            if image
            else [
                {"name": "a", "image": {"id": "sha512-" + "0" * 128, "labels": pairs}}
            ]
        )
    elif how == "os_arch":
        os_name, arch = draw(
            st.sampled_from(
                (
                    ("linux", "arm"),
                    ("darwin", "amd64"),
                    ("plan9", "386"),
                    ("Linux", "amd64"),
                )
            )
        )
        pairs = [{"name": "os", "value": os_name}, {"name": "arch", "value": arch}]
        if image:
            doc["labels"] = pairs
        else:
            doc["apps"] = [
                {"name": "a", "image": {"id": "sha512-" + "0" * 128, "labels": pairs}}
            ]
    elif how.startswith("annotation"):
        entry = {
            "annotation_created": {
                "name": "created",
                "value": draw(invalid_date_strings()),
            },
            "annotation_homepage": {"name": "homepage", "value": draw(invalid_urls())},
            "annotation_duplicate": {"name": "authors", "value": "x"},
        }[how]
        existing: list[dict[str, str]] = doc.get("annotations") or []
        entries = [a for a in existing if a["name"] != entry["name"]]
        entries.append(entry)
        if how == "annotation_duplicate":
            entries.append(dict(entry))
        doc["annotations"] = entries
    elif how == "dependency_hash":
        bad = draw(
            st.sampled_from(
                ("", "sha512-", "sha1-abc", "SHA512-abc", "sha512-a-b", "abc")
            )
        )
        if image:
            doc["dependencies"] = [{"imageName": "example.com/base", "imageID": bad}]
        else:
            doc["apps"] = [{"name": "a", "image": {"id": bad}}]
    elif how.startswith("pod_"):
        volume: dict[str, Any] = {"name": "v", "kind": "empty"}
        if how == "pod_app_name":
            doc = {
                **doc,
                "acKind": "PodManifest",
                "apps": [
                    {"name": draw(invalid_ac_names()), "image": {"id": "sha512-1"}}
                ],
            }
        elif how == "pod_app_duplicate":
            doc = {
                **doc,
                "acKind": "PodManifest",
                "apps": [{"name": "a", "image": {"id": "sha512-1"}}] * 2,
            }
        elif how == "pod_image_id":
            doc = {
                **doc,
                "acKind": "PodManifest",
                "apps": [{"name": "a", "image": {"id": "sha512-"}}],
            }
        elif how == "pod_volume_kind":
            doc = {
                **doc,
                "acKind": "PodManifest",
                "volumes": [
                    {**volume, "kind": draw(st.sampled_from(("Empty", "tmpfs", "")))}
                ],
            }
        elif how == "pod_volume_source":
            source = draw(st.sampled_from(("", "relative/path", "x")))
            doc = {
                **doc,
                "acKind": "PodManifest",
                "volumes": [{"name": "v", "kind": "host", "source": source}],
            }
        elif how == "pod_volume_duplicate":
            doc = {**doc, "acKind": "PodManifest", "volumes": [volume, volume]}
        else:
            doc = {
                **doc,
                "acKind": "PodManifest",
                "ports": [
                    {
                        "name": "p",
                        "hostPort": 1,
                        "hostIP": draw(st.sampled_from(("abc", "1.2.3", "256.0.0.1"))),
                    }
                ],
            }
        if image:
            doc.pop("name", None)
            doc.pop("labels", None)
            doc.pop("app", None)
            doc.pop("dependencies", None)
            doc.pop("pathWhitelist", None)
    else:
        app = _break_app(app, how, draw)
        if image:
            doc["app"] = app
        else:
            doc["apps"] = [{"name": "a", "image": {"id": "sha512-1"}, "app": app}]
    return doc


def _untrimmed(text: str) -> bool:
    return text == text.strip()


def _break_app(app: dict[str, Any], how: str, draw: st.DrawFn) -> dict[str, Any]:
    app = dict(app)
    isolators: dict[str, dict[str, Any]] = {
        "isolator_unknown_in_app": {"name": "example.com/gpu", "value": 1},
        "isolator_cpu_default": {"name": "resource/cpu", "value": {"default": True}},
        "isolator_block_default": {
            "name": "resource/block-iops",
            "value": {"default": False, "limit": 1},
        },
        "isolator_quantity": {
            "name": "resource/memory",
            # Go trims white space around a quantity read from JSON.
            "value": {"limit": draw(invalid_quantity_strings().filter(_untrimmed))},
        },
        "isolator_capabilities_empty": {
            "name": "os/linux/capabilities-retain-set",
            "value": {"set": []},
        },
        "isolator_seccomp_errno": {
            "name": "os/linux/seccomp-remove-set",
            "value": {
                "set": ["reboot"],
                "errno": draw(st.sampled_from(("eperm", "E_PERM", "PERM"))),
            },
        },
        "isolator_oom": {
            "name": "os/linux/oom-score-adj",
            "value": draw(st.sampled_from((-1001, 1001))),
        },
        "isolator_shares": {
            "name": "os/linux/cpu-shares",
            "value": draw(st.sampled_from((1, 262145, 0))),
        },
        "isolator_selinux": {
            "name": "os/linux/selinux-context",
            "value": {"user": "a:b", "role": "r", "type": "t", "level": "l"},
        },
        "isolator_no_new_privileges": {
            "name": "os/linux/no-new-privileges",
            "value": "yes",
        },
    }
    isolator = isolators.get(how)
    if isolator is not None:
        app["isolators"] = [isolator]
    elif how == "isolator_seccomp_both":
        app["isolators"] = [
            {"name": "os/linux/seccomp-remove-set", "value": {"set": ["reboot"]}},
            {"name": "os/linux/seccomp-retain-set", "value": {"set": ["read"]}},
        ]
    elif how == "isolator_twice":
        app["isolators"] = [{"name": "os/linux/cpu-shares", "value": 512}] * 2
    elif how == "app_user":
        app["user"] = ""
    elif how == "app_group":
        app["group"] = ""
    elif how == "working_directory":
        app["workingDirectory"] = draw(st.sampled_from(("relative", "./x", "x/")))
    elif how == "event_handler":
        app["eventHandlers"] = [
            {"name": draw(st.sampled_from(("", "on-crash", "Pre-start")))}
        ]
    elif how == "event_handler_twice":
        app["eventHandlers"] = [{"name": "pre-start"}, {"name": "pre-start"}]
    elif how == "environment_name":
        app["environment"] = [
            {
                "name": draw(st.sampled_from(("0DEBUG", "A=B", "", "VERBOSE|DEBUG"))),
                "value": "1",
            }
        ]
    elif how == "environment_duplicate":
        app["environment"] = [{"name": "A", "value": "1"}, {"name": "A", "value": "2"}]
    elif how == "port_zero":
        app["ports"] = [{"name": "p", "port": 0}]
    elif how == "port_range":
        app["ports"] = [{"name": "p", "port": 65535, "count": 2}]
    else:  # mount_point_name
        app["mountPoints"] = [{"name": draw(invalid_ac_names()), "path": "/x"}]
    return app


def manifest_documents(*, valid: bool = True) -> st.SearchStrategy[dict[str, Any]]:
    """Manifests as JSON values (dicts), image and pod, every field and isolator.

    ``valid=True`` gives documents the spec and ``actool`` accept, including
    Go's leniencies (JSON numbers as quantities, ``count`` 0, ``null`` lists,
    ``01.0.0``); ``valid=False`` gives near misses, each a valid document
    with one rule broken. Built from the schema's wire names, independently
    of ``appc.converters``.

    >>> isinstance(manifest_documents(valid=False), st.SearchStrategy)
    True
    """
    documents = st.one_of(_image_document(), _pod_document())
    if valid:
        return documents

    return st.sampled_from(NEAR_MISS_RULES).flatmap(near_miss_documents)


def near_miss_documents(rule: str) -> st.SearchStrategy[dict[str, Any]]:
    """Manifests (as JSON) that break ``rule``, one of :data:`NEAR_MISS_RULES`.

    >>> isinstance(near_miss_documents("port_zero"), st.SearchStrategy)
    True
    """
    if rule not in NEAR_MISS_RULES:
        raise ValueError(f"unknown rule {rule!r}; see NEAR_MISS_RULES")
    documents = st.one_of(_image_document(), _pod_document())

    @st.composite
    def near_miss(draw: st.DrawFn) -> dict[str, Any]:
        return _break(draw(documents), rule, draw)

    return near_miss()


# -- registration ------------------------------------------------------------

_VALUE_TYPES: dict[type[Any], Any] = {
    ACIdentifier: ac_identifiers,
    ACName: ac_names,
    SemVer: semvers,
    ImageID: image_ids,
    ImageIDPrefix: image_id_prefixes,
    ImageHash: image_hashes,
    Labels: labels,
    Annotations: annotations,
    UUID: uuids,
    Date: dates,
    URL: urls,
    Quantity: quantities,
    ImageRef: image_refs,
}


def register_type_strategies() -> None:
    """Register every strategy here with ``st.register_type_strategy``.

    >>> register_type_strategies()
    """
    for cls, factory in _VALUE_TYPES.items():
        st.register_type_strategy(cls, st.deferred(factory))
    from appc.manifest import ImageManifest, PodManifest
    from appc.model import isolators as iso
    from appc.model.app import App, Port
    from appc.model.dependency import Dependency
    from appc.model.pod import Volume

    models: dict[type[Any], Any] = {
        ImageManifest: image_manifests,
        PodManifest: pod_manifests,
        App: apps,
        Port: ports,
        Dependency: dependencies,
        Volume: volumes,
    }
    for cls, factory in models.items():
        st.register_type_strategy(cls, st.deferred(factory))
    for cls, strategy in known_isolators().items():
        st.register_type_strategy(cls, strategy)
    st.register_type_strategy(iso.UnknownIsolator, st.deferred(unknown_isolators))


# Also here, for when this module is what imports hypothesis (see _hypothesis.py).
register_type_strategies()
