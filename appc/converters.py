"""The one converter between JSON values and the models (cattrs, preconf style).

:func:`make_converter` builds a :class:`cattrs.Converter` configured by
:func:`configure_converter`; :data:`converter` is the module's own, used by
:func:`appc.load_manifest` and :func:`appc.dump_manifest`. Nothing here
touches ``cattrs.global_converter``.

Reading (``structure``) follows Go's ``encoding/json`` as ``actool`` uses it:
keys match their field case-insensitively (``"NAME"``, even ``"ac\\u212aind"``
with the Kelvin sign, as Go folds it), unknown keys are ignored, ``null`` is
the field's zero value (so ``"name": null`` is an empty, invalid name, while
``"labels": null`` is no labels), integers must be integer literals in
range. Where Go would quietly take the last of two keys that name the same
field, we refuse. ``make_converter(strict=True)`` also refuses unknown keys
and keys in another case.

Writing (``unstructure``) gives what Go's ``json.Marshal`` gives: Go's field
order, its ``omitempty`` rules (Go pointers are our ``None``), ``null`` for
the empty lists that Go writes as ``null``, a port's ``count`` of 1,
``empty`` volumes with their defaults, and isolator values as received.

Every problem is collected with its place; :func:`issues_from` turns what a
failed ``structure`` raised (our value errors inside cattrs'
``ClassValidationError`` groups) into :class:`~appc.errors.Issue` objects
with JSON paths such as ``$.app.isolators[0].value.limit``.

Wire names are the attribute names in camelCase, except those in
:data:`IRREGULAR_KEYS`:

>>> wire_key("socket_activated"), wire_key("supplementary_gids")
('socketActivated', 'supplementaryGIDs')
>>> from appc.model.app import Port
>>> converter.unstructure(converter.structure({"name": "http", "PORT": 80}, Port))
{'name': 'http', 'protocol': '', 'port': 80, 'count': 1, 'socketActivated': False}
"""

from __future__ import annotations

import functools
import ipaddress
import json
import typing

from collections.abc import Callable, Mapping, Sequence
from types import MappingProxyType, NoneType, UnionType
from typing import Any, Final, Literal, Self, TypeVar, cast, get_args, get_origin

import attrs
import cattrs

from cattrs.errors import (
    AttributeValidationNote,
    ClassValidationError,
    IterableValidationError,
    IterableValidationNote,
)

