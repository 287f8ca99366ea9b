"""Frozen value records: what `@dataclass(frozen=True)` gives, without generating code.

Why not dataclasses: `dataclasses` compiles six methods per class with `exec`
when the class is created, linkgate defines ~60 records on the `check` path,
and importing it imports `inspect` (docs/architecture.md, "Start-up figures",
has the costs; ruff's banned-api refuses it under linkgate/). Here every record
shares one `__init__`, `__eq__`, `__hash__` and `__repr__` that read a
per-class field table, so creating a class costs next to nothing. mypy sees the decorator
through `dataclass_transform` and checks constructors and assignments as it does
for frozen dataclasses. docs/architecture.md ("Records") has the rules.

Semantics kept from frozen dataclasses: positional-or-keyword fields in
declaration order (keyword-only with `@keyword_record`), defaults and
`field(default_factory=...)`, `field(compare=False)`, `field(repr=False)`,
equality only between instances of the same class, a hash of the compared
fields, assignment refused, pickling, a `ClassVar` annotation is not a field,
and an unhashable default (list, dict, set) raises ValueError.
`replace(record, **changes)` copies.
"""

from __future__ import annotations

from collections.abc import Callable
from operator import attrgetter
from typing import TYPE_CHECKING, Any, TypeVar

if TYPE_CHECKING:
    from typing_extensions import dataclass_transform
else:  # only type checkers read it (and typing has it from 3.11 only)

    def dataclass_transform(**_: object) -> Callable[[T], T]:
        return lambda decorated: decorated


__all__ = ["FrozenRecordError", "field", "field_names", "keyword_record", "record", "replace"]

T = TypeVar("T")
_MISSING: Any = object()


class FrozenRecordError(AttributeError):
    """An attribute of a record was assigned or deleted."""


class _Field:
    __slots__ = ("compare", "default", "factory", "repr")

    def __init__(self, default: Any, factory: Callable[[], Any] | None, compare: bool, repr: bool) -> None:
        self.default, self.factory, self.compare, self.repr = default, factory, compare, repr


def field(
    *,
    default: Any = _MISSING,
    default_factory: Callable[[], Any] | None = None,
    compare: bool = True,
    repr: bool = True,
) -> Any:
    """A field with a default made per instance, or left out of equality or repr."""
    return _Field(default, default_factory, compare, repr)


class _Table:
    """What the shared methods need to know about one record class."""

    __slots__ = ("defaults", "factories", "fields", "key", "kw_only", "names", "names_set", "positional", "required",
                 "shown")  # fmt: skip

    def __init__(self, fields: dict[str, _Field], kw_only: bool) -> None:
        self.fields = fields
        self.names = tuple(fields)
        self.names_set = frozenset(fields)
        self.kw_only = kw_only
        # How many positional arguments fill every field (-1: none do, the fields are keyword-only).
        self.positional = -1 if kw_only else len(self.names)
        self.defaults = {n: f.default for n, f in fields.items() if f.default is not _MISSING}
        self.factories = tuple((n, f.factory) for n, f in fields.items() if f.factory is not None)
        # The leading fields without a default: positional calls give at least these.
        self.required = next((i for i, n in enumerate(self.names) if n in self.defaults), len(self.names))
        compared = [n for n, f in fields.items() if f.compare]
        self.key = _tuple_getter(compared)
        self.shown = tuple(n for n, f in fields.items() if f.repr)


def _tuple_getter(names: list[str]) -> Callable[[object], tuple[Any, ...]]:
    if len(names) > 1:
        getter: Callable[[object], tuple[Any, ...]] = attrgetter(*names)
        return getter
    if names:
        single = attrgetter(names[0])
        return lambda obj: (single(obj),)
    return lambda _obj: ()


@dataclass_transform(frozen_default=True, field_specifiers=(field,))
def record(cls: type[T], /) -> type[T]:
    """Make `cls` a frozen record of its annotated fields (as `@dataclass(frozen=True)`)."""
    return _make(cls, kw_only=False)


@dataclass_transform(frozen_default=True, kw_only_default=True, field_specifiers=(field,))
def keyword_record(cls: type[T], /) -> type[T]:
    """A record whose fields are passed by keyword only (as `@dataclass(frozen=True, kw_only=True)`)."""
    return _make(cls, kw_only=True)


def _make(cls: type[T], kw_only: bool) -> type[T]:
    fields = _inherited(cls)
    # The class's own annotations (inspect.get_annotations would import inspect: the cost avoided here).
    for name, annotation in cls.__dict__.get("__annotations__", {}).items():  # noqa: RUF063
        if _is_class_var(annotation):
            continue
        fields[name] = _declared(cls, name)
    table = _Table(fields, kw_only)
    if not kw_only:
        _check_order(cls, table)
    cls._record_ = table  # type: ignore[attr-defined]
    for name, method in _METHODS.items():
        if name not in cls.__dict__:
            setattr(cls, name, method)
    setattr(cls, "__match_args__", () if kw_only else table.names)  # noqa: B010 - mypy refuses the plain assignment
    return cls


def _is_class_var(annotation: object) -> bool:
    """`ClassVar`, `ClassVar[int]`, `typing.ClassVar[...]`, `t.ClassVar[...]`: a string (postponed
    annotations) or the typing object itself. Like dataclasses, the name decides, not the module."""
    text = annotation if isinstance(annotation, str) else repr(annotation)
    head = text.strip().partition("[")[0].strip()
    return head.rpartition(".")[2] == "ClassVar"


