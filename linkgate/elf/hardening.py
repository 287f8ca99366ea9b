"""Exploit-mitigation facts from the loader's view (docs/hardening.md).

Program headers, PT_DYNAMIC tags, the dynamic symbols and the GNU property
note say what the kernel and ld.so will enforce; section headers are read
only to tell whether a static program has a stack canary, and never needed.
Reading the dynamic symbols costs more than the rest of the reader, so these
facts are filled in on request (`with_hardening`), like Go's cgo packages.
"""

from __future__ import annotations

import os
import re

from linkgate.core.records import replace
from linkgate.elf import dynamic as dt
from linkgate.elf import upx
from linkgate.elf.facts import Cet, ElfFacts, Hardening, Kind, Linkage, Relro, RwxSegment
from linkgate.elf.image import AddressMap, Image, Segment
from linkgate.elf.layouts import (
    DF_1_NOW,
    DF_BIND_NOW,
    DF_TEXTREL,
    DT_BIND_NOW,
    DT_FLAGS,
    DT_FLAGS_1,
    DT_TEXTREL,
    EM_386,
    EM_X86_64,
    PF_R,
    PF_W,
    PF_X,
    PT_GNU_RELRO,
    PT_GNU_STACK,
    PT_LOAD,
)
from linkgate.elf.notes import GNU_PROPERTY_X86_FEATURE_1_AND, X86_FEATURE_1_IBT, X86_FEATURE_1_SHSTK, gnu_property
from linkgate.elf.symbols import DynamicSymbols, dynamic_symbols, section_symbol_names

# A failed check calls __stack_chk_fail; some ABIs read the guard through
# __stack_chk_guard; the Intel compiler names its own.
CANARY_SYMBOLS = frozenset({"__stack_chk_fail", "__stack_chk_guard", "__intel_security_cookie"})

# Functions with a checking variant __NAME_chk in glibc's debug/ directory
# as glibc 2.36 exports them: the list hardening-check ships, plus explicit_bzero.
# glibc 2.38's strlcpy family is left out: an import of strlcpy is as often
# libbsd's, which has no checking variant (docs/hardening.md).
FORTIFIABLE = frozenset(
    {
        "asprintf", "confstr", "dprintf", "explicit_bzero", "fdelt", "fgets", "fgets_unlocked", "fgetws",
        "fgetws_unlocked", "fprintf", "fread", "fread_unlocked", "fwprintf", "getcwd", "getdomainname", "getgroups",
        "gethostname", "getlogin_r", "gets", "getwd", "longjmp", "mbsnrtowcs", "mbsrtowcs", "mbstowcs", "memcpy",
        "memmove", "mempcpy", "memset", "obstack_printf", "obstack_vprintf", "poll", "ppoll", "pread", "pread64",
        "printf", "ptsname_r", "read", "readlink", "readlinkat", "realpath", "recv", "recvfrom", "snprintf", "sprintf",
        "stpcpy", "stpncpy", "strcat", "strcpy", "strncat", "strncpy", "swprintf", "syslog",
        "ttyname_r", "vasprintf", "vdprintf", "vfprintf", "vfwprintf", "vprintf", "vsnprintf", "vsprintf", "vswprintf",
        "vsyslog", "vwprintf", "wcpcpy", "wcpncpy", "wcrtomb", "wcscat", "wcscpy", "wcsncat",
        "wcsncpy", "wcsnrtombs", "wcsrtombs", "wcstombs", "wctomb", "wmemcpy", "wmemmove", "wmempcpy", "wmemset",
        "wprintf"
    }
)  # fmt: skip

# -fstack-clash-protection probes each page it allocates: `sub rsp, 0x1000`
# then `or qword [rsp + disp], 0`. Nothing else emits that pair.
_STACK_PROBES = {
    EM_X86_64: re.compile(rb"\x48\x81\xec\x00\x10\x00\x00\x48\x83(?:\x0c\x24|\x4c\x24.|\x8c\x24....)\x00", re.S),
    EM_386: re.compile(rb"\x81\xec\x00\x10\x00\x00\x83(?:\x0c\x24|\x4c\x24.|\x8c\x24....)\x00", re.S),
}


def with_hardening(path: str | os.PathLike[str], facts: ElfFacts) -> ElfFacts:
    """`facts` with hardening filled in; for a UPX-packed program, on its payload.

    A packed file whose payload could not be read keeps hardening None: the
    stub's own headers say nothing about the program it unpacks.
    """
    judged = facts.payload if facts.payload is not None else facts
    if judged.hardening is not None:
        return facts
    with upx.program_image(path, packed=facts.payload is not None) as image:
        if image is None:
            return facts
        found = read_hardening(image, judged.kind, judged.linkage)
    seen = replace(judged, hardening=found)
    return seen if judged is facts else replace(facts, payload=seen)


