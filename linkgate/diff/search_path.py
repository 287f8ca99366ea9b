"""diff-search-path: where the loader looks for the artifact's libraries (RPATH, RUNPATH) changed.

Worse (`search-path`): any change of either list. A removed entry can lose a
library shipped beside the program; an added one can pick up a different
library on the target; RPATH -> RUNPATH changes whether LD_LIBRARY_PATH wins.
UPX-packed files are judged by their payload.
"""

from __future__ import annotations

from collections.abc import Iterator

from linkgate.diff.change import Build, Change
from linkgate.policy.compiled import CompiledDiff
from linkgate.rules.base import Rule

RULE = Rule("diff-search-path", __doc__ or "")


def compare(old: Build, new: Build, _settings: CompiledDiff) -> Iterator[Change]:
    lists = (("RPATH", old.judged.rpath, new.judged.rpath), ("RUNPATH", old.judged.runpath, new.judged.runpath))
    for tag, before, after in lists:
        if before != after:
            yield Change(
                tag,
                f"{tag} {_text(before)} -> {_text(after)}",
                kind="search-path",
                hint="check that every library shipped with the artifact is still found (`linkgate check` with a "
                "target: profile resolves $ORIGIN)",
            )


def _text(entries: tuple[str, ...]) -> str:
    return ":".join(entries) if entries else "none"
