"""YAML for policies and profiles: plain data only, with the line of every key so errors can point at it.

The input may be hostile (a policy file from a pull request), so parsing is bounded:

- aliases (`*name`) are refused while composing: expanding them is how a few hundred
  bytes become gigabytes ("billion laughs"), and `&a [*a]` is a cycle. Policies and
  profiles have no need for them; an anchor alone (`&name`) is harmless and allowed;
- nesting deeper than MAX_DEPTH is refused while composing, before any recursion can run out;
- control characters are refused up front, with their line;
- only plain types are built (null, bool, int, float, date, str, list, mapping), each
  scalar on its own, so a bad one (2027-02-30) is reported with its line and key.

Every problem is a YamlError carrying the line and the key path where it was found.
"""

from __future__ import annotations

import re
from typing import Any

import yaml
from yaml.composer import Composer
from yaml.constructor import SafeConstructor
from yaml.events import (
    AliasEvent,
    CollectionStartEvent,
    Event,
    MappingStartEvent,
    NodeEvent,
    ScalarEvent,
)
from yaml.nodes import MappingNode, Node, ScalarNode, SequenceNode
from yaml.parser import Parser
from yaml.reader import Reader
from yaml.resolver import Resolver
from yaml.scanner import Scanner

from linkgate.core.records import record

Location = tuple[str | int, ...]

# Nodes nested: a policy needs 6 (document, overrides, 0, rules, max-versions, value), a profile 7.
MAX_DEPTH = 32
# Integers longer than this are refused (Python itself refuses > 4300 digits to int()).
MAX_INT_DIGITS = 40
# What YAML calls printable (the reader's own rule); anything else is refused with its line.
_NOT_PRINTABLE = re.compile("[^\x09\x0a\x0d\x20-\x7e\x85\xa0-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")

_STR, _INT, _FLOAT, _TIMESTAMP = (f"tag:yaml.org,2002:{name}" for name in ("str", "int", "float", "timestamp"))
_PLAIN_SCALARS = {f"tag:yaml.org,2002:{name}" for name in ("null", "bool")} | {_STR, _INT, _FLOAT, _TIMESTAMP}
_SEQ, _MAP = "tag:yaml.org,2002:seq", "tag:yaml.org,2002:map"


class YamlError(Exception):
    """Unusable YAML, with its line (1-based) and the key path where it was found."""

    def __init__(self, line: int, message: str, location: Location = ()) -> None:
        super().__init__(message)
        self.line, self.location = line, location

    @property
    def key(self) -> str:
        return dotted(self.location) or "(top level)"


def dotted(location: Location) -> str:
    """`rules.max-glibc`; a key of absurd length is cut short so the message stays a line."""
    parts = (str(part) for part in location)
    return ".".join(part if len(part) <= 60 else part[:57] + "..." for part in parts)


class _RefusedError(Exception):
    """Raised while composing; load_yaml turns it into a YamlError with the key path."""

    def __init__(self, mark: Any, message: str) -> None:
        super().__init__(message)
        self.position = _position(mark)


def _position(mark: Any) -> tuple[int, int]:
    """0-based (line, column) of a mark from either parser; (0, 0) when there is none."""
    return (mark.line, mark.column) if mark is not None else (0, 0)


class _BoundedComposer(Composer):
    """The standard composer, refusing aliases and nesting deeper than MAX_DEPTH."""

    _depth = 0

    def compose_node(self, parent: Node | None, index: int) -> Node | None:
        event = self.peek_event()  # type: ignore[attr-defined] # the parser half of the loader has it
        if isinstance(event, AliasEvent):
            message = f"alias *{event.anchor} refused: write the value out (see docs/policy.md)"
            raise _RefusedError(event.start_mark, message)
        if self._depth >= MAX_DEPTH:
            raise _RefusedError(event.start_mark, f"nested deeper than {MAX_DEPTH} levels")
        self._depth += 1
        try:
            return super().compose_node(parent, index)
        finally:
            self._depth -= 1


class _PythonLoader(Reader, Scanner, Parser, _BoundedComposer, Resolver):
    def __init__(self, text: str) -> None:
        Reader.__init__(self, text)
        Scanner.__init__(self)
        Parser.__init__(self)
        _BoundedComposer.__init__(self)
        Resolver.__init__(self)


def _make_loader() -> type[Any]:
    """libyaml's parser under our composer when available (several times faster), else pure Python."""
    try:
        from yaml._yaml import CParser  # noqa: PLC0415 - lazy: optional
    except ImportError:
        return _PythonLoader

    class _CLoader(CParser, _BoundedComposer, Resolver):
        def __init__(self, text: str) -> None:
            CParser.__init__(self, text)
            _BoundedComposer.__init__(self)
            Resolver.__init__(self)

        # CParser has its own (unbounded) composer; ours must win.
        get_single_node = _BoundedComposer.get_single_node
        compose_document = _BoundedComposer.compose_document
        compose_node = _BoundedComposer.compose_node

    return _CLoader


_Loader = _make_loader()


@record
class YamlDocument:
    data: Any
    lines: dict[Location, int]

    def line_of(self, location: Location) -> int:
        """Line of the deepest known prefix of `location` (1-based; 1 if nothing matches)."""
        for depth in range(len(location), 0, -1):
            line = self.lines.get(location[:depth])
            if line is not None:
                return line
        return 1


def load_yaml(text: str) -> YamlDocument:
    """Parse one YAML document into plain data; YamlError carries the line and key of the problem."""
    bad = _NOT_PRINTABLE.search(text)
    if bad is not None:
        line = text.count("\n", 0, bad.start())
        column = bad.start() - (text.rfind("\n", 0, bad.start()) + 1)
        message = f"control character U+{ord(bad.group()):04X} is not allowed"
        raise YamlError(line + 1, message, _location_at(text, line, column))
    node = _compose(text)
    if node is None:
        return YamlDocument(None, {})
    builder = _Builder()
    return YamlDocument(builder.build(node, ()), builder.lines)


