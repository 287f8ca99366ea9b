"""elf-format: the artifact starts like an ELF file but cannot be read as the loader would.

Always on and never waivable by omission: a gate that cannot read an artifact
must not pass it. Truncated downloads, corrupted uploads and hostile files
land here with the exact reason.
"""

from __future__ import annotations

from collections.abc import Iterator

from linkgate.elf.facts import ElfFacts
from linkgate.findings import Violation
from linkgate.rules.base import Rule


def check(facts: ElfFacts, reason: str) -> Iterator[Violation]:
    """Never evaluated against facts; evaluate.py turns read errors into this rule's finding."""
    del facts
    yield unreadable(reason)


def unreadable(reason: str) -> Violation:
    return Violation(
        subject="unreadable",
        message=f"cannot be read as an ELF file: {reason}",
        hint="rebuild or re-download the artifact; a truncated or corrupt file must not be shipped",
    )


RULE = Rule("elf-format", __doc__ or "", check)
