"""EXTENSION POINT (hardening): not implemented yet; no rule in the catalogue until it is.

Hardening facts (RELRO, BIND_NOW, PIE, NX stack, fortify, CET...) are being added
to the reader as `ElfFacts.hardening` in parallel. When they land, a hardening
property lost between OLD and NEW is what a user would feel next, after the
target profiles. To implement:
1. here: `RULE = Rule("diff-hardening", __doc__)` with the user documentation in
   this docstring, and `compare` yielding `Change(property, message,
   kind="hardening-lost", hint=...)` for each property NEW lost (gains as notes);
2. `linkgate/policy/compiled.py`: add "hardening-lost" to DIFF_CHANGES;
3. `linkgate/diff/catalogue.py`: add `hardening.RULE` to the catalogue (it is
   already compared, after diff-go, so its place in the report is fixed).
"""

from __future__ import annotations

from collections.abc import Iterator

from linkgate.diff.change import Build, Change
from linkgate.policy.compiled import CompiledDiff


def compare(old: Build, new: Build, settings: CompiledDiff) -> Iterator[Change]:
    """Nothing until ElfFacts.hardening exists (see the module docstring)."""
    del old, new, settings
    yield from ()
