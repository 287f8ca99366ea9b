"""android-linker: the bionic linker loads the library for an app of this API level (`android-linker: 24`).

Bionic's linker refuses some files only for apps whose targetSdkVersion reaches a level, and
warns below it (bionic's "Android linker changes for NDK developers"); some formats it applies
only from the level that introduced them, so older devices cannot load them whatever the app
targets. Set it to the app's minSdk to judge both: a refusal at or below that level is an error,
one above it a warning, since it starts when the app raises its target.
- text relocations: refused from API 23 (`-fPIC`, no `-Wl,-z,notext`);
- DT_NEEDED given as a path (`/home/me/libfoo.so`): refused from 23;
- section headers missing (stripped with `sstrip` or obfuscators), past the end of the file or
  without a `.dynamic` section header: refused by every device from API 24, whatever the app
  targets; a wrong `e_shentsize` or `e_shstrndx`: from 26;
- a shared library without DT_SONAME is a warning: from 23 another library's DT_NEEDED no longer
  finds it by file name (System.loadLibrary and dlopen by path still load it);
- a PT_LOAD writable and executable at once: refused from 26;
- formats older linkers cannot apply: packed relocations (DT_ANDROID_REL/RELA) need API 23,
  only a GNU hash table (no DT_HASH) needs 23, DT_ANDROID_RELR needs 28, DT_RELR needs 30, ELF TLS
  (PT_TLS) needs 29; an executable's PT_TLS on arm64 (arm) must be aligned to 64 (32) bytes.
Judges bionic files only.
"""

from __future__ import annotations

from collections.abc import Iterator

from linkgate.core.findings import Violation
from linkgate.core.site import Site
from linkgate.elf.android import MISSING_SECTION_HEADERS, with_android
from linkgate.elf.facts import AndroidFacts, ElfFacts, Kind
from linkgate.rules.android_api import ApiLevel
from linkgate.rules.base import PolicyRule, same

# The API level from which each format is applied; older linkers ignore its tag and crash later.
FORMAT_LEVELS = {"DT_ANDROID_REL": 23, "DT_ANDROID_RELA": 23, "DT_ANDROID_RELR": 28, "DT_RELR": 30}
# Bionic's minimum PT_TLS alignment of an executable (bionic_elf_tls.cpp: 8 words).
TLS_ALIGN = {"aarch64": 64, "arm": 32}


def check(facts: ElfFacts, level: int, site: Site) -> Iterator[Violation]:
    android = facts.android
    if facts.libc != "bionic" or android is None:
        return
    yield from _refusals(facts, android, level, site.python_extension)
    yield from _formats(facts, android, level)


def _refusal(since: int, level: int, subject: str, what: str, hint: str) -> Violation:
    """Refused for apps targeting `since`+: an error when minSdk reaches it, else a warning."""
    if level >= since:
        message = f"{what}: the linker refuses it from API {since}"
    else:
        message = f"{what}: the linker warns now and refuses it once the app targets API {since}"
    return Violation(subject=subject, message=message, hint=hint, advisory=level < since)


def _refusals(facts: ElfFacts, android: AndroidFacts, level: int, extension: bool) -> Iterator[Violation]:
    if android.textrel:
        yield _refusal(23, level, "text relocations", "has text relocations", "compile every object with -fPIC")
    for name in facts.needed:
        if "/" in name:
            yield _refusal(23, level, name, f"DT_NEEDED {name} is a path", "link the library by name (-lfoo)")
    # A Python extension module is loaded by path by Python's importer, never found by a DT_NEEDED.
    if facts.kind is Kind.SHARED_LIBRARY and facts.soname is None and not extension:
        yield _no_soname()
    yield from _section_headers(android, level)
    for index in android.write_exec_loads:
        hint = "do not link with -Wl,--omagic or -z execstack-like options that merge segments"
        yield _refusal(26, level, f"PT_LOAD #{index}", f"PT_LOAD #{index} is writable and executable", hint)


def _no_soname() -> Violation:
    """linker.cpp: below target 23 the basename stands in (with a warning); from 23 nothing does."""
    return Violation(
        subject="DT_SONAME",
        message="has no DT_SONAME: for apps targeting API 23+ another library's DT_NEEDED cannot find it "
        "(only System.loadLibrary or dlopen by path load it); below 23 the linker warns and uses the file name",
        hint="link with -Wl,-soname,libfoo.so (the NDK's build systems do)",
        advisory=True,
    )


def _section_headers(android: AndroidFacts, level: int) -> Iterator[Violation]:
    if not android.section_headers:
        return
    if android.section_headers == MISSING_SECTION_HEADERS:
        what = "has no section headers"
        hint = "do not strip the section headers (sstrip, obfuscators); `llvm-strip` keeps them"
    else:
        what = f"invalid section headers: {android.section_headers}"
        hint = "rebuild with the NDK toolchain; the tool that rewrote the file broke its headers"
    if android.section_headers_since == 26:
        yield _refusal(26, level, "section headers", what, hint)
        return
    yield Violation(
        subject="section headers",
        message=f"{what}: the linker of every device from API 24 refuses it, whatever the app targets",
        hint=hint,
    )


def _needs(level: int, since: int, subject: str, what: str, hint: str) -> Iterator[Violation]:
    if since > level:
        yield Violation(
            subject=subject,
            message=f"{what} needs API {since}: devices from API {level} to {since - 1} cannot load it",
            hint=hint,
        )


def _formats(facts: ElfFacts, android: AndroidFacts, level: int) -> Iterator[Violation]:
    for tag in android.relocation_formats:
        hint = f"link for your minSdk (`--target=<arch>-linux-android{level}`): lld then packs only what it can"
        yield from _needs(level, FORMAT_LEVELS[tag], tag, f"{tag} relocations", hint)
    if android.gnu_hash_only:
        yield from _needs(level, 23, "DT_GNU_HASH", "only a GNU hash table", "link with -Wl,--hash-style=both")
    if android.tls_align is not None:
        hint = "build with minSdk 29+, or use emulated TLS (-femulated-tls, the NDK's default below 29)"
        yield from _needs(level, 29, "PT_TLS", "ELF TLS (PT_TLS)", hint)
        needed = TLS_ALIGN.get(facts.machine)
        if needed and facts.kind in (Kind.EXECUTABLE, Kind.PIE) and android.tls_align < needed:
            yield Violation(
                subject="PT_TLS",
                message=f"executable's TLS segment is underaligned: alignment is {android.tls_align}, "
                f"needs to be at least {needed} for {facts.machine} Bionic",
                hint=f"link with the NDK's crtbegin (it aligns .tdata), or align the first TLS variable to {needed}",
            )


RULE = PolicyRule(id="android-linker", doc=__doc__ or "", schema=ApiLevel, compile=same, check=check,
                  reads=(with_android,))  # fmt: skip
