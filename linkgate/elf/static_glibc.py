"""What a statically linked glibc program will load from the server's glibc (docs/hardening.md).

glibc's NSS (getaddrinfo, getpwnam...), iconv and dlopen load glibc's own shared
modules at run time even in a static program, and those modules must come from
the glibc the program was built with; `ld` only warns. The evidence survives
stripping where glibc leaves it in the loaded bytes: NSS's configuration path and
its module-name formats. iconv and the program's own dlopen calls leave no string
(glibc >= 2.34 links its dlopen and gconv loader into every static program), so
they are read from .symtab, and are unknown without one.
"""

from __future__ import annotations

import os
import struct

from linkgate.core.records import replace
from linkgate.elf import upx
from linkgate.elf.facts import ElfFacts, Linkage, StaticGlibc
from linkgate.elf.image import Image, Segment
from linkgate.elf.layouts import EM_386, EM_X86_64, PF_X, PT_LOAD
from linkgate.elf.symbols import section_symbol_values
from linkgate.elf.upx_errors import UpxLimitError

# glibc's charset-conversion loader, linked into every static glibc program (stdio needs it).
GLIBC_MARKERS = (b"gconv-modules", b"GCONV_PATH")
# NSS reads this file to choose its modules: glibc's path constant (_PATH_NSSWITCH_CONF).
NSS_CONFIG = b"/etc/nsswitch.conf"
# ...and names the modules it loads with these (glibc 2.34+ and older spellings), or
# asserts with this message. Go's own resolver reads nsswitch.conf too, hence two markers.
NSS_LOADER = (b"libnss_%s.so", b"_nss_%s_%s", b"Illegal status in __nss_next")

# The public functions that go through NSS: named in findings when .symtab is there.
NSS_FUNCTIONS = frozenset(
    {
        "getaddrinfo", "getnameinfo", "gethostbyname", "gethostbyname2", "gethostbyname_r", "gethostbyname2_r",
        "gethostbyaddr", "gethostbyaddr_r", "gethostent", "getpwnam", "getpwnam_r", "getpwuid", "getpwuid_r",
        "getpwent", "getgrnam", "getgrnam_r", "getgrgid", "getgrgid_r", "getgrent", "getgrouplist", "initgroups",
        "getspnam", "getspnam_r", "getservbyname", "getservbyname_r", "getservbyport", "getprotobyname",
        "getprotobynumber", "getnetbyname", "getaliasbyname", "getnetgrent", "innetgr", "ether_ntohost",
        "ether_hostton",
    }
)  # fmt: skip

_STATIC = (Linkage.STATIC, Linkage.STATIC_PIE)
# x86 `call rel32` and `jmp rel32` (a tail call).
_BRANCHES = (0xE8, 0xE9)
_REL32 = struct.Struct("<i")


def with_static_glibc(path: str | os.PathLike[str], facts: ElfFacts) -> ElfFacts:
    """`facts` with static_glibc filled in for a static program (for a UPX-packed one, its payload).

    Dynamic programs and libraries are left as they are: their libc comes from the server.
    A packed program whose payload could not be read keeps None.
    """
    judged = facts.payload if facts.payload is not None else facts
    if judged.static_glibc is not None or judged.linkage not in _STATIC or judged.soname is not None:
        return facts
    try:
        with upx.program_image(path, packed=facts.payload is not None) as image:
            if image is None:
                return facts
            found = read_static_glibc(image)
    except UpxLimitError:
        # The scan reads every loaded byte; a packed payload larger than linkgate's decode budget
        # cannot be scanned. That is "unknown" (the rule says so), not an unreadable file: the
        # loader's view of the same file was read within the budget.
        return facts
    seen = replace(judged, static_glibc=found)
    return seen if judged is facts else replace(facts, payload=seen)


def read_static_glibc(image: Image) -> StaticGlibc:
    """The facts of one static program's image."""
    header = image.header()
    segments = image.segments(header)
    loaded = [_file_bytes(image, s) for s in segments if s.p_type == PT_LOAD]
    nss = any(NSS_CONFIG in b for b in loaded) and any(m in b for b in loaded for m in NSS_LOADER)
    glibc = nss or all(any(m in b for b in loaded) for m in GLIBC_MARKERS)
    if not glibc:
        return StaticGlibc(glibc=False)
    symbols = section_symbol_values(image, header)
    if symbols is None:
        return StaticGlibc(glibc=True, nss=nss)
    return StaticGlibc(
        glibc=True,
        nss=nss,
        nss_functions=tuple(sorted(NSS_FUNCTIONS.intersection(symbols))),
        iconv="iconv_open" in symbols,
        dlopen=_calls_dlopen(image, segments, header.e_machine, symbols),
    )


def _file_bytes(image: Image, segment: Segment) -> bytes:
    return image.read(segment.p_offset, min(segment.p_filesz, image.size - segment.p_offset))


def _calls_dlopen(image: Image, segments: tuple[Segment, ...], machine: int, symbols: dict[str, int]) -> bool | None:
    """Whether some code branches to dlopen.

    Before glibc 2.34 dlopen came from libdl.a only when called, so its presence
    is the answer; since 2.34 every static program has it, so on x86 the direct
    calls and tail calls to its address are looked for. Elsewhere: unknown.
    """
    target = symbols.get("dlopen")
    if target is None:
        return False
    if "__rtld_static_init" not in symbols:  # glibc < 2.34: only a caller links dlopen in
        return True
    if machine not in (EM_386, EM_X86_64):
        return None
    code = [s for s in segments if s.p_type == PT_LOAD and s.p_flags & PF_X]
    return any(_branches_to(_file_bytes(image, s), s.p_vaddr, target) for s in code)


def _branches_to(code: bytes, vaddr: int, target: int) -> bool:
    """A `call`/`jmp rel32` in `code` (mapped at `vaddr`) lands on `target`."""
    for opcode in _BRANCHES:
        at = code.find(opcode)
        while 0 <= at <= len(code) - 5:
            if vaddr + at + 5 + _REL32.unpack_from(code, at + 1)[0] == target:
                return True
            at = code.find(opcode, at + 1)
    return False
