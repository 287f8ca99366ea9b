"""A policy in pyproject.toml's [tool.linkgate] table, as plain data with the line of each key.

Python projects keep their tools' settings in pyproject.toml (ruff, mypy, pytest). The table holds
exactly what a linkgate.yml holds (`extends`, `[tool.linkgate.rules]`, `[[tool.linkgate.waivers]]`...)
and is validated by the same models. TOML reads an unquoted 2.30 as the number 2.3, so a float is
refused (write versions as strings): it would silently mean another version.
"""

from __future__ import annotations

import re
import sys
from typing import Any

from linkgate.core.yamlsource import Location, YamlDocument

TABLE = ("tool", "linkgate")


class TomlError(Exception):
    def __init__(self, line: int | None, key: str | None, message: str) -> None:
        super().__init__(message)
        self.line, self.key, self.message = line, key, message


def load_table(text: str) -> YamlDocument:
    """The [tool.linkgate] table of a pyproject.toml (None when it has none), with its keys' lines."""
    if sys.version_info >= (3, 11):
        import tomllib  # noqa: PLC0415 - lazy: start-up
    else:
        import tomli as tomllib  # noqa: PLC0415 - lazy: start-up
    try:
        document = tomllib.loads(text)
    except tomllib.TOMLDecodeError as error:
        line = re.search(r"line (\d+)", str(error))
        raise TomlError(int(line.group(1)) if line else None, None, f"invalid TOML: {error}") from None
    lines = key_lines(text)
    data = document.get("tool", {}).get("linkgate")
    _refuse_floats(data, (), lines)
    return YamlDocument(data, lines)


def _refuse_floats(value: Any, where: Location, lines: dict[Location, int]) -> None:
    if isinstance(value, float):
        key = ".".join(map(str, where))
        line = next((lines[where[:depth]] for depth in range(len(where), 0, -1) if where[:depth] in lines), None)
        raise TomlError(line, key, f'{value!r} is a TOML number: write versions as strings ("2.30")')
    if isinstance(value, dict):
        for key, item in value.items():
            _refuse_floats(item, (*where, key), lines)
    elif isinstance(value, list):
        for index, item in enumerate(value):
            _refuse_floats(item, (*where, index), lines)


_HEADER = re.compile(r"^\s*(\[\[?)\s*([^\]]+?)\s*\]\]?\s*(#.*)?$")
_KEY = re.compile(r"""^\s*("[^"]*"|'[^']*'|[A-Za-z0-9_-]+)\s*=""")


def key_lines(text: str) -> dict[Location, int]:
    """The 1-based line of each table and key under [tool.linkgate] (tables and `key =` lines, the
    forms a policy is written in), located as the policy models name them: ("rules", "max-glibc")."""
    lines: dict[Location, int] = {}
    table: Location | None = None
    counts: dict[Location, int] = {}
    for number, line in enumerate(text.splitlines(), 1):
        header = _HEADER.match(line)
        if header:
            table = _table_location(header.group(2), header.group(1) == "[[", counts)
            if table is not None:
                lines.setdefault(table, number)
            continue
        key = _KEY.match(line)
        if key and table is not None:
            lines.setdefault((*table, key.group(1).strip("\"'")), number)
    return lines


def _table_location(dotted: str, array: bool, counts: dict[Location, int]) -> Location | None:
    parts = tuple(part.strip().strip("\"'") for part in dotted.split("."))
    if parts[:2] != TABLE:
        return None
    location: Location = parts[2:]
    if array:  # [[tool.linkgate.waivers]]: the next item of that list
        index = counts.get(location, -1) + 1
        counts[location] = index
        return (*location, index)
    return location
