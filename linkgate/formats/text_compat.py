"""The `inspect` line that says which target profiles an artifact runs on.

`targets: debian-11 ✗ GLIBC_2.32, GLIBC_2.34 · debian-12…13 ✓ · ubuntu-24.04 ? libselinux.so.1 · …`
(✗: what the loader would refuse; ?: libraries a partial profile does not list). Neighbours of
one family with the same verdict share an entry (manylinux has fifteen tags), and
the line wraps between entries (no separator left dangling at a line's end) so a
terminal or CI log shows it whole. JSON output keeps every profile separately.
"""

from __future__ import annotations

import re
from typing import Any

WIDTH = 110
_PREFIX = "  targets: "
_SEPARATOR = " · "
_MAX_SHOWN = 3
_FAMILY = re.compile(r"^(?P<family>.*?)(?P<sep>[-_]?)(?P<version>\d.*)$")


def compat_lines(compatibility: dict[str, dict[str, Any]]) -> list[str]:
    entries = [_label(group) + " " + _verdict(group[0][1]) for group in _groups(compatibility)]
    lines: list[str] = []
    current = ""
    for entry in entries:
        if current and len(_PREFIX) + len(current) + len(_SEPARATOR) + len(entry) > WIDTH:
            # A wrapped line ends with its last entry: the next line's indent shows it goes on.
            lines.append(current)
            current = entry
        else:
            current = f"{current}{_SEPARATOR}{entry}" if current else entry
    if current:
        lines.append(current)
    indent = " " * len(_PREFIX)
    return [(_PREFIX if i == 0 else indent) + line for i, line in enumerate(lines)]


Verdict = dict[str, Any]


def _groups(compatibility: dict[str, Verdict]) -> list[list[tuple[str, Verdict]]]:
    """Consecutive profiles of one family with equal verdicts, together."""
    groups: list[list[tuple[str, Verdict]]] = []
    for name, verdict in compatibility.items():
        last = groups[-1][-1] if groups else None
        if last is not None and _family(last[0]) == _family(name) and last[1] == verdict:
            groups[-1].append((name, verdict))
        else:
            groups.append([(name, verdict)])
    return groups


def _family(name: str) -> str:
    match = _FAMILY.match(name)
    return match.group("family") if match else name


def _label(group: list[tuple[str, Verdict]]) -> str:
    first, last = group[0][0], group[-1][0]
    match = _FAMILY.match(last)
    return first if first == last or match is None else f"{first}…{match.group('version')}"


def _verdict(verdict: Verdict) -> str:
    """`✓`, `✗ GLIBC_2.34, …` (what the loader would name), `? libselinux.so.1` (a partial profile
    does not list it), or both marks."""
    if verdict["runs"]:
        return "✓"
    marks = [(mark, names) for mark, names in (("✗", verdict["missing"]), ("?", verdict.get("unknown", []))) if names]
    return " ".join(f"{mark} {_shown(names)}" for mark, names in marks)


def _shown(names: list[str]) -> str:
    more = len(names) - _MAX_SHOWN
    return ", ".join(names[:_MAX_SHOWN]) + (f", +{more}" if more > 0 else "")
