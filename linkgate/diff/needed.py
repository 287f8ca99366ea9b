"""diff-needed: the shared libraries the artifact needs (DT_NEEDED) changed.

Worse (`needed-added`): a library appeared. Every target must now have it (or
it must ship beside the artifact); a library a target lacks stops the program
before main. Noted only: a library that is no longer needed.
UPX-packed files are judged by their payload.
"""

from __future__ import annotations

from collections.abc import Iterator

from linkgate.diff.change import Build, Change
from linkgate.policy.compiled import CompiledDiff
from linkgate.rules.base import Rule

RULE = Rule("diff-needed", __doc__ or "")


def compare(old: Build, new: Build, _settings: CompiledDiff) -> Iterator[Change]:
    before, after = old.judged.needed, new.judged.needed
    for library in after:
        if library not in before:
            yield Change(
                library,
                f"now needs {library}",
                kind="needed-added",
                hint=f"make sure every target has {library}, or ship it beside the artifact (RUNPATH $ORIGIN)",
            )
    for library in before:
        if library not in after:
            yield Change(library, f"no longer needs {library}")
