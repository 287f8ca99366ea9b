"""static-glibc: a static glibc program must not load glibc's modules at run time.

`static-glibc: true`. A statically linked glibc program that uses NSS
(getaddrinfo, gethostbyname, getpwnam, getgrnam...), iconv or dlopen still
loads glibc's shared modules when it runs (libnss_*.so.2, gconv modules,
the library it dlopens with the static loader), and those must be from the
very glibc version it was built with: on a server with another glibc, lookups
fail or the program crashes. `ld` only warns ("Using 'getaddrinfo' in
statically linked applications requires at run time the shared libraries...").

NSS is found in stripped programs too (glibc's NSS loader leaves its
configuration path and module-name formats in the file); iconv and the
program's own dlopen calls are read from .symtab (glibc >= 2.34 links its
dlopen and charset loader into every static program, so only a call to
dlopen counts), and are a note saying they cannot be determined when the file
is stripped. Each use is its own finding (subject `nss`, `iconv`, `dlopen`).

The fix is chosen from how the program was built (rules/remedies.py). Go:
`go build -tags netgo,osusergo` (Go's own resolver and user lookup, no glibc
NSS) or `CGO_ENABLED=0`, or link the C code against musl:
`CC=musl-gcc go build -tags musl -ldflags '-linkmode external -extldflags "-static"'`.
Rust (rustc in `.comment`, `-C target-feature=+crt-static`): build for musl,
`cargo build --release --target x86_64-unknown-linux-musl`, or link glibc
dynamically. C: link statically against musl (`musl-gcc -static`), link
dynamically against glibc, or avoid NSS, iconv and dlopen in the static program.
"""

from __future__ import annotations

from collections.abc import Iterator

from linkgate.core.findings import Violation
from linkgate.core.site import Site
from linkgate.elf.facts import ElfFacts, Kind, Linkage
from linkgate.rules.base import PolicyRule, same, short_list
from linkgate.rules.remedies import Goal, Problem, fix

_STATIC = (Linkage.STATIC, Linkage.STATIC_PIE)


def _with_static_glibc(path: str, facts: ElfFacts) -> ElfFacts:
    # Asked of every file of a tree: a dynamic one returns before the import statement runs.
    if (facts.payload or facts).linkage not in _STATIC:
        return facts
    from linkgate.elf.static_glibc import with_static_glibc  # noqa: PLC0415 - lazy: start-up

    return with_static_glibc(path, facts)


WHY = "which must come from the glibc version it was built with: another server's glibc breaks it"


def check(facts: ElfFacts, enabled: bool, _site: Site) -> Iterator[Violation]:
    if not enabled or facts.linkage not in _STATIC or facts.kind not in (Kind.EXECUTABLE, Kind.PIE):
        return
    if facts.upx is not None and facts.upx.packed and facts.payload is None:
        yield Violation("static-glibc", "UPX payload could not be decoded: cannot tell", undetermined=True)
        return
    found = facts.static_glibc
    if found is None:  # the reader was not asked for it: fail closed, as a note
        message = "whether it uses glibc's NSS, iconv or dlopen could not be read (a UPX payload too large to scan)"
        yield Violation("static-glibc", message, undetermined=True)
        return
    if not found.glibc:
        return
    goal = Goal(facts.machine)
    if found.nss:
        calls = f" ({short_list(found.nss_functions)})" if found.nss_functions else ""
        message = f"is a static glibc program that uses NSS{calls}: lookups dlopen() libnss_*.so.2, {WHY}"
        yield Violation("nss", message, hint=fix(Problem.STATIC_NSS, facts, goal), symbols=found.nss_functions)
    if found.iconv:
        message = f"is a static glibc program that calls iconv_open: it loads gconv modules, {WHY}"
        yield Violation("iconv", message, hint=fix(Problem.STATIC_LOADS, facts, goal), symbols=("iconv_open",))
    if found.dlopen:
        message = f"is a static glibc program that calls dlopen: the static loader loads glibc's libraries, {WHY}"
        yield Violation("dlopen", message, hint=fix(Problem.STATIC_LOADS, facts, goal), symbols=("dlopen",))
    unknown = [name for name, value in (("iconv_open", found.iconv), ("dlopen", found.dlopen)) if value is None]
    if unknown:
        why = "stripped: no .symtab" if found.iconv is None else "calls are decoded on x86 only"
        message = f"whether this static glibc program calls {' or '.join(unknown)} cannot be determined ({why})"
        yield Violation("unknown", message, undetermined=True)


RULE = PolicyRule(
    id="static-glibc", doc=__doc__ or "", schema=bool, compile=same, check=check, reads=(_with_static_glibc,)
)
