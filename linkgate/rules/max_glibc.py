"""max-glibc: the newest GLIBC_x.y symbol version the artifact may need.

One line covers the common case: `max-glibc: "2.31"` (quote it; unquoted 2.30
is read as 2.30 too, never 2.3). Every version need above the limit is a
finding that names the symbols carrying it; a weak version reference is only
a warning because the loader tolerates its absence. Non-numeric tokens such as
GLIBC_PRIVATE fail unless listed in `allowed-tokens`.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import replace

from linkgate.elf.facts import ElfFacts
from linkgate.findings import Violation
from linkgate.rules.base import Rule
from linkgate.rules.versioning import Limits, rejects_need, version_violations

HINT = (
    "build against the oldest glibc you support (e.g. a manylinux2014 image for 2.17, or "
    "`zig cc -target x86_64-linux-gnu.2.17`), or link statically against musl"
)


def check(facts: ElfFacts, limits: Limits) -> Iterator[Violation]:
    for violation in version_violations(facts, limits):
        yield replace(violation, hint=HINT)


RULE = Rule("max-glibc", __doc__ or "", check, rejects_version=rejects_need)