from appc import _json
from appc.errors import (
    AppcError,
    InvalidACKind,
    InvalidField,
    InvalidIsolator,
    InvalidManifest,
    InvalidQuantity,
    InvalidValue,
    Issue,
)
from appc.image_id import ImageHash
from appc.labels import Labels, _go_quote  # pyright: ignore[reportPrivateUsage]
from appc.manifest import ImageManifest, PodManifest
from appc.model._base import FrozenDict, Model, collect_problems, freeze, thaw
from appc.model.app import (
    App,
    Environment,
    EnvironmentVariable,
    EventHandler,
    MountPoint,
    Port,
)
from appc.model.common import Annotations
from appc.model.dependency import Dependency
from appc.model.isolators import (
    KNOWN_ISOLATORS,
    Isolator,
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
from appc.model.pod import (
    ExposedPort,
    IPAddress,
    Mount,
    RuntimeApp,
    RuntimeImage,
    Volume,
)
from appc.names import ACIdentifier, ACName
from appc.quantity import Quantity
from appc.semver import SemVer


__all__ = [
    "IRREGULAR_KEYS",
    "configure_converter",
    "converter",
    "issues_from",
    "make_converter",
    "manifest_class",
    "structure_manifest",
    "wire_key",
]

IRREGULAR_KEYS: Final[Mapping[str, str]] = MappingProxyType(
    {
        "supplementary_gids": "supplementaryGIDs",
        "image_id": "imageID",
        "host_ip": "hostIP",
        "read_only_root_fs": "readOnlyRootFS",
    }
)
"""Attribute names whose JSON key is not their plain camelCase form."""


def wire_key(attribute: str) -> str:
    """The JSON key of a model attribute.

    >>> wire_key("read_only_root_fs"), wire_key("path_whitelist")
    ('readOnlyRootFS', 'pathWhitelist')
    """
    irregular = IRREGULAR_KEYS.get(attribute)
    if irregular is not None:
        return irregular
    head, *rest = attribute.split("_")
    return head + "".join(part.capitalize() for part in rest)


# Fields Go always writes (no ``omitempty``); every other field is left out
# when empty, and a field that is a Go pointer (our ``X | None``) only when
# it is None. An empty list in one of these is written as null, as Go
# writes a nil slice.
_ALWAYS: Final[Mapping[type, frozenset[str]]] = MappingProxyType(
    {
        ImageManifest: frozenset({"ac_kind", "ac_version", "name"}),
        App: frozenset({"exec", "user", "group"}),
        EventHandler: frozenset({"name", "exec"}),
        EnvironmentVariable: frozenset({"name", "value"}),
        MountPoint: frozenset({"name", "path"}),
        Port: frozenset({"name", "protocol", "port", "count", "socket_activated"}),
        Dependency: frozenset({"image_name"}),
        PodManifest: frozenset(
            {
                "ac_version",
                "ac_kind",
                "apps",
                "volumes",
                "isolators",
                "annotations",
                "ports",
            }
        ),
        RuntimeApp: frozenset({"name", "image"}),
        RuntimeImage: frozenset({"id"}),
        Mount: frozenset({"volume", "path"}),
        Volume: frozenset({"name", "kind"}),
        ExposedPort: frozenset({"name", "host_port"}),
    }
)

# Fields whose absence is an error even though the model has a default
# (the manifest's own kind and version must be written).
_WIRE_REQUIRED: Final = frozenset(
    {
        (ImageManifest, "ac_kind"),
        (ImageManifest, "ac_version"),
        (PodManifest, "ac_kind"),
    }
)
# Go pointer-less hash and version fields: absent is fine, but null reaches
# the type's own parser as "" and fails there.
_NULL_IS_EMPTY: Final = frozenset({(RuntimeImage, "id"), (PodManifest, "ac_version")})
# Go's uint fields: "-0" and negative numbers are JSON errors there.
_UNSIGNED: Final = frozenset(
    {(Port, "port"), (Port, "count"), (ExposedPort, "host_port"), (Dependency, "size")}
)
# Go's words where a required key is missing.
_MISSING_MESSAGES: Final[Mapping[tuple[type, str], str]] = MappingProxyType(
    {(Dependency, "image_name"): "imageName cannot be empty"}
)

_INT64_MIN: Final = -(2**63)
_INT64_MAX: Final = 2**63 - 1
_UINT64_MAX: Final = 2**64 - 1


class _WirePath(str):
    """A note on an exception: where it happened, as JSON keys and indexes."""

    __slots__ = ("segments",)
    segments: tuple[str | int, ...]

    def __new__(cls, segments: tuple[str | int, ...]) -> Self:
        note = super().__new__(cls, f"at {_json.format_path(segments, '')}")
        note.segments = segments
        return note


def _note(exc: Exception, segments: tuple[str | int, ...]) -> Exception:
    if segments:
        exc.add_note(_WirePath(segments))
    return exc


class _Failed:
    """Stands for a value that did not structure (its error is recorded)."""


_FAILED: Final = _Failed()


class _Errors:
    """Collects the errors of one object, each with its place."""

    def __init__(self) -> None:
        self.items: list[Exception] = []
        self._order: list[int] = []

    def add(
        self, exc: Exception, segments: tuple[str | int, ...] = (), *, order: int = 0
    ) -> None:
        """Record ``exc`` at ``segments``; ``order`` sorts it among the others."""
        self.items.append(_note(exc, segments))
        self._order.append(order)

    def run(
        self, segments: tuple[str | int, ...], func: Callable[..., Any], *args: Any
    ) -> Any:
        try:
            return func(*args)
        except Exception as exc:
            self.add(exc, segments)
            return _FAILED

    def raise_if_any(self, what: str, cls: type) -> None:
        if self.items:
            ordered = sorted(
                zip(self._order, self.items, strict=True), key=lambda p: p[0]
            )
            excs = [exc for _, exc in ordered]
            raise ClassValidationError(f"invalid {what}", excs, cls)  # pyright: ignore[reportCallIssue]


def _json_kind(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, int | float):
        return "a number"
    if isinstance(value, str):
        return "a string"
    if isinstance(value, list):
        return "an array"
    return "an object"


def _expected(what: str, value: Any) -> InvalidField:
    return InvalidField(value, f"expected {what}, not {_json_kind(value)}")


# ---------------------------------------------------------------- leaf values


def _structure_str(value: Any, _: Any = None) -> str:
    if value is None:
        return ""
    if isinstance(value, str):
        return str(value)
    raise _expected("a string", value)


def _structure_bool(value: Any, _: Any = None) -> bool:
    if value is None:
        return False
    if isinstance(value, bool):
        return value
    raise _expected("true or false", value)


def _integer(value: Any) -> int:
    if value is None:
        return 0
    if isinstance(value, bool) or not isinstance(value, int):
        if isinstance(value, _json.JSONFloat):
            raise InvalidField(
                value, f"expected an integer, not the number {value.literal}"
            )
        raise _expected("an integer", value)
    return value


def _structure_int(value: Any, _: Any = None) -> int:
    number = int(_integer(value))
    if not _INT64_MIN <= number <= _INT64_MAX:
        raise InvalidField(
            number, f"the number {number} does not fit in a 64-bit integer"
        )
    return number


def _structure_uint(value: Any) -> int:
    number = _integer(value)
    if number < 0 or isinstance(number, _json.NegativeZero):
        raise InvalidField(number, f"expected an unsigned integer, not {number!r}")
    if number > _UINT64_MAX:
        raise InvalidField(
            number, f"the number {number} does not fit in an unsigned 64-bit integer"
        )
    return int(number)


def _name_hook(cls: Callable[[str], Any]) -> Callable[[Any, Any], Any]:
    def structure(value: Any, _: Any) -> Any:
        return cls(_structure_str(value))

    return structure


def _structure_semver(value: Any, _: Any) -> SemVer:
    return SemVer.parse(_structure_str(value))


def _structure_ip(value: Any, _: Any) -> IPAddress | None:
    text = _structure_str(value)
    if not text:
        return None  # Go's net.IP reads "" as no address
    bad = InvalidField(text, f"invalid IP address: {text}")
    if "%" in text:  # Go's IP has no zone; Python's IPv6Address would take one
        raise bad
    try:
        address = ipaddress.ip_address(text)
    except ValueError as exc:
        raise bad from exc
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        return address.ipv4_mapped
    return address


def _structure_string_map(value: Any, _: Any = None) -> FrozenDict[str, str]:
    if value is None:
        return FrozenDict()
    if not isinstance(value, dict):
        raise _expected("an object of strings", value)
    errors = _Errors()
    items: list[tuple[str, str]] = []
    for key, item in cast("dict[str, Any]", value).items():
        text = errors.run((key,), _structure_str, item)
        if text is not _FAILED:
            items.append((str(key), text))
    errors.raise_if_any("object of strings", FrozenDict)
    return FrozenDict(items)


# ---------------------------------------------------------------- keys


def _fold(key: str) -> str:
    # Go's encoding/json matches keys to fields ignoring case, with its
    # simple folding: U+212A (Kelvin) is k and U+017F (long s) is s.
    return key.replace("\u017f", "s").lower()


def _match_keys(
    obj: Mapping[str, Any], keys: Sequence[str], errors: _Errors, *, strict: bool
) -> dict[str, Any]:
    """The value of each known key in ``obj``, matched as Go matches them."""
    by_fold = {_fold(key): key for key in keys}
    found: dict[str, tuple[str, Any]] = {}
    for json_key, value in obj.items():
        if json_key in keys:
            target: str | None = json_key
        else:
            target = None if strict else by_fold.get(_fold(json_key))
        if target is None:
            if strict:
                errors.add(
                    InvalidField(json_key, f"unknown key {json.dumps(json_key)}"),
                    (json_key,),
                )
            continue
        if target in found:
            first = found[target][0]
            message = f"keys {json.dumps(first)} and {json.dumps(json_key)} both set {json.dumps(target)}"
            errors.add(InvalidField(json_key, message), (json_key,))
            continue
        found[target] = (json_key, value)
    return {target: value for target, (_, value) in found.items()}


def _object(value: Any, what: str) -> Mapping[str, Any]:
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise _expected(f"{what} (a JSON object)", value)
    return cast("dict[str, Any]", value)


def _array(value: Any, what: str) -> list[Any]:
    if value is None:
        return []
    if not isinstance(value, list):
        raise _expected(f"{what} (a JSON array)", value)
    return cast("list[Any]", value)  # type: ignore[redundant-cast]


# ---------------------------------------------------------------- models


@attrs.frozen
class _FieldSpec:
    name: str
    key: str
    type: Any
    optional: bool
    inner: Any
    default: Any
    required: bool
    null_is_empty: bool
    unsigned: bool
    always: bool


def _split_optional(tp: Any) -> tuple[bool, Any]:
    if isinstance(tp, UnionType) or get_origin(tp) is typing.Union:
        args = tuple(arg for arg in get_args(tp) if arg is not NoneType)
        if len(args) < len(get_args(tp)):
            inner = (
                args[0]
                if len(args) == 1
                else functools.reduce(lambda a, b: a | b, args)
            )
            return True, inner
    return False, tp


_SPECS: dict[type, tuple[_FieldSpec, ...]] = {}


def _field_specs(cls: type[Model]) -> tuple[_FieldSpec, ...]:
    known = _SPECS.get(cls)
    if known is None:
        known = _SPECS[cls] = _make_field_specs(cls)
    return known


def _make_field_specs(cls: type[Model]) -> tuple[_FieldSpec, ...]:
    hints = typing.get_type_hints(cls)
    specs: list[_FieldSpec] = []
    model: Any = cls
    for field in attrs.fields(model):
        tp = hints[field.name]
        optional, inner = _split_optional(tp)
        specs.append(
            _FieldSpec(
                name=field.name,
                key=wire_key(field.name),
                type=tp,
                optional=optional,
                inner=inner,
                default=field.default,
                required=field.default is attrs.NOTHING
                or (cls, field.name) in _WIRE_REQUIRED,
                null_is_empty=(cls, field.name) in _NULL_IS_EMPTY,
                unsigned=(cls, field.name) in _UNSIGNED,
                always=field.name in _ALWAYS.get(cls, frozenset()),
            )
        )
    return tuple(specs)


def _zero(tp: Any) -> Any:
    """Go's zero value for a type the model can judge, or _FAILED."""
    if tp is str or _is_literal(tp):
        return ""
    if tp is int:
        return 0
    return _FAILED


def _model_path(segments: tuple[str | int, ...]) -> tuple[str | int, ...]:
    return tuple(wire_key(s) if isinstance(s, str) else s for s in segments)


def _build(
    cls: type[Model], kwargs: dict[str, Any], errors: _Errors, failed: set[str]
) -> Any:
    """Check ``kwargs`` as ``cls`` would, report every problem, then build."""
    filled = dict(kwargs)
    for spec in _field_specs(cls):
        if spec.name in failed:
            filled[spec.name] = (
                spec.default if spec.default is not attrs.NOTHING else _zero(spec.type)
            )
    try:
        problems = collect_problems(cls, filled)
    except Exception:  # pragma: no cover - no check reads a stand-in today
        problems = []
    positions = {spec.name: index for index, spec in enumerate(_field_specs(cls))}
    for problem in problems:
        if problem.path and problem.path[0] in failed:
            continue
        first = problem.path[0] if problem.path else None
        order = positions.get(first, 0) if isinstance(first, str) else 0
        errors.add(problem.error, _model_path(problem.path), order=order)
    errors.raise_if_any(cls.__name__, cls)
    return cls(**kwargs)


def _model_hook(
    conv: cattrs.Converter, cls: type[Model], *, strict: bool
) -> Callable[[Any, Any], Any]:
    specs = _field_specs(cls)
    keys = tuple(spec.key for spec in specs)

    def structure_field(spec: _FieldSpec, value: Any) -> Any:
        if value is None and spec.optional and not spec.null_is_empty:
            return None
        if value is None and spec.null_is_empty:
            value = ""
        if spec.unsigned:
            return _structure_uint(value)
        return conv.structure(value, spec.inner if spec.optional else spec.type)

    def structure(value: Any, _: Any) -> Any:
        obj = _object(value, cls.__name__)
        errors = _Errors()
        matched = _match_keys(obj, keys, errors, strict=strict)
        kwargs: dict[str, Any] = {}
        failed: set[str] = set()
        for position, spec in enumerate(specs):
            if spec.key in matched:
                try:
                    result = structure_field(spec, matched[spec.key])
                except Exception as exc:
                    exc.add_note(
                        AttributeValidationNote(f"@ {spec.key}", spec.name, spec.type)
                    )
                    errors.add(exc, order=position)
                    result = _FAILED
            elif spec.required:
                result = _zero(spec.inner if spec.optional else spec.type)
                if result is _FAILED:
                    message = _MISSING_MESSAGES.get(
                        (cls, spec.name), f"{spec.key} must be set"
                    )
                    errors.add(InvalidField(None, message), (spec.key,), order=position)
            elif spec.optional:
                result = None
            else:
                result = spec.default
            if result is _FAILED:
                failed.add(spec.name)
            else:
                kwargs[spec.name] = result
        if cls is Port and kwargs.get("count") == 0:
            kwargs["count"] = 1  # Go: a count of 0 (or none) means 1, after validation
        return _build(cls, kwargs, errors, failed)

    return structure


def _unstructure_model(
    conv: cattrs.Converter, cls: type[Model]
) -> Callable[[Any], Any]:
    specs = _field_specs(cls)

    def unstructure(obj: Any) -> dict[str, Any]:
        out: dict[str, Any] = {}
        for spec in specs:
            value = getattr(obj, spec.name)
            if value is None:
                continue  # a nil pointer, or a hash/version Go could not write
            empty = (
                value in ("", 0, False) if isinstance(value, str | int) else not value
            )
            if empty and not spec.always and not spec.optional:
                continue  # omitempty; a Go pointer (our X | None) is kept unless nil
            if isinstance(value, tuple | Mapping) and empty:
                out[spec.key] = None  # Go writes a nil slice as null
            elif isinstance(value, tuple):
                items = cast("tuple[Any, ...]", value)  # type: ignore[redundant-cast]
                out[spec.key] = [conv.unstructure(item) for item in items]
            else:
                out[spec.key] = conv.unstructure(value)
        return out

    return unstructure


# ---------------------------------------------------------------- collections


def _tuple_hook(
    conv: cattrs.Converter, tp: Any
) -> Callable[[Any, Any], tuple[Any, ...]]:
    item_type = get_args(tp)[0]

    def structure(value: Any, _: Any) -> tuple[Any, ...]:
        items = _array(value, "a list")
        errors: list[Exception] = []
        out: list[Any] = []
        for index, item in enumerate(items):
            try:
                out.append(conv.structure(item, item_type))
            except Exception as exc:
                exc.add_note(
                    IterableValidationNote(f"@ index {index}", index, item_type)
                )
                errors.append(exc)
        if errors:
            raise IterableValidationError("invalid list", errors, tp)  # pyright: ignore[reportCallIssue]
        return tuple(out)

    return structure


def _name_value_pairs(
    value: Any,
    strict: bool,
    what: str,
    check_one: Callable[[list[tuple[str, str]]], Any],
) -> tuple[list[tuple[str, str]], _Errors]:
    """Read ``[{"name": ..., "value": ...}]``, checking each entry on its own."""
    errors = _Errors()
    pairs: list[tuple[str, str]] = []
    seen: set[str] = set()
    for index, entry in enumerate(_array(value, what)):
        entry_errors = _Errors()
        fields = entry_errors.run((), _object, entry, "a name and a value")
        if fields is _FAILED:
            errors.add(entry_errors.items[0], (index,))
            continue
        matched = _match_keys(fields, ("name", "value"), entry_errors, strict=strict)
        name: Any = None
        if "name" in matched:
            name = entry_errors.run(
                ("name",), ACIdentifier, _structure_str(matched["name"])
            )
        else:
            entry_errors.add(InvalidField(None, "name must be set"), ("name",))
        text = entry_errors.run(("value",), _structure_str, matched.get("value"))
        if not entry_errors.items:
            if name in seen:
                message = f"duplicate {what} of name {_go_quote(name)}"
                entry_errors.add(InvalidField(name, message), ("name",))
            elif what == "labels" and name == "name":
                message = 'invalid label name: "name"'
                entry_errors.add(InvalidField(name, message), ("name",))
            else:
                entry_errors.run(("value",), check_one, [(name, text)])
        for exc in entry_errors.items:
            errors.add(exc, (index,))
        if not entry_errors.items:
            pairs.append((name, text))
            seen.add(name)
    return pairs, errors


def _labels_hook(strict: bool) -> Callable[[Any, Any], Labels]:
    def structure(value: Any, _: Any) -> Labels:
        pairs, errors = _name_value_pairs(value, strict, "labels", Labels)
        errors.raise_if_any("labels", Labels)
        return Labels(pairs)  # the os/arch rule spans entries: reported for the list

    return structure


def _annotations_hook(strict: bool) -> Callable[[Any, Any], Annotations]:
    def structure(value: Any, _: Any) -> Annotations:
        pairs, errors = _name_value_pairs(value, strict, "annotations", Annotations)
        errors.raise_if_any("annotations", Annotations)
        return Annotations(pairs)

    return structure


def _environment_hook(conv: cattrs.Converter) -> Callable[[Any, Any], Environment]:
    def structure(value: Any, _: Any) -> Environment:
        variables = conv.structure(value, tuple[EnvironmentVariable, ...])
        environment: Environment = _build(
            Environment, {"variables": variables}, _Errors(), set()
        )
        return environment

    return structure


def _pairs_out(mapping: Labels | Annotations) -> list[dict[str, str]]:
    return [{"name": str(name), "value": value} for name, value in mapping.pairs()]


# ---------------------------------------------------------------- isolators


def _read_quantity(value: Any) -> Quantity | None:
    # Go hands a Quantity the raw JSON text: numbers keep their literal, and
    # a string written with escapes keeps its backslashes (and fails).
    if value is None:
        return None
    if isinstance(value, _json.EscapedStr):
        raise InvalidQuantity(
            value, "a quantity cannot be written with JSON escapes (Go reads it raw)"
        )
    if isinstance(value, str):
        return Quantity.from_json_token(f'"{value}"')
    if isinstance(value, _json.JSONFloat):
        return Quantity.from_json_token(value.literal)
    if isinstance(value, bool | int):
        return Quantity.from_json_token(
            json.dumps(value) if isinstance(value, bool) else repr(value)
        )
    raise InvalidQuantity(
        value, f"a quantity must be a string or a number, not {_json_kind(value)}"
    )


def _read_string_list(value: Any) -> tuple[str, ...]:
    errors = _Errors()
    items = [
        errors.run((index,), _structure_str, item)
        for index, item in enumerate(_array(value, "a list"))
    ]
    errors.raise_if_any("list of strings", tuple)
    return tuple(items)


def _read_resource(
    cls: type[KnownIsolator], value: Any, errors: _Errors, strict: bool
) -> dict[str, Any]:
    obj = _object(value, f"the value of {cls.NAME}")
    fields = _match_keys(obj, ("default", "request", "limit"), errors, strict=strict)
    # Checked in Go's field order: default, request, limit.
    requestable = cls in (ResourceCPU, ResourceMemory)
    default = errors.run(("default",), _structure_bool, fields.get("default"))
    if default is True and requestable:
        errors.add(InvalidIsolator(default, "default must be false"), ("default",))
    elif default is False and not requestable:
        errors.add(InvalidIsolator(default, "default must be true"), ("default",))
    request = errors.run(("request",), _read_quantity, fields.get("request"))
    if request not in (None, _FAILED) and not requestable:
        message = "request not supported by this resource, must be empty"
        errors.add(InvalidIsolator(fields.get("request"), message), ("request",))
    limit = errors.run(("limit",), _read_quantity, fields.get("limit"))
    return {"request": request, "limit": limit} if requestable else {"limit": limit}


def _read_isolator_fields(
    cls: type[KnownIsolator], value: Any, errors: _Errors, strict: bool
) -> dict[str, Any]:
    """The model attributes of an isolator from its JSON value (Go's rules)."""
    if cls in (
        ResourceCPU,
        ResourceMemory,
        ResourceBlockBandwidth,
        ResourceBlockIOPS,
        ResourceNetworkBandwidth,
    ):
        return _read_resource(cls, value, errors, strict)
    if cls in (LinuxCapabilitiesRetainSet, LinuxCapabilitiesRemoveSet):
        fields = _match_keys(
            _object(value, f"the value of {cls.NAME}"), ("set",), errors, strict=strict
        )
        return {
            "capabilities": errors.run(("set",), _read_string_list, fields.get("set"))
        }
    if cls in (LinuxSeccompRemoveSet, LinuxSeccompRetainSet):
        obj = _object(value, f"the value of {cls.NAME}")
        fields = _match_keys(obj, ("set", "errno"), errors, strict=strict)
        return {
            "syscalls": errors.run(("set",), _read_string_list, fields.get("set")),
            "errno": errors.run(("errno",), _structure_str, fields.get("errno")),
        }
    if cls is LinuxNoNewPrivileges:
        if not isinstance(value, bool):
            raise _expected("true or false", value)
        return {"enabled": value}
    if cls is LinuxOOMScoreAdj:
        return {"adjustment": _structure_int(value)}
    if cls is LinuxCPUShares:
        return {"shares": _structure_int(value)}
    if cls is LinuxSELinuxContext:
        parts = ("user", "role", "type", "level")
        fields = _match_keys(
            _object(value, f"the value of {cls.NAME}"), parts, errors, strict=strict
        )
        return {
            part: errors.run((part,), _structure_str, fields.get(part))
            for part in parts
        }
    if cls is UnixSysctl:
        if not isinstance(value, dict):
            raise _expected("an object of strings", value)
        return {"parameters": _structure_string_map(value)}
    raise NotImplementedError(cls)  # pragma: no cover - KNOWN_ISOLATORS is fixed


# Model attribute -> key inside the isolator's JSON value ("" for the value itself).
_ISOLATOR_KEYS: Final[Mapping[str, str]] = MappingProxyType(
    {
        "capabilities": "set",
        "syscalls": "set",
        "enabled": "",
        "adjustment": "",
        "shares": "",
        "parameters": "",
    }
)


def _isolator_path(segments: tuple[str | int, ...]) -> tuple[str | int, ...]:
    head, *rest = segments
    key = _ISOLATOR_KEYS.get(head, head) if isinstance(head, str) else head
    return (key, *rest) if key != "" else tuple(rest)


def _read_known_isolator(
    cls: type[KnownIsolator], value: Any, *, strict: bool
) -> KnownIsolator:
    errors = _Errors()
    try:
        kwargs = _read_isolator_fields(cls, value, errors, strict)
    except Exception as exc:
        errors.add(exc)
        kwargs = {}
    if not errors.items:
        for problem in collect_problems(cls, kwargs):
            errors.add(problem.error, _isolator_path(problem.path))
    errors.raise_if_any(cls.NAME, cls)
    return cls(**kwargs, raw_value=freeze(value))


def _isolator_hook(strict: bool) -> Callable[[Any, Any], Isolator]:
    def structure(value: Any, _: Any) -> Isolator:
        errors = _Errors()
        fields = _match_keys(
            _object(value, "an isolator"), ("name", "value"), errors, strict=strict
        )
        if "name" not in fields:
            errors.add(InvalidField(None, "name must be set"), ("name",))
            errors.raise_if_any("isolator", UnknownIsolator)
        name = errors.run(("name",), ACIdentifier, _structure_str(fields.get("name")))
        errors.raise_if_any("isolator", UnknownIsolator)
        known = KNOWN_ISOLATORS.get(name)
        if known is None:
            errors.raise_if_any("isolator", UnknownIsolator)
            return UnknownIsolator(name=name, value=freeze(fields.get("value")))
        raw = fields.get("value")
        isolator: Any = None
        if raw is None:
            # Go dereferences the missing value and crashes (actool panics).
            message = f"isolator {name} needs a value"
            errors.add(InvalidIsolator(None, message), ("value",))
        else:
            isolator = errors.run(
                ("value",),
                functools.partial(_read_known_isolator, strict=strict),
                known,
                raw,
            )
        errors.raise_if_any("isolator", known)
        return cast("Isolator", isolator)

    return structure


def _generated_value(isolator: KnownIsolator) -> Any:
    """The JSON value of an isolator made in Python (Go's ``AsIsolator`` shapes)."""
    if isinstance(isolator, ResourceCPU | ResourceMemory):
        value: dict[str, Any] = {"default": False}
        if isolator.request is not None:
            value["request"] = str(isolator.request)
        if isolator.limit is not None:
            value["limit"] = str(isolator.limit)
        return value
    if isinstance(
        isolator, ResourceBlockBandwidth | ResourceBlockIOPS | ResourceNetworkBandwidth
    ):
        value = {"default": True}
        if isolator.limit is not None:
            value["limit"] = str(isolator.limit)
        return value
    if isinstance(isolator, LinuxCapabilitiesRetainSet | LinuxCapabilitiesRemoveSet):
        return {"set": list(isolator.capabilities)}
    if isinstance(isolator, LinuxSeccompRemoveSet | LinuxSeccompRetainSet):
        return {"set": list(isolator.syscalls), "errno": isolator.errno}
    if isinstance(isolator, LinuxNoNewPrivileges):
        return isolator.enabled
    if isinstance(isolator, LinuxOOMScoreAdj):
        return isolator.adjustment
    if isinstance(isolator, LinuxCPUShares):
        return isolator.shares
    if isinstance(isolator, LinuxSELinuxContext):
        return {
            "user": isolator.user,
            "role": isolator.role,
            "type": isolator.type,
            "level": isolator.level,
        }
    if isinstance(isolator, UnixSysctl):
        return dict(sorted(isolator.parameters.items()))
    raise NotImplementedError(
        type(isolator)
    )  # pragma: no cover - KNOWN_ISOLATORS is fixed


def _unstructure_isolator(isolator: Isolator) -> dict[str, Any]:
    if isinstance(isolator, UnknownIsolator):
        return {"name": str(isolator.name), "value": thaw(isolator.value)}
    value: Any = _generated_value(isolator)
    if isolator.raw_value is not None:
        # Written back as received, unless the typed fields changed since
        # (attrs.evolve keeps raw_value): then the fields win.
        try:
            same = (
                _read_known_isolator(
                    type(isolator), thaw(isolator.raw_value), strict=False
                )
                == isolator
            )
        except Exception:
            same = False
        if same:
            value = thaw(isolator.raw_value)
    return {"name": str(isolator.name), "value": value}


# ---------------------------------------------------------------- the converter


def _is_model(tp: Any) -> bool:
    return (
        isinstance(tp, type)
        and issubclass(tp, Model)
        and not issubclass(tp, KnownIsolator | UnknownIsolator | Environment)
    )


def _is_literal(tp: Any) -> bool:
    origin: Any = get_origin(tp)
    return origin is Literal


def _is_tuple(tp: Any) -> bool:
    args = get_args(tp)
    return get_origin(tp) is tuple and len(args) == 2 and args[1] is Ellipsis


def _is_optional(tp: Any) -> bool:
    return _split_optional(tp)[0]


def _is_string_map(tp: Any) -> bool:
    return get_origin(tp) is FrozenDict


def configure_converter(conv: cattrs.Converter, *, strict: bool = False) -> None:
    """Teach ``conv`` the manifests' JSON form (``strict``: exact keys only, no unknown keys).

    >>> conv = cattrs.Converter()
    >>> configure_converter(conv, strict=True)
    >>> from appc.model.app import MountPoint
    >>> conv.structure({"name": "work", "readonly": True}, MountPoint)
    Traceback (most recent call last):
    ...
    cattrs.errors.ClassValidationError: invalid MountPoint (1 sub-exception)
    """
    conv.register_structure_hook(str, _structure_str)
    conv.register_structure_hook(int, _structure_int)
    conv.register_structure_hook(bool, _structure_bool)
    conv.register_structure_hook_func(_is_literal, _structure_str)
    for cls in (ACName, ACIdentifier, ImageHash):
        conv.register_structure_hook(cls, _name_hook(cls))
        conv.register_unstructure_hook(cls, str)
    conv.register_structure_hook(SemVer, _structure_semver)
    conv.register_unstructure_hook(SemVer, str)
    conv.register_structure_hook(Labels, _labels_hook(strict))
    conv.register_unstructure_hook(Labels, _pairs_out)
    conv.register_structure_hook(Annotations, _annotations_hook(strict))
    conv.register_unstructure_hook(Annotations, _pairs_out)
    conv.register_structure_hook(Environment, _environment_hook(conv))
    conv.register_unstructure_hook(
        Environment,
        lambda env: [conv.unstructure(variable) for variable in env.variables],
    )
    conv.register_structure_hook_func(_is_string_map, _structure_string_map)
    conv.register_unstructure_hook(
        FrozenDict, lambda mapping: dict(sorted(mapping.items()))
    )
    conv.register_structure_hook_func(lambda tp: tp == IPAddress, _structure_ip)
    conv.register_unstructure_hook_func(
        lambda tp: (
            isinstance(tp, type)
            and issubclass(tp, ipaddress.IPv4Address | ipaddress.IPv6Address)
        ),
        str,
    )
    conv.register_structure_hook_func(
        _is_tuple, lambda value, tp: _tuple_hook(conv, tp)(value, tp)
    )
    conv.register_structure_hook_func(
        _is_optional,
        lambda value, tp: (
            None if value is None else conv.structure(value, _split_optional(tp)[1])
        ),
    )
    conv.register_structure_hook_func(lambda tp: tp == Isolator, _isolator_hook(strict))
    conv.register_unstructure_hook_func(
        lambda tp: (
            isinstance(tp, type) and issubclass(tp, KnownIsolator | UnknownIsolator)
        ),
        _unstructure_isolator,
    )

    def structure_factory(cls: type[Model]) -> Callable[[Any, Any], Any]:
        return _model_hook(conv, cls, strict=strict)

    def unstructure_factory(cls: type[Model]) -> Callable[[Any], Any]:
        return _unstructure_model(conv, cls)

    conv.register_structure_hook_factory(_is_model, structure_factory)
    conv.register_unstructure_hook_factory(_is_model, unstructure_factory)


def make_converter(*, strict: bool = False) -> cattrs.Converter:
    """A new converter for manifests (see :func:`configure_converter`).

    >>> from appc.model.app import MountPoint
    >>> make_converter().structure({"NAME": "work", "path": "/w"}, MountPoint)
    MountPoint(name=ACName('work'), path='/w', read_only=False)
    """
    conv = cattrs.Converter(detailed_validation=True)
    configure_converter(conv, strict=strict)
    return conv


converter: Final = make_converter()
"""The converter ``appc`` uses (Go-compatible, not strict)."""


# ---------------------------------------------------------------- errors


def _segments(exc: BaseException) -> tuple[str | int, ...]:
    # Each level adds its note after the inner ones: read them outside in.
    segments: list[str | int] = []
    notes: list[Any] = getattr(exc, "__notes__", [])
    for note in reversed(notes):
        if isinstance(note, AttributeValidationNote):
            segments.append(wire_key(note.name))
        elif isinstance(note, IterableValidationNote):
            segments.append(note.index)
        elif isinstance(note, _WirePath):
            segments.extend(note.segments)
    return tuple(segments)


def _message(exc: BaseException) -> str:
    if isinstance(exc, InvalidValue):
        return exc.reason
    if isinstance(exc, AppcError):
        return str(exc)
    return f"internal error: {type(exc).__name__}: {exc}"


def issues_from(exc: BaseException, root: tuple[str | int, ...] = ()) -> list[Issue]:
    """Every problem inside what ``structure`` raised, each with its JSON path.

    >>> try:
    ...     converter.structure({"name": "HTTP", "port": 0}, Port)
    ... except Exception as exc:
    ...     for issue in issues_from(exc):
    ...         print(issue)
    $.name: ACName must contain only lower case alphanumeric characters plus "-"
    $.port: port must be in 1-65535 range
    """
    issues: list[Issue] = []
    pending: list[tuple[BaseException, tuple[str | int, ...]]] = [(exc, root)]
    while pending:
        current, path = pending.pop()
        if isinstance(current, BaseExceptionGroup):
            group = cast("BaseExceptionGroup[BaseException]", current)
            pending.extend(
                (sub, (*path, *_segments(sub))) for sub in reversed(group.exceptions)
            )
        else:
            issues.append(Issue(_json.format_path(path), _message(current)))
    return issues


# ---------------------------------------------------------------- manifests


def manifest_class(document: Any) -> type[ImageManifest | PodManifest]:
    """Which manifest a parsed document is, from ``acKind`` (and a valid ``acVersion``).

    This is the first step of ``actool validate``; its errors are reported as
    ``error unmarshaling manifest``, and there is no going on.

    >>> manifest_class({"acKind": "PodManifest"}).__name__
    'PodManifest'
    >>> manifest_class({"acKind": "Pod"})
    Traceback (most recent call last):
    ...
    appc.errors.InvalidManifest: error unmarshaling manifest
      $.acKind: bad ACKind: Pod
    """
    errors = _Errors()
    if document is not None and not isinstance(document, dict):
        issue = Issue("$", f"a manifest is a JSON object, not {_json_kind(document)}")
        raise InvalidManifest(_json.PARSE_ERROR, [issue])
    obj = _object(document, "a manifest")
    fields = _match_keys(obj, ("acVersion", "acKind"), errors, strict=False)
    kind = errors.run(("acKind",), _structure_str, fields.get("acKind"))
    if kind == "":
        errors.add(InvalidACKind(kind, "ACKind must be set"), ("acKind",))
    elif kind not in (_FAILED, "ImageManifest", "PodManifest"):
        errors.add(InvalidACKind(kind, f"bad ACKind: {kind}"), ("acKind",))
    if "acVersion" in fields:
        errors.run(("acVersion",), _structure_semver, fields["acVersion"], SemVer)
    if errors.items:
        raise InvalidManifest(
            _json.PARSE_ERROR, issues_from(ExceptionGroup("kind", errors.items))
        )
    return ImageManifest if kind == "ImageManifest" else PodManifest


_Manifest = TypeVar("_Manifest", ImageManifest, PodManifest)


def structure_manifest(
    document: Any, cls: type[_Manifest], *, conv: cattrs.Converter | None = None
) -> _Manifest:
    """Structure a parsed document as ``cls``; every problem in one InvalidManifest.

    >>> structure_manifest({"acKind": "ImageManifest", "acVersion": "1.0.0", "name": "a"}, ImageManifest).name
    ACIdentifier('a')
    """
    try:
        return (conv or converter).structure(document, cls)
    except Exception as exc:
        raise InvalidManifest(f"invalid {cls.__name__}", issues_from(exc)) from exc
