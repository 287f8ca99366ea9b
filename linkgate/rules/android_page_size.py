"""android-page-size: 64-bit Android libraries load on 16 KB page devices (`android-page-size: 16384`).

Google Play requires every arm64-v8a and x86_64 native library of new apps and updates to be
16 KB page-size compatible: every PT_LOAD segment's p_align at least 16384 (the 32-bit ABIs are
not required). On a 16 KiB page device bionic's linker refuses a library aligned to 4 KiB:
`"libfoo.so" program alignment (4096) cannot be smaller than system page size (16384)`
(linker_phdr.cpp). The finding names the segments and the fix: link with
`-Wl,-z,max-page-size=16384` (NDK r28 and later do by default). Where the library sits in an
APK (stored at a 16 KiB-aligned offset, or compressed) is a separate `android-package` finding.
Judges bionic files only; `readelf -lW` shows the same Align column.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Annotated

from linkgate.core.findings import Violation
from linkgate.core.site import Site
from linkgate.elf.android import with_android
from linkgate.elf.facts import ElfFacts
from linkgate.profiles.android import ABI_OF_MACHINE, SIXTEEN_KB_ABIS
from linkgate.rules.base import PolicyRule, same
from linkgate.rules.remedies import ANDROID_PAGE_FIX
from linkgate.rules.schema import Checked, keywords


def check(facts: ElfFacts, page: int, site: Site) -> Iterator[Violation]:
    del site
    android = facts.android
    abi = ABI_OF_MACHINE.get(facts.machine)
    if facts.libc != "bionic" or android is None or abi not in SIXTEEN_KB_ABIS:
        return
    short = [load for load in android.loads if load.align < page]
    if not short:
        return
    segments = ", ".join(f"PT_LOAD #{load.index} ({load.align:#x})" for load in short)
    smallest = min(load.align for load in short)
    yield Violation(
        subject="p_align",
        message=f"{segments} aligned below {page} ({page // 1024} KiB): on a {page // 1024} KiB page {abi} "
        f"device the linker refuses it (program alignment ({smallest}) cannot be smaller than system page "
        f"size ({page})), and Google Play rejects the app",
        hint=ANDROID_PAGE_FIX,
    )


def page_size(value: int) -> int:
    if value < 4096 or value & (value - 1):
        raise ValueError("a page size: a power of two of at least 4096 (16384 for Google Play)")
    return value


RULE = PolicyRule(
    id="android-page-size",
    doc=__doc__ or "",
    schema=Annotated[int, Checked(page_size, json_schema=keywords(minimum=4096))],
    compile=same,
    check=check,
    reads=(with_android,),
)