def _compose(text: str) -> Node | None:
    loader = _Loader(text)
    try:
        node: Node | None = loader.get_single_node()
        return node
    except _RefusedError as refusal:
        line, column = refusal.position
        raise YamlError(line + 1, str(refusal), _location_at(text, line, column)) from None
    except yaml.MarkedYAMLError as error:
        line, column = _position(error.problem_mark or error.context_mark)
        raise YamlError(line + 1, str(error.problem or error), _location_at(text, line, column)) from None
    except yaml.YAMLError as error:
        raise YamlError(1, str(error)) from None
    finally:
        loader.dispose()


class _Builder:
    """Plain data from a composed tree (which has no aliases, so it is a tree), noting each key's line."""

    def __init__(self) -> None:
        self.lines: dict[Location, int] = {}
        self._scalars = SafeConstructor()

    def build(self, node: Node, location: Location) -> Any:
        if isinstance(node, MappingNode) and node.tag == _MAP:
            return self._mapping(node, location)
        if isinstance(node, SequenceNode) and node.tag == _SEQ:
            return self._sequence(node, location)
        if isinstance(node, ScalarNode) and node.tag in _PLAIN_SCALARS:
            return self._scalar(node, location)
        raise YamlError(node.start_mark.line + 1, f"unsupported tag {node.tag}", location)

    def _mapping(self, node: MappingNode, location: Location) -> dict[Any, Any]:
        data: dict[Any, Any] = {}
        for key_node, value_node in node.value:
            line = key_node.start_mark.line + 1
            if not isinstance(key_node, ScalarNode):
                raise YamlError(line, "a key must be a plain value, not a list or mapping", location)
            if key_node.tag not in _PLAIN_SCALARS:  # `!foo max-glibc:` has no constructor
                raise YamlError(line, f"unsupported tag {key_node.tag} on key {_short(key_node.value)}", location)
            key = self._scalar(key_node, location)
            child = (*location, str(key_node.value))
            if key in data:
                raise YamlError(line, f"duplicate key {_short(key_node.value)}", child)
            self.lines[child] = line
            data[key] = self.build(value_node, child)
        return data

    def _sequence(self, node: SequenceNode, location: Location) -> list[Any]:
        items = []
        for index, item in enumerate(node.value):
            child = (*location, index)
            self.lines[child] = item.start_mark.line + 1
            items.append(self.build(item, child))
        return items

    def _scalar(self, node: ScalarNode, location: Location) -> Any:
        if node.tag in (_STR, _FLOAT):
            # Strings are most scalars: no constructor needed. And `max-glibc: 2.30` must stay
            # "2.30": as a float it would become 2.3.
            return node.value
        if node.tag == _INT and len(node.value) > MAX_INT_DIGITS:
            raise YamlError(node.start_mark.line + 1, f"number longer than {MAX_INT_DIGITS} digits", location)
        try:
            return self._scalars.construct_object(node)
        except (ValueError, OverflowError) as error:
            what = "date" if node.tag == _TIMESTAMP else "value"
            message = f"invalid {what} {_short(node.value)}: {error}"
            raise YamlError(node.start_mark.line + 1, message, location) from None


def _short(text: str) -> str:
    return repr(text if len(text) <= 40 else text[:37] + "...")


def _location_at(text: str, line: int, column: int) -> Location:
    """The key path being read at 0-based (line, column): names the key of a syntax error.

    Only run on the error path: replays the parser's events up to that point, on the text
    with control characters blanked out so that the parser gets that far.
    """
    frames: list[_Frame] = []
    loader = _Loader(_NOT_PRINTABLE.sub(" ", text))
    try:
        while loader.check_event():
            event = loader.get_event()
            if (event.start_mark.line, event.start_mark.column) >= (line, column):
                break
            inside = (event.end_mark.line, event.end_mark.column) > (line, column)
            _step(frames, event, done=not inside)
            if inside:
                break
    except yaml.YAMLError:
        pass  # the error being located: the path so far is the answer
    finally:
        loader.dispose()
    return tuple(frame.key for frame in frames[:MAX_DEPTH] if frame.key is not None)


class _Frame:
    __slots__ = ("at_key", "is_mapping", "key")

    def __init__(self, is_mapping: bool) -> None:
        self.is_mapping = is_mapping
        self.key: str | int | None = None
        self.at_key = True  # in a mapping: the next node is a key (else its value)


def _step(frames: list[_Frame], event: Event, done: bool) -> None:
    """Follow one parser event: which mapping key or list index is being read.

    `done` is False for the scalar the error is inside: its key is entered, not left.
    """
    if not isinstance(event, NodeEvent):  # an end (or stream/document) event
        if isinstance(event, yaml.CollectionEndEvent) and frames:
            frames.pop()
            _item_done(frames)
        return
    if frames:
        parent = frames[-1]
        if not parent.is_mapping:
            parent.key = parent.key + 1 if isinstance(parent.key, int) else 0
        elif parent.at_key:
            parent.key = str(event.value) if isinstance(event, ScalarEvent) else "?"
    if isinstance(event, CollectionStartEvent):
        frames.append(_Frame(is_mapping=isinstance(event, MappingStartEvent)))
    elif done:
        _item_done(frames)


def _item_done(frames: list[_Frame]) -> None:
    if frames and frames[-1].is_mapping:
        frame = frames[-1]
        if not frame.at_key:
            frame.key = None  # the value is done: between keys
        frame.at_key = not frame.at_key
