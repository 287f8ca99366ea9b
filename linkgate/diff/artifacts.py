"""diff-artifacts: ELF files of one build without a counterpart in the other.

Files pair by their path below OLD and NEW; `--pair OLD_PATH=NEW_PATH` pairs a
renamed one. Worse (`artifact-removed`): an ELF file of OLD is missing from
NEW, so its users lose it. Noted only: a new ELF file (nothing to compare it
with; `linkgate check` judges it).
"""

from __future__ import annotations

from linkgate.diff.change import Change
from linkgate.rules.base import Rule

RULE = Rule("diff-artifacts", __doc__ or "")


def removed(key: str) -> Change:
    return Change(
        "removed",
        f"{key} is in the old build and not in the new one",
        kind="artifact-removed",
        hint="if it was renamed, pair it: `linkgate diff --pair OLD_PATH=NEW_PATH`",
    )


def added(key: str) -> Change:
    return Change("added", f"{key} is new: nothing to compare it with")