def _inherited(cls: type) -> dict[str, _Field]:
    fields: dict[str, _Field] = {}
    for base in reversed(cls.__mro__[1:]):
        table: _Table | None = base.__dict__.get("_record_")
        if table is not None:
            fields.update(table.fields)
    return fields


def _declared(cls: type, name: str) -> _Field:
    value = cls.__dict__.get(name, _MISSING)
    if isinstance(value, _Field):
        # As dataclasses do: a plain default stays a class attribute, a factory leaves none.
        if value.default is _MISSING:
            delattr(cls, name)
        else:
            setattr(cls, name, value.default)
        _refuse_shared(cls, name, value.default)
        return value
    _refuse_shared(cls, name, value)
    return _Field(value, None, True, True)


def _refuse_shared(cls: type, name: str, default: object) -> None:
    """An unhashable default (list, dict, set...) would be one object shared by every instance:
    refused as dataclasses refuse it (ValueError; the rule of Python 3.11+ on every version)."""
    if default is not _MISSING and type(default).__hash__ is None:
        raise ValueError(
            f"{cls.__qualname__}: mutable default {type(default)} for field {name} is not allowed: use default_factory"
        )


def _check_order(cls: type, table: _Table) -> None:
    seen_default = False
    for name in table.names:
        has_default = name in table.defaults or any(n == name for n, _ in table.factories)
        if seen_default and not has_default:
            raise TypeError(f"{cls.__qualname__}: field {name!r} without a default follows one with a default")
        seen_default = seen_default or has_default


def _init(self: object, *args: Any, **kwargs: Any) -> None:
    table: _Table = type(self)._record_  # type: ignore[attr-defined]
    if not kwargs:
        if len(args) == table.positional:  # every field given in order: the common case
            object.__setattr__(self, "__dict__", dict(zip(table.names, args, strict=True)))
            return
        if table.required <= len(args) < table.positional and not table.factories:  # defaults fill the rest
            values = table.defaults.copy()
            values.update(zip(table.names, args, strict=False))  # fewer args than fields
            object.__setattr__(self, "__dict__", values)
            return
    elif not args and not table.factories:  # by keyword, defaults fill the rest
        values = {**table.defaults, **kwargs}
        if len(values) == len(table.names) and kwargs.keys() <= table.names_set:
            object.__setattr__(self, "__dict__", values)
            return
    # Anything else, errors included, the general way.
    object.__setattr__(self, "__dict__", _values(self, table, args, kwargs))


def _values(self: object, table: _Table, args: tuple[Any, ...], kwargs: dict[str, Any]) -> dict[str, Any]:
    """The fields of a new record from arguments, defaults and factories; TypeError as a call would."""
    if len(args) > max(table.positional, 0):
        raise TypeError(f"{type(self).__qualname__}() takes {max(table.positional, 0)} positional arguments")
    if not kwargs.keys() <= table.names_set:
        raise TypeError(f"{type(self).__qualname__}(): unexpected {sorted(kwargs.keys() - table.names_set)}")
    if args and not kwargs.keys().isdisjoint(table.names[: len(args)]):
        raise TypeError(
            f"{type(self).__qualname__}(): given twice {sorted(kwargs.keys() & set(table.names[: len(args)]))}"
        )
    values = dict(table.defaults)
    values.update(zip(table.names, args, strict=False))  # fewer args than fields
    values.update(kwargs)
    for name, factory in table.factories:
        if name not in values:
            values[name] = factory()
    if len(values) != len(table.names):
        missing = [n for n in table.names if n not in values]
        raise TypeError(f"{type(self).__qualname__}() missing arguments: {', '.join(missing)}")
    return values


def _eq(self: object, other: object) -> object:  # bool, or NotImplemented
    if other.__class__ is not self.__class__:
        return NotImplemented
    key: Callable[[object], tuple[Any, ...]] = type(self)._record_.key  # type: ignore[attr-defined]
    return key(self) == key(other)


def _hash(self: object) -> int:
    return hash(type(self)._record_.key(self))  # type: ignore[attr-defined]


def _repr(self: object) -> str:
    table: _Table = type(self)._record_  # type: ignore[attr-defined]
    shown = ", ".join(f"{name}={getattr(self, name)!r}" for name in table.shown)
    return f"{type(self).__qualname__}({shown})"


def _refuse_set(self: object, name: str, _value: object) -> None:
    raise FrozenRecordError(f"cannot assign to field {name!r} of a {type(self).__qualname__}")


def _refuse_delete(self: object, name: str) -> None:
    raise FrozenRecordError(f"cannot delete field {name!r} of a {type(self).__qualname__}")


_METHODS: dict[str, Any] = {
    "__init__": _init,
    "__eq__": _eq,
    "__hash__": _hash,
    "__repr__": _repr,
    "__setattr__": _refuse_set,
    "__delattr__": _refuse_delete,
}


def replace(obj: T, /, **changes: Any) -> T:
    """A copy of the record `obj` with `changes` (as `dataclasses.replace`)."""
    cls = type(obj)
    table: _Table = cls._record_  # type: ignore[attr-defined]
    unknown = changes.keys() - table.names_set
    if unknown:
        raise TypeError(f"{cls.__qualname__} has no field {', '.join(sorted(unknown))}")
    copy = object.__new__(cls)
    object.__setattr__(copy, "__dict__", {**obj.__dict__, **changes})
    return copy


def field_names(cls: type) -> tuple[str, ...]:
    """The fields of record class `cls`, in declaration order (as `dataclasses.fields`)."""
    table: _Table = cls._record_  # type: ignore[attr-defined]
    return table.names
