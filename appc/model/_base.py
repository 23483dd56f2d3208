"""What every model shares: validation that finds every problem, frozen JSON.

A model validates itself when it is made: ``__attrs_post_init__`` raises the
first :class:`Problem` that ``_problems()`` yields, as its typed error. The
converter asks for *all* of them (:func:`collect_problems`) before it builds
an object, so that a manifest reports every problem at once.

>>> FrozenDict({"b": 1, "a": 2})
FrozenDict({'b': 1, 'a': 2})
>>> freeze({"set": ["CAP_KILL"]})
FrozenDict({'set': ('CAP_KILL',)})
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping
from typing import Any, Generic, TypeAlias, TypeVar, cast

import attrs

from appc.errors import InvalidValue


__all__ = [
    "FrozenDict",
    "JSONValue",
    "Model",
    "Problem",
    "collect_problems",
    "freeze",
    "thaw",
]

K = TypeVar("K")
V = TypeVar("V")


class FrozenDict(Mapping[K, V], Generic[K, V]):
    """An immutable, hashable mapping that keeps the order it was given.

    >>> FrozenDict([("a", "1")]) == {"a": "1"}
    True
    >>> hash(FrozenDict({"a": "1"})) == hash(FrozenDict({"a": "1"}))
    True
    """

    __slots__ = ("_hash", "_items")
    _items: dict[K, V]
    _hash: int | None

    def __init__(self, items: Mapping[K, V] | Iterable[tuple[K, V]] = ()) -> None:
        self._items = dict(items)
        self._hash = None

    def __getitem__(self, key: K) -> V:
        return self._items[key]

    def __iter__(self) -> Iterator[K]:
        return iter(self._items)

    def __len__(self) -> int:
        return len(self._items)

    def __eq__(self, other: object) -> bool:
        theirs: Any = other
        if isinstance(other, FrozenDict):
            same: bool = self._items == theirs._items
            return same
        if isinstance(other, Mapping):
            return self._items == dict(theirs)
        return NotImplemented

    def __hash__(self) -> int:
        if self._hash is None:
            self._hash = hash(frozenset(self._items.items()))
        return self._hash

    def __repr__(self) -> str:
        return f"FrozenDict({self._items!r})"

    def __reduce__(self) -> tuple[Any, ...]:
        return (type(self), (list(self._items.items()),))


JSONValue: TypeAlias = "bool | int | float | str | tuple[JSONValue, ...] | FrozenDict[str, JSONValue] | None"
"""Any JSON value, made immutable: arrays are tuples, objects :class:`FrozenDict`."""


def freeze(value: Any) -> JSONValue:
    """An immutable copy of a parsed JSON value (lists to tuples, dicts frozen).

    >>> freeze([1, {"a": None}])
    (1, FrozenDict({'a': None}))
    """
    items: Any = value
    if isinstance(value, Mapping):
        return FrozenDict((str(key), freeze(item)) for key, item in items.items())
    if isinstance(value, list | tuple):
        return tuple(freeze(item) for item in items)
    if isinstance(value, str) and type(value) is not str:
        return str(value)
    if value is None or isinstance(value, bool | int | float | str):
        return cast("JSONValue", value)
    raise TypeError(f"not a JSON value: {type(value).__name__}")


def thaw(value: JSONValue) -> Any:
    """The plain ``dict``/``list`` form of a frozen JSON value, ready to dump.

    >>> thaw(freeze({"a": [1]}))
    {'a': [1]}
    """
    if isinstance(value, FrozenDict):
        return {key: thaw(item) for key, item in value.items()}
    if isinstance(value, tuple):
        return [thaw(item) for item in value]
    return value


@attrs.frozen
class Problem:
    """One broken rule: where (attribute names and indexes) and the error.

    >>> from appc.errors import InvalidField
    >>> Problem(("ports", 0), InvalidField(0, "port must be in 1-65535 range")).path
    ('ports', 0)
    """

    path: tuple[str | int, ...]
    error: InvalidValue


class Model:
    """The base of every model: validated at construction, every problem known.

    Subclasses yield their problems from ``_problems`` and may fill defaults
    in ``_normalize`` (which runs first).
    """

    __slots__ = ()

    def __attrs_post_init__(self) -> None:
        _lists_to_tuples(self)
        self._normalize()
        for problem in self._problems():
            raise problem.error

    def _normalize(self) -> None:
        """Fill in defaults that depend on other fields (before validation)."""

    def _problems(self) -> Iterator[Problem]:
        return iter(())


def _lists_to_tuples(instance: Model) -> None:
    # The one normalisation a model does on its own: a list where a tuple
    # belongs (models must stay immutable and hashable).
    cls: Any = type(instance)
    for field in attrs.fields(cls):
        value: Any = getattr(instance, field.name)
        if isinstance(value, list):
            items = cast("list[Any]", value)  # type: ignore[redundant-cast]
            object.__setattr__(instance, field.name, tuple(items))


def collect_problems(cls: type[Model], values: Mapping[str, Any]) -> list[Problem]:
    """Every problem an object of ``cls`` made from ``values`` would have.

    >>> from appc.model.app import Port
    >>> [str(p.error) for p in collect_problems(Port, {"name": "http", "port": 0})]
    ['port must be in 1-65535 range']
    """
    shell = object.__new__(cls)
    model: Any = cls
    for field in attrs.fields(model):
        value = values.get(field.name, field.default)
        object.__setattr__(shell, field.name, value)
    _lists_to_tuples(shell)
    shell._normalize()  # pyright: ignore[reportPrivateUsage]
    return list(shell._problems())  # pyright: ignore[reportPrivateUsage]
