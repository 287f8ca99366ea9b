"""linkgate.core.records behaves as frozen dataclasses do where linkgate relies on it."""

from __future__ import annotations

import pickle
import subprocess
import sys
from collections.abc import Mapping

import pytest

from linkgate.core.records import FrozenRecordError, field, keyword_record, record, replace


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


def test_check_path_does_not_import_dataclasses() -> None:
    """The reason for this module: `check` starts without dataclasses (and inspect)."""
    code = (
        "import sys, linkgate.cli, linkgate.check.scan; print('dataclasses' in sys.modules, 'inspect' in sys.modules)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.split() == ["False", "False"]
