"""hardening: the exploit mitigations executables and libraries must have (checksec, BinSkim).

`hardening: {pie: true, relro: full, bind_now: true, nx: true, canary: true,
fortify: true, cet: true, textrel: false, rwx: false}`; list only the keys to
judge. `pie`, `bind_now`, `nx`, `canary`, `fortify`, `cet`: true requires the
mitigation (false or absent: not judged). `relro`: `full` or `partial`, the
least accepted. `textrel`, `rwx`: false forbids text relocations and segments
mapped writable and executable. Unknown keys are policy errors.

Each failing key is its own finding (subject = the key, so a waiver can name
it), with the flag that fixes it: pie `-fPIE -pie` (static: `-static-pie`),
relro and bind_now `-Wl,-z,relro,-z,now`, nx `-Wl,-z,noexecstack`, canary
`-fstack-protector-strong`, fortify `-D_FORTIFY_SOURCE=3 -O2` (=2 before
GCC 12 / glibc 2.34), cet `-fcf-protection` (every object, assembly included),
textrel `-fPIC`/`-fPIE` for every object. A Go program gets Go's spelling:
`go build -buildmode=pie`, and `-ldflags='-linkmode=external -extldflags
"-Wl,-z,relro,-z,now"'` for full RELRO; canary and fortify judge only the C
code of a cgo program (`CGO_CFLAGS`), and a Go program without cgo has none.

A fact this file cannot tell (the canary of a stripped static program, fortify
of any static program, a UPX payload that could not be decoded) is a note
saying so, neither a pass nor a failure. PIE is not judged for shared
libraries (always position-independent), CET not on machines without it.
UPX-packed programs are judged by the payload they unpack.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Annotated, Literal

from linkgate.core.findings import Violation
from linkgate.core.records import record, replace
from linkgate.core.site import Site
from linkgate.elf.facts import ElfFacts, Hardening, Kind, Linkage
from linkgate.rules.base import CompileContext, PolicyRule, short_list
from linkgate.rules.remedies import uses_cgo
from linkgate.rules.schema import Checked


def _with_hardening(path: str, facts: ElfFacts) -> ElfFacts:
    from linkgate.elf.hardening import with_hardening  # noqa: PLC0415 - lazy: start-up

    return with_hardening(path, facts)


Key = Literal["pie", "relro", "bind_now", "nx", "canary", "fortify", "cet", "textrel", "rwx"]
_BOOLEAN_KEYS = ("pie", "bind_now", "nx", "canary", "fortify", "cet", "textrel", "rwx")
_RELRO_LEVELS = ("full", "partial")
_JUDGED = (Kind.EXECUTABLE, Kind.PIE, Kind.SHARED_LIBRARY)

GO_RELRO = "go build -buildmode=pie -ldflags='-linkmode=external -extldflags \"-Wl,-z,relro,-z,now\"'"
FIXES = {
    "pie": "build a position-independent executable: `-fPIE -pie` (static programs: `-static-pie`)",
    "relro": "link with `-Wl,-z,relro,-z,now`",
    "bind_now": "link with `-Wl,-z,relro,-z,now`",
    "nx": "link with `-Wl,-z,noexecstack` (an assembly file without a `.note.GNU-stack` section makes it executable)",
    "canary": "compile with `-fstack-protector-strong`",
    "fortify": "compile with `-D_FORTIFY_SOURCE=3 -O2` (`=2` before GCC 12 or glibc 2.34)",
    "cet": (
        "compile every object with `-fcf-protection` (the linker keeps the property only if all objects, "
        "assembly and static libraries included, have it; `-Wl,-z,cet-report=error` names those that don't)"
    ),
    "textrel": "compile every object with `-fPIC` (`-fPIE` for programs); hand-written assembly must be PIC too",
    "rwx": "drop the section flagged writable and executable (`readelf -lW` shows the segment), or `-Wl,-N`",
}
GO_FIXES = {
    "pie": "`go build -buildmode=pie`",
    "relro": f"`{GO_RELRO}` (Go >= 1.22: `-ldflags=-bindnow`)",
    "bind_now": f"`{GO_RELRO}` (Go >= 1.22: `-ldflags=-bindnow`)",
    "canary": 'compile the C code with `CGO_CFLAGS="-O2 -fstack-protector-strong"`',
    "fortify": 'compile the C code with `CGO_CFLAGS="-O2 -D_FORTIFY_SOURCE=2"`',
    "cet": "Go's compiler emits no CET markers: waive `cet` for Go programs",
}


@record
class Required:
    """The compiled setting: what each key demands (None: not judged)."""

    pie: bool = False
    relro: str | None = None
    bind_now: bool = False
    nx: bool = False
    canary: bool = False
    fortify: bool = False
    cet: bool = False
    textrel_allowed: bool = True
    rwx_allowed: bool = True


def _check_values(value: dict[Key, bool | str]) -> dict[Key, bool | str]:
    """relro takes a level; every other key a boolean."""
    for key, given in value.items():
        if key == "relro" and given not in (*_RELRO_LEVELS, False):
            raise ValueError(f"relro: {given!r} is not one of full, partial, false")
        if key != "relro" and not isinstance(given, bool):
            raise ValueError(f"{key}: {given!r} is not true or false")
    return value


Settings = Annotated[dict[Key, bool | Literal["full", "partial"]], Checked(_check_values)]


def _compile(value: Mapping[str, bool | str], context: CompileContext) -> Required:
    del context
    relro = value.get("relro")
    return Required(
        pie=value.get("pie") is True,
        relro=relro if isinstance(relro, str) else None,
        bind_now=value.get("bind_now") is True,
        nx=value.get("nx") is True,
        canary=value.get("canary") is True,
        fortify=value.get("fortify") is True,
        cet=value.get("cet") is True,
        textrel_allowed=value.get("textrel", True) is not False,
        rwx_allowed=value.get("rwx", True) is not False,
    )


def check(facts: ElfFacts, required: Required, _site: Site) -> Iterator[Violation]:
    if facts.kind not in _JUDGED:
        return
    found = facts.hardening
    if found is None or _packed_stub(facts):
        yield _unknown("hardening", "the UPX payload could not be decoded: its mitigations cannot be determined")
        return
    for key, failure in _failures(facts, found, required):
        # Text reports show the message, not the subject: name the key there too.
        named = replace(failure, message=f"{key}: {failure.message}")
        yield named if failure.undetermined else _with_fix(facts, key, named)


def _failures(facts: ElfFacts, found: Hardening, required: Required) -> Iterator[tuple[str, Violation]]:
    is_program = facts.kind is not Kind.SHARED_LIBRARY
    if required.pie and is_program and not found.pie:
        yield "pie", Violation("pie", "is not a position-independent executable (no ASLR for its code)")
    relro = _relro(found, required.relro)
    if relro:
        yield "relro", relro
    if required.bind_now and not found.bind_now:
        yield "bind_now", Violation("bind_now", "binds lazily: the GOT stays writable for the whole run (no BIND_NOW)")
    if required.nx and not found.nx:
        yield "nx", Violation("nx", "has an executable stack (PT_GNU_STACK missing or with PF_X)")
    yield from _c_code(facts, found, required)
    if required.cet and found.cet is not None and not (found.cet.ibt and found.cet.shstk):
        missing = " and ".join(n for n, on in (("IBT", found.cet.ibt), ("SHSTK", found.cet.shstk)) if not on)
        yield "cet", Violation("cet", f"lacks CET {missing} (no GNU property note marking it)")
    if not required.textrel_allowed and found.textrel:
        yield "textrel", Violation("textrel", "has text relocations: the loader must make its code writable")
    if not required.rwx_allowed and found.rwx_segments:
        where = ", ".join(f"#{s.index} at {s.vaddr:#x}" for s in found.rwx_segments)
        yield "rwx", Violation("rwx", f"maps memory writable and executable at once: PT_LOAD {where}")


def _relro(found: Hardening, level: str | None) -> Violation | None:
    if level is None or found.relro in ("full", level):
        return None
    why = "no PT_GNU_RELRO" if found.relro == "none" else "lazy binding leaves the GOT's PLT part writable"
    return Violation("relro", f"has {found.relro} RELRO ({why}), policy requires {level}")


def _c_code(facts: ElfFacts, found: Hardening, required: Required) -> Iterator[tuple[str, Violation]]:
    """canary and fortify judge compiled C; a Go program without cgo has none."""
    if facts.go is not None and not uses_cgo(facts):
        return
    if required.canary:
        if found.canary is None:
            yield "canary", _unknown("canary", "cannot be determined: a static program without .symtab")
        elif not found.canary:
            yield "canary", Violation("canary", "has no stack protector (no __stack_chk_fail)")
    if required.fortify:
        if found.fortified is None:
            reason = "a static program imports nothing" if facts.linkage is not Linkage.DYNAMIC else "no symbol hash"
            yield "fortify", _unknown("fortify", f"cannot be determined: {reason}")
        elif not found.fortified and found.fortifiable_count:
            names = short_list(found.unfortified)
            yield "fortify", Violation("fortify", f"is not fortified: 0/{found.fortifiable_count} checked ({names})")


def _unknown(key: str, message: str) -> Violation:
    return Violation(key, message, undetermined=True)


def _packed_stub(facts: ElfFacts) -> bool:
    """A packed program whose payload was not decoded: its own headers are the stub's."""
    return (
        facts.upx is not None and facts.upx.packed and facts.payload is None and facts.kind is not Kind.SHARED_LIBRARY
    )


def _with_fix(facts: ElfFacts, key: str, violation: Violation) -> Violation:
    hint = GO_FIXES.get(key) if facts.go is not None else None
    if hint is None:
        hint = FIXES[key]
    if key == "fortify" and facts.libc == "musl":
        hint = "musl has no checking functions: fortify needs glibc (or waive `fortify` for musl builds)"
    return replace(violation, hint=hint)


RULE = PolicyRule(
    id="hardening",
    doc=__doc__ or "",
    schema=Settings,
    compile=_compile,
    check=check,
    reads=(_with_hardening,),
)
