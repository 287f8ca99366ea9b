"""diff-artifacts: ELF files of one build without a counterpart in the other.

Files pair by their path below OLD and NEW; `--pair OLD_PATH=NEW_PATH` pairs a
renamed one. Worse (`artifact-removed`): an ELF file of OLD is missing from
NEW, so its users lose it. Worse (`artifact-added-failing`): a new ELF file
fails the policy (as `linkgate check` would). A new file is also judged against
the old release as a whole: raising the release's floor in a namespace (the
highest over its files) is `floor` (diff-floor), and failing a target every old
file ran on is `targets-lost` (diff-targets). A new file that does none of
these is noted only.
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


def failing(policy: str, first: str) -> Change:
    return Change(
        "policy",
        f"new file fails policy {policy}: {first}",
        kind="artifact-added-failing",
        hint="`linkgate check` on the new build shows every finding; a new file is judged like any other",
    )
