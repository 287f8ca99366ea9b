"""page-size: the artifact loads on kernels with pages this large.

`page-size: 65536`, or per architecture: `page-size: {aarch64: 65536,
ppc64le: 65536, any: 4096}` (bytes, a power of two; `any` covers the others).
glibc's loader refuses a PT_LOAD whose p_align is not a multiple of the
kernel's page size (elf/dl-load.c: `ELF load command alignment not
page-aligned`), and so does Android's. Kernels with larger pages are common:
aarch64 servers with 64 KiB pages (RHEL's kernel-64k, some clouds), 16 KiB
(Asahi Linux, the Raspberry Pi 5's default kernel, Android 15+ devices). A
file linked with `-z max-page-size=4096` fails on all of them.

The fix: link with `-Wl,-z,max-page-size=65536` (which also loads on 4 KiB and
16 KiB kernels) or `16384`; Go's own linker takes `-ldflags=-R65536`. `inspect`
shows each file's smallest alignment. docs/machine-floors.md.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Annotated

from linkgate.core.findings import Violation
from linkgate.core.site import Site
from linkgate.elf.facts import ElfFacts
from linkgate.rules.base import CompileContext, PolicyRule
from linkgate.rules.remedies import page_size_fix
from linkgate.rules.schema import Checked, keywords

ANY = "any"


def _power_of_two(value: int) -> int:
    if value < 1024 or value & (value - 1):
        raise ValueError(f"{value} is not a page size (a power of two, at least 1024)")
    return value


PageSize = Annotated[int, Checked(_power_of_two, json_schema=keywords(minimum=1024))]


def page_violation(facts: ElfFacts, page_size: int, on: str) -> Violation | None:
    """The finding when some PT_LOAD is aligned below `page_size`; `on` names the kernel."""
    alignment = facts.load_alignment
    if alignment is None or alignment.runs_on(page_size):
        return None
    message = (
        f"has PT_LOAD segments aligned for {alignment.max_page_size}-byte pages: the loader refuses it on {on} "
        "(ELF load command ... not page-aligned)"
    )
    return Violation(f"{page_size}-byte pages", message, hint=page_size_fix(facts, page_size))


def check(facts: ElfFacts, sizes: Mapping[str, int], _site: Site) -> Iterator[Violation]:
    page_size = sizes.get(facts.machine, sizes.get(ANY))
    found = None if page_size is None else page_violation(facts, page_size, f"a kernel with {page_size}-byte pages")
    if found is not None:
        yield found


def _compile(value: int | dict[str, PageSize], context: CompileContext) -> Mapping[str, int]:
    del context
    return {ANY: value} if isinstance(value, int) else dict(value)


RULE = PolicyRule(
    id="page-size", doc=__doc__ or "", schema=PageSize | dict[str, PageSize], compile=_compile, check=check
)
