"""max-glibc: the newest GLIBC_x.y symbol version the artifact may need.

One line covers the common case: `max-glibc: "2.31"` (quote it; unquoted 2.30
is read as 2.30 too, never 2.3). Every version need above the limit is a
finding that names the symbols carrying it; a weak version reference is only
a warning because the loader tolerates its absence. Non-numeric tokens such as
GLIBC_PRIVATE fail unless listed in `allowed-tokens`.

Symbols are listed strong before weak, well-known culprits first, with why
they need the version (a weak symbol under a need that is not weak is marked
`(weak symbol; version still required)`: the version need decides):
`__libc_start_main` = every executable
linked against glibc >= 2.34; `pthread_*`, `dlopen` = libpthread/libdl merged
into libc in 2.34; `stat` 2.33; libm `exp`/`log`/`pow` 2.29; `__isoc23_*` 2.38.

The fix is chosen from how the binary was built. A Go program with cgo gets
`CC=musl-gcc go build -tags musl -ldflags '-linkmode external -extldflags "-static"'`,
`CC="zig cc -target x86_64-linux-gnu.<limit>" go build` or `CGO_ENABLED=0`,
naming the modules that call C (from its Go build info and function names),
and `go build -tags netgo,osusergo` first when only net/os/user call C; a Rust
program (rustc in `.comment`) `cargo zigbuild --release --target
x86_64-unknown-linux-gnu.<limit>` or the musl target; anything else: build in
an image whose glibc is no newer than the limit (manylinux2014 for 2.17),
`zig cc -target x86_64-linux-gnu.<limit>`, or link statically against musl.
"""

from __future__ import annotations

from collections.abc import Iterator

from linkgate.core.findings import Violation
from linkgate.core.records import replace
from linkgate.core.site import Site
from linkgate.elf.facts import ElfFacts
from linkgate.rules.base import CompileContext, PolicyRule
from linkgate.rules.remedies import glibc_fix
from linkgate.rules.schema import Version
from linkgate.rules.versioning import Limits, compile_limits, rejects_need, version_violations


def check(facts: ElfFacts, limits: Limits, _site: Site) -> Iterator[Violation]:
    hint = None  # worked out for the first violation: most files of a tree have none
    for violation in version_violations(facts, limits):
        hint = glibc_fix(facts, limits.maxima["GLIBC"]) if hint is None else hint
        yield replace(violation, hint=hint)


def _compile(limit: str, context: CompileContext) -> Limits:
    return compile_limits({"GLIBC": limit}, context.allowed_tokens)


RULE = PolicyRule(
    id="max-glibc", doc=__doc__ or "", schema=Version, compile=_compile, check=check, rejects_version=rejects_need
)