def read_hardening(image: Image, kind: Kind, linkage: Linkage) -> Hardening:
    """The hardening facts of one image whose kind and linkage the reader has classified."""
    header = image.header()
    segments = image.segments(header)
    addresses = AddressMap(segments)
    # The dynamic table as ld.so reads it (the last PT_DYNAMIC, by address).
    table = dt.read_dynamic(image, segments, addresses)
    bind_now = _bind_now(table)
    # Static programs import nothing: their dynamic symbols say nothing of how they were built.
    symbols = dynamic_symbols(image, table, addresses) if linkage is Linkage.DYNAMIC else None
    fortify = _fortify(symbols)
    any_chk = None if symbols is None else any(_is_chk(name) for name in symbols.imports)
    return Hardening(
        pie=kind is Kind.PIE,
        relro=_relro(segments, bind_now),
        bind_now=bind_now,
        nx=_nx(segments),
        textrel=table.get(DT_TEXTREL) is not None or bool((table.get(DT_FLAGS) or 0) & DF_TEXTREL),
        rwx_segments=_rwx_segments(segments),
        canary=_canary(image, symbols, linkage),
        fortified=any_chk,
        fortified_count=None if fortify is None else len(fortify[0]),
        fortifiable_count=None if fortify is None else len(fortify[0] | fortify[1]),
        unfortified=() if fortify is None else tuple(sorted(fortify[1] - fortify[0])),
        cet=_cet(image, segments, header.e_machine),
        stack_clash=_stack_clash(image, segments, header.e_machine),
    )


def _first(segments: tuple[Segment, ...], p_type: int) -> Segment | None:
    return next((s for s in segments if s.p_type == p_type), None)


def _bind_now(table: dt.DynamicTable) -> bool:
    """Any of the three spellings makes ld.so resolve every symbol before start."""
    flags, flags_1 = table.get(DT_FLAGS) or 0, table.get(DT_FLAGS_1) or 0
    return table.get(DT_BIND_NOW) is not None or bool(flags & DF_BIND_NOW) or bool(flags_1 & DF_1_NOW)


def _relro(segments: tuple[Segment, ...], bind_now: bool) -> Relro:
    """PT_GNU_RELRO is made read-only after relocation; with lazy binding the GOT's PLT part stays writable."""
    if _first(segments, PT_GNU_RELRO) is None:
        return "none"
    return "full" if bind_now else "partial"


def _nx(segments: tuple[Segment, ...]) -> bool:
    """The kernel maps the stack executable without PT_GNU_STACK (x86's default), or with PF_X."""
    stack = _first(segments, PT_GNU_STACK)
    return stack is not None and not stack.p_flags & PF_X


def _rwx_segments(segments: tuple[Segment, ...]) -> tuple[RwxSegment, ...]:
    rwx = PF_R | PF_W | PF_X
    return tuple(
        RwxSegment(index, s.p_vaddr, s.p_memsz)
        for index, s in enumerate(segments)
        if s.p_type == PT_LOAD and s.p_flags & rwx == rwx
    )


def _canary(image: Image, symbols: DynamicSymbols | None, linkage: Linkage) -> bool | None:
    """A protected function calls __stack_chk_fail; linked dynamically, that is an import.

    A static program can only be judged from its .symtab, when it still has one.
    """
    if symbols is not None:
        return not CANARY_SYMBOLS.isdisjoint(symbols.imports | symbols.exports)
    if linkage is Linkage.DYNAMIC:
        return None
    names = section_symbol_names(image, image.header())
    return None if names is None else not CANARY_SYMBOLS.isdisjoint(names)


def _fortify(symbols: DynamicSymbols | None) -> tuple[frozenset[str], frozenset[str]] | None:
    """(functions imported as __NAME_chk, functions imported unchecked), by NAME."""
    if symbols is None:
        return None
    checked = {name[2:-4] for name in symbols.imports if _is_chk(name)}
    return frozenset(checked & FORTIFIABLE), frozenset(symbols.imports & FORTIFIABLE)


def _is_chk(name: str) -> bool:
    return name.startswith("__") and name.endswith("_chk")


def _cet(image: Image, segments: tuple[Segment, ...], machine: int) -> Cet | None:
    if machine not in (EM_386, EM_X86_64):
        return None
    features = gnu_property(image, segments, GNU_PROPERTY_X86_FEATURE_1_AND) or 0
    return Cet(ibt=bool(features & X86_FEATURE_1_IBT), shstk=bool(features & X86_FEATURE_1_SHSTK))


def _stack_clash(image: Image, segments: tuple[Segment, ...], machine: int) -> bool | None:
    """True when the code probes its stack pages; None otherwise, since a program
    whose frames all fit in a page needs no probe."""
    probe = _STACK_PROBES.get(machine)
    if probe is None:
        return None
    for segment in segments:
        if segment.p_type == PT_LOAD and segment.p_flags & PF_X:
            code = image.read(segment.p_offset, min(segment.p_filesz, image.size - segment.p_offset))
            if probe.search(code):
                return True
    return None
