"""linkgate.core.records behaves as frozen dataclasses do where linkgate relies on it."""

from __future__ import annotations

import ast
import dataclasses
import pickle
import typing
import typing as t
from collections.abc import Mapping
from pathlib import Path
from typing import ClassVar

import pytest

from linkgate.core import records as records_module
from linkgate.core.records import FrozenRecordError, field, field_names, keyword_record, record, replace


@record
class Point:
    x: int
    y: int = 0
    tags: Mapping[str, int] = field(default_factory=dict)
    note: str = field(default="", compare=False, repr=False)


@record
class Point3(Point):
    z: int = 0


@keyword_record
class Named:
    name: str
    size: int = 1


def test_positional_keyword_and_defaults() -> None:
    assert Point(1).y == 0
    assert Point(1, 2) == Point(x=1, y=2)
    assert Point(y=2, x=1).tags == {}
    assert Point(1).tags is not Point(1).tags  # a fresh default per instance


def test_constructor_refuses_what_dataclasses_refuse() -> None:
    with pytest.raises(TypeError, match="missing arguments: x"):
        Point()  # type: ignore[call-arg]
    with pytest.raises(TypeError, match="unexpected"):
        Point(1, w=2)  # type: ignore[call-arg]
    with pytest.raises(TypeError, match="given twice"):
        Point(1, x=2)  # type: ignore[misc]
    with pytest.raises(TypeError, match="positional"):
        Point(1, 2, {}, "", 5)  # type: ignore[call-arg]
    with pytest.raises(TypeError, match="positional"):
        Named("a")  # type: ignore[call-arg]
    assert Named(name="a").size == 1


def test_a_default_before_a_required_field_is_refused() -> None:
    with pytest.raises(TypeError, match="without a default follows"):

        @record
        class Broken:
            a: int = 0
            b: int  # type: ignore[misc]


@pytest.mark.parametrize("default", [[], {}, set(), [1]], ids=["list", "dict", "set", "filled-list"])
def test_a_mutable_default_is_refused_as_dataclasses_refuse_it(default: object) -> None:
    with pytest.raises(ValueError, match="mutable default"):  # the oracle

        @dataclasses.dataclass(frozen=True)
        class Oracle:
            items: object = default

    with pytest.raises(ValueError, match=r"mutable default .* for field items is not allowed: use default_factory"):

        @record
        class Shared:
            items: object = default

    with pytest.raises(ValueError, match="mutable default"):

        @record
        class SharedThroughField:
            items: object = field(default=default)


def test_hashable_defaults_are_kept() -> None:
    @record
    class Frozen:
        items: tuple[int, ...] = ()
        names: frozenset[str] = frozenset()

    assert Frozen().items == () and Frozen().names == frozenset()


def test_class_variables_are_not_fields() -> None:
    """Postponed annotations are strings; every spelling of ClassVar is left out, as dataclasses do."""

    @record
    class Counted:
        x: int
        limit: t.ClassVar[int] = 3
        kinds: typing.ClassVar[tuple[str, ...]] = ("a",)
        plain: ClassVar[int] = 4
        bare: ClassVar = 5

    assert field_names(Counted) == ("x",)
    assert Counted(1) == Counted(x=1)
    assert (Counted.limit, Counted.kinds, Counted.plain, Counted.bare) == (3, ("a",), 4, 5)
    with pytest.raises(TypeError, match="positional"):
        Counted(1, 2)  # type: ignore[call-arg]


def test_class_variables_are_not_fields_without_postponed_annotations() -> None:
    """Evaluated annotations are typing objects, not strings."""
    namespace: dict[str, object] = {}
    exec(  # noqa: S102 - a class body without `from __future__ import annotations`
        "import typing as t\nfrom linkgate.core.records import record\n"
        "@record\nclass Evaluated:\n    x: int\n    limit: t.ClassVar[int] = 3\n    bare: t.ClassVar = 4\n",
        namespace,
    )
    evaluated: typing.Any = namespace["Evaluated"]
    assert field_names(evaluated) == ("x",)
    assert evaluated(1).x == 1 and evaluated.limit == 3


def test_frozen() -> None:
    point = Point(1)
    with pytest.raises(FrozenRecordError):
        point.x = 2  # type: ignore[misc]
    with pytest.raises(FrozenRecordError):
        del point.x
    assert isinstance(FrozenRecordError("x"), AttributeError)


def test_equality_and_hash_follow_the_compared_fields() -> None:
    assert Point(1, note="a") == Point(1, note="b")
    assert hash(Point3(1, 2, (), note="a")) == hash(Point3(x=1, y=2, tags=(), note="b"))  # type: ignore[arg-type]
    assert Point(1) != Point(2)
    assert Point(1) != Point3(1)  # another class is never equal, as with dataclasses
    assert Point(1).__eq__((1, 0)) is NotImplemented
    assert len({Named(name="a"), Named(name="a", size=1), Named(name="b")}) == 2


def test_repr_leaves_out_hidden_fields() -> None:
    assert repr(Point(1, note="secret")) == "Point(x=1, y=0, tags={})"


def test_inheritance_appends_fields() -> None:
    assert Point3(1, 2, {}, "n", 3).z == 3
    assert Point3.__match_args__ == ("x", "y", "tags", "note", "z")


def test_replace_copies_and_checks_names() -> None:
    point = Point(1, 2)
    moved = replace(point, y=5)
    assert (moved.x, moved.y, point.y) == (1, 5, 2)
    with pytest.raises(TypeError, match="no field w"):
        replace(point, w=1)


def test_pickle_round_trip_keeps_equality() -> None:
    """Worker processes send records back through pickle."""
    point = Point3(1, 2, {"a": 1}, "n", 3)
    copy = pickle.loads(pickle.dumps(point))  # noqa: S301 - our own bytes
    assert copy == point
    assert copy.note == "n"
    with pytest.raises(FrozenRecordError):
        copy.x = 0


def test_one_class_is_called_record() -> None:
    """Byte layouts (elf/layouts.py) are StructLayouts: `Record` names only this module's idea."""
    package = Path(records_module.__file__).parents[1]
    classes = {(node.name, str(path.relative_to(package)))
               for path in package.rglob("*.py")
               for node in ast.walk(ast.parse(path.read_text()))
               if isinstance(node, ast.ClassDef) and "record" in node.name.lower()}  # fmt: skip
    assert {name for name, _ in classes} == {"FrozenRecordError"}
    assert ("StructLayout", "elf/layouts.py") in {
        (node.name, "elf/layouts.py")
        for node in ast.walk(ast.parse((package / "elf" / "layouts.py").read_text()))
        if isinstance(node, ast.ClassDef)
    }
