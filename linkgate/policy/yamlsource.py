"""YAML with the safe loader, plus the line of every key so errors can point at it."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import yaml

Location = tuple[str | int, ...]


class YamlError(Exception):
    """Unparseable YAML or a duplicate key, with its line."""

    def __init__(self, line: int, message: str) -> None:
        super().__init__(message)
        self.line = line


class _Loader(yaml.SafeLoader):
    """SafeLoader that keeps version-looking floats as written and refuses duplicate keys."""

    def construct_yaml_float(self, node: yaml.Node) -> Any:
        # `max-glibc: 2.30` must stay "2.30": as a float it would become 2.3.
        return str(node.value)

    def construct_mapping(self, node: yaml.MappingNode, deep: bool = False) -> dict[Any, Any]:
        seen: set[Any] = set()
        for key_node, _value in node.value:
            key = self.construct_object(key_node, deep=True)
            if key in seen:
                raise YamlError(key_node.start_mark.line + 1, f"duplicate key {key!r}")
            seen.add(key)
        return super().construct_mapping(node, deep=deep)


_Loader.add_constructor("tag:yaml.org,2002:float", _Loader.construct_yaml_float)


@dataclass(frozen=True)
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
    """Parse one YAML document; YamlError carries the line of the problem."""
    loader = _Loader(text)
    try:
        node = loader.get_single_node()
        data = loader.construct_document(node) if node is not None else None
    except yaml.MarkedYAMLError as error:
        mark = error.problem_mark or error.context_mark
        raise YamlError(mark.line + 1 if mark else 1, str(error.problem or error)) from None
    finally:
        loader.dispose()
    lines: dict[Location, int] = {}
    if node is not None:
        _record_lines(node, (), lines)
    return YamlDocument(data, lines)


def _record_lines(node: yaml.Node, location: Location, lines: dict[Location, int]) -> None:
    if isinstance(node, yaml.MappingNode):
        for key_node, value_node in node.value:
            child = (*location, str(key_node.value))
            lines[child] = key_node.start_mark.line + 1
            _record_lines(value_node, child, lines)
    elif isinstance(node, yaml.SequenceNode):
        for index, item in enumerate(node.value):
            child = (*location, index)
            lines[child] = item.start_mark.line + 1
            _record_lines(item, child, lines)
