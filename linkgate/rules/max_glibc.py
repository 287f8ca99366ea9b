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
from linkgate.rules.versioning import Limits, exceeds, parse_limit, version_violations

HINT = (
    "build against the oldest glibc you support (e.g. a manylinux2014 image for 2.17, or "
    "`zig cc -target x86_64-linux-gnu.2.17`), or link statically against musl"
)


Setting = tuple[str, frozenset[str]]  # (max version, allowed non-numeric tokens)


def _limits(setting: Setting) -> Limits:
    limit, allowed = setting
    return Limits({"GLIBC": parse_limit(limit)}, allowed)


def check(facts: ElfFacts, setting: Setting) -> Iterator[Violation]:
    for violation in version_violations(facts, _limits(setting)):
        yield replace(violation, hint=HINT)


def rejects(setting: Setting, library: str, version: str) -> bool:
    del library  # the GLIBC namespace is judged whichever library defines it
    return exceeds(version, _limits(setting))


RULE = Rule("max-glibc", __doc__ or "", check, rejects_version=rejects)
